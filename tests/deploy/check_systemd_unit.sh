#!/usr/bin/env bash
# systemd-analyze verify on deploy/systemd/flanneld-alivpc.service as written, with ExecStart=
# pointed at the built daemon (verify checks that the command can run). Clean means no output:
# warnings such as an unknown key only print. Also fails when the security exposure is over 2.5.
#   check_systemd_unit.sh UNIT DAEMON WORK_FILE
set -euo pipefail
unit=$1 daemon=$2 work=$3
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is not installed" >&2; exit 1; }
sed "s|^ExecStart=/usr/sbin/flanneld_alivpc|ExecStart=$daemon|" "$unit" >"$work"
grep -q "^ExecStart=$daemon\$" "$work" || { echo "no ExecStart=/usr/sbin/flanneld_alivpc" >&2; exit 1; }
out=$(systemd-analyze verify "$work" 2>&1) || true
[[ -z $out ]] || { echo "systemd-analyze verify: $out" >&2; exit 1; }
systemd-analyze security --offline=yes --threshold=25 "$work" | tail -1
