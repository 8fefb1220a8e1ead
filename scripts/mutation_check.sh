#!/bin/sh
# Proof that the simulator tests the client users run: in a copy of the tree, rpc_client's
# classification of TaskConflict is broken (the code no longer counts as "the VPC is busy", so the
# client stops retrying it), the simulated-cluster properties are built, and
# SimulatedCluster.ABusyVpcIsNeverAnError must fail. Exit 0 when it did (the mutation was caught),
# 1 when the mutant passed, 2 when the mutation could not be made.
#   scripts/mutation_check.sh [WORK_DIR]        (make mutation-check)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/alivpc-mutation.XXXXXX)}
mkdir -p "$work/tree"
# The tree as it is now (tracked files, with uncommitted edits), without build directories.
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
  xargs -0 cp --parents -t "$work/tree")
target="$work/tree/include/alivpc/cloud/api_error.hpp"
sed -i 's/conflict_codes{"TaskConflict",/conflict_codes{"TaskConflict (mutated)",/' "$target"
if ! grep -q 'TaskConflict (mutated)' "$target"; then
  echo "mutation-check: could not find TaskConflict in the conflict codes of $target" >&2
  exit 2
fi
cmake -S "$work/tree" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DALIVPC_TEST_KINDS=property -DALIVPC_SANITIZE_TESTS=OFF -DALIVPC_BUILD_EXAMPLES=OFF \
  -DALIVPC_SIM_TOOLS=OFF -DALIVPC_BUILD_BENCH=OFF >/dev/null
cmake --build "$work/build" --target alivpc_property_backend
if "$work/build/tests/alivpc_property_backend" --gtest_filter='SimulatedCluster.ABusyVpcIsNeverAnError'; then
  echo "mutation-check: FAILED: the simulator did not notice TaskConflict misclassified" >&2
  exit 1
fi
echo "mutation-check: ok: misclassifying TaskConflict makes SimulatedCluster.ABusyVpcIsNeverAnError fail"
