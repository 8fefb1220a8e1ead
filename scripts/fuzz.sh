#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD for SECONDS each, one per core at a time. With --smoke the
# corpus is read but not grown (CI); without it new inputs are kept in fuzz/corpus/<name>/.
set -euo pipefail
build=$1 seconds=$2 mode=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
targets=("$build"/fuzz/alivpc_fuzz_*)
if ((${#targets[@]} == 0)); then
  echo "fuzz: no targets built in $build/fuzz"
  exit 0
fi

# One target; its report is printed whole when it ends, so parallel runs do not interleave.
run_one() {
  local t=$1 name=${1##*/alivpc_fuzz_}
  local corpus="$root/fuzz/corpus/$name" work
  mkdir -p "$corpus"
  work=$(mktemp -d)
  local dirs=("$corpus")
  [[ $mode == --smoke ]] && dirs=("$work" "$corpus")
  if ! "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/" "${dirs[@]}" >"$work/log" 2>&1; then
    { echo "fuzz: $name FAILED after ${seconds}s; last lines:"; tail -40 "$work/log"; }
    cp "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$corpus/" 2>/dev/null || true
    rm -rf "$work"
    return 1
  fi
  grep -E "stat::number_of_executed_units" "$work/log" | sed "s/^/fuzz: $name (${seconds}s) /" || true
  rm -rf "$work"
}

jobs=$(nproc)
pids=()
status=0
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do
    wait -n || status=1
  done
  run_one "$t" &
  pids+=($!)
done
for p in "${pids[@]}"; do
  wait "$p" || status=1
done
exit $status
