#!/usr/bin/env bash
# clang-tidy (the checks in .clang-tidy) over the project's .cpp files, two at a time, using
# BUILD_DIR/compile_commands.json. Fails when any warning is reported in our own code
# (include/, sim/, examples/ headers and the .cpp files themselves; not Boost, gtest, ...).
#   scripts/tidy.sh BUILD_DIR              every project .cpp file in the compile database
#   scripts/tidy.sh BUILD_DIR FILE...      only these
set -euo pipefail
build=${1:?usage: scripts/tidy.sh BUILD_DIR [FILE...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
tidy=${CLANG_TIDY:-$(command -v clang-tidy-14 || command -v clang-tidy)}
jobs=${TIDY_JOBS:-2}
[[ -f $build/compile_commands.json ]] || { echo "tidy: no $build/compile_commands.json"; exit 2; }

if (($# > 0)); then
  files=()
  for f in "$@"; do files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
else
  # The compile database's files that are ours (tracked sources, not build dirs or _deps).
  mapfile -t files < <(python3 - "$build/compile_commands.json" "$root" <<'PY'
import json, os, subprocess, sys
db, root = sys.argv[1], sys.argv[2]
tracked = set(subprocess.run(["git", "-C", root, "ls-files", "*.cpp"], capture_output=True,
                             text=True, check=True).stdout.split())
seen = set()
for entry in json.load(open(db)):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(path, root)
    if rel in tracked and path not in seen:
        seen.add(path)
        print(path)
PY
  )
fi
((${#files[@]} > 0)) || { echo "tidy: no files"; exit 2; }

out=$build/tidy.log  # the full output, notes included
echo "tidy: $tidy over ${#files[@]} files, $jobs at a time"
# --quiet drops the "N warnings generated" lines; the header filter keeps third-party headers out.
printf '%s\0' "${files[@]}" |
  xargs -0 -n1 -P"$jobs" "$tidy" -p "$build" --quiet \
    --header-filter="^$root/(include|sim/include|examples)/" \
    --extra-arg=-Wno-unknown-warning-option >"$out" 2>&1 || true
# A crashed clang-tidy checked nothing in its file: that is a failure, not a clean result.
if grep -qE '^Stack dump:|terminated by signal' "$out"; then
  grep -E 'Program arguments:|terminated by signal' "$out"
  echo "tidy: clang-tidy crashed (full output: $out)"
  exit 1
fi
if grep -qE '(warning|error): ' "$out"; then
  grep -E '(warning|error): ' "$out" | sort -u
  echo "tidy: $(grep -E '(warning|error): ' "$out" | sort -u | wc -l) findings (full output: $out)"
  exit 1
fi
echo "tidy: clean"
