#!/bin/sh
# In the repository: every module the notebooks import into the module cache (they run
# offline afterwards), and the qnlab command into $(go env GOPATH)/bin. GOFLAGS carries
# -tags=xla in the CUDA image.
set -eu
go mod download
go build -o "$(go env GOPATH)/bin/qnlab" ./cmd/qnlab
