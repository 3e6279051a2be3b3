#!/usr/bin/env bash
# mem_endpoint.sh - where the resident memory of one light-mode endpoint goes
# (issue 15 item 3: "light-mode endpoint resident memory at most 24 MiB"). gw-a
# runs as configs/endpoint.conf.example describes (no LAN, the host TAP ipop0, WAN
# on net_af_packet with 512-frame rings, --no-huge -m 32 --no-shconf, one worker on
# lcores 0-1, 1023 mbufs, aead_code_path compact, idle wait) linked to gw-b (the
# testbed's defaults); after the tunnel is up
# and SETTLE seconds of pings through ipop0, gw-a's /proc/PID/smaps is summed by
# what each mapping is (DPDK's --no-huge heap, the af_packet rings, DPDK's
# libraries and PMDs, the other libraries, the C heap, thread stacks, other
# anonymous memory) and its `ipopctl show --json` "memory" object says what lives
# in the DPDK heap (mempools, rings, the heap's own use).
#
#   sudo bench/mem_endpoint.sh [-b BUILD] [-s SETTLE] [-e "EXTRA CONFIG"] [-o OUT.json]
#   (about 15 s)
#
#   -e  extra lines for gw-a's configuration (to compare settings)
#   Environment, for gw-a: EP_EAL_MB (EAL -m, default 32), EP_MBUFS (1023),
#   EP_AFP_ARGS (its WAN's net_af_packet arguments, default "framecnt=512"; empty:
#   ipopd's default rings), as the example sets them.
# One JSON object on stdout; cleanup by lib.sh's trap.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
SETTLE=3
EXTRA=""
OUT=""
while getopts "b:s:e:o:h" o; do
	case $o in
	b) export IPOP_BUILD=$OPTARG ;; s) SETTLE=$OPTARG ;; e) EXTRA=$OPTARG ;; o) OUT=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
source "$TOP/tests/netns/lib.sh"
source "$TOP/tests/netns/ipop.sh"
T_SUMMARY_DONE=1   # a benchmark, not a test

TOPO_HOST_MTU=1500
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
GW_NO_LAN[a]=1
GW_AEAD_PATH[a]=compact
gw_setup a >/dev/null
gw_setup b >/dev/null
GW_EAL_MB=${EP_EAL_MB:-32} GW_MBUFS=${EP_MBUFS:-1023} GW_AFP_ARGS=${EP_AFP_ARGS-framecnt=512} \
	gw_config a "host: { enabled = true; tap = \"ipop0\"; address = \"10.200.0.201/24\"; };
$EXTRA"
# The example's lcores: the control thread and one worker, no spare lcore.
sed -i 's/--lcores=[^"]*/--lcores=0@0,1@1/' "${GW_CONF[a]}"
gw_config b
gw_start a
gw_start b
wait_until 20 gw_peer_is a b up
HB=${T_HOST_IP[b]}
wait_until 10 nsx gw-a ping -c1 -W1 -I ipop0 "$HB" >/dev/null
nsx gw-a ping -q -c $((SETTLE * 10)) -i 0.1 -W1 -I ipop0 "$HB" >/dev/null || true
PID=${GW_PID[a]}
cp "/proc/$PID/smaps" "$T_TMP/smaps"
cp "/proc/$PID/status" "$T_TMP/status"
gw_json a >"$T_TMP/show.json"
ls /proc/"$PID"/task | wc -l >"$T_TMP/threads"
gw_stop a
gw_stop b
python3 - "$T_TMP/smaps" "$T_TMP/status" "$T_TMP/show.json" "$(cat "$T_TMP/threads")" >"$T_TMP/mem.json" <<'PY'
import json, re, sys
smaps, status, show, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
st = {l.split(":")[0]: int(l.split()[1]) for l in open(status) if l.split()[-1:] == ["kB"]}
maps, cur = [], None
for line in open(smaps):
    m = re.match(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \d+\s*(.*)$", line)
    if m:
        cur = {"perms": m.group(1), "path": m.group(2).strip(), "rss": 0, "anon": 0, "size": 0}
        maps.append(cur)
        continue
    k = line.split(":")[0]
    if k == "Size":
        cur["size"] = int(line.split()[1])
    elif k == "Rss":
        cur["rss"] = int(line.split()[1])
    elif k == "Anonymous":
        cur["anon"] = int(line.split()[1])
def kind(m):
    p = m["path"]
    if "memfd:nohuge" in p or p.startswith("/memfd:"):
        return "dpdk_heap_nohuge"
    if p.startswith("socket:") or "packet" in p:
        return "af_packet_rings"
    if re.search(r"/(librte_|dpdk/pmds)", p):
        return "lib_dpdk"
    if "IPSec_MB" in p:
        return "lib_ipsec_mb"
    if ".so" in p or p.endswith("/ipopd"):
        return "lib_other_and_ipopd"
    if p == "[heap]":
        return "c_heap"
    if p.startswith("[stack"):
        return "main_stack"
    if p in ("[vdso]", "[vvar]", "[vsyscall]"):
        return "kernel_pages"
    if p == "":
        return "anon_other"
    return "other:" + p
out = {}
libs = {}
for m in maps:
    k = kind(m)
    out[k] = out.get(k, 0) + m["rss"]
    if k.startswith("lib_"):
        libs[m["path"]] = libs.get(m["path"], 0) + m["rss"]
d = json.load(open(show))
print(json.dumps({
    "VmRSS_kib": st.get("VmRSS"), "VmHWM_kib": st.get("VmHWM"), "RssAnon_kib": st.get("RssAnon"),
    "RssFile_kib": st.get("RssFile"), "RssShmem_kib": st.get("RssShmem"), "threads": threads,
    "by_kind_kib": dict(sorted(out.items(), key=lambda x: -x[1])),
    "dpdk_libs_loaded": sum(1 for p in libs if re.search(r"/(librte_|dpdk/pmds)", p)),
    "libs_loaded": len(libs),
    "top_libs_kib": dict(sorted(libs.items(), key=lambda x: -x[1])[:15]),
    "top_anon_kib": [(m["rss"], m["perms"], m["size"]) for m in sorted(
        (m for m in maps if kind(m) == "anon_other"), key=lambda m: -m["rss"])[:8]],
    "memory": d.get("memory"),
}, indent=1))
PY
cat "$T_TMP/mem.json"
[[ -z "$OUT" ]] || cp "$T_TMP/mem.json" "$OUT"
