#!/usr/bin/env bash
# mem_tunnels.sh - resident memory of ONE light-mode ipopd gateway with 100 tunnels up
# (issue 4: "a gateway in light mode (no hugepages, two ports, 100 tunnels) resident
# in at most 64 MiB, and at most 2 KiB of fast-path state per tunnel").
#
#   sudo bench/mem_tunnels.sh [-b BUILD] [-n TUNNELS] [-o OUT.json] [-c CIPHER] [-a PATH]
#
#   -b  meson build dir with tools/ipopd, tools/ipopctl, bench/ipop-peersim
#       (default: $IPOP_BUILD, else build/)
#   -n  tunnels (default 100)     -o  also write the JSON report to OUT.json
#   -c  cipher of the gateway and the peers (default aes-256-gcm)
#   -a  the gateway's dpdk.aead_code_path (default compact, light mode's choice:
#       the smallest AES-GCM keys; "auto" shows the fastest path's cost)
#   Environment: GW_EAL_MB (EAL -m, default the testbed's 128), GW_MBUFS (default
#   the testbed's 4095), GW_WORKERS (default 1), MEM_SETTLE_S (default 3).
#
# Testbed (tests/netns/lib.sh, ipop.sh): site a = host-a -- gw-a -- router, with
# ipopd in gw-a exactly as the netns tests run it: --no-huge --no-pci --no-shconf,
# net_af_packet LAN and WAN ports, the WAN exception TAP, idle back-off, one
# worker, 4095 mbufs. A namespace "peers" hangs off the router (10.91.200.2) and
# runs bench/ipop-peersim: TUNNELS identities, each on its own UDP port
# 6000 + i, each running the Noise IK handshake with the gateway and then sending
# authenticated keepalives (see bench/peersim.c). The gateway's config lists the
# TUNNELS public keys with their IP:port.
#
# Stages (each bounded in time; a failed stage exits non-zero with a message):
#   1. testbed, keys, config (ipopd --check), ipopd starts, its API answers
#   2. MEM_SETTLE_S seconds with the 100 peers configured but none answering:
#      VmRSS/VmHWM = the "0 tunnels up" sample
#   3. the simulator starts; wait (<= 90 s) until `ipopctl show --json` has
#      TUNNELS peers "up"; MEM_SETTLE_S more seconds, check they are still up,
#      sample VmRSS/VmHWM again
#   4. stop the simulator and the gateway by PID, print the JSON report
# Everything is removed by lib.sh's trap (namespaces by name, processes by PID).
# ipop-timeout: 300
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
N=100
OUT=""
CIPHER=aes-256-gcm
AEAD_PATH=compact
BUILD_ARG=""
while getopts "b:n:o:c:a:h" o; do
	case $o in
	b) BUILD_ARG=$OPTARG ;; n) N=$OPTARG ;; o) OUT=$OPTARG ;; c) CIPHER=$OPTARG ;;
	a) AEAD_PATH=$OPTARG ;;
	*) sed -n '2,16p' "$0"; exit 2 ;;
	esac
done
[[ -n "$BUILD_ARG" ]] && export IPOP_BUILD=$BUILD_ARG
if ! [[ "$N" =~ ^[0-9]+$ ]] || ((N < 1 || N > 1000)); then
	echo "mem_tunnels: -n must be 1..1000" >&2
	exit 2
fi
SETTLE=${MEM_SETTLE_S:-3}
PEER_PORT=6000
PEERS_IP=10.91.200.2

source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"

stage() { printf '%s mem_tunnels: %s\n' "$(date +%T)" "$*" >&2; }
die() {
	printf 'mem_tunnels: FAILED: %s\n' "$*" >&2
	T_SUMMARY_DONE=1          # no lib.sh summary: this is a benchmark, not a test
	exit 1
}

IPOPD=$(ipop_bin ipopd) || die "no ipopd under $IPOP_BUILD"
PEERSIM=$(ipop_bin ipop-peersim) || die "no ipop-peersim under $IPOP_BUILD (ninja -C BUILD)"
ipop_bin ipopctl >/dev/null || die "no ipopctl under $IPOP_BUILD"

# ---- 1. testbed, keys, config, gateway
stage "testbed: gw-a with LAN and WAN, a peers namespace behind the router"
site_add a 1 || die "site a"
ns_add peers || die "namespace peers"
link_add peers wan router s200 || die "link peers-router"
addr_add router s200 10.91.200.1/24 && addr_add peers wan "$PEERS_IP/24" &&
	route_add peers default 10.91.200.1 || die "peers addressing"
offload_off peers wan && offload_off router s200 || die "offload off"

GW_CIPHER[a]=$CIPHER
gw_setup a || die "gateway keys"
KEYS="$T_TMP/peers.keys"
PEERLIST="$T_TMP/peers.list"
"$PEERSIM" genkeys "$N" "$KEYS" >"$T_TMP/peers.pub" || die "peersim genkeys"
awk -v ip="$PEERS_IP" -v port="$PEER_PORT" \
	'{ printf "peer-%03d %s %s:%d\n", NR - 1, $1, ip, port + NR - 1 }' \
	"$T_TMP/peers.pub" >"$PEERLIST"
(($(wc -l <"$PEERLIST") == N)) || die "expected $N public keys"
GW_PEERS[a]=""
GW_PEERFILE[a]=$PEERLIST
GW_AEAD_PATH[a]=$AEAD_PATH
gw_config a || die "config"
"$IPOPD" -c "${GW_CONF[a]}" --check >/dev/null || die "ipopd --check ${GW_CONF[a]}"

stage "ipopd starts (light mode: $(grep -o '"--no-huge".*"-m", "[0-9]*"' "${GW_CONF[a]}"), $(grep -o 'mbufs = [0-9]*' "${GW_CONF[a]}"))"
gw_start a || die "ipopd did not start (log: $(tail -n 5 "${GW_LOG[a]}" 2>/dev/null))"
GWPID=${GW_PID[a]}
[[ "$(cat "/proc/$GWPID/comm" 2>/dev/null)" == ipopd ]] ||
	die "pid $GWPID is not ipopd ($(cat "/proc/$GWPID/comm" 2>/dev/null))"
wait_until 10 gw_json a || die "ipopd's API does not answer"

# status_kib PID FIELD: a /proc/PID/status value in KiB.
status_kib() {
	awk -v f="$2:" '$1 == f { print $2; found = 1 } END { exit !found }' "/proc/$1/status"
}
# sample NAME: VmRSS, VmHWM and the RSS parts of ipopd now, as NAME_* variables.
sample() {
	local f v
	for f in VmRSS VmHWM RssAnon RssFile RssShmem; do
		v=$(status_kib "$GWPID" "$f") || die "cannot read /proc/$GWPID/status ($f)"
		printf -v "$1_$f" '%s' "$v"
	done
}
UP_EXPR="sum(1 for x in d['peers'] if x['state'] == 'up')"
tunnels_up() { gw_get a "$UP_EXPR"; }
all_up() { [[ "$(tunnels_up 2>/dev/null)" == "$N" ]]; }

# ---- 2. no tunnel up
stage "$N peers configured, none answering: settling ${SETTLE}s"
sleep "$SETTLE"
UP0=$(tunnels_up) || die "ipopctl show --json failed"
[[ "$UP0" == 0 ]] || die "$UP0 tunnels up before the simulator started"
sample ZERO

# ---- 3. the simulator brings N tunnels up
stage "peer simulator: $N identities handshake from $PEERS_IP:$PEER_PORT-$((PEER_PORT + N - 1))"
SIMLOG="$T_TMP/peersim.log"
bg_start peers "$SIMLOG" "$PEERSIM" run --keys "$KEYS" --gw "${T_GW_WAN_IP[a]}:$GW_PORT" \
	--gw-pub "${GW_PUB[a]}" --bind "$PEERS_IP" --base-port "$PEER_PORT" \
	--overlay "${GW_OVERLAY:-testnet}" --cipher "$CIPHER" --keepalive 1 --duration 240 ||
	die "peersim did not start"
SIMPID=$BG_PID
t0=$(_t_now_ms)
if ! _t_wait_ready 90 "$SIMPID" all_up; then
	tail -n 5 "$SIMLOG" >&2 || true
	die "only $(tunnels_up 2>/dev/null || echo '?') of $N tunnels up after 90 s (log above, gateway log ${GW_LOG[a]})"
fi
UP_AFTER_S=$(awk -v ms=$(($(_t_now_ms) - t0)) 'BEGIN { printf "%.1f", ms / 1000 }')
stage "all $N tunnels up after ${UP_AFTER_S}s; settling ${SETTLE}s with keepalives flowing"
sleep "$SETTLE"
UP=$(tunnels_up) || die "ipopctl show --json failed"
[[ "$UP" == "$N" ]] || die "$UP of $N tunnels up after settling"
sample UPS
GWJSON="$T_TMP/gw.json"
gw_json a >"$GWJSON" || die "ipopctl show --json failed"

# ---- 4. stop, report
bg_stop "$SIMPID" 5 || die "peersim did not stop"
SIMSUM=$(grep '^{' "$SIMLOG" | tail -n 1)
[[ -n "$SIMSUM" ]] || SIMSUM='{}'
gw_stop a
SIZES=$("$PEERSIM" sizes "$AEAD_PATH") || die "peersim sizes $AEAD_PATH"
WORKERS=${GW_WORKERS:-1}
MACHINE="$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) vCPU, $(uname -r)"

REPORT=$(python3 - "$N" "$WORKERS" "$CIPHER" "$UP" "$UP_AFTER_S" "$SIZES" "$SIMSUM" "$GWJSON" \
	"$MACHINE" "${GW_CONF[a]}" \
	"$ZERO_VmRSS" "$ZERO_VmHWM" "$ZERO_RssAnon" "$ZERO_RssFile" "$ZERO_RssShmem" \
	"$UPS_VmRSS" "$UPS_VmHWM" "$UPS_RssAnon" "$UPS_RssFile" "$UPS_RssShmem" <<'PY'
import json, re, sys
a = sys.argv[1:]
n, workers, cipher, up, up_after = int(a[0]), int(a[1]), a[2], int(a[3]), float(a[4])
sizes, sim = json.loads(a[5]), json.loads(a[6])
gw = json.load(open(a[7]))
machine, conf = a[8], open(a[9]).read()
z = dict(zip(["vmrss", "vmhwm", "anon", "file", "shmem"], map(int, a[10:15])))
u = dict(zip(["vmrss", "vmhwm", "anon", "file", "shmem"], map(int, a[15:20])))
key = "keypair_aes256gcm" if cipher == "aes-256-gcm" else "keypair_chacha20poly1305"
fastpath = sizes[key] + sizes["fp_peer"] + workers * sizes["peer_counters_per_worker"]
# The simulator computes the sizes for the gateway's code path; the gateway says
# which path and key size it runs: they must agree.
gw_key = gw.get("aead_key_bytes")
sim_key = sizes["key_aes256gcm" if cipher == "aes-256-gcm" else "key_chacha20poly1305"]
if gw.get("ipsec_mb_arch") != sizes["arch"] or gw_key != sim_key:
    sys.exit("gateway runs %s with %s-byte keys, sizes computed for %s with %s" %
             (gw.get("ipsec_mb_arch"), gw_key, sizes["arch"], sim_key))
eal = re.search(r"eal = \[(.*?)\];", conf, re.S).group(1)
mbufs = int(re.search(r"mbufs = (\d+);", conf).group(1))
rss_target, tunnel_target = 64 * 1024, 2048
r = {
    "tunnels_configured": n, "tunnels_up": up, "all_up_after_s": up_after,
    "vmrss_kib": u["vmrss"], "vmhwm_kib": u["vmhwm"],
    "rss_kib_parts": {"anon": u["anon"], "file": u["file"], "shmem": u["shmem"]},
    "zero_tunnels": {"vmrss_kib": z["vmrss"], "vmhwm_kib": z["vmhwm"],
                     "rss_kib_parts": {"anon": z["anon"], "file": z["file"], "shmem": z["shmem"]}},
    "per_tunnel_bytes": {
        "aead_code_path": sizes["code_path"], "ipsec_mb_arch": sizes["arch"],
        "cipher": cipher,
        "sizeof_keypair_fixed": sizes["keypair_fixed"],
        "keypair_with_keys": sizes[key],
        "fp_peer": sizes["fp_peer"],
        "counters": workers * sizes["peer_counters_per_worker"], "workers": workers,
        "fast_path_total": fastpath,
        "measured_rss_delta": round((u["vmrss"] - z["vmrss"]) * 1024 / n),
    },
    "targets": {
        "vmrss_kib_max": rss_target, "vmrss_met": u["vmrss"] <= rss_target,
        "vmhwm_met": u["vmhwm"] <= rss_target,
        "fast_path_bytes_per_tunnel_max": tunnel_target,
        "fast_path_per_tunnel_met": fastpath <= tunnel_target,
    },
    "gateway": {"eal": " ".join(x.strip() for x in eal.replace("\n", " ").split(",")),
                "mbufs": mbufs, "workers": workers,
                "control_counters": gw.get("control", {}),
                "dataplane_drops_nonzero": {k: v for k, v in
                                            gw.get("dataplane", {}).get("drops", {}).items() if v}},
    "simulator": sim,
    "machine": machine,
}
print(json.dumps(r, indent=2))
PY
) || die "report"
printf '%s\n' "$REPORT"
if [[ -n "$OUT" ]]; then
	printf '%s\n' "$REPORT" >"$OUT" || die "cannot write $OUT"
fi
stage "done"
