#!/usr/bin/env bash
# fabric_experiments.sh - the IPOP dissertation's experiments (ch. 6) on live
# ipopd gateways: N signalled light-mode gateways in namespaces with the
# symphony topology (s = 2, k automatic unless -s/-k), Bounded Flood and
# transit on their lcores, measured from their counters. Prints one JSON
# report on stdout (progress on stderr):
#
#   E1  an ARP request from one LAN reaches every other gateway exactly once
#       (flood_rx per gateway), N - 1 copies in all, and the reply comes back
#       by unicast (the answering gateway floods nothing)
#   E8  flood path lengths: one broadcast from every site; mean and maximum
#       gateways crossed per copy (dataplane.flood_rx_by_hops), next to the
#       simulator's numbers for the same n (docs/overlay-algorithms.md)
#   E2  an IP address (with its MAC) moves from one site's LAN to another's and
#       announces itself (gratuitous ARP): time until a third site reaches it
#   E3  (first) IP multicast: one sender, receivers at two other sites, every
#       datagram received exactly once at each
#   E7  a bulk transfer between two sites without a direct link: transit hops
#       and RTT before, the on-demand link it triggers, RTT after
#   E5  s = 2: one killed gateway (SIGKILL, as a crash): broadcast delivery
#       (one ARP request from every live site at once; copies accepted against
#       m (m - 1)) at once, after detection, after repair; then two adjacent
#       killed
#   E4  s = 1 (last: restarts the overlay with s = 1): one killed gateway,
#       broadcast delivery at once and after repair
#   E9  an iperf3 TCP stream between two sites while random other gateways
#       leave and rejoin; the stream's throughput per second, and pings
#       alongside with any duplicate counted; the same stream without churn
#       first, for the ratio (churn_over_no_churn)
#
#   sudo bench/fabric_experiments.sh [-b BUILD] [-n N] [-o OUT.json] [-x "E1 E8 ..."]
#
#   -b  meson build dir ($IPOP_BUILD, else build/)   -n  gateways (default 16)
#   -o  also write the JSON report to OUT.json       -x  experiments (default all)
#   Environment: CHURN_EVENTS (E9 leaves+joins, default 4), IPERF_S (E9, 40).
#
# Testbed: tests/netns/ring.sh, as test_ring.sh and bench/ring_up.sh use it
# (sites 1..N around one router, Prosody in srv, ipopd light mode with
# --no-pci --no-huge, af_packet ports, idle sleep 10 ms). Host of site i:
# namespace host-i, 10.200.0.i/24, one L2 overlay. Everything is removed by
# lib.sh's trap (namespaces by name, processes by PID).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
N=16
OUT=""
EXPS="E3 E1 E8 E2 E7 E5 E9 E4"
while getopts "b:n:o:x:h" o; do
	case $o in
	b) export IPOP_BUILD=$OPTARG ;; n) N=$OPTARG ;; o) OUT=$OPTARG ;; x) EXPS=$OPTARG ;;
	*) sed -n '2,36p' "$0"; exit 2 ;;
	esac
done
if ! [[ "$N" =~ ^[0-9]+$ ]] || ((N < 4 || N > 64)); then
	echo "fabric_experiments: -n must be 4..64" >&2
	exit 2
fi
CHURN=${CHURN_EVENTS:-4}
IPERF_S=${IPERF_S:-40}

source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"
source "$TOP/tests/netns/ring.sh"

log() { printf '%s\n' "$*" >&2; }
want() { [[ " $EXPS " == *" $1 "* ]]; }
mapfile -t SITES < <(seq 1 "$N")
DOMAIN=ipop.test
REPORT=$(t_mkdir report)
echo '{}' >"$REPORT/r.json"
# put KEY JSON : add one result to the report.
put() {
	"$RING_PY" - "$REPORT/r.json" "$1" "$2" <<'PY'
import json, sys
p, k, v = sys.argv[1], sys.argv[2], sys.argv[3]
d = json.load(open(p))
d[k] = json.loads(v)
json.dump(d, open(p, "w"))
PY
}

dp() { gw_get "$1" "d['dataplane']['$2']"; }
# all_dp FIELD SITE... : "site:value ..." of a dataplane counter.
# The gateways are asked at once: one after another, 32 of them at a load
# average of 30 took over a minute, long enough for an on-demand link to go
# idle between E7's "link up" and its measurement after.
all_dp() {
	local f=$1 l out="" d pids=()
	shift
	d=$(t_mkdir dp)
	for l in "$@"; do
		dp "$l" "$f" >"$d/$l" &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	for l in "$@"; do out+="$l:$(cat "$d/$l") "; done
	rm -rf "$d"
	echo "$out"
}
# delta_json BEFORE AFTER : {site: after - before} from two all_dp outputs.
delta_json() {
	"$RING_PY" - "$1" "$2" <<'PY'
import json, sys
b = dict(x.split(":") for x in sys.argv[1].split())
a = dict(x.split(":") for x in sys.argv[2].split())
print(json.dumps({k: int(a[k]) - int(b[k]) for k in a}))
PY
}
alive_except() {
	local x l
	for l in "${SITES[@]}"; do
		for x in "$@"; do [[ "$l" == "$x" ]] && continue 2; done
		echo "$l"
	done
}
# reach_all SITE... : one ARP request from every SITE's host at once; prints
# "copies/expected": flood copies the SITEs' gateways accepted, against
# m (m - 1) for m sites (every broadcast at every other gateway once).
reach_all() {
	local b a l pids=() m=$#
	b=$(all_dp flood_rx "$@")
	for l in "$@"; do
		nsx "host-$l" arping -c 1 -w 1 -I eth0 10.200.0.250 >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" 2>/dev/null || true
	sleep 1
	a=$(all_dp flood_rx "$@")
	"$RING_PY" - "$b" "$a" "$m" <<'PY'
import sys
b = dict(x.split(":") for x in sys.argv[1].split())
a = dict(x.split(":") for x in sys.argv[2].split())
m = int(sys.argv[3])
print("%d/%d" % (sum(int(a[k]) - int(b[k]) for k in a), m * (m - 1)))
PY
}
# RING_GHOST (ring.sh): the gateways killed so far; a gateway that had no link
# to one cannot know it is gone while the XMPP server lists it.
converged() { ring_ok "${PARAMS:-}" "$@"; }
# why_not : the last ring check's problems, as a JSON string (for a report
# whose convergence wait timed out).
why_not() {
	"$RING_PY" -c 'import json, sys; print(json.dumps([l.strip() for l in open(sys.argv[1]) if "PROBLEM" in l][:6]))' "$T_TMP/ring.last" 2>/dev/null || echo '[]'
}
up_ring() {
	local t0
	start_all "${SITES[@]}" >&2
	t0=$(_t_now_ms)
	wait_until 300 converged "${SITES[@]}" || { cat "$T_TMP/ring.last" >&2; _t_die "no ring"; }
	log "ring of ${#SITES[@]} converged $(($(_t_now_ms) - t0)) ms after the last start"
}

{
	ring_testbed "$N" "$DOMAIN"
	for l in "${SITES[@]}"; do ring_conf "$l"; done
	up_ring
} >&2

# ---- E3: IP multicast, one sender, receivers at two sites
if want E3; then
	R1=$((N / 3 + 1)) R2=$((2 * N / 3 + 1)) G=239.1.2.3 CNT=200
	rx_out=$(t_mkdir mcast)
	for r in "$R1" "$R2"; do
		nsx "host-$r" ip route add 224.0.0.0/4 dev eth0 2>/dev/null || true
		bg_start "host-$r" "$rx_out/rx-$r.log" "$RING_PY" -u -c '
import socket, struct, sys, time
g, cnt = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5007))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton(g), socket.inet_aton(sys.argv[3])))
seen = {}
# Up to 600 s for the first datagram (the sender starts after every receiver
# joined and the counters of all gateways were read, which on a loaded machine
# with 32 gateways took longer than a fixed window: 25 s and then 120 s were
# both outlasted at n = 32, so every gateway counted the copies and no receiver
# got one), then 10 s for the 2 s of sending.
end = time.time() + 600
print("joined", flush=True)
while time.time() < end:
    s.settimeout(max(0.1, end - time.time()))
    try:
        seq = int(s.recv(64))
    except socket.timeout:
        break
    if not seen:
        end = time.time() + 10
    seen[seq] = seen.get(seq, 0) + 1
    if len(seen) == cnt:
        s.settimeout(1)   # a duplicate of the last one would come now
        try:
            while True:
                seq = int(s.recv(64))
                seen[seq] = seen.get(seq, 0) + 1
        except socket.timeout:
            pass
        break
print(len(seen), sum(v - 1 for v in seen.values()), flush=True)
' "$G" "$CNT" "${T_HOST_IP[$r]}"
		eval "RXPID_$r=\$BG_PID"
	done
	for r in "$R1" "$R2"; do wait_until 15 grep -q joined "$rx_out/rx-$r.log" || log "E3: receiver $r not ready"; done
	nsx host-1 ip route add 224.0.0.0/4 dev eth0 2>/dev/null || true
	b=$(all_dp flood_rx "${SITES[@]}")
	nsx host-1 "$RING_PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[3]))
for i in range(int(sys.argv[2])):
    s.sendto(str(i).encode(), (sys.argv[1], 5007))
    time.sleep(0.01)
' "$G" "$CNT" "${T_HOST_IP[1]}"
	res=()
	for r in "$R1" "$R2"; do
		p="RXPID_$r"
		wait_until 30 bash -c "! kill -0 ${!p} 2>/dev/null" || log "E3: receiver $r still running"
	done
	a=$(all_dp flood_rx "${SITES[@]}")
	for r in "$R1" "$R2"; do
		res+=("$(tail -n 1 "$rx_out/rx-$r.log")")
	done
	e3=$("$RING_PY" - "$CNT" "$R1" "${res[0]}" "$R2" "${res[1]}" "$(delta_json "$b" "$a")" <<'PY'
import json, sys
cnt = int(sys.argv[1])
out = {"sent": cnt, "receivers": {}}
for site, r in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])):
    try:
        got, dup = map(int, r.split())
        out["receivers"][site] = {"distinct": got, "duplicates": dup}
    except ValueError:
        out["receivers"][site] = {"error": "no result: %r" % r}
rx = json.loads(sys.argv[6])
out["flood_copies_per_gateway"] = sorted(set(v for k, v in rx.items() if k != "1"))
print(json.dumps(out))
PY
)
	log "E3: $e3"
	put E3 "$e3"
fi

# ---- E1: one ARP request, every gateway once; the reply by unicast
if want E1; then
	b=$(all_dp flood_rx "${SITES[@]}")
	fl=$(all_dp flooded "${SITES[@]}")
	ok=0
	nsx host-1 arping -c 1 -w 2 -I eth0 "${T_HOST_IP[$N]}" >/dev/null 2>&1 && ok=1
	sleep 1
	a=$(all_dp flood_rx "${SITES[@]}")
	fl2=$(all_dp flooded "${SITES[@]}")
	e1=$("$RING_PY" - "$(delta_json "$b" "$a")" "$(delta_json "$fl" "$fl2")" "$ok" "$N" <<'PY'
import json, sys
rx, fl, ok, n = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
others = {k: v for k, v in rx.items() if k != "1"}
print(json.dumps({"copies_per_gateway": others, "copies": sum(rx.values()),
                  "each_exactly_once": all(v == 1 for v in others.values()),
                  "reply_received": ok, "answering_gateway_flooded": fl[n]}))
PY
)
	log "E1: $e1"
	put E1 "$e1"
fi

# ---- E8: flood path lengths, one broadcast from every site
if want E8; then
	declare -A H0=()
	hist() { gw_get "$1" "' '.join(str(x) for x in d['dataplane']['flood_rx_by_hops'])"; }
	for l in "${SITES[@]}"; do H0[$l]=$(hist "$l"); done
	for l in "${SITES[@]}"; do
		nsx "host-$l" arping -c 1 -w 1 -I eth0 10.200.0.250 >/dev/null 2>&1 || true
	done
	sleep 1
	hs=""
	for l in "${SITES[@]}"; do hs+="${H0[$l]}|$(hist "$l");"; done
	e8=$("$RING_PY" - "$hs" "$N" <<'PY'
import json, sys
tot = [0] * 16
for pair in sys.argv[1].strip(";").split(";"):
    b, a = (list(map(int, x.split())) for x in pair.split("|"))
    tot = [t + y - x for t, x, y in zip(tot, b, a)]
n = int(sys.argv[2])
copies = sum(tot)
mean = sum((i + 1) * c for i, c in enumerate(tot)) / copies if copies else 0
mx = max((i + 1 for i, c in enumerate(tot) if c), default=0)
print(json.dumps({"broadcasts": n, "copies": copies, "expected_copies": n * (n - 1),
                  "by_hops": tot, "mean_hops": round(mean, 3), "max_hops": mx}))
PY
)
	log "E8: $e8"
	put E8 "$e8"
fi

# ---- E2: an IP address moves to another site
if want E2; then
	A=2 B=$((N / 2 + 1)) C=1 X=10.200.0.222 M=02:00:00:00:e2:01
	mv_add() {
		nsx "host-$1" ip link add mv0 link eth0 type macvlan mode bridge &&
			nsx "host-$1" ip link set mv0 address "$M" &&
			nsx "host-$1" ip addr add "$X/24" dev mv0 && nsx "host-$1" ip link set mv0 up
	}
	mv_add "$A"
	nsx "host-$C" ping -c 3 -W 2 -q "$X" >/dev/null || log "E2: $X not reachable at site $A"
	nsx "host-$A" ip link del mv0
	mv_add "$B"
	t0=$(_t_now_ms)
	nsx "host-$B" arping -U -c 1 -I mv0 "$X" >/dev/null 2>&1 || true
	moved=-1
	for _ in $(seq 1 100); do
		if nsx "host-$C" ping -c 1 -W 1 -q "$X" >/dev/null 2>&1; then
			moved=$(($(_t_now_ms) - t0))
			break
		fi
	done
	nsx "host-$B" ip link del mv0 || true
	e2="{\"from_site\": $A, \"to_site\": $B, \"pinged_from\": $C, \"reachable_after_ms\": $moved}"
	log "E2: $e2"
	put E2 "$e2"
fi

# pair_unlinked SITE... : a fresh snapshot, then ring_unlinked_pair (ring.sh).
pair_unlinked() {
	snap "$T_TMP/snap" "$@" >/dev/null 2>&1 && ring_unlinked_pair "$@"
}
rtt_ms() { nsx "host-$1" ping -c 20 -i 0.05 -W 2 -q "${T_HOST_IP[$2]}" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p'; }
relayed_total() {
	local x v s=0
	for x in $(all_dp transit_relayed "${SITES[@]}"); do
		v=${x#*:}
		[[ "$v" =~ ^[0-9]+$ ]] || { log "relayed_total: no counter from gw-${x%%:*}"; v=0; }
		s=$((s + v))
	done
	echo "$s"
}

# ---- E7: bulk transfer between unlinked sites -> on-demand link
if want E7; then
	read -r P Q < <(pair_unlinked "${SITES[@]}")
	if [[ -z "${Q:-}" ]]; then
		put E7 '{"skipped": "every pair of gateways holds a tunnel"}'
	else
		r0=$(relayed_total)
		before=$(rtt_ms "$P" "$Q")
		hops=$("$RING_PY" -c "print(round(($(relayed_total) - $r0) / 40 + 1, 2))")
		iperf_server "host-$Q" "${T_HOST_IP[$Q]}" >&2
		t0=$(_t_now_ms)
		mbps=$(iperf_mbps "host-$P" "${T_HOST_IP[$Q]}" 5 || echo 0)
		bg_stop "$IPERF_PID"
		od() { [[ "$(gw_get "$P" "next((x['state'] + ':' + x['type'] for x in d['links'] if x['member'] == 'gw-$Q@$DOMAIN'), '')")" == connected:ondemand ]]; }
		odms=-1
		wait_until 60 od && odms=$(($(_t_now_ms) - t0))
		r1=$(relayed_total)
		after=$(rtt_ms "$P" "$Q")
		hops2=$("$RING_PY" -c "print(round(($(relayed_total) - $r1) / 40 + 1, 2))")
		e7="{\"pair\": [$P, $Q], \"rtt_ms_before\": ${before:-null}, \"gateways_crossed_before\": $hops, \"iperf_mbps\": $mbps, \"ondemand_up_ms_after_start\": $odms, \"rtt_ms_after\": ${after:-null}, \"gateways_crossed_after\": $hops2}"
		log "E7: $e7"
		put E7 "$e7"
	fi
fi

# ---- E5: s = 2, one stopped gateway, then two adjacent: broadcast delivery
# from every live site at once, after detection, after repair
if want E5; then
	read -r -a ORDER <<<"$(ring_order "${SITES[@]}")"
	X=${ORDER[3]} Y=${ORDER[4]}
	mapfile -t ALIVE < <(alive_except "$X")
	gw_kill "$X"
	r_now=$(reach_all "${ALIVE[@]}")
	sleep 4   # dead_after (6 s with the 2 s keepalive) from the stop: detected
	r_det=$(reach_all "${ALIVE[@]}")
	t0=$(_t_now_ms)
	nc1='[]'
	RING_GHOST=$X wait_until 60 converged "${ALIVE[@]}" || nc1=$(why_not)
	rep1=$(($(_t_now_ms) - t0))
	r_rep=$(reach_all "${ALIVE[@]}")
	mapfile -t ALIVE2 < <(alive_except "$X" "$Y")
	gw_kill "$Y"
	r2_now=$(reach_all "${ALIVE2[@]}")
	t0=$(_t_now_ms)
	nc2='[]'
	RING_GHOST=$X,$Y wait_until 60 converged "${ALIVE2[@]}" || nc2=$(why_not)
	rep2=$(($(_t_now_ms) - t0))
	r2_rep=$(reach_all "${ALIVE2[@]}")
	e5="{\"one_stopped\": {\"copies_at_once\": \"$r_now\", \"copies_after_detection\": \"$r_det\", \"copies_after_repair\": \"$r_rep\", \"repair_ms\": $rep1, \"not_converged_because\": $nc1}, \"two_adjacent_stopped\": {\"copies_at_once\": \"$r2_now\", \"copies_after_repair\": \"$r2_rep\", \"repair_ms\": $rep2, \"not_converged_because\": $nc2}}"
	log "E5: $e5"
	put E5 "$e5"
	gw_start "$X" >&2
	gw_start "$Y" >&2
	PARAMS=""
	wait_until 120 converged "${SITES[@]}" >&2 || true
fi

# ---- E9: a TCP stream through churn, pings alongside; first the same stream
# without churn, so the churn's cost is a ratio measured in the same run.
# e9_stream EVENTS OUT: the stream with EVENTS leaves and rejoins (0: none); its
# JSON into file OUT. (Not in a $(...) subshell: gw_stop/gw_start must record
# the gateways' new PIDs in this shell.)
e9_stream() {
	local churn=$1 out=$2 P=1 Q=$N ip9 ipid pingid events="" V
	iperf_server "host-$Q" "${T_HOST_IP[$Q]}" >&2
	ip9=$(t_mkdir "e9-$churn")
	bg_start "host-$P" "$ip9/iperf.json" iperf3 -c "${T_HOST_IP[$Q]}" -t "$IPERF_S" -J
	ipid=$BG_PID
	bg_start "host-$P" "$ip9/ping.log" ping -i 0.1 -c $((IPERF_S * 10)) -W 2 "${T_HOST_IP[$Q]}"
	pingid=$BG_PID
	for _ in $(seq 1 "$churn"); do
		sleep $((IPERF_S / (2 * churn + 1)))
		mapfile -t CAND < <(alive_except "$P" "$Q")
		V=${CAND[$((RANDOM % ${#CAND[@]}))]}
		gw_stop "$V" >&2
		events+="leave $V; "
		sleep $((IPERF_S / (2 * churn + 1)))
		gw_start "$V" >&2
		events+="join $V; "
	done
	wait_until $((IPERF_S + 30)) bash -c "! kill -0 $ipid 2>/dev/null" >&2 || true
	wait_until 30 bash -c "! kill -0 $pingid 2>/dev/null" >&2 || true
	bg_stop "$IPERF_PID" >&2
	"$RING_PY" - "$ip9/iperf.json" "$ip9/ping.log" "$events" >"$out" <<'PY'
import json, re, sys
try:
    r = json.load(open(sys.argv[1]))
    iv = [round(i["sum"]["bits_per_second"] / 1e6, 1) for i in r.get("intervals", [])]
    err = r.get("error")
    tot = round(r["end"]["sum_received"]["bits_per_second"] / 1e6, 1) if not err else 0
except Exception as e:
    iv, err, tot = [], str(e), 0
log = open(sys.argv[2]).read()
dups = log.count("DUP!")
m = re.search(r"(\d+) packets transmitted, (\d+) received", log)
print(json.dumps({"events": sys.argv[3].strip(), "iperf_error": err, "mbps_total": tot,
                  "mbps_per_second": iv, "seconds_below_1_mbps": sum(1 for x in iv if x < 1),
                  "pings_sent": int(m.group(1)) if m else None,
                  "pings_received": int(m.group(2)) if m else None, "ping_duplicates": dups}))
PY
}

if want E9; then
	e9_dir=$(t_mkdir e9)
	e9_stream 0 "$e9_dir/base.json"
	e9_base=$(cat "$e9_dir/base.json")
	log "E9 without churn: $e9_base"
	e9_stream "$CHURN" "$e9_dir/churn.json"
	e9_churn=$(cat "$e9_dir/churn.json")
	log "E9 with churn: $e9_churn"
	e9=$("$RING_PY" - "$e9_base" "$e9_churn" <<'PY'
import json, sys
b, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ratio = round(c["mbps_total"] / b["mbps_total"], 3) if b["mbps_total"] else None
print(json.dumps(dict(c, without_churn=b, churn_over_no_churn=ratio)))
PY
)
	log "E9: $e9"
	put E9 "$e9"
fi

# ---- E4: s = 1, one stopped gateway partitions broadcast until repair
if want E4; then
	stop_all "${SITES[@]}" >&2
	PARAMS=""
	for l in "${SITES[@]}"; do
		ring_conf "$l" "topology: { successors = 1; };"
		PARAMS+="$l:1:0:0,"
	done
	up_ring >&2
	read -r -a ORDER <<<"$(ring_order "${SITES[@]}")"
	X=${ORDER[3]}
	mapfile -t ALIVE < <(alive_except "$X")
	gw_kill "$X"
	r_now=$(reach_all "${ALIVE[@]}")
	t0=$(_t_now_ms)
	RING_GHOST=$X wait_until 60 converged "${ALIVE[@]}" || true
	rep=$(($(_t_now_ms) - t0))
	r_rep=$(reach_all "${ALIVE[@]}")
	e4="{\"copies_at_once\": \"$r_now\", \"repair_ms\": $rep, \"copies_after_repair\": \"$r_rep\"}"
	log "E4: $e4"
	put E4 "$e4"
fi

"$RING_PY" - "$REPORT/r.json" "$N" "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'PY' | tee "${OUT:-/dev/null}"
import json, sys, time
d = json.load(open(sys.argv[1]))
print(json.dumps({"n": int(sys.argv[2]), "commit": sys.argv[3],
                  "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "load": open("/proc/loadavg").read().split()[:3], "experiments": d}, indent=1))
PY
T_SUMMARY_DONE=1   # the t_require lines went to stderr; the JSON is the result
