#!/usr/bin/env bash
# nat_pairs.sh - issue 13's NAT benchmark: for each NAT pair (none-none,
# prc-prc, prc-sym, sym-sym) the time from both gateways online (the later XMPP
# login) to the first ping crossing between their LAN hosts, and the pair ICE
# chose; then, in the same run, ROUNDS rounds of three iperf3 TCP streams (one
# stream each): over the direct prc-prc tunnel, and over the relayed sym-sym
# tunnel (through coturn, ChannelData on the fast path) in both directions:
# "chandata" has its data sent by the gateway that holds the relayed candidate
# (ChannelData into coturn's listening port), "relay_socket" by the other one
# (plain datagrams into the allocation's relayed address: coturn's relay
# socket). For each stream: Mbit/s, the sender's TCP retransmissions, coturn's
# CPU (share of one CPU, all threads and its busiest thread; near 100 % of one
# thread means coturn is the bottleneck), the two gateways' CPU, the datagrams
# the cloud namespace's full UDP receive buffers dropped, and the machine's
# busy share; medians over the rounds and the relayed/direct ratios of the
# medians.
#
#   sudo bench/nat_pairs.sh [-b BUILD] [-o OUT.json] [-t IPERF_SECONDS] [-r ROUNDS] [-B RATE] [-P]
#
#   -b  meson build dir ($IPOP_BUILD, else build/)   -o  also write the JSON here
#   -t  seconds of each iperf3 stream (default 5)    -r  rounds (default 1)
#   -B  iperf3's -b: cap each stream at RATE (e.g. 100M; default: no cap)
#   -P  the relay on a CPU of its own: coturn (all its threads) on CPU 1, this
#       script and everything it starts (Prosody, the gateways' lcores, iperf3,
#       ping) on CPU 0, as a TURN server on another machine would be; the
#       direct and relayed streams then share the same one CPU for the
#       gateways and hosts, and coturn does not take CPU from them
#
# Testbed: tests/netns/lib.sh, ipop.sh and nat.sh, as tests/netns/test_nat_relay.sh
# runs them: eight sites (two per pair) behind the NATs of nat.sh, Prosody (plain)
# and coturn (STUN and TURN over UDP) in the cloud namespace, every gateway with
# ice { stun, turn } and the all-to-all topology. Each pair is its own overlay
# (roster group), so no link forms between pairs. The pairs start one after the
# other; a pair without a stream to run is stopped before the next starts, the
# prc-prc and sym-sym pairs stay up (idle: idle_wait) for the streams, which
# alternate direct, chandata, relay_socket in each round. Progress goes to
# stderr, the JSON report to stdout.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=""
SECS=5
ROUNDS=1
RATE=""
PIN=no
while getopts "b:o:t:r:B:Ph" o; do
	case $o in
	b) export IPOP_BUILD=$OPTARG ;; o) OUT=$OPTARG ;; t) SECS=$OPTARG ;; r) ROUNDS=$OPTARG ;; B) RATE=$OPTARG ;;
	P) PIN=yes ;;
	*) sed -n '2,38p' "$0"; exit 2 ;;
	esac
done
if [[ $PIN == yes ]]; then
	(($(nproc) >= 2)) || { echo "nat_pairs.sh: -P needs 2 CPUs" >&2; exit 2; }
	taskset -p -c 0 $$ >/dev/null   # inherited by everything started from here
fi

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
	prosody_groups < <(for i in 1 3 5 7; do
		roster_group "pair$i" "$DOMAIN" "gw-s$i" "gw-s$((i + 1))"
	done)
	for p in "${PAIRS[@]}"; do
		read -r _ i j mi mj <<<"$p"
		nat_site "s$i" "$i" "$mi"
		nat_site "s$j" "$j" "$mj"
	done
	nat_cloud prosody
	if [[ $PIN == yes ]]; then
		taskset -a -p -c 1 "$COTURN_PID" >/dev/null
		log "coturn (pid $COTURN_PID) on CPU 1, everything else on CPU 0"
	fi
	for i in $(seq 1 8); do
		prosody_adduser "gw-s$i" "$DOMAIN" "pw-$i"
		gw_setup "s$i"
		[[ $PIN == no ]] || GW_LCORES[s$i]="0@0,1@0,2@0"
		GW_OVERLAY=pair$(((i - 1) / 2 * 2 + 1))
		gw_config "s$i" "$(gw_signal_block "s$i" "pw-$i")
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:$COTURN_PORT\"; turn = \"$T_SRV_IP:$COTURN_PORT\";
       turn_user = \"$COTURN_USER\"; turn_password = \"$COTURN_PASS\"; };"
	done
} >&2

pair_of() {
	gw_get "$1" "next((x['ice'].get('local_type','?') + '/' + x['ice'].get('remote_type','?') for x in d.get('links', []) if x['member'] == 'gw-$2@$DOMAIN'), 'none')"
}
# udp_rcvbuf_errors NS : the namespace's UDP RcvbufErrors (datagrams a socket's
# full receive buffer dropped: coturn's, in srv).
udp_rcvbuf_errors() {
	nsx "$1" cat /proc/net/snmp | python3 -c 'import sys
rows = [l.split() for l in sys.stdin if l.startswith("Udp:")]
print(rows[1][rows[0].index("RcvbufErrors")])'
}
# threads_ticks PID... : "tid ticks" (utime + stime) of every thread of each PID.
threads_ticks() {
	local p t
	for p in "$@"; do
		for t in /proc/"$p"/task/*; do
			awk -v t="${t##*/}" '{ sub(/^.*\) /, ""); print t, $12 + $13 }' "$t/stat" 2>/dev/null || true
		done
	done
}
# machine_ticks : busy and total ticks of all CPUs (/proc/stat).
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# stream SITE_FROM SITE_TO : one iperf3 TCP stream; prints a JSON object: Mbit/s,
# the sender's retransmissions, coturn's CPU % (all threads, busiest thread),
# the two gateways' CPU % (all their threads), the cloud's UDP receive-buffer
# drops, and the machine's busy share, all over the stream.
stream() {
	local hz a=$1 b=$2 d co0 co1 gw0 gw1 e0 e1 m0 m1 t0 t1
	hz=$(getconf CLK_TCK)
	d=$(t_mkdir stream)
	iperf_server "host-$b" "${T_HOST_IP[$b]}" >&2
	threads_ticks "$COTURN_PID" >"$d/co0"
	threads_ticks "${GW_PID[$a]}" "${GW_PID[$b]}" >"$d/gw0"
	e0=$(udp_rcvbuf_errors srv)
	m0=$(machine_ticks)
	t0=$(_t_now_ms)
	nsx "host-$a" timeout $((SECS + 15)) iperf3 -c "${T_HOST_IP[$b]}" -t "$SECS" ${RATE:+-b "$RATE"} -J >"$d/iperf.json" || true
	t1=$(_t_now_ms)
	m1=$(machine_ticks)
	e1=$(udp_rcvbuf_errors srv)
	threads_ticks "$COTURN_PID" >"$d/co1"
	threads_ticks "${GW_PID[$a]}" "${GW_PID[$b]}" >"$d/gw1"
	bg_stop "$IPERF_PID" 5 >&2
	python3 - "$d" "$hz" $((t1 - t0)) $((e1 - e0)) $m0 $m1 <<-'PY'
		import json, sys
		d, hz, ms, drops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
		b0, a0, b1, a1 = (int(x) for x in sys.argv[5:9])
		def ticks(f):
		    return dict(tuple(map(int, l.split())) for l in open(f"{d}/{f}") if l.strip())
		def delta(x, y):
		    t0, t1 = ticks(x), ticks(y)
		    return [v - t0.get(k, 0) for k, v in t1.items()]
		pct = lambda t: round(t * 100000 / hz / ms)
		co, gw = delta("co0", "co1"), delta("gw0", "gw1")
		try:
		    r = json.load(open(f"{d}/iperf.json"))
		    mbps = round(r["end"]["sum_received"]["bits_per_second"] / 1e6)
		    retr = r["end"]["sum_sent"].get("retransmits", -1)
		except (ValueError, KeyError):
		    mbps, retr = 0, -1
		print(json.dumps({"mbps": mbps, "retransmits": retr,
		                  "coturn_cpu_pct": pct(sum(co)), "coturn_busiest_thread_pct": pct(max(co, default=0)),
		                  "gateways_cpu_pct": pct(sum(gw)), "cloud_udp_rcvbuf_drops": drops,
		                  "machine_busy_pct": round(100 * (b1 - b0) / max(a1 - a0, 1))}))
	PY
}

results=()
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
	if [[ $name != prc-prc && $name != sym-sym ]]; then
		gw_stop "$a" >&2
		gw_stop "$b" >&2
	fi
done

# The sym-sym side whose own candidate is relayed sends ChannelData.
if [[ $(pair_of s7 s8) == relay/* ]]; then cd_from=s7 cd_to=s8; else cd_from=s8 cd_to=s7; fi
log "sym-sym: $cd_from sends ChannelData, $cd_to plain datagrams to the relayed address"
declare -A runs=([direct]="" [chandata]="" [relay_socket]="")
for r in $(seq 1 "$ROUNDS"); do
	for k in direct chandata relay_socket; do
		case $k in
		direct) x=$(stream s3 s4) ;;
		chandata) x=$(stream "$cd_from" "$cd_to") ;;
		relay_socket) x=$(stream "$cd_to" "$cd_from") ;;
		esac
		log "round $r $k: $x"
		runs[$k]+="${runs[$k]:+,}$x"
	done
done
turn=$(($(gw_get s7 "d['dataplane']['turn_tx'] + d['dataplane']['turn_rx']") +
	$(gw_get s8 "d['dataplane']['turn_tx'] + d['dataplane']['turn_rx']")))
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
json=$(python3 - "$SECS" "$ROUNDS" "${RATE:-none}:$PIN" "$turn" "$cd_from" "$cd_to" "$(nproc) vCPUs ($cpu), shared with other runs: compare only within this run" \
	"[$(IFS=,; echo "${results[*]}")]" "[${runs[direct]}]" "[${runs[chandata]}]" "[${runs[relay_socket]}]" <<-'PY'
	import json, statistics, sys
	secs, rounds, rate, turn, cd_from, cd_to, machine = sys.argv[1:8]
	rate, pinned = rate.split(":")
	first, runs = json.loads(sys.argv[8]), {k: json.loads(v) for k, v in zip(
	    ("direct", "chandata", "relay_socket"), sys.argv[9:12])}
	med = {k: statistics.median([x["mbps"] for x in v]) for k, v in runs.items()}
	ratio = lambda k: round(med[k] / med["direct"], 3) if med["direct"] else 0
	print(json.dumps({
	    "machine": machine, "first_ping": first,
	    "throughput": {
	        "iperf3_seconds": int(secs), "rounds": int(rounds), "rate_cap": rate,
	        "relay_on_own_cpu": pinned == "yes",
	        "sym_sym_chandata_sender": cd_from, "sym_sym_relay_socket_sender": cd_to,
	        "median_mbps": med,
	        "ratio_chandata_to_direct": ratio("chandata"),
	        "ratio_relay_socket_to_direct": ratio("relay_socket"),
	        "channeldata_sent_and_taken_by_sym_sym_gateways": int(turn),
	        "streams": runs}}, indent=2))
	PY
)
echo "$json"
[[ -z "$OUT" ]] || echo "$json" >"$OUT"
