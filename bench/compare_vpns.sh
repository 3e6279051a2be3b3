#!/usr/bin/env bash
# compare_vpns.sh - issue 4, part 1d: ipop against other VPNs end to end, on the
# netns testbed, in one run. Role: benchmark driver (root, namespaces only); never on
# ipop's fast path.
#
#   sudo bench/compare_vpns.sh [--json FILE] [--md FILE] [--time SECONDS]
#                              [--rounds N] [--only plain,ipop,...] [--no-install]
#                              [--topology bridged|endpoint]
#
# For each candidate -- plain kernel forwarding (the upper bound), the same with
# TSO/GSO back on (a reference row), ipop, wireguard-go, nebula, tinc in switch
# mode, OpenVPN with tap, n2n and fastd in tap mode -- it builds a fresh
#   host-a -- gw-a -- router -- gw-b -- host-b
# (tests/netns/lib.sh topo_pair, host MTU 1400, TX checksum offload off on the
# veths as ipop's af_packet ports need), brings the VPN up on gw-a and gw-b
# (bench/compare/vpns.sh: L2 candidates bridge lan with their tap in br0, L3 ones
# give the hosts separate subnets routed through the tunnel), and from host-a to
# host-b measures:
#   ping    200 pings at 0.05 s (CMP_PINGS): average, median and 90th percentile RTT
#   tcp1    iperf3 TCP, 1 stream, SECONDS (after 1 s omitted for slow start)
#   tcp4    iperf3 TCP, 4 streams (-P 4), likewise
#   udp64   iperf3 UDP, 64-byte payloads, unlimited rate (-b 0): received pps, loss
# and, in a window inside each iperf3 run (from 1.5 s in, SECONDS - 1 long), the
# CPU of the VPN's processes (utime+stime from /proc/PID/stat of every process in
# gw-a and gw-b, plus n2n's supernode, as cores; also split by thread), the whole
# machine's busy cores (/proc/stat), and their resident memory (VmRSS, VmHWM). For
# ipop it keeps `ipopctl show --json` of both gateways at the window's edges
# (dataplane.busy_pct, poll and sleep counters).
#
# The two vCPUs are shared with other work, so the candidates run in ROUNDS rounds
# (default 2), in alternating order, and the table shows each one's best TCP 1
# round; every round is in the JSON.
#
# Missing Debian packages (wireguard-go, wireguard-tools, nebula, tinc, n2n,
# openvpn, fastd, iperf3, nftables, ethtool, openssl) are installed with apt-get
# unless --no-install; a candidate whose tools are still missing is reported as
# skipped. ipopd and ipopctl come from IPOP_BUILD (default build/: `meson setup
# build && ninja -C build`). With the defaults (5 s, 2 rounds) a run takes about
# 7 minutes.
#
# --topology endpoint (issue 15): no LAN hosts; the VPN's daemon and the measuring
# tools run on the same two hosts, gw-a and gw-b, which talk over the VPN's own
# interface: ipop's host TAP (GW_NO_LAN, host.offload as configured: on by
# default), wireguard-go's and nebula's tun addresses, an address on the bridge of
# the L2 candidates (tinc, OpenVPN, n2n, fastd), the WAN addresses for plain. The
# VPN's CPU and memory leave iperf3 and ping out; an idle window (5 s, no traffic,
# keepalives running) is sampled before the traffic.
#
# Output: a Markdown table and the verdicts on issue 4's end-to-end targets on
# stdout (and in --md FILE), every number in --json FILE. Namespaces, processes and
# temp files are removed by lib.sh's exit trap whatever happens; every process is
# stopped by pid. T_KEEP_TMP=1 keeps the raw results and the daemons' logs.
# The T_*/GW_* variables set here belong to lib.sh and ipop.sh.
# shellcheck disable=SC2034,SC2016
set -euo pipefail

CMP_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CMP_TOP=$(cd "$CMP_HERE/.." && pwd)
CMP_ALL="plain plain-gso ipop wireguard-go nebula tinc openvpn n2n fastd"
CMP_CMDLINE="bench/compare_vpns.sh $*"

usage() {
	sed -n '2,43p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

JSON_OUT="" MD_OUT="" SECS=5 ROUNDS=2 ONLY=$CMP_ALL INSTALL=1 CMP_TOPO=bridged
while (($#)); do
	case "$1" in
	--json) JSON_OUT=$(realpath -m "$2"); shift 2 ;;
	--md) MD_OUT=$(realpath -m "$2"); shift 2 ;;
	--time) SECS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--only) ONLY=${2//,/ }; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--topology) CMP_TOPO=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) echo "compare_vpns.sh: unknown argument '$1'" >&2; usage 2 >&2 ;;
	esac
done
if ! [[ "$SECS" =~ ^[0-9]+$ ]] || ((SECS < 3 || SECS > 60)); then
	echo "compare_vpns.sh: --time must be 3..60 seconds" >&2
	exit 2
fi
if [[ "$CMP_TOPO" != bridged && "$CMP_TOPO" != endpoint ]]; then
	echo "compare_vpns.sh: --topology must be bridged or endpoint" >&2
	exit 2
fi
if ! [[ "$ROUNDS" =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 5)); then
	echo "compare_vpns.sh: --rounds must be 1..5" >&2
	exit 2
fi
for v in $ONLY; do
	[[ " $CMP_ALL " == *" $v "* ]] || { echo "compare_vpns.sh: unknown candidate '$v'" >&2; exit 2; }
done
if ((EUID != 0)); then
	echo "compare_vpns.sh: needs root (network namespaces)" >&2
	exit 1
fi

# ---------------------------------------------------------------- packages

# command -> Debian package; the candidates' own tools and the testbed's.
declare -A CMP_PKG=(
	[wireguard-go]=wireguard-go [wg]=wireguard-tools [nebula]=nebula [nebula-cert]=nebula
	[tincd]=tinc [edge]=n2n [supernode]=n2n [openvpn]=openvpn [fastd]=fastd
	[iperf3]=iperf3 [nft]=nftables [ethtool]=ethtool [ping]=iputils-ping
	[openssl]=openssl [python3]=python3 [setsid]=util-linux
)
declare -A CMP_NEEDS=(
	[plain]="" [plain-gso]="ethtool" [ipop]="nft" [wireguard-go]="wireguard-go wg" [nebula]="nebula nebula-cert"
	[tinc]="tincd" [openvpn]="openvpn openssl" [n2n]="edge supernode" [fastd]="fastd"
)

install_missing() {
	local c pkgs=() seen=" "
	for c in "${!CMP_PKG[@]}"; do
		if ! command -v "$c" >/dev/null && [[ "$seen" != *" ${CMP_PKG[$c]} "* ]]; then
			pkgs+=("${CMP_PKG[$c]}")
			seen+="${CMP_PKG[$c]} "
		fi
	done
	((${#pkgs[@]})) || return 0
	echo "compare_vpns.sh: installing ${pkgs[*]}" >&2
	local log=/tmp/compare-vpns-apt.log
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${pkgs[@]}" >"$log" 2>&1; then
		apt-get update >>"$log" 2>&1 || true
		apt-get install -y --no-install-recommends "${pkgs[@]}" >>"$log" 2>&1 ||
			echo "compare_vpns.sh: apt-get failed (see $log); missing tools skip their candidate" >&2
	fi
}
((INSTALL)) && install_missing
for c in iperf3 ping python3 setsid; do
	command -v "$c" >/dev/null || { echo "compare_vpns.sh: $c is required" >&2; exit 1; }
done

# ---------------------------------------------------------------- testbed

# shellcheck source=tests/netns/lib.sh
source "$CMP_TOP/tests/netns/lib.sh"
# shellcheck source=tests/netns/ipop.sh
source "$CMP_TOP/tests/netns/ipop.sh"
# shellcheck source=bench/compare/vpns.sh
source "$CMP_HERE/compare/vpns.sh"

TOPO_HOST_MTU=$CMP_MTU

# lib.sh's exit trap removes namespaces, processes and temp files; wireguard-go's
# API sockets live outside them (/var/run/wireguard) and would outlive a SIGKILLed
# daemon, so this run's are removed first.
cmp_on_exit() {
	local rc=$?
	vpn_down_wireguard_go 2>/dev/null
	(exit "$rc")
	_t_on_exit
}
trap cmp_on_exit EXIT
RES="$T_TMP/results"
mkdir -p "$RES"

# topo_reset : stop every process of the last candidate (by pid) and remove its
# namespaces, so the next one starts from nothing; lib.sh's state follows.
topo_reset() {
	local - pid ns
	set +e
	for pid in "${T_PIDS[@]}"; do
		bg_stop "$pid" >/dev/null 2>&1
	done
	for ns in "${T_NSS[@]}"; do
		netns_reap "$ns" || _t_log "compare_vpns.sh: could not remove $ns"
	done
	T_NSS=()
	T_SITES=()
	T_TOPO_CORE=0
	GW_PID=()
}

# ---------------------------------------------------------------- sampling

CMP_PIDS=()

vpn_pids() {
	CMP_PIDS=()
	local ns p
	for ns in gw-a gw-b; do
		for p in $(ip netns pids "$(nsn "$ns")" 2>/dev/null); do
			# Endpoint topology: the measuring tools share the namespace.
			case "$(cat "/proc/$p/comm" 2>/dev/null)" in
			iperf3 | ping | timeout) continue ;;
			esac
			CMP_PIDS+=("$p")
		done
	done
	[[ -n "${CMP_EXTRA:-}" ]] && CMP_PIDS+=("$CMP_EXTRA")
	return 0
}

# outside_ticks : CPU ticks of every user process that is not this run's (not in its
# namespaces, not this shell), children included (cutime, cstime), so that work which
# started and ended between two samples still shows. Kernel threads are left out:
# softirq work for our own packets runs there. It measures how much the other
# users of the shared vCPUs took from a window.
outside_ticks() {
	local -A ours=([$$]=1 [$BASHPID]=1)
	local ns p f s t=0
	local -a x
	for ns in "${T_NSS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			ours[$p]=1
		done
	done
	for f in /proc/[0-9]*/stat; do
		p=${f#/proc/}
		p=${p%/stat}
		[[ -n "${ours[$p]:-}" ]] && continue
		{ s=$(<"$f"); } 2>/dev/null || continue
		s=${s##*) }
		read -r -a x <<<"$s"
		((x[6] & 0x200000)) && continue # PF_KTHREAD
		t=$((t + x[11] + x[12] + x[13] + x[14]))
	done
	echo "$t"
}

# snap FILE : one sample of everything the report compares between two instants.
snap() {
	local f=$1 p s t=0 rss=0 hwm=0 v
	local -a x
	for p in "${CMP_PIDS[@]}"; do
		{ s=$(<"/proc/$p/stat"); } 2>/dev/null || continue
		s=${s##*) }
		read -r -a x <<<"$s"
		t=$((t + x[11] + x[12]))
		v=$(awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r + 0, h + 0 }' \
			"/proc/$p/status" 2>/dev/null) || continue
		rss=$((rss + ${v% *}))
		hwm=$((hwm + ${v#* }))
	done
	{
		echo "wall_us ${EPOCHREALTIME//[!0-9]/}"
		echo "vpn_ticks $t"
		echo "rss_kb $rss"
		echo "hwm_kb $hwm"
		echo "nprocs ${#CMP_PIDS[@]}"
		echo "outside_ticks $(outside_ticks)"
		head -n 1 /proc/stat
		for p in "${CMP_PIDS[@]}"; do
			local task
			for task in /proc/"$p"/task/*; do
				{ s=$(<"$task/stat"); } 2>/dev/null || continue
				local comm=${s#*(}
				comm=${comm%%)*}
				s=${s##*) }
				read -r -a x <<<"$s"
				echo "thread ${task##*/} ${comm// /_} $((x[11] + x[12]))"
			done
		done
	} >"$f"
	if [[ "$CUR" == ipop ]]; then
		gw_json a >"$f.ipop-a.json" 2>/dev/null || true
		gw_json b >"$f.ipop-b.json" 2>/dev/null || true
	fi
}

# window TAG WARM_S IPERF3_ARGS... : run iperf3 from host-a and sample the VPN at
# WARM_S and at WARM_S + SECS - 1 (both inside the run).
window() {
	local tag=$1 warm=$2 job rc=0
	shift 2
	nsx "$CMP_SRC" timeout $((SECS + 25)) iperf3 -c "$CMP_DST" -J "$@" \
		>"$D/$tag.json" 2>"$D/$tag.err" &
	job=$!
	sleep "$warm"
	snap "$D/$tag.snap0"
	sleep $((SECS - 1))
	snap "$D/$tag.snap1"
	wait "$job" || rc=$?
	echo "$tag rc $rc" >>"$D/facts"
}

# idle_window : the VPN's CPU over 5 s without traffic (keepalives still run).
idle_window() {
	sleep 2
	snap "$D/idle.snap0"
	sleep 5
	snap "$D/idle.snap1"
}

measure() {
	vpn_pids
	[[ "$CMP_TOPO" == endpoint ]] && idle_window
	nsx "$CMP_SRC" ping -q -c 3 -i 0.2 -W 1 "$CMP_DST" >/dev/null 2>&1 || true
	nsx "$CMP_SRC" ping -c "${CMP_PINGS:-200}" -i 0.05 -W 1 "$CMP_DST" >"$D/ping.txt" 2>&1 || true
	iperf_server "$CMP_SRV" "$CMP_DST" || {
		echo "error iperf3 server did not start" >>"$D/facts"
		return 1
	}
	window tcp1 1.5 -t "$SECS" -O 1
	window tcp4 1.5 -t "$SECS" -O 1 -P 4
	window udp64 0.5 -t "$SECS" -u -l 64 -b 0
	bg_stop "$IPERF_PID" >/dev/null 2>&1 || true
	# Outer fragmentation by the gateways' kernels would tax a candidate for the
	# testbed's MTU choice: record it (ipopd's own counters are in its JSON).
	local l
	for l in a b; do
		nsx "gw-$l" awk -v gw="$l" '
			/^Ip: [A-Z]/ { for (i = 2; i <= NF; i++) h[$i] = i; next }
			/^Ip: [0-9]/ { print "ip_frag_creates_gw_" gw, $h["FragCreates"]
			               print "ip_reasm_reqds_gw_" gw, $h["ReasmReqds"] }' /proc/net/snmp
	done >>"$D/facts"
}

# keep_logs : the tail of every log the candidate wrote, for the JSON on failure.
keep_logs() {
	{
		echo "$D/up.log"
		find "$T_TMP" -path "$RES" -prune -o -type f -name '*.log' -newer "$D/.start" -print
	} 2>/dev/null | while read -r f; do
		echo "== $f"
		tail -n 15 "$f"
	done >"$D/logs.txt" 2>/dev/null || true
}

run_one() {
	local v=$1 round=$2 fn=${1//-/_} c
	CUR=$v
	D="$RES/$v/r$round"
	mkdir -p "$D"
	: >"$D/facts"
	touch "$D/.start"
	CMP_DST="" CMP_MODE="" CMP_CIPHER="" CMP_NOTE="" CMP_EXTRA=""
	for c in ${CMP_NEEDS[$v]}; do
		if ! command -v "$c" >/dev/null; then
			echo "error skipped: $c not installed (package ${CMP_PKG[$c]})" >>"$D/facts"
			return 0
		fi
	done
	echo "== round $round: $v" >&2
	topo_reset
	if ! topo_pair none none; then
		echo "error the testbed could not be built" >>"$D/facts"
		return 0
	fi
	CMP_SRC=host-a CMP_SRV=host-b
	if ! "vpn_up_$fn" 2>"$D/up.log" || ! endpoint_dst "$v" 2>>"$D/up.log"; then
		echo "error $v did not come up" >>"$D/facts"
		keep_logs
	elif ! wait_until 30 nsx "$CMP_SRC" ping -c 1 -W 1 "$CMP_DST"; then
		echo "error no ping from host-a to host-b ($CMP_DST) through $v within 30 s" >>"$D/facts"
		keep_logs
	else
		measure || keep_logs
		if [[ "$CMP_TOPO" == bridged ]] && declare -F "vpn_extra_$fn" >/dev/null; then
			"vpn_extra_$fn" "$D" || echo "extra_failed 1" >>"$D/facts"
		fi
	fi
	{
		echo "mode $CMP_MODE"
		echo "cipher $CMP_CIPHER"
		echo "note $CMP_NOTE"
		echo "dst $CMP_DST"
	} >>"$D/facts"
	if declare -F "vpn_down_$fn" >/dev/null; then
		"vpn_down_$fn"
	fi
	topo_reset
}

# ---------------------------------------------------------------- machine and run

pkg_version() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"
}

{
	echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "command $CMP_CMDLINE"
	echo "secs $SECS"
	echo "rounds $ROUNDS"
	echo "mtu $CMP_MTU"
	echo "topology $CMP_TOPO"
	echo "kernel $(uname -r)"
	echo "cpu $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "ncpu $(nproc)"
	echo "mem_kb $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
	echo "loadavg_start $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "clk_tck $(getconf CLK_TCK)"
	echo "ipop_commit $(git -C "$CMP_TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$CMP_TOP" diff --quiet HEAD 2>/dev/null || echo ' (working tree has changes)')"
	echo "ipop_build $IPOP_BUILD"
	for p in wireguard-go wireguard-tools nebula tinc openvpn n2n fastd iperf3 linux-image-amd64; do
		echo "version $p $(pkg_version "$p")"
	done
} >"$RES/machine"

# Other work shares the two vCPUs: rounds alternate the order (forward, then
# backward) so that a burst of outside load does not always hit the same candidate,
# and the report keeps each candidate's best round (every round is in the JSON).
read -r -a order <<<"$ONLY"
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then
		for ((k = 0; k < ${#order[@]}; k++)); do run_one "${order[k]}" "$r"; done
	else
		for ((k = ${#order[@]} - 1; k >= 0; k--)); do run_one "${order[k]}" "$r"; done
	fi
done
echo "loadavg_end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RES/machine"

python3 "$CMP_HERE/compare/report.py" --results "$RES" --order "$ONLY" --topology "$CMP_TOPO" \
	${JSON_OUT:+--json "$JSON_OUT"} ${MD_OUT:+--md "$MD_OUT"}
