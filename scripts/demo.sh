#!/usr/bin/env bash
# The main job. Until the daemon lands this says so honestly instead of pretending.
set -euo pipefail
build=${1:-build}
if [[ ! -x $build/examples/flanneld_alivpc/flanneld_alivpc ]]; then
  echo "demo: the flanneld_alivpc daemon is not built yet (issue 6); nothing to demonstrate." >&2
  exit 1
fi
