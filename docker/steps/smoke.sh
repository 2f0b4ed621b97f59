#!/bin/sh
# Smoke check: qnlab computes an L-BFGS direction on a 2-D quadratic and says which backend it used.
# With pairs s = e1, e2 and y = diag(2, 3)·s the two-loop recursion is exact: d = -H·g with
# H = diag(1/2, 1/3), so g = (1, 1) gives d = (-0.5, -0.3333333333333333).
set -eu
err="$(mktemp)"
trap 'rm -f "$err"' EXIT
out="$(echo '{"s":[[1,0],[0,1]],"y":[[2,0],[0,3]],"g":[1,1]}' | qnlab direction -in - 2>"$err")" || {
	cat "$err" >&2
	exit 1
}
backend="$(grep -o 'backend .*' "$err" || true)"
echo "smoke.sh: qnlab direction: $out ($backend)"
case "$out" in
*'"d":[-0.5,-0.3333333333333333]'*) ;;
*) echo "smoke.sh: wrong direction, want d = [-0.5, -0.3333333333333333]" >&2; exit 1 ;;
esac
[ -n "$backend" ] || { echo "smoke.sh: qnlab did not name its backend" >&2; exit 1; }
