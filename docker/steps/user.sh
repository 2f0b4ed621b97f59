#!/bin/sh
# The unprivileged user the notebooks run as (root).
#   user.sh NAME UID
set -eu
useradd --create-home --uid "$2" --user-group --shell /bin/bash "$1"
