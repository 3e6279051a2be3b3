#!/usr/bin/env bash
# nat_pairs.sh - issue 13's NAT benchmark: for each NAT pair (none-none,
# prc-prc, prc-sym, sym-sym) the time from both gateways online (the later XMPP
# login) to the first ping crossing between their LAN hosts, and the pair ICE
# chose; then one iperf3 TCP stream over the direct prc-prc tunnel and over the
# relayed sym-sym tunnel (through coturn, ChannelData on the fast path) in the
# same run, their ratio, and coturn's CPU while each stream ran (from
# /proc/PID/stat: a share of one CPU; near 100 % means coturn is the bottleneck)
# and the datagrams the cloud namespace's full UDP receive buffers dropped.
#
#   sudo bench/nat_pairs.sh [-b BUILD] [-o OUT.json] [-t IPERF_SECONDS]
#
#   -b  meson build dir ($IPOP_BUILD, else build/)   -o  also write the JSON here
#   -t  seconds of each iperf3 stream (default 5)
#
# Testbed: tests/netns/lib.sh, ipop.sh and nat.sh, as tests/netns/test_nat_relay.sh
# runs them: eight sites (two per pair) behind the NATs of nat.sh, Prosody (plain)
# and coturn (STUN and TURN over UDP) in the cloud namespace, every gateway with
# ice { stun, turn } and the all-to-all topology. The pairs run one after the
# other (a pair's gateways are stopped before the next pair starts, so no other
# link forms). Progress goes to stderr, the JSON report to stdout.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=""
SECS=5
while getopts "b:o:t:h" o; do
	case $o in
	b) export IPOP_BUILD=$OPTARG ;; o) OUT=$OPTARG ;; t) SECS=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done

source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"
source "$TOP/tests/netns/nat.sh"
source "$TOP/tests/netns/ice_gw.sh"
log() { printf '%s\n' "$*" >&2; }

DOMAIN=ipop.test
GW_XMPP_TLS=false
GW_LINK_TIMEOUT=8
PAIRS=("none-none 1 2 none none" "prc-prc 3 4 prc prc" "prc-sym 5 6 prc sym" "sym-sym 7 8 sym sym")

{
	gdir=$(t_mkdir groups)
	{
		echo '[testnet]'
		for i in $(seq 1 8); do echo "gw-s$i@$DOMAIN"; done
	} >"$gdir/groups.txt"
	chmod 644 "$gdir/groups.txt"
	for p in "${PAIRS[@]}"; do
		read -r _ i j mi mj <<<"$p"
		nat_site "s$i" "$i" "$mi"
		nat_site "s$j" "$j" "$mj"
	done
	PROSODY_EXTRA_MODULES="groups"
	PROSODY_EXTRA_CONFIG="groups_file = \"$gdir/groups.txt\""
	nat_cloud prosody
	for i in $(seq 1 8); do
		prosody_adduser "gw-s$i" "$DOMAIN" "pw-$i"
		gw_setup "s$i"
		gw_config "s$i" "$(gw_signal_block "s$i" "pw-$i")
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:$COTURN_PORT\"; turn = \"$T_SRV_IP:$COTURN_PORT\";
       turn_user = \"$COTURN_USER\"; turn_password = \"$COTURN_PASS\"; };"
	done
} >&2

pair_of() {
	gw_get "$1" "next((x['ice'].get('local_type','?') + '/' + x['ice'].get('remote_type','?') for x in d.get('links', []) if x['member'] == 'gw-$2@$DOMAIN'), 'none')"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# udp_rcvbuf_errors NS : the namespace's UDP RcvbufErrors (datagrams a socket's
# full receive buffer dropped: coturn's, in srv).
udp_rcvbuf_errors() {
	nsx "$1" cat /proc/net/snmp | python3 -c 'import sys
rows = [l.split() for l in sys.stdin if l.startswith("Udp:")]
print(rows[1][rows[0].index("RcvbufErrors")])'
}

# stream SITE_FROM SITE_TO : iperf3 TCP Mbit/s, coturn's CPU % meanwhile, and
# the datagrams the cloud's full UDP receive buffers dropped meanwhile.
stream() {
	local hz c0 c1 t0 t1 mbps e0 e1
	hz=$(getconf CLK_TCK)
	iperf_server "host-$2" "${T_HOST_IP[$2]}" >&2
	c0=$(cpu_ticks "$COTURN_PID")
	e0=$(udp_rcvbuf_errors srv)
	t0=$(_t_now_ms)
	mbps=$(iperf_mbps "host-$1" "${T_HOST_IP[$2]}" "$SECS") || mbps=0
	t1=$(_t_now_ms)
	c1=$(cpu_ticks "$COTURN_PID")
	e1=$(udp_rcvbuf_errors srv)
	bg_stop "$IPERF_PID" 5 >&2
	echo "$mbps $(((c1 - c0) * 100000 / hz / (t1 - t0))) $((e1 - e0))"
}

results=()
direct="" relayed=""
for p in "${PAIRS[@]}"; do
	read -r name i j _ _ <<<"$p"
	a="s$i" b="s$j"
	gw_start "$a" >&2
	gw_start "$b" >&2
	ms=-1
	if tp=$(first_ping "$a" "$b") && wait_until 15 online "$a" && wait_until 15 online "$b"; then
		la=$(login_ms "$a") lb=$(login_ms "$b")
		((la > lb)) || la=$lb
		ms=$((tp - la))
	fi
	pa=$(pair_of "$a" "$b") pb=$(pair_of "$b" "$a")
	log "$name: first ping $ms ms after both online; $a: $pa, $b: $pb"
	results+=("{\"pair\": \"$name\", \"first_ping_ms\": $ms, \"chosen\": {\"$a\": \"$pa\", \"$b\": \"$pb\"}}")
	if [[ $name == prc-prc ]]; then
		direct=$(stream "$a" "$b")
		log "$name: iperf3 $direct (Mbit/s, coturn CPU %, cloud UDP drops)"
	elif [[ $name == sym-sym ]]; then
		relayed=$(stream "$a" "$b")
		turn=$(($(gw_get "$a" "d['dataplane']['turn_tx'] + d['dataplane']['turn_rx']") +
			$(gw_get "$b" "d['dataplane']['turn_tx'] + d['dataplane']['turn_rx']")))
		log "$name: iperf3 $relayed (Mbit/s, coturn CPU %, cloud UDP drops); ChannelData sent+taken by the two gateways $turn"
	fi
	gw_stop "$a" >&2
	gw_stop "$b" >&2
done

read -r dm dc de <<<"${direct:-0 0 0}"
read -r rm rc re <<<"${relayed:-0 0 0}"
ratio=$(python3 -c "print(round($rm / $dm, 3) if $dm else 0)")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
json=$(python3 -c 'import json, sys
print(json.dumps(json.loads(sys.argv[1]), indent=2))' "{
  \"machine\": \"$(nproc) vCPUs ($cpu), shared with other runs: compare only within this run\",
  \"first_ping\": [$(IFS=,; echo "${results[*]}")],
  \"throughput\": {\"iperf3_seconds\": $SECS,
    \"direct_prc_prc_mbps\": $dm, \"relayed_sym_sym_mbps\": $rm, \"ratio_relayed_to_direct\": $ratio,
    \"coturn_cpu_pct_during_direct\": $dc, \"coturn_cpu_pct_during_relayed\": $rc,
    \"cloud_udp_rcvbuf_drops_during_direct\": $de, \"cloud_udp_rcvbuf_drops_during_relayed\": $re}
}")
echo "$json"
[[ -z "$OUT" ]] || echo "$json" >"$OUT"
