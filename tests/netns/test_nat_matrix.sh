#!/usr/bin/env bash
# test_nat_matrix.sh - every pair of NAT kinds, with ipopd gateways (issue 13's
# proof: "for every pair of these, LAN hosts at the two sites reach each other
# (ping and an iperf3 TCP stream) ... the candidate types chosen are the ones
# ICE should choose for that pair"). Eight sites, two behind each kind of NAT
# of tests/netns/nat.sh: a, b none; c, d eim (endpoint-independent mapping and
# filtering); e, f prc (port-restricted cone); g, h sym (symmetric). Prosody and
# coturn (STUN and TURN) in the cloud, every gateway with ice { stun, turn },
# the all-to-all topology: 28 links at once. For one pair of sites of each of
# the 10 kind pairs (none-none a-b, none-eim a-c, none-prc a-e, none-sym a-g,
# eim-eim c-d, eim-prc c-e, eim-sym c-g, prc-prc e-f, prc-sym e-g, sym-sym g-h):
# both sides' links are connected and their ICE pair is the tunnel's path, the
# LAN hosts ping each other, an iperf3 TCP stream crosses, and the pair's
# candidate types are the ones ICE should choose:
#   - prc-sym and sym-sym: a relayed candidate on at least one side (no direct
#     path exists: the symmetric NAT's port towards the peer is not the one
#     STUN saw, and the other side filters by address and port);
#   - every other pair: direct, no relayed candidate on either side; none-none
#     host/host; the side without NAT offers its host candidate (local host);
#     two cones reach each other through their server-reflexive (or, learnt
#     from the checks, peer-reflexive) addresses.
# A session that came up on the member's signalled endpoint before ICE chose
# its pair must end up on the pair (the `in_use` checks; without
# control/link/ice_link.c retake_pair, a-b and a-e stayed on wan.port).
# ipop-timeout: 420
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"
source "$(dirname "$0")/nat.sh"
source "$(dirname "$0")/ice_gw.sh"

DOMAIN=ipop.test
GW_XMPP_TLS=false
GW_LINK_TIMEOUT=10
SITES=(a b c d e f g h)
declare -A KIND=([a]=none [b]=none [c]=eim [d]=eim [e]=prc [f]=prc [g]=sym [h]=sym)
PAIRS=("a b" "a c" "a e" "a g" "c d" "c e" "c g" "e f" "e g" "g h")

i=0
for l in "${SITES[@]}"; do
	i=$((i + 1))
	nat_site "$l" "$i" "${KIND[$l]}"
done
ice_cloud "${SITES[@]}"
for l in "${SITES[@]}"; do
	gw_config "$l" "$(gw_signal_block "$l" "pw-$l")
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:$COTURN_PORT\"; turn = \"$T_SRV_IP:$COTURN_PORT\";
       turn_user = \"$COTURN_USER\"; turn_password = \"$COTURN_PASS\"; };"
done

t0=$(_t_now_ms)
for l in "${SITES[@]}"; do t_require "ipopd $l starts" gw_start "$l"; done

ice_field() { link_get "$1" "$2" "x['ice'].get('$3')" 2>/dev/null; }
in_use() { [[ "$(ice_field "$1" "$2" in_use)" == True ]]; }

# check_pair X Y : X and Y's link works both ways with the types ICE should choose.
check_pair() {
	local x=$1 y=$2 kinds="${KIND[$1]}-${KIND[$2]}" lx rx ly ry mbps
	t_wait "$kinds ($x-$y): gw-$x's link to gw-$y is connected" 60 link_is "$x" "$y" connected
	t_wait "$kinds ($x-$y): gw-$y's link to gw-$x is connected" 20 link_is "$y" "$x" connected
	t_wait "$kinds ($x-$y): gw-$x's ICE pair is the tunnel's path" 20 in_use "$x" "$y"
	t_wait "$kinds ($x-$y): gw-$y's ICE pair is the tunnel's path" 20 in_use "$y" "$x"
	t_wait "$kinds ($x-$y): host-$x pings host-$y" 15 pings "$x" "$y"
	t_check "$kinds ($x-$y): host-$y pings host-$x" pings "$y" "$x"
	lx=$(ice_field "$x" "$y" local_type)
	rx=$(ice_field "$x" "$y" remote_type)
	ly=$(ice_field "$y" "$x" local_type)
	ry=$(ice_field "$y" "$x" remote_type)
	echo "$kinds ($x-$y): gw-$x uses $lx/$rx, gw-$y uses $ly/$ry (local/remote)"
	case $kinds in
	prc-sym | sym-sym)
		t_check "$kinds ($x-$y): relayed, as it must be ($lx/$rx, $ly/$ry)" \
			matches "$lx/$rx $ly/$ry" '.*relay.*'
		;;
	*)
		t_check_not "$kinds ($x-$y): direct, no relay ($lx/$rx, $ly/$ry)" \
			matches "$lx/$rx $ly/$ry" '.*relay.*'
		;;
	esac
	case $kinds in
	none-none)
		t_eq "$kinds ($x-$y): host candidates on both sides" "host/host host/host" "$lx/$rx $ly/$ry" ;;
	none-*)
		t_eq "$kinds ($x-$y): gw-$x (no NAT) offers its host address" host "$lx"
		t_check "$kinds ($x-$y): gw-$y reaches gw-$x's host address" test "$ry" = host
		;;
	eim-eim | eim-prc | prc-prc)
		t_check "$kinds ($x-$y): both sides through their NATs' reflexive addresses" \
			matches "$lx/$rx $ly/$ry" '(srflx|prflx)/(srflx|prflx) (srflx|prflx)/(srflx|prflx)'
		;;
	esac
	t_require "$kinds ($x-$y): iperf3 server on host-$y" iperf_server "host-$y" "${T_HOST_IP[$y]}"
	mbps=$(iperf_mbps "host-$x" "${T_HOST_IP[$y]}" 2) || mbps=0
	bg_stop "$IPERF_PID" 5
	echo "$kinds ($x-$y): iperf3 TCP host-$x -> host-$y: $mbps Mbit/s"
	t_check "$kinds ($x-$y): an iperf3 TCP stream crosses (more than 5 Mbit/s)" test "$mbps" -gt 5
}

for p in "${PAIRS[@]}"; do
	# shellcheck disable=SC2086
	check_pair $p
done
echo "all 10 NAT kind pairs checked $(($(_t_now_ms) - t0)) ms after the first gateway started"
retaken=0
for l in "${SITES[@]}"; do retaken=$((retaken + $(gw_get "$l" "d['ice']['counters']['pairs_retaken']"))); done
echo "pairs taken back from the bootstrap path (wan.port) by all gateways: $retaken"
for l in "${SITES[@]}"; do
	t_check "gw-$l never crashed" kill -0 "${GW_PID[$l]}"
done
for l in "${SITES[@]}"; do gw_stop "$l"; done
t_summary
