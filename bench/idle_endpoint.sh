#!/usr/bin/env bash
# idle_endpoint.sh - what an idle endpoint costs and how fast it answers, per idle
# mode: gw-a in endpoint mode (no LAN, host TAP ipop0, WAN on af_packet) linked to
# gw-b (LAN host-b), keepalives every 2 s, as tests/netns/ipop.sh runs them (light
# mode, one worker). For each mode: the CPU of gw-a over CPU_SECONDS idle (utime +
# stime from /proc/PID/task/*/stat, worker thread and the rest apart) and its
# wake-ups (the worker's waits + sleeps counters); then SAMPLES pings from the
# gateway host (through ipop0) to host-b, each after 2 s of quiet (first-packet
# RTT, both gateways idle), and 20 pings 10 ms apart (warm RTT).
#
#   sudo bench/idle_endpoint.sh [-b BUILD] [-m "wait sleep poll"] [-c CPU_SECONDS] [-s SAMPLES]
#
# Modes: wait (dpdk.idle_wait = true), sleep (idle_wait = false, ipopd's
# idle_sleep defaults 1000 / 100 us), poll (idle_wait = false, idle_sleep_max_us =
# 0: never sleeps; latency reference), default (nothing set: ipopd's defaults, for
# a build from before idle_wait, -b). Both gateways run the mode. One line of
# JSON per mode on stdout, progress on stderr; cleanup by lib.sh's trap.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
MODES="wait sleep poll"
CPU_S=10
SAMPLES=5
while getopts "b:m:c:s:h" o; do
	case $o in
	b) export IPOP_BUILD=$OPTARG ;; m) MODES=$OPTARG ;; c) CPU_S=$OPTARG ;; s) SAMPLES=$OPTARG ;;
	*) sed -n '2,17p' "$0"; exit 2 ;;
	esac
done
source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"

TOPO_HOST_MTU=1500
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
GW_NO_LAN[a]=1
gw_setup a >/dev/null
gw_setup b >/dev/null
HB=${T_HOST_IP[b]}

# thread_ticks PID : "worker control rest" CPU clock ticks: the EAL's worker
# lcore threads (rte-worker-*: ipop's worker, and an unused lcore of ipop.sh's
# --lcores that blocks in the EAL), the main thread (ipopd: the control thread and
# its 10 ms tick), the rest (eal-intr-thread, GLib's gmain).
thread_ticks() {
	local f w=0 c=0 r=0 comm t
	for f in /proc/"$1"/task/*; do
		comm=$(cat "$f/comm" 2>/dev/null) || continue
		t=$(awk '{ print $14 + $15 }' "$f/stat" 2>/dev/null) || continue
		case $comm in
		rte-worker*) w=$((w + t)) ;; ipopd) c=$((c + t)) ;; *) r=$((r + t)) ;;
		esac
	done
	echo "$w $c $r"
}
wakeups() { gw_get a "d['dataplane'].get('waits', 0) + d['dataplane']['sleeps']"; }
slowed() { gw_get a "d['control'].get('ticks_slowed', -1)"; }

for mode in $MODES; do
	case $mode in
	wait) GW_IDLE_WAIT_DEFAULT=true GW_IDLE_MAX_US="" ;;
	sleep) GW_IDLE_WAIT_DEFAULT=false GW_IDLE_MAX_US="" ;;
	poll) GW_IDLE_WAIT_DEFAULT=false GW_IDLE_MAX_US=0 ;;
	default) GW_IDLE_WAIT_DEFAULT="" GW_IDLE_MAX_US="" ;;
	*) echo "unknown mode $mode" >&2; exit 2 ;;
	esac
	gw_config a 'host: { enabled = true; tap = "ipop0"; address = "10.200.0.201/24"; };'
	gw_config b
	gw_start a && gw_start b
	wait_until 20 gw_peer_is a b up
	wait_until 10 nsx gw-a ping -c1 -W1 -I ipop0 "$HB" >/dev/null
	sleep 3
	read -r w0 c0 r0 <<<"$(thread_ticks "${GW_PID[a]}")"
	k0=$(wakeups)
	sleep "$CPU_S"
	read -r w1 c1 r1 <<<"$(thread_ticks "${GW_PID[a]}")"
	k1=$(wakeups)
	firsts=()
	for ((i = 0; i < SAMPLES; i++)); do
		sleep 2
		firsts+=("$(nsx gw-a ping -c1 -W2 -I ipop0 "$HB" | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p')")
	done
	warm=$(nsx gw-a ping -c20 -i0.01 -W2 -I ipop0 "$HB" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p')
	slow=$(slowed)
	python3 - "$mode" "$CPU_S" "$(getconf CLK_TCK)" "$w0" "$w1" "$c0" "$c1" "$r0" "$r1" "$k0" "$k1" "$slow" "$warm" "${firsts[@]}" <<'PY'
import json, statistics, sys
mode, s, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
w0, w1, c0, c1, r0, r1, k0, k1 = map(int, sys.argv[4:12])
slowed, warm = int(sys.argv[12]), sys.argv[13]
firsts = [float(x) for x in sys.argv[14:] if x]
print(json.dumps({"mode": mode, "idle_s": s,
                  "cpu_core": round((w1 - w0 + c1 - c0 + r1 - r0) / hz / s, 4),
                  "cpu_worker": round((w1 - w0) / hz / s, 4), "cpu_control": round((c1 - c0) / hz / s, 4),
                  "cpu_other": round((r1 - r0) / hz / s, 4),
                  "worker_wakeups_per_s": round((k1 - k0) / s, 1), "control_ticks_slowed": slowed,
                  "first_rtt_ms": firsts, "first_rtt_median_ms": statistics.median(firsts) if firsts else None,
                  "warm_rtt_avg_ms": float(warm) if warm else None}))
PY
	gw_stop a
	gw_stop b
done
