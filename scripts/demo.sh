#!/usr/bin/env bash
# demo.sh - the README's first command: install the Debian dependencies, build, and
# bring up a local overlay of three sites in network namespaces that find each other
# through XMPP and cross NATs with STUN and TURN, with no static peer list:
#   host-1 -- gw-1 ------------------ router -- srv (Prosody, coturn)
#   host-2 -- gw-2 -- nat-2 (port-restricted cone) --/
#   host-3 -- gw-3 -- nat-3 (symmetric) -------------/
# Each gateway logs in to the demo's own Prosody (TLS; accounts and the overlay's
# shared roster group written by this script), sees the other members' presence,
# negotiates links, gathers ICE candidates from the demo's own coturn (STUN and
# TURN), and brings up encrypted tunnels on the pairs ICE selects: gw-2 and gw-3
# (behind a port-restricted cone and a symmetric NAT) can only meet through the
# TURN relay. Then every host pings every other and the gateways' links and ICE
# pairs are shown. Everything stays inside namespaces this script creates; they and
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
export IPOP_BUILD=${IPOP_BUILD:-$TOP/build}   # another build dir: IPOP_BUILD=DIR
if [[ ! -d "$IPOP_BUILD" ]]; then
	meson setup "$IPOP_BUILD" "$TOP" >/dev/null
fi
ninja -C "$IPOP_BUILD" >/dev/null

source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"
source "$TOP/tests/netns/nat.sh"
T_NAME=demo
TOPO_HOST_MTU=1500

SITES=(1 2 3)
DOMAIN=ipop.test
echo "== topology: host-N -- gw-N -- router -- srv, N = ${SITES[*]}; gw-2 behind a" \
	"port-restricted cone NAT, gw-3 behind a symmetric one (namespaces ${T_NS_PREFIX}*)"
nat_site 1 1 none
nat_site 2 2 prc
nat_site 3 3 sym
echo "== coturn in srv ($T_SRV_IP:$COTURN_PORT: STUN and TURN)"
nat_cloud

echo "== Prosody in srv ($T_SRV_IP:5222, TLS), overlay 'testnet' as a shared roster group"
prosody_groups < <(roster_group testnet "$DOMAIN" "${SITES[@]/#/gw-}")
prosody_start srv "$T_SRV_IP" 5222 "$DOMAIN" tls
for l in "${SITES[@]}"; do
	prosody_adduser "gw-$l" "$DOMAIN" "demo-pw-$l"
done

for l in "${SITES[@]}"; do
	gw_setup "$l"
	# No peers: signalling finds them; ICE gathers from the demo's coturn.
	gw_config "$l" "$(gw_signal_block "$l" "demo-pw-$l")
ice: { stun = \"$T_SRV_IP:$COTURN_PORT\"; turn = \"$T_SRV_IP:$COTURN_PORT\"; turn_user = \"$COTURN_USER\"; turn_password = \"$COTURN_PASS\"; };"
done
echo "== starting ipopd on gw-1..3 (config of gw-1: ${GW_CONF[1]})"
grep -E '^(signal|ice)' "${GW_CONF[1]}"
for l in "${SITES[@]}"; do gw_start "$l"; done
links_up() {
	local l n
	for l in "${SITES[@]}"; do
		# Connected, on the pair ICE selected (a link may connect on the
		# member's signalled address first and move to the pair after).
		n=$(gw_get "$l" "sum(1 for x in d.get('links', []) if x['state'] == 'connected' and \
			(x.get('ice') or {}).get('state') == 'selected' and (x.get('ice') or {}).get('in_use') is True)" \
			2>/dev/null) || return 1
		((n == ${#SITES[@]} - 1)) || return 1
	done
}
if ! wait_until 60 links_up; then
	echo "demo: the links did not come up; ipopd's logs:" >&2
	for l in "${SITES[@]}"; do tail -n 15 "${GW_LOG[$l]}" >&2; done
	exit 1
fi
echo "== every gateway found the others and has $((${#SITES[@]} - 1)) connected links, each on its ICE pair"
for a in "${SITES[@]}"; do
	for b in "${SITES[@]}"; do
		[[ "$a" == "$b" ]] && continue
		printf 'host-%s -> host-%s (%s): ' "$a" "$b" "${T_HOST_IP[$b]}"
		nsx "host-$a" ping -c 2 -i 0.3 -W 2 "${T_HOST_IP[$b]}" | tail -n 2 | head -n 1
	done
done
echo "== what the router sees of the tunnels on gw-1's link (UDP to and from its ICE ports: encrypted)"
nsx router timeout 3 tcpdump -n -c 4 -i s1 udp 2>/dev/null &
sleep 0.5
nsx host-1 ping -c 2 -i 0.3 "${T_HOST_IP[2]}" >/dev/null
wait
echo "== the ICE pairs: host = the gateway's own address, srflx/prflx = its address as its NAT" \
	"maps it (learnt from STUN / from the checks), relay = an address on the demo's coturn"
for l in "${SITES[@]}"; do
	echo "== ipopctl show --json (gw-$l): links and the ICE pair each tunnel uses (local/remote candidate type)"
	"$(ipop_bin ipopctl)" -s "${GW_SOCK[$l]}" show --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for x in d["links"]:
    ice = x.get("ice") or {}
    pair = "%s/%s" % (ice.get("local_type", "-"), ice.get("remote_type", "-"))
    print("  %-16s %-10s %-9s pair %-12s age %3ss  tx %8d B  rx %8d B" % (x["member"],
          x["state"], x.get("role", "-"), pair, x["age_s"], x["tx_bytes"], x["rx_bytes"]))
print("  signalling: %s as %s, rejected stanzas: %d" % (d["signalling"]["state"],
      d["signalling"]["jid"], d["signalling"]["counters"]["rejected"]["total"]))'
done
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
