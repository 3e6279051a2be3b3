#!/usr/bin/env bash
# test_frag_flood.sh - spoofed outer fragments cannot pin a gateway's mbuf pool
# (issue 14, item 2; docs/architecture.md, "Outer reassembly"):
#   host-a -- gw-a -- router -- gw-b -- host-b      (the router floods gw-b)
# gw-b's WAN is a net_tap bridged to its veth, so fragments reach DPDK as they
# are (af_packet would hand it datagrams the kernel reassembled). The hosts'
# MTU is 1500, so a full-size ping crosses as two outer fragments that gw-b
# reassembles. The router sends first fragments of datagrams that never
# complete, from random spoofed sources, at FRF_PPS (20,000) a second for
# FRF_SECONDS (10) while host-a pings host-b with full-size and small packets.
# Throughout: gw-b's reassembly never holds more than its cap, the pool is
# never close to empty, and the tunnel stays up; afterwards the pool's in-use
# count is back at its baseline within a few seconds (nothing else arrives to
# flush the table: only its timer can), and the shed counters moved.
# ipop-timeout: 150
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

FLOOD_S=${FRF_SECONDS:-10}
PPS=${FRF_PPS:-20000}
GW_KEEPALIVE=1 GW_DEAD_AFTER=3
TOPO_HOST_MTU=1500
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
GW_WAN_TAP[b]=wtap
t_require "gateway a set up" gw_setup a
t_require "gateway b set up" gw_setup b
gw_config a
gw_config b
t_require "ipopd a starts" gw_start a
t_require "ipopd b starts" gw_start b
t_require "gw-b's WAN TAP is bridged to its veth" gw_wan_tap_bridge b
t_wait "a sees b up" 20 gw_wait_peer a b up 20
t_wait "b sees a up" 20 gw_wait_peer b a up 20
HB=${T_HOST_IP[b]}
t_wait "host-a pings host-b" 10 nsx host-a ping -c1 -W1 "$HB"

INJECT=$(ipop_bin ipop-inject)
B_WAN=${T_PUBLIC_IP[b]}
pool() { gw_get b "d['mbuf_pool']['$1']"; }
dp() { gw_get b "d['dataplane'].get('$1', 0)"; }
drop() { gw_get b "d['dataplane']['drops'].get('$1', 0)"; }
deaths() { echo "$(gw_get a "p('gw-b')['deaths']")/$(gw_get b "p('gw-a')['deaths']")"; }
shed() { echo $(($(drop reasm_timeout) + $(drop reasm_evicted) + $(drop reasm_full))); }

# Full-size pings: 1514-byte frames, 1574-byte outer datagrams, two fragments each.
ri0=$(dp reasm_in)
t_check "full-size pings cross (outer fragments)" nsx host-a ping -c5 -i0.2 -W1 -s 1472 -M do "$HB"
ri1=$(dp reasm_in)
t_check "gw-b's DPDK reassembled them: the TAP WAN leaves fragments to it (reasm_in $ri0 -> $ri1)" \
	test "$ri1" -ge $((ri0 + 5))

SIZE=$(pool size) CAP=$(pool reasm_cap)
sleep 1   # what the pings left in flight is back
BASE=$(pool in_use)
echo "pool: $SIZE mbufs, $BASE in use at rest; reassembly cap $CAP"
t_check "the reassembly cap is an eighth of the pool ($CAP of $SIZE)" test "$CAP" -eq $((SIZE / 8))
d0=$(deaths) shed0=$(shed)

flog="$T_TMP/flood.log" plog="$T_TMP/ping-big.log" slog="$T_TMP/ping-small.log"
bg_start router "$flog" "$INJECT" fragflood "$B_WAN" "$GW_PORT" "$FLOOD_S" "$PPS"
fpid=$BG_PID
bg_start host-a "$plog" ping -i 0.2 -W 1 -w $((FLOOD_S - 1)) -s 1472 -M do "$HB"
ppid=$BG_PID
bg_start host-a "$slog" ping -i 0.2 -W 1 -w $((FLOOD_S - 1)) "$HB"
spid=$BG_PID
max_held=0 max_use=0 n=0
end=$(($(date +%s) + FLOOD_S - 1))
while (($(date +%s) < end)); do
	read -r held use < <(gw_get b "'%d %d' % (d['mbuf_pool']['reasm_held'], d['mbuf_pool']['in_use'])")
	((held > max_held)) && max_held=$held
	((use > max_use)) && max_use=$use
	n=$((n + 1))
	sleep 0.3
done
wait_until $((FLOOD_S + 5)) bash -c "! kill -0 $fpid 2>/dev/null && ! kill -0 $ppid 2>/dev/null && ! kill -0 $spid 2>/dev/null" || true
bg_stop "$fpid" 1 >/dev/null 2>&1
bg_stop "$ppid" 1 >/dev/null 2>&1
bg_stop "$spid" 1 >/dev/null 2>&1
SENT=$(sed -n 's/^sent \([0-9]*\) in.*/\1/p' "$flog")
LOSS_BIG=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$plog")
LOSS_SMALL=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$slog")
echo "flood: sent ${SENT:-?} first fragments in ${FLOOD_S} s; $n samples: reassembly held at most" \
	"$max_held mbufs (cap $CAP), pool in use at most $max_use of $SIZE (rest $BASE);" \
	"ping loss: full-size ${LOSS_BIG:-?}%, small ${LOSS_SMALL:-?}%"

t_check "the flood was sent (${SENT:-0} fragments)" test "${SENT:-0}" -gt $((FLOOD_S * PPS / 2))
t_check "reassembly never held more than its cap ($max_held <= $CAP)" test "$max_held" -le "$CAP"
t_check "the flood filled reassembly (held $max_held, a quarter of the cap or more)" \
	test "$max_held" -ge $((CAP / 4))
t_check "the pool never came close to empty ($max_use of $SIZE in use at most)" \
	test "$max_use" -le $((BASE + CAP + 256))
t_check "small pings kept crossing (loss ${LOSS_SMALL:-?}%)" \
	python3 -c "import sys; sys.exit(0 if float('${LOSS_SMALL:-100}') <= 10 else 1)"
t_check "full-size pings (reassembled at gw-b) kept crossing (loss ${LOSS_BIG:-?}%)" \
	python3 -c "import sys; sys.exit(0 if float('${LOSS_BIG:-100}') <= 20 else 1)"
t_eq "neither gateway declared the other dead (deaths a/b)" "$d0" "$(deaths)"

# Nothing arrives now: only reassembly's timer can give the buffers back.
held_back() { (($(pool reasm_held) == 0)); }
t_wait "reassembly let go of every fragment within 3 s of the flood" 3 held_back
pool_back() { (($(pool in_use) <= BASE + 64)); }
t_wait "the pool's in-use count is back at its baseline ($BASE)" 5 pool_back
echo "after the flood: pool in use $(pool in_use) (rest $BASE); shed: timeout $(drop reasm_timeout)," \
	"evicted $(drop reasm_evicted), full $(drop reasm_full); failed $(drop reasm_failed)"
t_check "the shed fragments were counted ($(($(shed) - shed0)) of ${SENT:-?})" \
	test $(($(shed) - shed0)) -ge $((${SENT:-0} * 9 / 10))
t_check "gw-b still has gw-a up" gw_peer_is b a up
t_check "full-size pings cross after the flood" nsx host-a ping -c3 -i0.2 -W1 -s 1472 -M do "$HB"

gw_stop a
gw_stop b
t_summary
