# qnlab — the two commands that set everything up on a fresh machine:
#   make html   render the course (notebooks → site/index.html and one page per notebook)
#   make test   go vet, go test, the Docker steps (shellcheck, run where no Docker is needed), every
#               notebook executed in QUICK=1 mode and checked, then in Chromium
# Both run scripts/setup first (idempotent: ~1 s once the toolchain is installed).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# The Go toolchain and GoNB/goimports paths that scripts/setup found (written by it).
ENV := . $(CURDIR)/.jupyter/env.sh &&

# On amd64 the pure-Go backend's matmul uses AVX2/AVX-512 only when built with
# GOEXPERIMENT=simd (1.5× faster); checked to build and pass the tests with Go 1.26.8.
ifeq ($(shell uname -m),x86_64)
export GOEXPERIMENT ?= simd
endif

PKGS ?= ./...

.PHONY: help setup qnlab html test vet gotest xla-build docker-check nbcheck-selfcheck notebooks-quick e2e-quick bench soak chaos e2e clean

help:
	@echo "make html    render the course to site/ (installs the toolchain if missing)"
	@echo "make test    go vet + go test + the Docker steps (scripts/docker-check) + every notebook in QUICK=1 mode, checked, and then run in headless Chromium (make e2e)"
	@echo "make bench   go benchmarks (incl. the L-BFGS update/step and update/floor ratios), the qnlab/PyTorch CNN step and one-epoch ratios, L-BFGS vs gonum on MGH, small problems vs scipy (bench speed)"
	@echo "make soak    long-run soak tests"
	@echo "make chaos   a training run killed 20× (SIGKILL) and interrupted 5× (SIGINT), resumed each time, must equal an uninterrupted one"
	@echo "make e2e     every notebook run in headless Chromium (Notebook server, QUICK=1) and the site's links followed; screenshots in build/e2e/"
	@echo "make qnlab   build ./qnlab, the headless CLI (the README's examples use it; the SIMD build on amd64)"
	@echo "make setup   install/verify the toolchain only (scripts/setup)"
	@echo "make clean   remove site/"

setup:
	@$(CURDIR)/scripts/setup

# The CLI the README's examples run: built with GOEXPERIMENT=simd on amd64 (exported above).
qnlab: setup
	$(ENV) go build -o $(CURDIR)/qnlab ./cmd/qnlab

html: setup
	$(CURDIR)/scripts/render --out $(CURDIR)/site

test: setup vet gotest xla-build docker-check nbcheck-selfcheck notebooks-quick e2e-quick

vet: setup
	$(ENV) go vet $(PKGS)

gotest: setup
	$(ENV) go test $(PKGS)

# The XLA backend (cgo, for GPUs) compiles only under -tags xla: keep that build compiling.
xla-build: setup
	$(ENV) CGO_ENABLED=1 go build -tags xla -o /dev/null ./cmd/qnlab

# The Docker images without a Docker engine: shellcheck on their steps, and the steps that need
# no Docker and no PyPI run into a scratch HOME (go test ./docker checks the Dockerfiles).
docker-check: setup
	$(CURDIR)/scripts/docker-check

# The checker must be able to fail: run it on a notebook with failing cells, expect exit 1.
nbcheck-selfcheck: setup
	@$(ENV) go build -o $(CURDIR)/build/nbcheck ./scripts/nbcheck
	@rc=0; $(CURDIR)/build/nbcheck scripts/nbcheck/testdata/failing.ipynb >/dev/null || rc=$$?; \
	if [ $$rc -ne 1 ]; then echo "nbcheck self-check: exit $$rc on a failing notebook, want 1" >&2; exit 1; fi; \
	echo "nbcheck self-check: ok (a failing notebook makes it exit 1)"

# Every notebook executed with QUICK=1 into build/quick-site and checked (with the site's links).
notebooks-quick: setup
	@rm -rf $(CURDIR)/build/quick-site
	@$(CURDIR)/scripts/render --quick --out $(CURDIR)/build/quick-site || \
	{ echo "notebooks: executed notebooks and logs kept in build/quick-site/executed" >&2; exit 1; }

# The browser check (scripts/e2e/run) on the site notebooks-quick rendered.
e2e-quick: notebooks-quick
	E2E_SITE=$(CURDIR)/build/quick-site $(CURDIR)/scripts/e2e/run

bench: setup
	$(ENV) go test -run '^$$' -bench . $(PKGS)
	$(ENV) scripts/torch/compare
	$(ENV) scripts/torch/epoch
	$(ENV) go run ./cmd/qnlab bench mgh
	@/usr/bin/python3 -c 'import scipy' 2>/dev/null || { echo "bench: installing python3-scipy (Debian)" >&2; \
	  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-scipy >/dev/null; }
	$(ENV) go run ./cmd/qnlab bench speed

soak:
	$(CURDIR)/scripts/soak

# Not in CI (go test runs the same test with 3 kills and 1 interrupt): about 1–2 minutes.
CHAOS_KILLS ?= 20
CHAOS_INTS ?= 5
chaos: setup
	$(ENV) QNLAB_CHAOS_KILLS=$(CHAOS_KILLS) QNLAB_CHAOS_INTS=$(CHAOS_INTS) go test -count=1 -v -run '^TestChaos$$' ./cmd/qnlab

e2e: setup
	$(CURDIR)/scripts/e2e/run

clean:
	rm -rf $(CURDIR)/site $(CURDIR)/build
