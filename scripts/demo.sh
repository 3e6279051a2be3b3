#!/usr/bin/env bash
# demo.sh - the README's first command: install the Debian dependencies, build, and
# bring up a local overlay of two sites in network namespaces
#   host-a -- gw-a -- router -- gw-b -- host-b
# with real ipopd gateways, then show a ping crossing the encrypted overlay and the
# gateways' state. Everything stays inside namespaces this script creates; they and
# every process are removed when it exits (Ctrl-C with --keep).
#   sudo scripts/demo.sh [--keep] [--no-deps]
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
KEEP=0 DEPS=1
for a in "$@"; do
	case $a in
	--keep) KEEP=1 ;;
	--no-deps) DEPS=0 ;;
	*) echo "usage: $0 [--keep] [--no-deps]" >&2; exit 2 ;;
	esac
done
if [[ $(id -u) -ne 0 ]]; then
	echo "demo.sh: needs root (namespaces, DPDK): run it with sudo" >&2
	exit 1
fi
if ((DEPS)); then
	"$TOP/scripts/deps.sh"
fi
echo "== building"
if [[ ! -d "$TOP/build" ]]; then
	meson setup "$TOP/build" "$TOP" >/dev/null
fi
ninja -C "$TOP/build" >/dev/null

source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"
T_NAME=demo
TOPO_HOST_MTU=1500

echo "== topology: host-a -- gw-a -- router -- gw-b -- host-b (namespaces ${T_NS_PREFIX}*)"
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
gw_setup a && gw_setup b
gw_config a && gw_config b
echo "== starting ipopd on gw-a and gw-b (configs: ${GW_CONF[a]}, ${GW_CONF[b]})"
gw_start a && gw_start b
if ! gw_wait_peer a b up 20; then
	echo "demo: the tunnel did not come up; ipopd's log:" >&2
	tail -n 20 "${GW_LOG[a]}" "${GW_LOG[b]}" >&2
	exit 1
fi
echo "== host-a (${T_HOST_IP[a]}) pings host-b (${T_HOST_IP[b]}) across the encrypted overlay"
nsx host-a ping -c 4 -i 0.3 "${T_HOST_IP[b]}"
echo "== what the router sees on gw-a's link (only UDP to port $GW_PORT: encrypted)"
nsx router timeout 3 tcpdump -n -c 4 -i s1 2>/dev/null &
sleep 0.5
nsx host-a ping -c 2 -i 0.3 "${T_HOST_IP[b]}" >/dev/null
wait
echo "== ipopctl show (gw-a)"
"$(ipop_bin ipopctl)" -s "${GW_SOCK[a]}" show | sed -n '1,40p'
if ((KEEP)); then
	echo
	echo "The overlay keeps running. Try:"
	echo "  ip netns exec $(nsn host-a) ping ${T_HOST_IP[b]}"
	echo "  $(ipop_bin ipopctl) -s ${GW_SOCK[a]} show --json"
	echo "Press Ctrl-C to tear it down."
	trap 'exit 0' INT
	while sleep 3600; do :; done
fi
echo "== demo done: tearing down"
