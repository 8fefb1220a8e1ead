#!/usr/bin/env bash
# make bench's scale runs go on past a run that fails a check, and say which one failed: a run
# that exits 1 (robust on quota.json does not converge) is measured and marked "(exit 1)", and
# the next run is still measured. (Until 2026-12-05 such a run stopped the script: make bench
# measured nothing after churn-week robust.)
# usage: check_scale_bench.sh SOURCE_DIR ALIVPC_SIMULATE
set -euo pipefail
src=$1 sim=$2
out=$("$src/scripts/scale-bench.sh" "$sim" quota:robust steady:robust)
echo "$out"
lines=$(grep -c '^scale: ' <<<"$out")
[[ $lines -eq 2 ]] || { echo "FAIL: expected 2 scale lines, got $lines"; exit 1; }
grep -Eq '^scale: quota +robust +[0-9.]+ s wall +[0-9.]+ MiB peak \(exit 1\)$' <<<"$out" ||
  { echo "FAIL: the failing run is not measured and marked"; exit 1; }
grep -Eq '^scale: steady +robust +[0-9.]+ s wall +[0-9.]+ MiB peak$' <<<"$out" ||
  { echo "FAIL: the run after a failing one is not measured"; exit 1; }
echo "ok"
