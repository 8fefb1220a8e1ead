#!/usr/bin/env bash
# Runs the fault-world sweep in SHARDS processes (one per core) and fails when any world failed.
# usage: scripts/soak.sh SWEEP_BINARY WORLDS HOURS SHARDS
set -euo pipefail
bin=$1 worlds=$2 hours=$3 shards=$4
logdir=$(mktemp -d)
start=$(date +%s)
pids=()
for ((i = 0; i < shards; i++)); do
  ALIVPC_SWEEP_WORLDS=$worlds ALIVPC_SWEEP_HOURS=$hours ALIVPC_SWEEP_SHARD="$i/$shards" \
    "$bin" >"$logdir/shard$i.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || status=1
  grep -E '^sweep:|world [0-9]+ \(replay' "$logdir/shard$i.log" || true
done
echo "soak: $worlds worlds of $hours h in $(( $(date +%s) - start )) s; logs in $logdir"
if ((status != 0)); then
  echo "soak: FAILED (the failing worlds' scenarios are in the logs above)" >&2
fi
exit $status
