#!/usr/bin/env bash
# test_turn_mismatch.sh - an ICE agent whose TURN Allocate meets a stale
# allocation (437 Allocation Mismatch) is replaced at once by one on another
# port, a bounded number of times (control/link/ice_link.c, turn_mismatch).
# A gateway restarted behind a NAT that keeps its mappings meets this when an
# agent's port maps to the 5-tuple of an agent of its previous run, whose
# allocation coturn keeps for its lifetime (10 minutes): seen in
# test_nat_relay.sh, where that agent had no relay and waited for dead_after.
# Here the stale allocations are made on purpose: before gw-x starts, a TURN
# client from gw-x's WAN address allocates on each of its 64 agent ports and
# goes away without freeing them. x and y have no NAT (their host candidates
# reach each other), y has no TURN.
# Proves first that a gateway that stops frees its TURN allocations (an
# Allocate from its agent's 5-tuple succeeds afterwards; before, every
# allocation stayed behind, which is how the case arose). Then: gw-x's agent
# that met 437 was replaced at once
# (ice.counters.turn_mismatch_reopened, link_counters.ice_reopened, the link's
# last restart says why), each replacement on a port not used before
# (the ports the 437s came on are distinct), and no more than
# IPOP_ICE_MISMATCH_REOPENS (3) in a row: the fourth agent is kept
# (turn_mismatch_kept 1), links without a relay of its own and carries pings;
# the counts stay put afterwards (no restart loop).
# ipop-timeout: 150
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"
source "$(dirname "$0")/nat.sh"
source "$(dirname "$0")/ice_gw.sh"

DOMAIN=ipop.test
GW_XMPP_TLS=false
GW_LINK_TIMEOUT=8

nat_site x 1 none
nat_site y 2 none
ice_cloud x y
gw_config x "$(gw_signal_block x pw-x)
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:$COTURN_PORT\"; turn = \"$T_SRV_IP:$COTURN_PORT\";
       turn_user = \"$COTURN_USER\"; turn_password = \"$COTURN_PASS\"; };"
gw_config y "$(gw_signal_block y pw-y)
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:$COTURN_PORT\"; };"

xip=${T_GW_WAN_IP[x]}
# alloc PORT [--keep] : a TURN Allocate from gw-x's WAN address and PORT, made
# from the router while it holds that address (local delivery wins over its
# route to gw-x, so coturn's answers reach the client there); freed at once
# unless --keep.
alloc() {
	nsx router python3 "$T_PROBE" turn-alloc "$T_SRV_IP" "$COTURN_PORT" "$COTURN_USER" \
		"$COTURN_PASS" --bind "$xip:$1" ${2:+"$2"}
}

# ---- a gateway that stops frees its TURN allocations
# gw-x's agent allocates a relay (its pair is host to host: no NAT); once gw-x
# stopped, an Allocate from the agent's 5-tuple must succeed, not meet the
# agent's allocation left behind (437): that is what made the case below
# happen after a restart behind a NAT that keeps its mappings.
t_require "ipopd x starts" gw_start x
t_require "ipopd y starts" gw_start y
relayed() { [[ "$(link_get x y "x['ice'].get('relay_candidates', 0) >= 1" 2>/dev/null)" == True ]]; }
t_wait "gw-x's agent has a relayed candidate (its TURN allocation)" 30 relayed
xport=$(link_get x y "x['ice']['port']")
echo "gw-x's agent: port $xport, $(link_get x y "x['ice']")"
t_require "ipopd x stops" gw_stop x
t_check "gw-x said nothing about agents left closing" \
	test "$(grep -c 'did not finish closing' "${GW_LOG[x]}")" -eq 0
t_require "the router holds $xip for a moment" nsx router ip addr add "$xip/32" dev lo
# coturn ends a freed allocation's 5-tuple within about a second (an Allocate
# 0.7 s after the Refresh with lifetime 0 still met 437); one left behind
# holds it for its lifetime (10 minutes).
t_wait "an Allocate from gw-x's stopped agent's 5-tuple ($xip:$xport) succeeds: nothing left behind" \
	5 alloc "$xport"

# ---- stale allocations on every agent port of gw-x
stale=0
for ((p = GW_PORT + 1; p <= GW_PORT + 64; p++)); do
	if wait_until 5 alloc "$p" --keep >/dev/null; then
		stale=$((stale + 1))
	fi
done
t_require "the router gives $xip back" nsx router ip addr del "$xip/32" dev lo
t_eq "coturn holds an allocation for each of gw-x's 64 agent ports" 64 "$stale"

# ---- gw-x's agents meet 437 while only a relay could link x and y
# The router drops UDP between x and y for now: host candidates cannot pair,
# and y has no relay, so an agent of x's without a relay of its own finds no
# pair, as c's did behind its NAT in test_nat_relay.sh.
t_require "the router drops UDP between x and y" nsx router nft -f - <<NFT
table ip ipop_block {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr $xip ip daddr ${T_GW_WAN_IP[y]} meta l4proto udp drop
		ip saddr ${T_GW_WAN_IP[y]} ip daddr $xip meta l4proto udp drop
	}
}
NFT
t_require "ipopd x starts again" gw_start x
kept() { (($(gw_get x "d['ice']['counters']['turn_mismatch_kept']") >= 1)); }
t_wait "gw-x kept an agent that met 437 after replacing three" 30 kept

ctr() { gw_get x "d['ice']['counters']['$1']"; }
echo "gw-x ice.counters: $(gw_get x "d['ice']['counters']")"
echo "gw-x link to y: $(link_get x y "x['ice']")"
t_eq "gw-x: three agents replaced for 437 (turn_mismatch_reopened)" 3 "$(ctr turn_mismatch_reopened)"
t_eq "gw-x: the fourth kept (turn_mismatch_kept)" 1 "$(ctr turn_mismatch_kept)"
t_eq "gw-x: the link manager restarted ICE for each (link_counters.ice_reopened)" 3 \
	"$(gw_get x "d['link_counters']['ice_reopened']")"
t_check "gw-x: the link's last restart says why" matches \
	"$(link_get x y "x['ice']['last_restart']")" 'TURN allocation mismatch \(437\) on port [0-9]+.*'
t_eq "gw-x: the link counts the run of mismatches" 3 "$(link_get x y "x['ice']['turn_mismatches']")"
t_eq "gw-x: no TURN credential refusal (a 437 is not one)" 0 "$(ctr turn_reopened)"
# Each agent replaced or kept is logged with its port: four agents, four ports.
ports=$({ grep -oE 'ICE agent on port [0-9]+ (replaced|kept)' "${GW_LOG[x]}" || true; } | head -4 |
	awk '{print $5}' | sort -u | tr '\n' ' ')
echo "gw-x: agents that met 437 Allocation Mismatch, on ports: $ports"
t_eq "gw-x: the four agents that met 437 were on four ports" 4 "$(wc -w <<<"$ports")"
t_eq "gw-x: said once that it kept an agent without a relay" 1 \
	"$(grep -c 'kept without a relay of its own' "${GW_LOG[x]}")"

# ---- the direct path opens: the link comes up without a relay of x's (on
# the signalled endpoints or a host pair, whichever answers first), and no
# more agents are replaced (the bound holds for whatever agent comes next)
t_require "the router lets UDP between x and y pass" nsx router nft delete table ip ipop_block
t_wait "x's link to y is connected" 40 link_is x y connected
x_pings() { pings x y; }
t_wait "host-x pings host-y" 20 x_pings
echo "gw-x link to y: $(link_get x y "x['ice']")"
t_check "host-y pings host-x for 5 s" nsx host-y ping -c 25 -i 0.2 -W 1 "${T_HOST_IP[x]}"
t_eq "gw-x: still three replaced" 3 "$(ctr turn_mismatch_reopened)"
# A later agent of the link (ICE restarted while no pair answered) that met
# 437 again is kept too, and says so.
t_eq "gw-x: every agent kept was logged" "$(ctr turn_mismatch_kept)" \
	"$(grep -c 'kept without a relay of its own' "${GW_LOG[x]}")"
t_eq "gw-x: still three restarts by the link manager" 3 \
	"$(gw_get x "d['link_counters']['ice_reopened']")"
t_eq "x's link to y is still connected" connected "$(link_get x y "x['state']")"
t_summary
