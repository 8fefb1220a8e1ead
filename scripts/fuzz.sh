#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD for SECONDS each. With --smoke the corpus is read but
# not grown (CI); without it new inputs are kept in fuzz/corpus/<name>/.
set -euo pipefail
build=$1 seconds=$2 mode=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
targets=("$build"/fuzz/alivpc_fuzz_*)
if ((${#targets[@]} == 0)); then
  echo "fuzz: no targets built in $build/fuzz"
  exit 0
fi
status=0
for t in "${targets[@]}"; do
  name=${t##*/alivpc_fuzz_}
  corpus="$root/fuzz/corpus/$name"
  mkdir -p "$corpus"
  work=$(mktemp -d)
  dirs=("$corpus")
  [[ $mode == --smoke ]] && dirs=("$work" "$corpus")
  echo "fuzz: $name for ${seconds}s"
  if ! "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/" "${dirs[@]}" >"$work/log" 2>&1; then
    echo "fuzz: $name FAILED; last lines:"; tail -40 "$work/log"
    cp "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$root/fuzz/corpus/$name/" 2>/dev/null || true
    status=1
  else
    grep -E "stat::number_of_executed_units" "$work/log" | sed "s/^/fuzz: $name /" || true
  fi
  rm -rf "$work"
done
exit $status
