#!/usr/bin/env bash
# port_loss.sh - where frames vanish on the way through the bridged pair (issue 15
# item 5): host-a -- gw-a -- router -- gw-b -- host-b of tests/netns, LAN MTU 1400,
# one iperf3 TCP stream host-a -> host-b for SECONDS with a ping (every 0.1 s)
# alongside. For each variant of the net_af_packet ports' ring arguments, the
# frames counted at every hop of the a -> b direction (the kernel's veth counters,
# each DPDK port's own statistics from `ipopctl show`, the workers' drops), the
# sender's TCP retransmissions (iperf3) and the ping's loss. Variants alternate
# in one run, ROUNDS times, so machine noise hits them alike.
#
#   sudo bench/port_loss.sh [-b BUILD] [-t SECONDS] [-r ROUNDS] [-v NAME=ARGS]... [-o OUT.json] [-e]
#
#   -e  endpoint instead: gw-a has no LAN and puts its host on the overlay
#       through ipop0 (10.200.0.201); the stream runs host-b -> gw-a's ipop0, so
#       it enters the endpoint through its WAN ring (the per-hop table is left
#       out; every port's losses are still reported)
#   -v  a variant: NAME and the vdev arguments appended to both af_packet ports
#       (ARGS empty: ipopd's own defaults). Default: "dpdk=blocksz=4096,framesz=2048,
#       framecnt=512" (DPDK 22.11's defaults, what ipopd used before) and "ipopd=".
#   -t  seconds of iperf3 (default 20)   -r  rounds (default 2)
#   -o  also write the JSON lines to OUT.json
# One JSON line per run on stdout, progress on stderr. Everything is removed by
# lib.sh's trap (namespaces, processes by PID).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
SECS=20
ROUNDS=2
OUT=""
VARIANTS=()
ENDPOINT=0
while getopts "b:t:r:v:o:eh" o; do
	case $o in
	b) export IPOP_BUILD=$OPTARG ;; t) SECS=$OPTARG ;; r) ROUNDS=$OPTARG ;;
	v) VARIANTS+=("$OPTARG") ;; o) OUT=$OPTARG ;; e) ENDPOINT=1 ;;
	*) sed -n '2,25p' "$0"; exit 2 ;;
	esac
done
((${#VARIANTS[@]})) || VARIANTS=("dpdk=blocksz=4096,framesz=2048,framecnt=512" "ipopd=")
source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"
T_SUMMARY_DONE=1   # a benchmark, not a test: no PASS/FAIL summary

stage() { printf '%s port_loss: %s\n' "$(date +%T)" "$*" >&2; }
die() {
	stage "FAILED: $*"
	for l in a b; do
		[[ -f "${GW_LOG[$l]:-}" ]] && tail -n 5 "${GW_LOG[$l]}" | sed "s/^/  gw-$l: /" >&2
	done
	exit 1
}

TOPO_HOST_MTU=1400
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
gw_setup a >/dev/null
gw_setup b >/dev/null
# SRC sends the stream and the pings to DST, which runs the iperf3 server.
if ((ENDPOINT)); then
	GW_NO_LAN[a]=1
	A_EXTRA='host: { enabled = true; tap = "ipop0"; address = "10.200.0.201/24"; };'
	SRC=host-b DST_NS=gw-a DST=10.200.0.201
else
	A_EXTRA=""
	SRC=host-a DST_NS=host-b DST=${T_HOST_IP[b]}
fi

# snapshot FILE : the kernel's counters of every interface on the a -> b path
# and both gateways' `show --json`, as one JSON object.
snapshot() {
	local f=$1 ns ifc
	{
		echo '{"links": {'
		local first=1
		local hops="host-a:eth0 gw-a:lan gw-a:wan router:s1 router:s2 gw-b:wan gw-b:lan host-b:eth0"
		((ENDPOINT)) && hops="gw-a:wan host-b:eth0"
		for ns_if in $hops; do
			ns=${ns_if%%:*} ifc=${ns_if#*:}
			((first)) || echo ','
			first=0
			printf '"%s": ' "$ns_if"
			ip -n "$(nsn "$ns")" -j -s link show dev "$ifc"
		done
		echo '}, "gw-a": '
		gw_json a
		echo ', "gw-b": '
		gw_json b
		echo '}'
	} >"$f"
}

run_one() {
	local name=$1 args=$2 round=$3 s0="$T_TMP/s0.json" s1="$T_TMP/s1.json"
	# bg_start appends to its log: one file per run.
	local ipj="$T_TMP/iperf-$name-$round.json" pingf="$T_TMP/ping-$name-$round.txt"
	GW_AFP_ARGS=$args
	gw_config a "$A_EXTRA"
	gw_config b
	gw_start a || die "gw-a did not start"
	gw_start b || die "gw-b did not start"
	wait_until 30 gw_peer_is a b up || die "gw-a does not see gw-b up"
	wait_until 30 gw_peer_is b a up || die "gw-b does not see gw-a up"
	# The endpoint's iperf3 binds ipop0's address: it lives as long as ipopd.
	iperf_server "$DST_NS" "$DST" || die "iperf3 server on $DST_NS"
	local srv_pid=$IPERF_PID
	# ipop0 gets a new MAC at every start: forget the last run's.
	ip -n "$(nsn "$SRC")" neigh flush all
	wait_until 10 nsx "$SRC" ping -c1 -W1 "$DST" >/dev/null || die "$SRC cannot ping $DST"
	sleep 1
	snapshot "$s0"
	bg_start "$SRC" "$pingf" ping -i 0.1 -c $((SECS * 10 - 10)) -W 1 "$DST"
	local ping_pid=$BG_PID
	nsx "$SRC" timeout $((SECS + 15)) iperf3 -c "$DST" -t "$SECS" -J >"$ipj" || true
	wait_until 10 bash -c "! kill -0 $ping_pid 2>/dev/null" || true
	bg_stop "$ping_pid" 1 >/dev/null 2>&1 || true
	sleep 0.5
	snapshot "$s1"
	bg_stop "$srv_pid"
	gw_stop a
	gw_stop b
	python3 - "$name" "$args" "$round" "$s0" "$s1" "$ipj" "$pingf" "$ENDPOINT" >"$T_TMP/line.json" <<'PY'
import json, re, sys
name, args, rnd, f0, f1, fi, fp, endpoint = sys.argv[1:9]
a, b = json.load(open(f0)), json.load(open(f1))
def link(ns_if, key):
    s0 = a["links"][ns_if][0]["stats64"]; s1 = b["links"][ns_if][0]["stats64"]
    d, k = key.split(".")
    return s1[d][k] - s0[d][k]
def port(gw, role, key):
    g = lambda s: next(p for p in s[gw]["ports"] if p["port"] == role)[key]
    return g(b) - g(a)
def dp(gw, key):
    return b[gw]["dataplane"][key] - a[gw]["dataplane"][key]
def drops(gw):
    return {k: v - a[gw]["dataplane"]["drops"][k] for k, v in b[gw]["dataplane"]["drops"].items()
            if v - a[gw]["dataplane"]["drops"][k]}
# Every port's losses, both directions: the ring's, the device's, the kernel
# interface's.
LOSS = ("sock_rx_dropped", "imissed", "ierrors", "oerrors", "rx_nombuf", "if_rx_dropped", "if_tx_dropped")
port_drops = {}
for gw in ("gw-a", "gw-b"):
    for p in b[gw]["ports"]:
        for k in LOSS:
            v = port(gw, p["port"], k)
            if v:
                port_drops[f"{gw} {p['port']} {k}"] = v
ip = json.load(open(fi))
sent = ip.get("end", {}).get("sum_sent", {})
rcvd = ip.get("end", {}).get("sum_received", {})
ping = open(fp).read()
m = re.search(r"(\d+) packets transmitted, (\d+) received", ping)
got = {int(x) for x in re.findall(r"icmp_seq=(\d+) ttl", ping)}
rtts = sorted(float(x) for x in re.findall(r"time=([\d.]+)", ping))
lost = sorted(set(range(1, int(m.group(1)) + 1)) - got) if m else None
hops = {} if endpoint == "1" else {
    "host-a eth0 tx": link("host-a:eth0", "tx.packets"),
    "gw-a lan (kernel) rx": link("gw-a:lan", "rx.packets"),
    "gw-a lan (kernel) rx_dropped": link("gw-a:lan", "rx.dropped"),
    "gw-a LAN port sock_rx": port("gw-a", "lan", "sock_rx"),
    "gw-a LAN port sock_rx_dropped": port("gw-a", "lan", "sock_rx_dropped"),
    "gw-a LAN port ipackets": port("gw-a", "lan", "ipackets"),
    "gw-a encrypted": dp("gw-a", "encrypted"),
    "gw-a WAN port opackets": port("gw-a", "wan", "opackets"),
    "gw-a WAN port oerrors": port("gw-a", "wan", "oerrors"),
    "gw-a wan (kernel) tx": link("gw-a:wan", "tx.packets"),
    "gw-a wan (kernel) tx_dropped": link("gw-a:wan", "tx.dropped"),
    "router s1 rx": link("router:s1", "rx.packets"),
    "router s1 rx_dropped": link("router:s1", "rx.dropped"),
    "router s2 tx": link("router:s2", "tx.packets"),
    "gw-b wan (kernel) rx": link("gw-b:wan", "rx.packets"),
    "gw-b WAN port sock_rx": port("gw-b", "wan", "sock_rx"),
    "gw-b WAN port sock_rx_dropped": port("gw-b", "wan", "sock_rx_dropped"),
    "gw-b WAN port ipackets": port("gw-b", "wan", "ipackets"),
    "gw-b decrypted": dp("gw-b", "decrypted"),
    "gw-b LAN port opackets": port("gw-b", "lan", "opackets"),
    "gw-b LAN port oerrors": port("gw-b", "lan", "oerrors"),
    "gw-b lan (kernel) tx": link("gw-b:lan", "tx.packets"),
    "gw-b lan (kernel) tx_dropped": link("gw-b:lan", "tx.dropped"),
    "host-b eth0 rx": link("host-b:eth0", "rx.packets"),
    "host-b eth0 rx_dropped": link("host-b:eth0", "rx.dropped"),
}
print(json.dumps({"variant": name, "afp_args": args, "round": int(rnd),
                  "mbps": round(rcvd.get("bits_per_second", 0) / 1e6),
                  "retransmits": sent.get("retransmits"),
                  "retransmits_per_s": round(sent.get("retransmits", 0) / max(sent.get("seconds", 1), 1), 1),
                  "ping_sent": int(m.group(1)) if m else None, "ping_received": len(got),
                  "ping_lost_seq": lost, "ping_rtt_median_ms": rtts[len(rtts) // 2] if rtts else None,
                  "ping_rtt_max_ms": rtts[-1] if rtts else None,
                  "gw_a_drops": drops("gw-a"), "gw_b_drops": drops("gw-b"),
                  "port_drops": port_drops, "hops": hops}))
PY
}

for ((r = 1; r <= ROUNDS; r++)); do
	for v in "${VARIANTS[@]}"; do
		stage "round $r: ${v%%=*} (${v#*=})"
		run_one "${v%%=*}" "${v#*=}" "$r"
		cat "$T_TMP/line.json"
		[[ -z "$OUT" ]] || cat "$T_TMP/line.json" >>"$OUT"
	done
done
