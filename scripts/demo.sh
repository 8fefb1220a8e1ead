#!/usr/bin/env bash
# The main job, on one machine, following the seed document step by step:
#   start etcd -> publish the network config with `etcdctl set` (v2, as in the seed) ->
#   run flanneld_alivpc on three "instances" -> confirm that the route table has an entry for the
#   lease of each node. The VPC is alivpc-emulator (the real wire format, on loopback) and each
#   daemon reads its own instance identity from the emulator's metadata service.
# Everything listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
daemon=$build/examples/flanneld_alivpc/flanneld_alivpc
emulator=$build/sim/alivpc-emulator
caller=$build/sim/alivpc-call
for b in "$daemon" "$emulator" "$caller"; do
  [[ -x $b ]] || { echo "demo: $b is not built (run make demo from the repository root)" >&2; exit 1; }
done
for t in etcd etcdctl curl ss; do
  command -v $t >/dev/null || { echo "demo: $t is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/alivpc-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    ss -ltn "sport = :$p" | grep -q ":$p" || { echo $p; return; }
  done
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  for ((i = 0; i < limit * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "demo: timed out waiting for $what" >&2
  exit 1
}

step() { printf '\n== %s\n' "$*"; }

step "Start etcd (v2 API enabled, as the seed's etcdctl set needs)"
client=$(free_port) peer=$(free_port)
etcd_url=http://127.0.0.1:$client
etcd --name demo --data-dir "$work/etcd" --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "demo=http://127.0.0.1:$peer" --enable-v2=true >"$work/etcd.log" 2>&1 &
pids+=($!)
wait_for 20 "etcd" sh -c "curl -fsS $etcd_url/health | grep -q true"
echo "etcd on $etcd_url"

step "Start the VPC (alivpc-emulator): three ECS instances in VPC 192.168.0.0/16"
export ACCESS_KEY_ID=demo-key-id ACCESS_KEY_SECRET=demo-key-secret  # the seed's `export ENV`
"$emulator" --listen 127.0.0.1:0 --access-key "$ACCESS_KEY_ID:$ACCESS_KEY_SECRET" --quiet \
  --instance i-instance1=192.168.0.11 --instance i-instance2=192.168.0.12 --instance i-instance3=192.168.0.13 \
  --write-delay 1000 >"$work/emulator.out" 2>"$work/emulator.log" &
pids+=($!)
wait_for 10 "the emulator" grep -q listening "$work/emulator.out"
emu=$(head -1 "$work/emulator.out" | awk '{print $3}')
echo "VPC OpenAPI and ECS metadata on $emu"

step "Publish the network configuration (ensure it does not overlap the VPC)"
echo "\$ etcdctl set /coreos.com/network/config '{\"Network\":\"10.24.0.0/16\", \"Backend\": {\"Type\": \"ali-vpc\"}}'"
ETCDCTL_API=2 etcdctl --endpoints "$etcd_url" set /coreos.com/network/config \
  '{"Network":"10.24.0.0/16", "Backend": {"Type": "ali-vpc"}}'

step "Run the flannel daemon on each instance"
# The external interface is the one of the default route, as flanneld picks it; on a machine
# without one, the first interface with an IPv4 address is named with --iface.
iface_flag=()
if ! ip -4 route show default | grep -q .; then
  first=$(ip -4 -o addr show | awk '$2 != "lo" {print $2; exit}')
  [[ -n $first ]] || { echo "demo: this machine has no default route and no interface with IPv4 but lo" >&2; exit 1; }
  iface_flag=(--iface="$first")
fi
for n in 1 2 3; do
  hp=$(free_port)
  mkdir -p "$work/node$n"
  echo "\$ flanneld_alivpc --etcd-endpoints=$etcd_url --public-ip=192.168.0.1$n --subnet-file=.../node$n/subnet.env ..."
  "$daemon" --etcd-endpoints="$etcd_url" --metadata-endpoint="$emu/metadata/i-instance$n" \
    --vpc-endpoint="$emu" --public-ip=192.168.0.1$n --subnet-file="$work/node$n/subnet.env" \
    --healthz-ip=127.0.0.1 --healthz-port=$hp "${iface_flag[@]}" >"$work/node$n.log" 2>&1 &
  pids+=($!)
  echo $hp >"$work/node$n.port"
done
for n in 1 2 3; do
  wait_for 45 "node $n to be ready (log: $work/node$n.log)" curl -fsS "http://127.0.0.1:$(cat "$work/node$n.port")/healthz"
done
echo "all three daemons report ready on /healthz"

step "Each node's lease (etcdctl ls/get) and subnet file"
for key in $(ETCDCTL_API=2 etcdctl --endpoints "$etcd_url" ls /coreos.com/network/subnets | sort); do
  echo "$key -> $(ETCDCTL_API=2 etcdctl --endpoints "$etcd_url" get "$key")"
done
for n in 1 2 3; do
  echo "-- node$n/subnet.env"
  cat "$work/node$n/subnet.env"
done

step "Confirm that the route table has an entry for the lease of each node (DescribeRouteTables)"
table=$(grep -o 'is Available in vtb-[a-z0-9]*' "$work/node1.log" | head -1 | awk '{print $4}')
"$caller" --endpoint "$emu" DescribeRouteTables RegionId=cn-hangzhou RouteTableId="$table" |
  grep -E '"(DestinationCidrBlock|InstanceId|Status|Type)"' | paste - - - - | sed 's/  */ /g'

step "Daemon log of node 1"
cat "$work/node1.log"
echo
echo "demo: done; stopping etcd, the emulator and the daemons"
