#!/usr/bin/env bash
# demo.sh - the README's first command: install the Debian dependencies, build, and
# bring up a local overlay of three sites in network namespaces that find each other
# through XMPP, with no static peer list:
#   host-N -- gw-N -- router -- (srv: Prosody)    for N = 1, 2, 3
# Each gateway logs in to the demo's own Prosody (TLS; accounts and the overlay's
# shared roster group written by this script), sees the other members' presence,
# negotiates links and brings up encrypted tunnels; then every host pings every
# other and the gateways' links are shown. Everything stays inside namespaces this
# script creates; they and every process are removed when it exits (Ctrl-C with --keep).
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
export IPOP_BUILD=${IPOP_BUILD:-$TOP/build}   # another build dir: IPOP_BUILD=DIR
if [[ ! -d "$IPOP_BUILD" ]]; then
	meson setup "$IPOP_BUILD" "$TOP" >/dev/null
fi
ninja -C "$IPOP_BUILD" >/dev/null

source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"
T_NAME=demo
TOPO_HOST_MTU=1500

SITES=(1 2 3)
DOMAIN=ipop.test
echo "== topology: host-N -- gw-N -- router -- srv, N = ${SITES[*]} (namespaces ${T_NS_PREFIX}*)"
topo_sites ${#SITES[@]}

echo "== Prosody in srv ($T_SRV_IP:5222, TLS), overlay 'testnet' as a shared roster group"
gdir=$(t_mkdir groups)
{
	echo "[testnet]"
	for l in "${SITES[@]}"; do echo "gw-$l@$DOMAIN"; done
} >"$gdir/groups.txt"
chmod 644 "$gdir/groups.txt"
PROSODY_EXTRA_MODULES="groups"
PROSODY_EXTRA_CONFIG="groups_file = \"$gdir/groups.txt\""
prosody_start srv "$T_SRV_IP" 5222 "$DOMAIN" tls
for l in "${SITES[@]}"; do
	prosody_adduser "gw-$l" "$DOMAIN" "demo-pw-$l"
done

for l in "${SITES[@]}"; do
	gw_setup "$l"
	gw_config "$l" "$(gw_signal_block "$l" "demo-pw-$l")"   # no peers: signalling only
done
echo "== starting ipopd on gw-1..3 (config of gw-1: ${GW_CONF[1]})"
grep -A1 '^signal' "${GW_CONF[1]}" | head -n 1
for l in "${SITES[@]}"; do gw_start "$l"; done
links_up() {
	local l n
	for l in "${SITES[@]}"; do
		n=$(gw_get "$l" "sum(1 for x in d.get('links', []) if x['state'] == 'connected')" \
			2>/dev/null) || return 1
		((n == ${#SITES[@]} - 1)) || return 1
	done
}
if ! wait_until 40 links_up; then
	echo "demo: the links did not come up; ipopd's logs:" >&2
	for l in "${SITES[@]}"; do tail -n 15 "${GW_LOG[$l]}" >&2; done
	exit 1
fi
echo "== every gateway found the others and has $((${#SITES[@]} - 1)) connected links"
for a in "${SITES[@]}"; do
	for b in "${SITES[@]}"; do
		[[ "$a" == "$b" ]] && continue
		printf 'host-%s -> host-%s (%s): ' "$a" "$b" "${T_HOST_IP[$b]}"
		nsx "host-$a" ping -c 2 -i 0.3 -W 2 "${T_HOST_IP[$b]}" | tail -n 2 | head -n 1
	done
done
echo "== what the router sees of the tunnels on gw-1's link (UDP port $GW_PORT: encrypted)"
nsx router timeout 3 tcpdump -n -c 4 -i s1 udp 2>/dev/null &
sleep 0.5
nsx host-1 ping -c 2 -i 0.3 "${T_HOST_IP[2]}" >/dev/null
wait
echo "== ipopctl show --json (gw-1): links"
"$(ipop_bin ipopctl)" -s "${GW_SOCK[1]}" show --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for x in d["links"]:
    print("  %-18s %-10s %-9s age %3ss  tx %8d B  rx %8d B" % (x["member"], x["state"],
          x.get("role", "-"), x["age_s"], x["tx_bytes"], x["rx_bytes"]))
print("  signalling: %s as %s, rejected stanzas: %d" % (d["signalling"]["state"],
      d["signalling"]["jid"], d["signalling"]["counters"]["rejected"]["total"]))'
if ((KEEP)); then
	echo
	echo "The overlay keeps running. Try:"
	echo "  ip netns exec $(nsn host-1) ping ${T_HOST_IP[3]}"
	echo "  $(ipop_bin ipopctl) -s ${GW_SOCK[1]} show"
	echo "Press Ctrl-C to tear it down."
	trap 'exit 0' INT
	while sleep 3600; do :; done
fi
echo "== demo done: tearing down"
