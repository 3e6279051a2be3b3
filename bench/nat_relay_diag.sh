#!/usr/bin/env bash
# nat_relay_diag.sh - the counters behind docs/benchmarks.md section 16's "Cause
# and rerun" (a diagnostic, not a benchmark: it prints no ratio). A prc-prc
# pair (s3, s4) and a sym-sym pair (s7, s8) up at once, each pair its own
# overlay, the testbed of bench/nat_pairs.sh; then ROUNDS rounds of three
# iperf3 TCP streams: s3->s4 (direct), s7->s8 and s8->s7 (relayed; which of
# the two sends ChannelData depends on the side ICE gave the relayed
# candidate: the log says). Before and after each stream, DIR/TAG/{before,after}
# get: nstat and ip -s -s link of every namespace on the path, conntrack -S and
# nft rulesets of the NATs, router and cloud, ipopctl show of both gateways,
# /proc/net/softnet_stat, /proc/stat, every thread's /proc stat, ss -uam in the
# cloud (coturn's socket buffers); DIR/TAG/ss.txt has the sender's ss -tin every
# 0.25 s and DIR/TAG/iperf.json iperf3's report. bench/nat_relay_diag_sum.py
# DIR/TAG prints the deltas. PERF=1: perf record -a during relayed streams;
# COTURN_RT=N: coturn's threads at SCHED_FIFO priority N.
#
#   sudo bench/nat_relay_diag.sh [-b BUILD] [-t SECS] [-r ROUNDS] -d DIR
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
SECS=5 ROUNDS=1 DIR=""
while getopts "b:t:r:d:h" o; do
	case $o in
	b) export IPOP_BUILD=$OPTARG ;; t) SECS=$OPTARG ;; r) ROUNDS=$OPTARG ;; d) DIR=$OPTARG ;;
	*) sed -n '2,18p' "$0"; exit 2 ;;
	esac
done
[[ -n "$DIR" ]] || { echo "-d DIR" >&2; exit 2; }
mkdir -p "$DIR"

source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"
source "$TOP/tests/netns/nat.sh"
source "$TOP/tests/netns/ice_gw.sh"
log() { printf '%s\n' "$*" >&2; }

DOMAIN=ipop.test
GW_XMPP_TLS=false
GW_LINK_TIMEOUT=8

prosody_groups < <(roster_group pair34 "$DOMAIN" gw-s3 gw-s4
	roster_group pair78 "$DOMAIN" gw-s7 gw-s8)
nat_site s3 3 prc
nat_site s4 4 prc
nat_site s7 7 sym
nat_site s8 8 sym
nat_cloud prosody
for i in 3 4 7 8; do
	prosody_adduser "gw-s$i" "$DOMAIN" "pw-$i"
	gw_setup "s$i"
	if ((i < 5)); then GW_OVERLAY=pair34; else GW_OVERLAY=pair78; fi
	gw_config "s$i" "$(gw_signal_block "s$i" "pw-$i")
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:$COTURN_PORT\"; turn = \"$T_SRV_IP:$COTURN_PORT\";
       turn_user = \"$COTURN_USER\"; turn_password = \"$COTURN_PASS\"; };
${EXTRA_CONF:-}"
done
if [[ -n "${COTURN_RT:-}" ]]; then
	chrt -a -f -p "$COTURN_RT" "$COTURN_PID"
	log "coturn threads: SCHED_FIFO $COTURN_RT"
fi
for s in s3 s4 s7 s8; do gw_start $s; done
echo "s3=${GW_PID[s3]} s4=${GW_PID[s4]} s7=${GW_PID[s7]} s8=${GW_PID[s8]} coturn=$COTURN_PID" >"$DIR/pids"
first_ping s3 s4 >/dev/null || log "no ping s3-s4"
first_ping s7 s8 >/dev/null || log "no ping s7-s8"
log "s3->s4 $(link_get s3 s4 "x['ice']") "
log "s7->s8 $(link_get s7 s8 "x['ice']") "
log "s8->s7 $(link_get s8 s7 "x['ice']") "

# snap TAG A B : counters of every namespace on the a->b path.
snap() {
	local tag=$1 a=$2 b=$3 ns o
	o="$DIR/$tag"
	mkdir -p "$o"
	for ns in host-$a gw-$a nat-$a router srv nat-$b gw-$b host-$b; do
		nsx "$ns" nstat -az >"$o/nstat.$ns" 2>/dev/null || true
		nsx "$ns" ip -s -s link >"$o/link.$ns" 2>/dev/null || true
	done
	for ns in nat-$a nat-$b router srv; do
		nsx "$ns" conntrack -S >"$o/ct.$ns" 2>/dev/null || true
		nsx "$ns" nft list ruleset >"$o/nft.$ns" 2>/dev/null || true
	done
	gw_json "$a" >"$o/show.$a.json"
	gw_json "$b" >"$o/show.$b.json"
	for t in /proc/"$COTURN_PID"/task/*; do
		echo "$(basename "$t") $(awk '{print $2, $14, $15}' "$t/stat")"
	done >"$o/coturn.tasks"
	cat /proc/loadavg >"$o/loadavg"
	nsx srv ss -uamn >"$o/ss-srv" 2>/dev/null || true
	cat /proc/net/softnet_stat >"$o/softnet"
	for t in /proc/[0-9]*/task/[0-9]*; do
		printf '%s %s\n' "$t" "$(cat "$t/stat" 2>/dev/null)"
	done >"$o/tasks" 2>/dev/null || true
	cat /proc/stat >"$o/stat"
}

stream() {
	local tag=$1 a=$2 b=$3 o
	shift 3
	o="$DIR/$tag"
	mkdir -p "$o"
	iperf_server "host-$b" "${T_HOST_IP[$b]}" >&2
	echo "$IPERF_PID" >"$o/iperf_server_pid"
	snap "$tag/before" "$a" "$b"
	(
		for _ in $(seq 1 $((SECS * 4))); do
			sleep 0.25
			echo "--- $(date +%s.%N)"
			nsx "host-$a" ss -tin dst "${T_HOST_IP[$b]}" 2>/dev/null
		done
	) >"$o/ss.txt" &
	local sspid=$!
	[[ -z "${PERF:-}" || $tag != *relay* ]] || perf record -a -g -o "$o/perf.data" -- sleep $((SECS - 1)) >/dev/null 2>&1 &
	nsx "host-$a" timeout $((SECS + 15)) iperf3 -c "${T_HOST_IP[$b]}" -t "$SECS" -J "$@" >"$o/iperf.json" || true
	wait "$sspid" || true
	snap "$tag/after" "$a" "$b"
	bg_stop "$IPERF_PID" 5 >&2
	python3 - "$o/iperf.json" "$tag" <<-'PY' >&2
		import json, sys
		r = json.load(open(sys.argv[1]))
		e = r["end"]; s = e["streams"][0]["sender"]
		if r["start"].get("test_start", {}).get("reverse"): s = {}
		print(sys.argv[2], "Mbit/s %.0f" % (e["sum_received"]["bits_per_second"] / 1e6),
		      "retr", e["sum_sent"].get("retransmits"), "rtt_us", s.get("mean_rtt"),
		      "max_cwnd", s.get("max_snd_cwnd"), "max_rtt", s.get("max_rtt"))
	PY
}

for r in $(seq 1 "$ROUNDS"); do
	stream "r$r-direct" s3 s4
	stream "r$r-relay" s7 s8
	stream "r$r-relayR" s7 s8 -R
done
log "done: $DIR"
