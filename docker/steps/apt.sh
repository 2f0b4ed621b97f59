#!/bin/sh
# Debian packages of the images (root). The base image's tag fixes the Debian release (bookworm);
# package versions are Debian's, not pinned here: a stable release only takes security and
# point-release fixes, and pinned versions vanish from its mirror when those land.
#   python3-venv  the virtual environment JupyterLab is installed into (jupyter.sh)
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3-venv
rm -rf /var/lib/apt/lists/*
