#!/bin/sh
# The simulator at cluster scale (make bench): each line is a scenario and a strategy, with the
# wall time and the peak RSS of the whole run (the README's scale table), and the run's own
# summary lines. Usage: scripts/scale-bench.sh path/to/alivpc-simulate
set -eu
sim=$1
cd "$(dirname "$0")/.."
run() {
  scenario=$1
  strategy=$2
  out=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$out.time" "$sim" --scenario "sim/scenarios/$scenario.json" \
    --strategy "$strategy" > "$out" 2>/dev/null || true
  read -r wall rss < "$out.time"
  printf 'scale: %-12s %-7s %8.1f s wall %8.1f MiB peak\n' "$scenario" "$strategy" "$wall" \
    "$(awk "BEGIN { print $rss / 1024 }")"
  sed 's/^/       /' "$out"
  rm -f "$out" "$out.time"
}
run week-200 robust
run churn-week robust
run churn-week leader
run week-5000 leader
run week-5000-hourly leader  # the same with the route leader's whole-table pass hourly
run burst-50 all
