#!/bin/sh
# The PJRT CUDA plugin and its NVIDIA libraries (root), pinned by version and sha256 in LOCK,
# laid out under LIB/go-xla/nvidia as go-xla's installer does, by scripts/pjrt in SRC (go.mod,
# go.sum and scripts/pjrt), built with a throw-away module cache.
#   pjrt.sh SRC LOCK LIB
set -eu
src="$1"
lock="$2"
lib="$3"
cache="$(mktemp -d)"
(cd "$src" && GOMODCACHE="$cache" go run ./scripts/pjrt -quiet -lock "$lock" -lib "$lib")
GOMODCACHE="$cache" go clean -modcache
rmdir "$cache" 2>/dev/null || true
test -f "$lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so"
