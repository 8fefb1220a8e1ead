#!/usr/bin/env bash
# The simulator at cluster scale (make bench): each line is a scenario and a strategy, with the
# wall time and the peak RSS of the whole run (the README's scale table), and the run's own
# summary lines. A run that fails a check (exit 1) is measured and marked, and the next one runs.
# Usage: scripts/scale-bench.sh path/to/alivpc-simulate [SCENARIO:STRATEGY ...]
# (the scenarios are files in sim/scenarios/; without any, the list below)
set -euo pipefail
sim=$1
cd "$(dirname "$0")/.."
run() {
  local scenario=$1 strategy=$2 out status wall rss
  out=$(mktemp)
  status=0
  /usr/bin/time -f "%e %M" -o "$out.time" "$sim" --scenario "sim/scenarios/$scenario.json" \
    --strategy "$strategy" > "$out" 2>/dev/null || status=$?
  # The last line: GNU time writes "Command exited with non-zero status N" above it when the run
  # failed a check (robust on churn-week does not converge: that is what the run shows).
  read -r wall rss < <(tail -n 1 "$out.time")
  printf 'scale: %-16s %-7s %8.1f s wall %8.1f MiB peak%s\n' "$scenario" "$strategy" "$wall" \
    "$(awk "BEGIN { print $rss / 1024 }")" "$([ "$status" -eq 0 ] || echo " (exit $status)")"
  sed 's/^/       /' "$out"
  rm -f "$out" "$out.time"
}
if (($# > 1)); then
  for pair in "${@:2}"; do
    run "${pair%%:*}" "${pair#*:}"
  done
  exit 0
fi
run week-200 robust
run churn-week robust
run churn-week leader
run week-5000 leader
run week-5000-hourly leader  # the same with the route leader's whole-table pass hourly
run burst-50 all
