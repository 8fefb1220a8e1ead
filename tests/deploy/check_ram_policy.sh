#!/usr/bin/env bash
# The RAM policy grants exactly the OpenAPI actions the daemon can call: every action named in a
# call("...") of include/alivpc/cloud/aliyun_route_api.hpp, as vpc:<Action>, and nothing more.
#   check_ram_policy.sh SOURCE_DIR
set -euo pipefail
src=$1
policy=$src/deploy/ram/flanneld-alivpc-policy.json
jq -e '.Version == "1" and (.Statement | length > 0)' "$policy" >/dev/null ||
  { echo "not a RAM policy document: $policy" >&2; exit 1; }
jq -e '[.Statement[] | select(.Effect != "Allow" or (.Resource | tostring) == "*")] | length == 0' \
  "$policy" >/dev/null || { echo "a statement is not Allow or has Resource \"*\"" >&2; exit 1; }
granted=$(jq -r '.Statement[].Action[]' "$policy" | sort -u)
called=$(grep -o 'call("[A-Za-z]*"' "$src/include/alivpc/cloud/aliyun_route_api.hpp" |
  sed 's/call("\(.*\)"/vpc:\1/' | sort -u)
if [[ -z $called ]]; then
  echo "found no call(\"...\") in aliyun_route_api.hpp: this check needs updating" >&2
  exit 1
fi
if [[ $granted != "$called" ]]; then
  echo "policy and daemon differ (< policy, > daemon):" >&2
  diff <(echo "$granted") <(echo "$called") >&2 || true
  exit 1
fi
echo "RAM policy grants exactly the $(echo "$called" | wc -l) actions the daemon calls"
