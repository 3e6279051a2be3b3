#!/usr/bin/env bash
# test_api_slow.sh - slow and hostile management API clients cannot stall the
# control thread (issue 14, item 5; control/api/api.c):
#   host-a -- gw-a                 (only gw-a runs: its API is what is tested)
# host-a first makes gw-a learn 12,000 MACs, so `macs json` is over 500 kB,
# more than a Unix socket buffers. Then a client sends `show json` one byte a
# second while two clients ask for `macs json` and never read; afterwards one
# holds 20 connections without a word. Meanwhile `ipopctl ping` must answer
# within 1 s every time, and each hostile client must be closed by the server
# at its deadline (2 s from connecting), or when a newcomer needs its slot (16
# clients are served at once; the oldest goes).
# ipop-timeout: 120
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

topo_pair
GW_PEERS[a]="b"
t_require "gateway a set up" gw_setup a
t_require "gateway b set up (its key only)" gw_setup b
gw_config a
t_require "ipopd a starts" gw_start a

CTL=$(ipop_bin ipopctl)
CLIENT="$(dirname "$0")/api_client.py"
SOCK=${GW_SOCK[a]}

# 12,000 broadcast frames from distinct locally administered source MACs.
nsx host-a python3 - <<'PY'
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for i in range(12000):
    src = bytes([0x02, 0x5e, 0, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff])
    s.send(b"\xff" * 6 + src + b"\x88\xb5" + bytes(46))
PY
macs_bytes() { timeout 5 "$CTL" -s "$SOCK" macs | wc -c; }
big() { (($(macs_bytes) > 500000)); }
t_wait "gw-a learnt the MACs: macs json is over 500 kB" 10 big
echo "macs json: $(macs_bytes) bytes"

ctl_ms() {
	local t0 t1
	t0=$(date +%s%N)
	timeout 5 "$CTL" -s "$SOCK" ping >/dev/null 2>&1 || { echo 99999; return 0; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
api() { gw_get a "d['control']['$1']"; }
to0=$(api api_timeouts) ev0=$(api api_evicted)

# probe SECONDS : ipopctl ping every 0.25 s; sets MAX_MS and SLOW (probes >= 1 s).
probe() {
	local end ms n=0
	MAX_MS=0 SLOW=0
	end=$(($(date +%s) + $1))
	while (($(date +%s) < end)); do
		ms=$(ctl_ms)
		n=$((n + 1))
		((ms > MAX_MS)) && MAX_MS=$ms
		((ms >= 1000)) && SLOW=$((SLOW + 1))
		sleep 0.25
	done
	echo "ipopctl ping: $n probes, slowest $MAX_MS ms"
}
wait_gone() {
	local p
	for p in "$@"; do
		wait_until 15 bash -c "! kill -0 $p 2>/dev/null" || true
		bg_stop "$p" 1 >/dev/null 2>&1
	done
}

# ---- 1: a trickling client and two that never read
bg_start router "$T_TMP/trickle.log" python3 "$CLIENT" trickle "$SOCK" "show json" 12
tpid=$BG_PID
bg_start router "$T_TMP/noread1.log" python3 "$CLIENT" noread "$SOCK" "macs json" 5
n1pid=$BG_PID
bg_start router "$T_TMP/noread2.log" python3 "$CLIENT" noread "$SOCK" "macs json" 5
n2pid=$BG_PID
probe 6
wait_gone "$tpid" "$n1pid" "$n2pid"
cat "$T_TMP/trickle.log" "$T_TMP/noread1.log" "$T_TMP/noread2.log"
t_eq "ipopctl ping answered within 1 s beside them (slowest $MAX_MS ms)" 0 "$SLOW"
t_check "the one-byte-a-second client was closed at its deadline" \
	grep -Eq 'closed by the server after [2-4]\.' "$T_TMP/trickle.log"
t_check "a client that never reads its answer (over 500 kB) was closed" grep -q 'closed by the server' "$T_TMP/noread1.log"
t_check "so was the second one" grep -q 'closed by the server' "$T_TMP/noread2.log"
t_check "the deadlines were counted ($(api api_timeouts) - $to0)" test $(($(api api_timeouts) - to0)) -ge 3

# ---- 2: a crowd of 20 silent connections (16 are served at once)
bg_start router "$T_TMP/hold.log" python3 "$CLIENT" hold "$SOCK" 20 4
hpid=$BG_PID
sleep 0.3
probe 3
wait_gone "$hpid"
cat "$T_TMP/hold.log"
t_eq "ipopctl ping answered within 1 s through the crowd (slowest $MAX_MS ms)" 0 "$SLOW"
t_check "every silent connection was closed" grep -q 'hold: 20 of 20 closed' "$T_TMP/hold.log"
t_check "the oldest made room for newcomers ($(api api_evicted) - $ev0 evicted)" \
	test $(($(api api_evicted) - ev0)) -ge 4

t_check "a patient client still reads the whole answer" big
t_check "show still answers" gw_get a "d['name']"

gw_stop a
t_summary
