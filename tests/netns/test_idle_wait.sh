#!/usr/bin/env bash
# test_idle_wait.sh - dpdk.idle_wait: an idle gateway's worker blocks in epoll on
# its ports' fds (af_packet sockets, the TAPs, its eventfd) instead of polling.
#   host-a -- gw-a (+ host TAP) -- router -- gw-b -- host-b
# Proves, by the workers' counters (not by CPU percentages, which depend on the
# machine's load): (a) idle, with keepalives running, each worker waits and is woken
# only a few times a second (the nanosleep back-off would count ~10,000 sleeps a
# second) and never sleeps; (b) the first ping through the idle pair answers (its RTT
# and the warm RTT are reported); keepalives, which control hands to a waiting
# worker, keep the tunnel up; (c) an iperf3 TCP stream crosses at full speed
# (reported) with the workers polling, not waiting, while it runs; a frame from the
# host TAP wakes the worker a bounded number of times; (d) with
# idle_wait = false the worker falls back to the nanosleep back-off; (e) a waiting
# gateway stops promptly; (f) with two workers both wait. The idle control thread
# slows its tick to 100 ms. The idle CPU of gw-a over the idle window is reported.
# ipop-timeout: 120
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

TOPO_HOST_MTU=1500
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
t_require "gateway a set up" gw_setup a
t_require "gateway b set up" gw_setup b
gw_config a 'host: { enabled = true; tap = "ipop0"; address = "10.200.0.101/24"; };'
gw_config b
t_require "ipopd a starts" gw_start a
t_require "ipopd b starts" gw_start b
t_wait "a sees b up" 15 gw_wait_peer a b up 15
t_wait "b sees a up" 15 gw_wait_peer b a up 15
HB=${T_HOST_IP[b]}
t_wait "host-a pings host-b" 10 nsx host-a ping -c1 -W1 "$HB"

# counters SITE : "polls waits sleeps" of the gateway's (only) worker.
counters() {
	gw_get "$1" "' '.join(str(d['dataplane'][k]) for k in ('polls', 'waits', 'sleeps'))"
}
# cpu_ticks PID : utime + stime of every thread of PID, in clock ticks.
cpu_ticks() {
	cat /proc/"$1"/task/*/stat 2>/dev/null | awk '{ s += $14 + $15 } END { print s + 0 }'
}

# The CPUs a thread of PID named NAME may run on (Cpus_allowed_list).
thread_cpus() { # PID NAME
	local f
	for f in /proc/"$1"/task/*; do
		[[ "$(cat "$f/comm" 2>/dev/null)" == "$2" ]] || continue
		sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$f/status"
		return 0
	done
	return 1
}
# With idle wait, the worker and the control thread are not pinned to their
# lcores' CPUs (docs/architecture.md "Idle back-off"); the testbed pins
# gw-a's worker to one CPU in its EAL arguments.
all_cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
t_eq "gw-a's idle-waiting worker may run on every CPU ($all_cpus)" "$all_cpus" "$(thread_cpus "${GW_PID[a]}" rte-worker-1)"
t_eq "gw-a's control thread may run on every CPU" "$all_cpus" "$(thread_cpus "${GW_PID[a]}" ipopd)"

# ---- (a) idle: waits, no sleeps, few wake-ups
IDLE_S=5
read -r pa0 wa0 _ <<<"$(counters a)"
read -r pb0 wb0 _ <<<"$(counters b)"
ca0=$(cpu_ticks "${GW_PID[a]}")
sleep "$IDLE_S"
read -r pa1 wa1 sa1 <<<"$(counters a)"
read -r pb1 wb1 sb1 <<<"$(counters b)"
ca1=$(cpu_ticks "${GW_PID[a]}")
hz=$(getconf CLK_TCK)
echo "idle ${IDLE_S} s: gw-a worker $(((wa1 - wa0) / IDLE_S)) wake-ups/s, $(((pa1 - pa0) / IDLE_S)) polls/s;" \
	"gw-b $(((wb1 - wb0) / IDLE_S)) wake-ups/s, $(((pb1 - pb0) / IDLE_S)) polls/s"
echo "idle CPU of gw-a (all threads): $(python3 -c "print('%.3f' % (($ca1 - $ca0) / $hz / $IDLE_S))") core"
t_check "gw-a's worker waited in epoll" test "$wa1" -gt 0
t_check "gw-b's worker waited in epoll" test "$wb1" -gt 0
t_eq "gw-a's worker never slept (nanosleep)" 0 "$sa1"
t_eq "gw-b's worker never slept (nanosleep)" 0 "$sb1"
# Keepalives (2 s each way), ARP and the 1 s timeout: a few wake-ups a second.
t_check "gw-a idle: under 50 wake-ups/s ($(((wa1 - wa0) / IDLE_S)))" test $((wa1 - wa0)) -lt $((50 * IDLE_S))
t_check "gw-b idle: under 50 wake-ups/s ($(((wb1 - wb0) / IDLE_S)))" test $((wb1 - wb0)) -lt $((50 * IDLE_S))
t_check "gw-a idle: under 20000 polls/s" test $((pa1 - pa0)) -lt $((20000 * IDLE_S))
t_eq "the tunnel stayed up on keepalives alone" up "$(gw_get a "p('gw-b')['state']")"
# With nothing to do for 1 s the control thread ticks every 100 ms, not 10 ms.
t_check "gw-a's control thread slowed its tick" test "$(gw_get a "d['control']['ticks_slowed']")" -gt 0

# ---- (b) the first packet after a quiet spell wakes both gateways
rtt() { sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | head -n1; }
sleep 1.5
read -r _ wa2 _ <<<"$(counters a)"
first=$(nsx host-a ping -c1 -W2 "$HB" | rtt || true)
t_check "the first ping through the idle pair answers (${first:-none} ms)" test -n "$first"
warm=$(nsx host-a ping -c5 -i0.01 -W2 "$HB" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p' || true)
echo "first-packet RTT through the idle pair: ${first:-none} ms; warm (5 pings 10 ms apart) avg ${warm:-none} ms"
read -r _ wa3 _ <<<"$(counters a)"
t_check "gw-a woke for it from a wait" test "$wa3" -gt "$wa2"
# A TAP frame wakes the worker once: net_tap reads only after its rx signal, which
# goes to the waiting worker itself (drivers/port.c), not to whichever thread the
# kernel picks while the worker spins on a readable fd it cannot read yet.
read -r _ wa4 _ <<<"$(counters a)"
ya4=$(gw_get a "d['dataplane']['spin_yields']")
t_check "endpoint: the gateway host pings host-b 20 times through its TAP" \
	nsx gw-a ping -c20 -i0.05 -W2 -I ipop0 "$HB"
read -r _ wa5 _ <<<"$(counters a)"
# Between a frame and its wait the worker spins, yielding the CPU on each
# empty poll (docs/architecture.md "Idle back-off"): at least once per ping.
ya5=$(gw_get a "d['dataplane']['spin_yields']")
t_check "gw-a's worker yielded its CPU while it spun ($((ya5 - ya4)) for 20 pings)" test $((ya5 - ya4)) -ge 20
echo "gw-a: $((wa5 - wa4)) wake-ups for 20 pings from its host TAP"
t_check "at most 10 wake-ups per ping through the TAP ($((wa5 - wa4)) for 20)" test $((wa5 - wa4)) -le 200

# ---- (c) under load the worker polls
iperf_server host-b "$HB"
read -r pa0 wa0 _ <<<"$(counters a)"
mbps=$(iperf_mbps host-a "$HB" 3 || echo 0)
read -r pa1 wa1 _ <<<"$(counters a)"
echo "iperf3 TCP host-a -> host-b with idle_wait: $mbps Mbit/s; gw-a: $((pa1 - pa0)) polls, $((wa1 - wa0)) waits"
t_check "iperf3 TCP stream crosses (got $mbps Mbit/s)" test "$mbps" -gt 10
t_check "gw-a polled far more often than it waited under load" test $((pa1 - pa0)) -gt $((20 * (wa1 - wa0)))
bg_stop "$IPERF_PID"

# ---- (e) a waiting gateway stops at once (control kicks its eventfd)
sleep 1
t0=$(date +%s%N)
gw_stop b
stop_ms=$((($(date +%s%N) - t0) / 1000000))
echo "gw-b stopped in $stop_ms ms"
t_check "gw-b stopped within 3 s ($stop_ms ms)" test "$stop_ms" -lt 3000
t_check "gw-b's log says it shut down" grep -q "shutting down" "${GW_LOG[b]}"

# ---- (d) idle_wait = false: the nanosleep back-off
GW_IDLE_WAIT[b]=false
gw_config b
t_require "ipopd b restarts with idle_wait = false" gw_start b
t_wait "b sees a up again" 15 gw_wait_peer b a up 15
t_check "host-a pings host-b" nsx host-a ping -c2 -W2 "$HB"
read -r _ wb sb <<<"$(counters b)"
t_eq "gw-b never waited" 0 "$wb"
t_eq "gw-b never yielded (a worker that sleeps owns its CPU)" 0 "$(gw_get b "d['dataplane']['spin_yields']")"
t_eq "gw-b's sleeping worker stays pinned to its lcore's CPU" \
	"$(sed -n 's/.*,1@\([0-9]*\).*/\1/p' <<<"${GW_LCORES[b]}")" "$(thread_cpus "${GW_PID[b]}" rte-worker-1)"
t_check "gw-b slept instead ($sb sleeps)" test "$sb" -gt 0

# ---- (f) two workers: each waits on its own af_packet queue (worker 0 also on
# the TAPs and the control ring); traffic still crosses.
gw_stop b
GW_IDLE_WAIT[b]=""
GW_WORKERS=2 gw_config b
t_require "ipopd b restarts with two workers" gw_start b
t_wait "b sees a up with two workers" 15 gw_wait_peer b a up 15
t_check "host-a pings host-b" nsx host-a ping -c3 -i0.2 -W2 "$HB"
sleep 2
t_eq "both of gw-b's workers waited, neither slept" "True" \
	"$(gw_get b "len(d['per_worker']) == 2 and all(w['waits'] > 0 and w['sleeps'] == 0 for w in d['per_worker'])")"
gw_stop a
gw_stop b
t_summary
