#!/usr/bin/env bash
# run_gateway_bench.sh - one ipopd gateway direction with real port I/O over
# net_memif, measured with ipop-pktgen, next to a plain memif forwarder
# (dpdk-testpmd --forward-mode=io) measured by the same pktgen in the same run.
#
#   bench/run_gateway_bench.sh [-b BUILD] [-o OUT.json] [-s "64 1420 imix"]
#                              [-w "1 2"] [-c "aes-256-gcm"] [-d SECONDS] [-t]
#
#   -b  meson build dir (default /tmp/build-bench)   -o  JSON report (default
#   /tmp/ipop-gateway-bench.json)  -s sizes  -w worker counts  -c ciphers
#   -d  measured seconds per case (default 2)  -t  also run dpdk-testpmd as the
#   generator (txonly) into gateway A, once, as a functional check.
#   -p  profile the measured gateway during each case (perf record -e cpu-clock;
#   reports next to the JSON: OUT-perf-CASE.txt)
#   -z  memif zero-copy: the gateways and the forwarder baseline are memif
#   clients with zero-copy=yes on hugepages (reserved here, released at the end),
#   pktgen is the server on every port and does all the copies. Without -z the
#   roles are the other way round and every memif port copies (--no-huge).
#
# Topology (all links are memif; without -z ipopd is the memif server on its
# four ports and the tools are clients, so gateways survive the tools coming
# and going; with -z pktgen is the server and starts first):
#
#   pktgen --tx --> [lan] gw-a [wan] <-- pktgen wire --> [wan] gw-b [lan] --> pktgen --rx
#
# encrypt: --wire-data sink: gw-a's encrypted output is counted at the wire;
#          gw-a's worker is measured (its management socket).
# decrypt: --wire-data hold: gw-a's output is held by pktgen, then replayed to
#          gw-b with gw-a idle; gw-b's worker is measured.
# Each ipopd runs in its own network namespace (its WAN exception TAP and the
# kernel's ARP answers stay there); the two WANs share 10.99.0.0/24 without a
# router, so gw-a resolves gw-b by ARP directly (the on-link case of
# control/fib/neigh.c), across pktgen's wire.
#
# CPUs (2 here): pktgen and both gateways' control threads on CPU 0, the
# gateways' first workers on CPU 1 (gw-a and gw-b alternate being busy: in
# encrypt gw-b idles, in decrypt gw-a idles, and an idle worker sleeps), the
# second workers (-w 2) on CPU 0. The forwarder baseline: testpmd's forwarding
# lcore on CPU 1.
#
# Everything started here is stopped by PID; namespaces are deleted by name.
set -euo pipefail

BUILD=/tmp/build-bench
OUT=/tmp/ipop-gateway-bench.json
SIZES="64 1420 imix"
WORKERS="1 2"
CIPHERS="aes-256-gcm"
DURATION=2
TESTPMD_GEN=0
PERF=0
ZC=0
while getopts "b:o:s:w:c:d:tpzh" o; do
	case $o in
	b) BUILD=$OPTARG ;; o) OUT=$OPTARG ;; s) SIZES=$OPTARG ;; w) WORKERS=$OPTARG ;;
	c) CIPHERS=$OPTARG ;; d) DURATION=$OPTARG ;; t) TESTPMD_GEN=1 ;; p) PERF=1 ;;
	z) ZC=1 ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done

PKTGEN=$BUILD/bench/ipop-pktgen
IPOPD=$BUILD/tools/ipopd
IPOPCTL=$BUILD/tools/ipopctl
for b in "$PKTGEN" "$IPOPD" "$IPOPCTL"; do
	[[ -x $b ]] || { echo "missing $b (build first: ninja -C $BUILD)" >&2; exit 2; }
done
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd not found (Debian package dpdk)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces)" >&2; exit 2; }
((ZC && TESTPMD_GEN)) && { echo "-t needs the gateways as memif servers: not with -z" >&2; exit 2; }

DIR=$(mktemp -d /tmp/ipop-gwbench.XXXXXX)
NS_A="ipopbench-a-$$"
NS_B="ipopbench-b-$$"
declare -a PIDS=()
RESULTS="$DIR/results.jsonl"
: >"$RESULTS"

EAL_TOOL=(--no-pci --no-huge --no-shconf -m 512 --no-telemetry "--log-level=*:error")
# Zero-copy memif clients share their mbuf memory with the server: it must be
# hugepage memory in one file per segment list.
EAL_ZC=(--no-pci --in-memory --single-file-segments --iova-mode=va --no-telemetry
	"--log-level=*:error")
HUGEPAGES_BEFORE=$(cat /proc/sys/vm/nr_hugepages)

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# stop PID: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[$i]}"
	done
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	[[ -n ${KEEP_DIR:-} ]] || rm -rf "$DIR"
	((ZC)) && echo "$HUGEPAGES_BEFORE" >/proc/sys/vm/nr_hugepages
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# memif NAME SOCKET MAC SIDE: SIDE "gw" is a gateway's or the forwarder's
# port, "tool" pktgen's; -z decides which side is the server.
memif() {
	local role=server zc=""
	if [[ $4 == gw ]] && ((ZC)); then
		role=client zc=",zero-copy=yes"
	elif [[ $4 == tool ]] && ((!ZC)); then
		role=client
	fi
	echo "$1,role=$role,socket=$DIR/$2.sock,socket-abstract=no,mac=$3$zc"
}

# gw_conf SITE WORKERS CIPHER PEER_SITE
gw_conf() {
	local s=$1 w=$2 cipher=$3 p=$4 ip pip lcores
	if [[ $s == a ]]; then ip=10.99.0.1; pip=10.99.0.2; else ip=10.99.0.2; pip=10.99.0.1; fi
	lcores="0@0,1@1"
	((w > 1)) && lcores="0@0,1@1,2@0"
	local eal='"--no-pci", "--no-huge", "--no-shconf", "-m", "256", "--no-telemetry",'
	((ZC)) && eal='"--no-pci", "--in-memory", "--single-file-segments", "--iova-mode=va",
          "-m", "256", "--no-telemetry",'
	cat >"$DIR/$s.conf" <<CONF
# written by bench/run_gateway_bench.sh
node: { name = "gw-$s"; overlay = "bench"; key_file = "$DIR/$s.key"; cipher = "$cipher"; };
dpdk: {
  eal = [ $eal
          "--lcores=$lcores", "--log-level=*:error" ];
  workers = $w;
  mbufs = 16383;
  # An idle gateway shares CPU 1 with the busy one: wake rarely.
  idle_sleep_max_us = 10000;
  idle_sleep_recent_us = 10000;   # also right after traffic (the other direction's case)
};
lan: { device = "$(memif net_memif_lan "$s-lan" "02:1$s:00:00:00:01" gw)"; };
wan: {
  device = "$(memif net_memif_wan "$s-wan" "02:2$s:00:00:00:01" gw)";
  address = "$ip/24";
  port = 5800;
};
timers: { keepalive = 2; dead_after = 60; rekey_after = 3000; reject_after = 3600;
          handshake_retry_ms = 300; };
control: { api_socket = "$DIR/$s.api"; log_level = "warn"; };
peers = ( { name = "gw-$p"; public_key = "$(cat "$DIR/$p.pub")"; endpoint = "$pip:5800"; } );
CONF
}

gw_start() { # SITE
	local s=$1 ns i
	[[ $s == a ]] && ns=$NS_A || ns=$NS_B
	ip netns exec "$ns" "$IPOPD" -c "$DIR/$s.conf" >"$DIR/$s.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$s=$!"
	for ((i = 0; i < 150; i++)); do
		[[ -S $DIR/$s.api && -S $DIR/$s-wan.sock ]] && return 0   # with -z pktgen's socket
		sleep 0.1
	done
	echo "gw-$s did not start:" >&2
	cat "$DIR/$s.log" >&2
	return 1
}

gw_stop_all() {
	local pid
	for pid in "${PID_a:-}" "${PID_b:-}"; do
		[[ -n $pid ]] && stop_pid "$pid"
	done
	PID_a="" PID_b=""
}

rss_kb() { # PID FIELD
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# How the gateways found each other: ARP and handshake counters of both (the
# WANs share a /24 without a router: gw-a must ARP gw-b's address directly).
underlay_facts() {
	"$IPOPCTL" -s "$DIR/a.api" show --json >"$DIR/a.show.json" 2>/dev/null || echo '{}' >"$DIR/a.show.json"
	"$IPOPCTL" -s "$DIR/b.api" show --json >"$DIR/b.show.json" 2>/dev/null || echo '{}' >"$DIR/b.show.json"
	python3 - "$DIR/a.show.json" "$DIR/b.show.json" <<'PY'
import json, sys
out = {}
for name, path in zip(("gw_a", "gw_b"), sys.argv[1:]):
    d = json.load(open(path))
    c, p = d.get("control", {}), (d.get("peers") or [{}])[0]
    out[name] = {"arp_tx": c.get("arp_tx"), "arp_rx": c.get("arp_rx"),
                 "peer_state": p.get("state"), "handshakes": p.get("handshakes"),
                 "wan_gateway_configured": False}
print(json.dumps(out))
PY
}

size_args() { [[ $1 == imix ]] && echo --imix || echo "--size $1"; }

# profile_start NAME PID: sample PID (all its threads) while a case runs.
PERF_PID=""
profile_start() {
	((PERF)) || return 0
	# Until profile_stop stops it (perf writes its file on SIGTERM).
	perf record -q -e cpu-clock -p "$2" -o "$DIR/$1.perf" >/dev/null 2>&1 &
	PERF_PID=$!
	PIDS+=("$PERF_PID")
}

profile_stop() { # NAME
	((PERF)) && [[ -n $PERF_PID ]] || return 0
	kill -TERM "$PERF_PID" 2>/dev/null || true
	wait "$PERF_PID" 2>/dev/null || true
	PERF_PID=""
	{
		echo "# by shared object"
		perf report -i "$DIR/$1.perf" --stdio --no-children --sort dso 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -12
		echo "# by symbol (Debian's DPDK drivers are stripped: memif shows as addresses)"
		perf report -i "$DIR/$1.perf" --stdio --no-children --sort dso,symbol 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -30
	} >"${OUT%.json}-perf-$1.txt" || true
}

# pktgen_start NAME [args...]: one pktgen process for a list of --case
# measurements, in the background; JSON to $DIR/NAME.json (rewritten after
# each case). pktgen_wait NAME waits for it and shows its log.
PG_PID=""
pktgen_start() {
	local name=$1
	shift
	"$PKTGEN" "${EAL_TOOL[@]}" -l 0 -- "$@" --json "$DIR/$name.json" >"$DIR/$name.log" 2>&1 &
	PG_PID=$!
	PIDS+=("$PG_PID")
}

pktgen_wait() { # NAME
	if ! wait "$PG_PID"; then
		echo "pktgen $1 failed:" >&2
		cat "$DIR/$1.log" >&2
		return 1
	fi
	cat "$DIR/$1.log" >&2
}

# record KIND WORKERS CIPHER FILE [extra JSON fields]: one line per case
record() {
	python3 - "$@" >>"$RESULTS" <<'PY'
import json, sys
kind, workers, cipher, path = sys.argv[1:5]
extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
for d in json.load(open(path))["cases"]:
    k = kind if kind != "pair" else d["name"].split("-")[0]
    d.update({"kind": k, "workers": int(workers), "cipher": cipher,
              "size_label": d["name"].split("-")[-1]})
    d.update(extra)
    print(json.dumps(d))
PY
}

# ---- plain memif forwarder baseline ----
# pktgen --tx -> testpmd io (CPU 1) -> pktgen --rx, the same ports and sizes.
# DPDK 22.11's memif is fragile in zero-copy mode: the server sometimes fails
# to map a client's hugepage region ("memif_connect(): mmap failed: No such
# device", about one run in three here; the links then stay down), and pktgen,
# the server, sometimes crashes as it exits with clients still attached (seen
# once in eight runs). With -z a failed run is started again, up to three
# times in all; without -z a failure is final.
retry_zc() { # CMD...
	local attempt
	for attempt in 1 2 3; do
		"$@" && return 0
		((ZC)) || return 1
		log "zero-copy run failed (attempt $attempt, pktgen's log above), starting again"
		rm -f "$DIR"/*.log
	done
	return 1
}

run_forwarder() { # KIND
	retry_zc forwarder_once "$1"
}

forwarder_once() { # KIND
	local kind=$1 tp size cases=() eal=("${EAL_TOOL[@]}")
	for size in $SIZES; do cases+=(--case "fwd-$size:$size:none"); done
	((ZC)) && eal=("${EAL_ZC[@]}")
	rm -f "$DIR"/fwd-*.sock
	local pg_args=(--tx "$(memif net_memif_tx fwd-in 02:41:00:00:00:01 tool)"
		--rx "$(memif net_memif_rx fwd-out 02:42:00:00:00:01 tool)"
		"${cases[@]}" --flows 16 --duration "$DURATION")
	# The memif server first: testpmd without -z, pktgen with it.
	((ZC)) && pktgen_start "$kind" "${pg_args[@]}" && sleep 0.5
	dpdk-testpmd "${eal[@]}" -m 256 --lcores '0@0,1@1' \
		"--vdev=$(memif net_memif0 fwd-in 02:31:00:00:00:01 gw)" \
		"--vdev=$(memif net_memif1 fwd-out 02:32:00:00:00:01 gw)" -- \
		--forward-mode=io --total-num-mbufs=16384 --nb-cores=1 --stats-period 60 \
		</dev/null >"$DIR/testpmd-fwd.log" 2>&1 &
	tp=$!
	PIDS+=("$tp")
	((ZC)) || { sleep 1.5 && pktgen_start "$kind" "${pg_args[@]}"; }
	local ok=0
	pktgen_wait "$kind" || ok=$?
	stop_pid "$tp"
	((ok == 0)) || return "$ok"
	record "$kind" 1 none "$DIR/$kind.json"
}

# ---- the gateway pair ----
TOOL_PORTS=()
tool_ports() {
	TOOL_PORTS=(--tx "$(memif net_memif_tx a-lan 02:51:00:00:00:01 tool)"
		--wire-a "$(memif net_memif_wa a-wan 02:52:00:00:00:01 tool)"
		--wire-b "$(memif net_memif_wb b-wan 02:53:00:00:00:01 tool)"
		--rx "$(memif net_memif_rx b-lan 02:54:00:00:00:01 tool)")
}

# All sizes, encrypt (gw-a measured) then decrypt (gw-b measured), one pktgen.
# The profile (-p) samples both gateways for the whole run: gw-a is busy only
# in the encrypt cases and the fills, gw-b only in the replays.
run_pair() { # WORKERS CIPHER
	retry_zc pair_once "$1" "$2"
}

# pair_teardown NAME PERF_A PERF_B: profiles written, gateways stopped.
pair_teardown() {
	PERF_PID=$2 profile_stop "$1-gw-a"
	PERF_PID=$3 profile_stop "$1-gw-b"
	gw_stop_all
	rm -f "$DIR"/a-*.sock "$DIR"/b-*.sock
}

pair_once() { # WORKERS CIPHER
	local w=$1 cipher=$2 size name="pair-$1-$2" cases=() rss
	for size in $SIZES; do
		cases+=(--case "encrypt-$size:$size:sink:$DIR/a.api"
			--case "decrypt-$size:$size:hold:$DIR/b.api")
	done
	gw_conf a "$w" "$cipher" b
	gw_conf b "$w" "$cipher" a
	tool_ports
	log "gateway pair: $w worker(s), $cipher, sizes $SIZES"
	# The memif server first: the gateways without -z, pktgen with it.
	local pg_args=("${TOOL_PORTS[@]}" --queues "$w" --learn "${cases[@]}"
		--flows 16 --duration "$DURATION")
	((ZC)) && pktgen_start "$name" "${pg_args[@]}" && sleep 0.5
	gw_start a
	gw_start b
	((ZC)) || pktgen_start "$name" "${pg_args[@]}"
	profile_start "$name-gw-a" "$PID_a"
	local pa=$PERF_PID
	profile_start "$name-gw-b" "$PID_b"
	local pb=$PERF_PID
	if ! pktgen_wait "$name"; then
		pair_teardown "$name" "$pa" "$pb"
		return 1
	fi
	rss="{\"gw_a_vmrss_kb\": $(rss_kb "$PID_a" VmRSS), \"gw_a_vmhwm_kb\": $(rss_kb "$PID_a" VmHWM),"
	rss+=" \"gw_b_vmrss_kb\": $(rss_kb "$PID_b" VmRSS), \"gw_b_vmhwm_kb\": $(rss_kb "$PID_b" VmHWM),"
	rss+=" \"underlay\": $(underlay_facts)}"
	record pair "$w" "$cipher" "$DIR/$name.json" "$rss"
	pair_teardown "$name" "$pa" "$pb"
	if ((TESTPMD_GEN)) && [[ $w == 1 ]]; then
		gw_start a
		gw_start b
		run_testpmd_gen "$cipher"
		gw_stop_all
		rm -f "$DIR"/a-*.sock "$DIR"/b-*.sock
	fi
}

# testpmd as the generator (txonly) into gw-a's LAN; pktgen is wire + sink.
# Three busy pollers on two CPUs: a functional check, not a speed figure.
run_testpmd_gen() {
	local cipher=$1 tp pg
	log "testpmd txonly as generator into gw-a (functional check)"
	"$PKTGEN" "${EAL_TOOL[@]}" -l 0 -- \
		--wire-a "$(memif net_memif_wa a-wan 02:52:00:00:00:01 tool)" \
		--wire-b "$(memif net_memif_wb b-wan 02:53:00:00:00:01 tool)" \
		--rx "$(memif net_memif_rx b-lan 02:54:00:00:00:01 tool)" \
		--mode sink --learn --flows 1 --case "testpmd-64:64:sink:$DIR/a.api" \
		--warmup 3 --duration "$DURATION" --json "$DIR/testpmd-gen.json" \
		>"$DIR/testpmd-gen.log" 2>&1 &
	pg=$!
	PIDS+=("$pg")
	sleep 1.5
	dpdk-testpmd "${EAL_TOOL[@]}" -m 256 --lcores '0@0,1@0' \
		"--vdev=$(memif net_memif0 a-lan 02:61:00:00:00:01 tool)" -- \
		--forward-mode=txonly --txpkts=64 --total-num-mbufs=16384 --nb-cores=1 \
		--eth-peer=0,02:0b:00:00:00:00 --stats-period 60 \
		</dev/null >"$DIR/testpmd-gen-tp.log" 2>&1 &
	tp=$!
	PIDS+=("$tp")
	wait "$pg" || { cat "$DIR/testpmd-gen.log" >&2; stop_pid "$tp"; return 1; }
	stop_pid "$tp"
	cat "$DIR/testpmd-gen.log" >&2
	record testpmd_generator 1 "$cipher" "$DIR/testpmd-gen.json"
}

# ---- main ----
for s in a b; do
	"$IPOPCTL" genkey -o "$DIR/$s.key" >"$DIR/$s.pub"
done
if ((ZC)); then
	# Two gateways (-m 256 each) at once, or the forwarder; pktgen maps their
	# memory and a fault it takes with no free hugepage is a SIGBUS: room to spare.
	echo $((HUGEPAGES_BEFORE + 1536)) >/proc/sys/vm/nr_hugepages
	free_hp=$(awk '$1 == "HugePages_Free:" { print $2 }' /proc/meminfo)
	((free_hp >= 1500)) || { echo "-z: only $free_hp free 2 MiB hugepages (need 1500)" >&2; exit 2; }
fi
ip netns add "$NS_A"
ip netns add "$NS_B"
ip -n "$NS_A" link set lo up
ip -n "$NS_B" link set lo up

log "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
# The baseline runs before and after the gateways: on a shared VM the two
# differ when a neighbour's load changed meanwhile (the report flags it).
log "plain memif forwarder (testpmd io), sizes $SIZES"
run_forwarder forwarder
for w in $WORKERS; do
	for c in $CIPHERS; do
		run_pair "$w" "$c"
	done
done
log "plain memif forwarder again"
run_forwarder forwarder_after

ZC=$ZC python3 - "$RESULTS" "$OUT" <<'PY'
import json, sys, subprocess, os
rows = [json.loads(l) for l in open(sys.argv[1])]
fwd, drift = {}, {}
for r in rows:
    if r["kind"] in ("forwarder", "forwarder_after"):
        fwd.setdefault(r["size_label"], []).append(r["window"]["mpps"])
for k, v in fwd.items():
    drift[k] = max(v) / min(v) - 1 if min(v) > 0 else None
    fwd[k] = sum(v) / len(v)       # ratios use the mean of before and after
one = {}
for r in rows:
    if r["kind"] in ("encrypt", "decrypt") and r["workers"] == 1:
        one[(r["kind"], r["cipher"], r["size_label"])] = r["window"]["mpps"]
for r in rows:
    if r["kind"] in ("encrypt", "decrypt"):
        f = fwd.get(r["size_label"])
        r["over_forwarder"] = r["window"]["mpps"] / f if f else None
        base = one.get((r["kind"], r["cipher"], r["size_label"]))
        r["over_one_worker"] = r["window"]["mpps"] / base if base else None
cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
report = {
    "tool": "bench/run_gateway_bench.sh",
    "machine": {"lscpu_model": next((l.split(":", 1)[1].strip() for l in cpu.splitlines()
                                     if l.startswith("Model name")), "?"),
                "cpus": os.cpu_count(),
                "loadavg_at_end": open("/proc/loadavg").read().split()[:3]},
    "memif_zero_copy": os.environ.get("ZC") == "1",
    "forwarder_mean_mpps": fwd,
    "forwarder_drift": drift,
    "results": rows,
}
json.dump(report, open(sys.argv[2], "w"), indent=1)
def fmt(v, spec):
    return format(v, spec) if v else "-"
print("%-18s%2s %-18s%6s %8s %8s %11s %9s %6s %6s %8s" % ("kind", "w", "cipher", "size", "Mpps",
      "Gbit/s", "gw cyc/pkt", "lost", "/fwd", "/1w", "RSS MiB"))
for r in rows:
    g = r.get("gateway", {})
    rss = r.get("gw_a_vmrss_kb" if r["kind"] == "encrypt" else "gw_b_vmrss_kb")
    print("%-18s%2d %-18s%6s %8.3f %8.2f %11s %9d %6s %6s %8s" % (
        r["kind"], r["workers"], r["cipher"], r["size_label"], r["window"]["mpps"],
        r["window"]["gbit_s"], fmt(g.get("cycles_per_pkt"), ".0f"), r["window"]["lost_pkts"],
        fmt(r.get("over_forwarder"), ".2f"), fmt(r.get("over_one_worker"), ".2f"),
        fmt(rss / 1024 if rss else None, ".1f")))
for k, v in drift.items():
    if v is not None and v > 0.15:
        print(f"WARNING: the forwarder baseline at {k} moved {v:.0%} between before and after: "
              "the machine's load changed; repeat the run")
print(f"report: {sys.argv[2]}")
PY
