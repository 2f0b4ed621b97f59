#!/bin/sh
# JupyterLab and nbconvert at exact versions in a virtual environment (root).
#   jupyter.sh VENV REQUIREMENTS
# JupyterLab is not packaged by Debian, so it comes from PyPI (the image builds with internet).
set -eu
venv="$1"
requirements="$2"
python3 -m venv "$venv"
"$venv/bin/pip" install --no-cache-dir --disable-pip-version-check -r "$requirements"
"$venv/bin/jupyter" lab --version
"$venv/bin/jupyter" nbconvert --version
