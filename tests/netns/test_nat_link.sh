#!/usr/bin/env bash
# test_nat_link.sh - signalled ipopd gateways behind the NATs of tests/netns/nat.sh
# find a path with ICE (control/link/ice_link.c) and carry the tunnel on it.
# Three sites: a and b behind port-restricted cone NATs (prc), c with no NAT; Prosody
# (shared roster group, plain) and coturn (STUN) in the cloud namespace; every
# gateway has ice { stun } and the all-to-all topology, so a-b is prc<->prc and a-c,
# b-c are none<->prc. Without ICE none of these tunnels could form: each gateway
# signals its private WAN address, which the others cannot reach.
# Proves: a and b, started together, link through their NATs with server-reflexive
# candidates (srflx/srflx), the tunnel runs on ICE's 5-tuple (the peer's endpoint
# is the member's public NAT mapping, our source port an agent's port), their LAN
# hosts ping each other and an iperf3 TCP stream crosses; c joins and links to both
# (host on c's side, prflx for the NATed member); and the time from both gateways
# online (XMPP) to the first ping crossing, printed for each pair.
# ipop-timeout: 240
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"
source "$(dirname "$0")/nat.sh"
source "$(dirname "$0")/ice_gw.sh"

DOMAIN=ipop.test
GW_XMPP_TLS=false
GW_LINK_TIMEOUT=8

nat_site a 1 prc
nat_site b 2 prc
nat_site c 3 none

ice_cloud a b c
for l in a b c; do
	gw_config "$l" "$(gw_signal_block "$l" "pw-$l")
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:3478\"; };"
done

link_not() {
	local v
	v=$(link_get "$1" "$2" "x['state']") && [[ "$v" != "$3" ]]
}

# check_ice SITE MEMBER LOCAL_TYPES REMOTE_TYPES : the link's ICE pair has types
# among those given ("srflx|prflx") and is in use; its remote endpoint is the
# peer's endpoint.
check_ice() {
	local s=$1 m=$2
	t_eq "gw-$s -> gw-$m: ICE selected a pair" selected "$(link_get "$s" "$m" "x['ice']['state']")"
	local lt rt
	lt=$(link_get "$s" "$m" "x['ice']['local_type']")
	rt=$(link_get "$s" "$m" "x['ice']['remote_type']")
	t_check "gw-$s -> gw-$m: local candidate type $lt is one of $3" matches "$lt" "$3"
	t_check "gw-$s -> gw-$m: remote candidate type $rt is one of $4" matches "$rt" "$4"
	t_eq "gw-$s -> gw-$m: the pair is the tunnel's 5-tuple" True "$(link_get "$s" "$m" "x['ice']['in_use']")"
	local ep peer_ep lport
	ep=$(link_get "$s" "$m" "x['ice']['remote_endpoint']")
	peer_ep=$(gw_get "$s" "p('gw-$m')['endpoint']")
	t_eq "gw-$s -> gw-$m: the peer's endpoint is the pair's remote endpoint" "$ep" "$peer_ep"
	lport=$(link_get "$s" "$m" "x['ice']['local'].split(':')[1]")
	t_check "gw-$s -> gw-$m: the local port is an agent's (wan.port+1..+64)" \
		test "$lport" -gt "$GW_PORT" -a "$lport" -le $((GW_PORT + 64))
	echo "gw-$s -> gw-$m: $(link_get "$s" "$m" "x['ice']")"
}

# ---- 1. prc <-> prc: both start together
t_require "ipopd a starts" gw_start a
t_require "ipopd b starts" gw_start b
FIRST_PING_MS=""
report_first_ping "prc<->prc" a b || true
t_check "host-a pings host-b through two port-restricted NATs" test -n "$FIRST_PING_MS"
t_check "... within 2 s of both gateways online (${FIRST_PING_MS:-never} ms)" \
	test "${FIRST_PING_MS:-99999}" -lt 2000
t_wait "a's link to b is connected" 10 link_is a b connected
t_wait "b's link to a is connected" 10 link_is b a connected
check_ice a b srflx srflx
check_ice b a srflx srflx
t_check "gw-a: STUN on the agents' ports reached the kernel (consent checks): stun_exc" \
	test "$(gw_get a "d['dataplane']['stun_exc']")" -gt 0
t_eq "gw-a: b's endpoint is b's public NAT address" "${T_PUBLIC_IP[b]}" \
	"$(gw_get a "p('gw-b')['endpoint'].split(':')[0]")"
t_check "host-b pings host-a" pings b a
t_require "iperf3 server on host-b" iperf_server host-b "${T_HOST_IP[b]}"
mbps=$(iperf_mbps host-a "${T_HOST_IP[b]}" 3) || mbps=0
echo "prc<->prc: iperf3 TCP host-a -> host-b: $mbps Mbit/s"
t_check "an iperf3 TCP stream crosses (more than 10 Mbit/s)" test "$mbps" -gt 10
bg_stop "$IPERF_PID" 5

# ---- 2. none <-> prc: c joins
t_require "ipopd c starts" gw_start c
FIRST_PING_MS=""
report_first_ping "none<->prc" c a || true
t_check "host-c pings host-a (none <-> prc)" test -n "$FIRST_PING_MS"
t_check "... within 2 s of both gateways online (${FIRST_PING_MS:-never} ms)" \
	test "${FIRST_PING_MS:-99999}" -lt 2000
t_check "host-c pings host-b (none <-> prc)" wait_until 10 pings c b
t_wait "c's link to a is connected" 10 link_is c a connected
# a's candidate is seen as srflx if a's trickled srflx candidate came before
# a's first check, as prflx otherwise: with a prc NAT both are its one mapping.
check_ice c a host 'prflx|srflx'
check_ice a c 'host|srflx|prflx' host
t_check "host-a pings host-c" pings a c

# ---- 3. a's NAT restarts (every mapping flushed): the tunnel comes back by
# itself. The flush also cuts gw-a's XMPP connection (its TCP mapping goes with
# the rest, as in a real NAT reboot), so how long it takes depends on signalling
# too. When nothing comes over the pair for 1.5 keepalive intervals the link's
# initiator restarts ICE (restart='ice', the sessions stay; signalling is probed
# and the request sent again until answered: test_nat_path.sh times it); if
# that fails, the session dies after dead_after (6 s here) and the link starts
# over, or fails after link_timeout and is negotiated again. The ping check is not enough here: c
# can carry a-b traffic as transit while the a-b link is down.
ep0=$(gw_get b "p('gw-a')['endpoint']")
fails0=$(link_get a b "x['failures']")
logins0=$(gw_get a "d['signalling']['counters']['logins']")
t0=$(_t_now_ms)
t_require "nat-a flushes its mappings" nat_flush a
went_down=no
wait_until 10 link_not a b connected && went_down=yes
t_wait "a's link to b is connected again after the NAT restart" 60 link_is a b connected
t_check "host-a pings host-b" pings a b
echo "NAT restart at a: the a-b link went down: $went_down; connected again after" \
	"$(($(_t_now_ms) - t0)) ms; b saw a at $ep0 before, at $(gw_get b "p('gw-a')['endpoint']") after;" \
	"a's link to b failed $(($(link_get a b "x['failures']") - fails0)) time(s);" \
	"gw-a logged in to XMPP $(($(gw_get a "d['signalling']['counters']['logins']") - logins0)) more time(s)"
check_ice a b srflx srflx

t_eq "no candidate refused anywhere (by the agent, the cap or the signalling codec)" 0 \
	"$(gw_get a "d['link_counters']['candidates_bad'] + d['link_counters']['candidates_too_many'] + d['link_counters']['candidates_unparsed'] + d['signalling']['counters']['rejected']['bad_candidate']")"
t_summary
