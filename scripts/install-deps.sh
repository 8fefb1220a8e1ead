#!/usr/bin/env bash
# Installs the Debian 12 packages alivpc needs, skipping those already present.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
  libboost-dev libssl-dev nlohmann-json3-dev librapidcheck-dev libgtest-dev libgmock-dev
  libbenchmark-dev libjemalloc-dev etcd-server etcd-client openssl iproute2 iptables procps curl
  clang libclang-rt-14-dev clang-format clang-tidy
  prometheus lintian jq python3-yaml systemd dpkg-dev chromium time)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "alivpc needs these Debian packages, which are not installed:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
