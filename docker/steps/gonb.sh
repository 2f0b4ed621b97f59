#!/bin/sh
# GoNB, goimports and gopls for the current user, and GoNB's kernelspec in
# ~/.local/share/jupyter/kernels/gonb (or $JUPYTER_DATA_DIR/kernels/gonb).
# GoNB is installed from its module directory (`go install …/gonb@v0.11.4` fails through the
# module proxies tried so far); gopls v0.23.0 builds with Go 1.26 (newer ones need Go 1.27).
# With goimports and gopls on PATH, `gonb --install` needs no --force_deps.
set -eu
gonb_version=v0.11.4
goimports_version=v0.52.0
gopls_version=v0.23.0
go mod download "github.com/janpfeifer/gonb@$gonb_version"
go install -C "$(go env GOMODCACHE)/github.com/janpfeifer/gonb@$gonb_version" .
go install "golang.org/x/tools/cmd/goimports@$goimports_version"
go install "golang.org/x/tools/gopls@$gopls_version"
gonb --install
