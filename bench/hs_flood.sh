#!/usr/bin/env bash
# hs_flood.sh - what a handshake flood on a gateway costs its existing tunnel
# (issue 14, item 1): host-a -- gw-a -- router -- gw-b -- host-b, as
# tests/netns/ipop.sh runs them (light mode, one worker each). In one run, for
# each phase: iperf3 TCP host-a -> host-b for SECONDS while the router floods
# gw-b's WAN port, and gw-b's `ipopctl ping` every 0.25 s meanwhile:
#   none   no flood: the baseline
#   shape  handshake-shaped packets (type 1, 152 bytes, random content, so mac1
#          fails), random spoofed sources, as fast as one sender can
#   valid  initiations with a valid mac1 for gw-b's key (random content: an
#          X25519 each if processed), random spoofed sources, as fast as one
#          sender can (under load they get cookie replies instead)
#   valid1 the same from one source address (the router's own)
#
#   sudo bench/hs_flood.sh [-b BUILD] [-s SECONDS] [-p "none shape valid valid1"]
#
# One line of JSON per phase on stdout (Mbit/s, its ratio to the baseline of
# this run, the flood's rate, ipopctl ping's slowest answer and how many took
# 1 s or more, gw-b's handshake counter deltas), then a summary line; progress
# on stderr; cleanup by lib.sh's trap. The machine may be shared: compare only
# ratios within one run.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
SECS=10
PHASES="none shape valid valid1"
while getopts "b:s:p:h" o; do
	case $o in
	b) export IPOP_BUILD=$OPTARG ;; s) SECS=$OPTARG ;; p) PHASES=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"

topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
gw_setup a >/dev/null
gw_setup b >/dev/null
gw_config a
gw_config b
gw_start a
gw_start b
gw_wait_peer a b up 20
gw_wait_peer b a up 20
HB=${T_HOST_IP[b]}
wait_until 10 nsx host-a ping -c1 -W1 "$HB" >/dev/null
iperf_server host-b "$HB" >/dev/null

CTL=$(ipop_bin ipopctl)
INJECT=$(ipop_bin ipop-inject)
B_WAN=${T_PUBLIC_IP[b]}
ctrl() { gw_get b "d['control'].get('$1', 0)"; }
COUNTERS="hs_init_rx hs_bad_mac1 hs_mac2_missing hs_mac2_ok hs_cookie_tx hs_cookie_shed hs_init_shed hs_src_limited hs_load_ticks"
snap() { local c; for c in $COUNTERS; do printf '%s=%s ' "$c" "$(ctrl "$c")"; done; }

# probe_api END_EPOCH OUT : ipopctl ping every 0.25 s until END_EPOCH; one ms per line
probe_api() {
	local end=$1 out=$2 t0 t1
	while (($(date +%s) < end)); do
		t0=$(date +%s%N)
		if timeout 5 "$CTL" -s "${GW_SOCK[b]}" ping >/dev/null 2>&1; then
			t1=$(date +%s%N)
			echo $(((t1 - t0) / 1000000)) >>"$out"
		else
			echo 99999 >>"$out"
		fi
		sleep 0.25
	done
}

BASE=""
for ph in $PHASES; do
	d=$(t_mkdir "phase-$ph")
	before=$(snap)
	fpid=""
	case $ph in
	none) ;;
	shape) bg_start router "$d/flood.log" "$INJECT" hsflood "$B_WAN" "$GW_PORT" "${GW_PUB[b]}" $((SECS + 3)) 0 spoof shape ;;
	valid) bg_start router "$d/flood.log" "$INJECT" hsflood "$B_WAN" "$GW_PORT" "${GW_PUB[b]}" $((SECS + 3)) 0 spoof ;;
	valid1) bg_start router "$d/flood.log" "$INJECT" hsflood "$B_WAN" "$GW_PORT" "${GW_PUB[b]}" $((SECS + 3)) 0 one ;;
	*) echo "unknown phase $ph" >&2; exit 2 ;;
	esac
	[[ $ph == none ]] || fpid=$BG_PID
	sleep 1
	probe_api $(($(date +%s) + SECS)) "$d/api.ms" &
	ppid=$!
	mbps=$(iperf_mbps host-a "$HB" "$SECS" -O 1 || echo 0)
	wait "$ppid" || true
	if [[ -n $fpid ]]; then
		wait_until $((SECS + 10)) bash -c "! kill -0 $fpid 2>/dev/null" || true
		bg_stop "$fpid" 1 >/dev/null 2>&1 || true
	fi
	after=$(snap)
	sent=$(sed -n 's/^sent \([0-9]*\) in \([0-9.]*\) s.*/\1 \2/p' "$d/flood.log" 2>/dev/null || true)
	[[ $ph == none ]] && BASE=$mbps
	python3 - "$ph" "$mbps" "${BASE:-0}" "$d/api.ms" "${sent:-0 1}" "$before" "$after" <<'PY'
import json, sys
ph, mbps, base, api, sent, before, after = sys.argv[1:]
ms = [int(x) for x in open(api).read().split()] if api else []
n, secs = sent.split()
kv = lambda s: dict(x.split("=") for x in s.split())
b, a = kv(before), kv(after)
print(json.dumps({
    "phase": ph, "mbps": int(mbps),
    "ratio_to_no_flood": round(int(mbps) / int(base), 3) if int(base) else None,
    "flood_pps": round(int(n) / float(secs)) if float(secs) else 0,
    "api_pings": len(ms), "api_slowest_ms": max(ms) if ms else None,
    "api_1s_or_more": sum(1 for x in ms if x >= 1000),
    "gw_b": {k: int(a[k]) - int(b[k]) for k in b},
}), flush=True)
PY
	echo "phase $ph done" >&2
done
echo "{\"summary\": \"hs_flood\", \"seconds\": $SECS, \"cpu\": \"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\", \"vcpus\": $(nproc), \"note\": \"machine shared with other work; compare ratios within this run\"}"
gw_stop a
gw_stop b
