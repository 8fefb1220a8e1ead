#!/usr/bin/env bash
# Builds the .deb packages from BUILD_DIR with CPack, runs lintian on them, unpacks them into a
# temporary root with dpkg-deb -x, runs the daemon's --version from there, verifies the unpacked
# systemd unit (systemd-analyze verify, security exposure at most 2.5) and builds and runs
# tests/consumer/project against the unpacked headers and CMake package.
#   package_test.sh SOURCE_DIR BUILD_DIR WORK_DIR VERSION
set -euo pipefail
src=$1 build=$2 work=$3 version=$4
for tool in cpack lintian dpkg-deb systemd-analyze; do
  command -v "$tool" >/dev/null ||
    { echo "$tool is not installed: run scripts/install-deps.sh" >&2; exit 1; }
done
[[ -x $build/examples/flanneld_alivpc/flanneld_alivpc ]] ||
  { echo "build the flanneld_alivpc target in $build first" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"

echo "== cpack"
cpack --config "$build/CPackConfig.cmake" -B "$work/packages" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; exit 1; }
daemon_deb=$(ls "$work"/packages/flanneld-alivpc_"$version"-*_*.deb)
dev_deb=$(ls "$work"/packages/libalivpc-dev_"$version"-*_all.deb)

echo "== lintian (no error allowed)"
lintian --fail-on error --tag-display-limit 0 "$daemon_deb" "$dev_deb"

echo "== contents"
dpkg-deb -c "$daemon_deb" | grep -E ' \./usr/sbin/flanneld_alivpc$' >/dev/null
dpkg-deb -c "$daemon_deb" | grep -E ' \./lib/systemd/system/flanneld-alivpc\.service$' >/dev/null
# The environment file may hold an access key: root only.
dpkg-deb -c "$daemon_deb" | grep -E '^-rw------- root/root .* \./etc/default/flanneld-alivpc$' >/dev/null ||
  { echo "/etc/default/flanneld-alivpc is not -rw------- root/root" >&2; exit 1; }
dpkg-deb -I "$daemon_deb" conffiles | grep -x /etc/default/flanneld-alivpc >/dev/null
dpkg-deb -c "$dev_deb" | grep -E ' \./usr/include/alivpc/alivpc\.hpp$' >/dev/null
dpkg-deb -c "$dev_deb" | grep -E ' \./usr/share/cmake/alivpc/alivpcConfig\.cmake$' >/dev/null

echo "== unpack and run"
root=$work/root
dpkg-deb -x "$daemon_deb" "$root"
dpkg-deb -x "$dev_deb" "$root"
out=$("$root/usr/sbin/flanneld_alivpc" --version)
echo "$out"
grep -q "^flanneld_alivpc $version " <<<"$out" || { echo "--version does not say $version" >&2; exit 1; }
grep -q "^OpenSSL 3\." <<<"$out" || { echo "--version does not say the OpenSSL version" >&2; exit 1; }

echo "== systemd-analyze"
# The unpacked unit, pointed at the unpacked binary (verify checks that ExecStart= can run).
sed "s|^ExecStart=/usr/sbin/flanneld_alivpc|ExecStart=$root/usr/sbin/flanneld_alivpc|" \
  "$root/lib/systemd/system/flanneld-alivpc.service" >"$work/flanneld-alivpc.service"
# Clean means no output at all (warnings such as an unknown key only print).
verify=$(systemd-analyze verify "$work/flanneld-alivpc.service" 2>&1) || true
[[ -z $verify ]] || { echo "systemd-analyze verify: $verify" >&2; exit 1; }
systemd-analyze security --offline=yes --threshold=25 "$work/flanneld-alivpc.service" |
  tail -1

echo "== consumer against the unpacked libalivpc-dev"
cmake -S "$src/tests/consumer/project" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$root/usr" >"$work/consumer.log" 2>&1 ||
  { cat "$work/consumer.log" >&2; exit 1; }
grep -q "$root/usr/share/cmake/alivpc" "$work/consumer/CMakeCache.txt" ||
  { echo "the consumer did not find alivpc in the unpacked package" >&2; exit 1; }
cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 || { cat "$work/consumer.log" >&2; exit 1; }
printed=$("$work/consumer/consumer")
grep -q '^10\.24\.' <<<"$printed" || { echo "consumer printed: $printed" >&2; exit 1; }
echo "consumer built against the unpacked package and printed $printed"
