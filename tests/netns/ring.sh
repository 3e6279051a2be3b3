# ring.sh - a signalled overlay of many gateways in the netns testbed, for
# tests/netns/test_ring.sh and bench/ring_up.sh. Sourced after lib.sh and ipop.sh.
#
#   ring_testbed N_SITES DOMAIN  sites 1..N_SITES around one router, Prosody (plain
#                                SASL) with the shared roster group "testnet" of
#                                gw-1..gw-N_SITES, evil, evil2 and evil3; accounts; keys
#   ring_conf SITE [GROUPS]      SITE's config: signalling, plus GROUPS verbatim
#                                (a topology { } group)
#   start_all SITE... / stop_all SITE...   random order; sets LAST_START_MS
#   snap DIR SITE...             show --json and topology --json of each gateway
#   ring_order SITE...           the sites by node ID (last snapshot)
#   ring_unlinked_pair SITE...   two sites without a link (last snapshot)
#   ring_ok PARAMS SITE...       a fresh snapshot (T_TMP/snap) passes
#                                ring_check.py check --part ring (PARAMS:
#                                "L:s:k:maxin,..."); report in T_TMP/ring.last,
#                                JSON in T_TMP/ring.json; RING_GHOST=L,...
#                                names gateways gone while XMPP lists them
#   cpu_rss SECONDS JSON SITE... the gateways' CPU together over SECONDS (utime +
#                                stime of every thread, /proc/PID/stat) and each
#                                one's RSS; prints a summary, writes JSON
#
# Light mode (configs/endpoint.conf.example): no hugepages, -m 128, 4095 mbufs,
# one worker, the compact AES-GCM key path. The tunnels carry only keepalives
# (every 2 s per tunnel), so the workers may sleep long. A worker sleeps at most
# idle_sleep_recent_us within 1 s of its last packet, and with 5-15 tunnels a
# keepalive arrives every few hundred ms: the worker is always "recent", so that
# bound, not idle_sleep_max_us, sets its idle cost. Measured on the 2-vCPU VM,
# 8 gateways together: ipopd's defaults (1000 us / 100 us) 79 % of one CPU,
# 10000 / 1000 16-19 %, 10000 / 10000 8.5 % (then ~100 worker wake-ups a second
# and the control thread's ~160 share it). So 10 ms both: a ping through a
# gateway may wait up to 10 ms for the worker, which no check here minds.
# Light mode now turns dpdk.idle_wait on (workers block in epoll on their
# af_packet sockets and TAPs), so these bounds apply only with
# GW_IDLE_WAIT_DEFAULT=false; 8 gateways idle at 6.8 % of one CPU together with
# idle wait and the control thread's quiet tick (docs/benchmarks.md §11).
# shellcheck shell=bash disable=SC2034

RING_CHECK="$T_LIBDIR/ring_check.py"
# The checks poll every gateway many times: /usr/bin/python3 when there is one.
# (On the development VM a pyenv shim first in PATH costs ~0.5 s per start,
# which made one poll of 8 gateways take over a second.)
if [[ -z "${RING_PY:-}" ]]; then
	RING_PY=python3
	[[ -x /usr/bin/python3 ]] && RING_PY=/usr/bin/python3
fi
RING_CTL=$(ipop_bin ipopctl)
GW_EAL_MB=${GW_EAL_MB:-128}
GW_MBUFS=${GW_MBUFS:-4095}
GW_IDLE_MAX_US=${GW_IDLE_MAX_US-10000}
GW_IDLE_RECENT_US=${GW_IDLE_RECENT_US-10000}
GW_XMPP_TLS=${GW_XMPP_TLS:-false}     # SASL PLAIN in clear: logins in ~20 ms, less CPU
GW_OFFLINE_GRACE=${GW_OFFLINE_GRACE:-3}
GW_LINK_TIMEOUT=${GW_LINK_TIMEOUT:-8}
RING_DOMAIN=ipop.test

ring_testbed() {
	local n=$1 i gws
	RING_DOMAIN=$2
	topo_sites "$n" || return 1
	mapfile -t gws < <(seq -f 'gw-%g' 1 "$n")
	prosody_groups < <(roster_group testnet "$RING_DOMAIN" "${gws[@]}" evil evil2 evil3) || return 1
	t_require "prosody starts (mod_groups)" prosody_start srv "$T_SRV_IP" 5222 "$RING_DOMAIN" plain
	for ((i = 1; i <= n; i++)); do
		t_require "account gw-$i" prosody_adduser "gw-$i" "$RING_DOMAIN" "pw-$i"
		t_require "gateway $i set up" gw_setup "$i"
		GW_AEAD_PATH[$i]=compact
	done
	t_require "account evil" prosody_adduser evil "$RING_DOMAIN" pw-evil
	t_require "account evil2" prosody_adduser evil2 "$RING_DOMAIN" pw-evil2
	t_require "account evil3" prosody_adduser evil3 "$RING_DOMAIN" pw-evil3
}

# ring_conf SITE [TOPOLOGY_GROUP] : signalling, and a topology { } group if given.
ring_conf() {
	gw_config "$1" "$(gw_signal_block "$1" "pw-$1")"$'\n'"${2:-}"
}

csv() { local IFS=,; echo "$*"; }

# snap DIR SITE... : show --json and topology --json of each gateway, all
# gateways at once (bounded: 5 s per call), so the views are close in time.
snap() {
	local d=$1 l p rc=0 pids=()
	shift
	rm -rf "$d"
	mkdir -p "$d"
	for l in "$@"; do
		{
			timeout 5 "$RING_CTL" -s "${GW_SOCK[$l]}" show --json >"$d/$l.show.json" 2>"$d/$l.err" &&
				timeout 5 "$RING_CTL" -s "${GW_SOCK[$l]}" topology --json >"$d/$l.topo.json" 2>>"$d/$l.err" ||
				{ echo "snap of gw-$l failed (exit $?) at $(_t_now_ms): $(cat "$d/$l.err")" >&2; exit 1; }
		} &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

# ring_ok PARAMS SITE... : a fresh snapshot (T_TMP/snap) passes ring_check.py check
# (PARAMS: "L:s:k:maxin,..."; "" for the defaults). Its report: T_TMP/ring.last.
ring_ok() {
	local par=$1
	shift
	snap "$T_TMP/snap" "$@" || return 1
	"$RING_PY" "$RING_CHECK" check "$T_TMP/snap" --alive "$(csv "$@")" --params "$par" \
		--json "$T_TMP/ring.json" --part ring ${RING_CAP_NOTE:+--cap-note} \
		${RING_GHOST:+--ghost "$RING_GHOST"} >"$T_TMP/ring.last" 2>&1
}

# ring_order SITE... : the sites sorted by node ID (from the snapshot T_TMP/snap).
ring_order() {
	"$RING_PY" - "$T_TMP/snap" "$@" <<'PY'
import json, sys
d = sys.argv[1]
ids = {l: int(json.load(open("%s/%s.topo.json" % (d, l)))["node_id"], 16) for l in sys.argv[2:]}
print(" ".join(sorted(ids, key=ids.get)))
PY
}

# ring_unlinked_pair SITE... : "A B", two sites whose gateways hold no connected
# link to each other in the snapshot T_TMP/snap, or "" if every pair is linked.
ring_unlinked_pair() {
	"$RING_PY" - "$T_TMP/snap" "$@" <<'PY'
import json, sys
d, sites = sys.argv[1], sys.argv[2:]
linked = set()
for a in sites:
    for x in json.load(open("%s/%s.show.json" % (d, a))).get("links", []):
        if x["state"] == "connected":
            linked.add((a, x["member"].split("@")[0][3:]))
print(next(("%s %s" % (a, b) for i, a in enumerate(sites) for b in sites[i + 1:]
            if (a, b) not in linked and (b, a) not in linked), ""))
PY
}

# start_all SITE... : random order, a short random pause between starts.
start_all() {
	local order l
	order=$(printf '%s\n' "$@" | shuf | tr '\n' ' ')
	echo "start order: $order"
	for l in $order; do
		t_require "ipopd $l starts" gw_start "$l"
		sleep "0.$((RANDOM % 4))"
	done
	LAST_START_MS=$(_t_now_ms)
}
stop_all() {
	local l
	for l in "$@"; do gw_stop "$l"; done
}

# cpu_rss SECONDS JSON SITE... : CPU of the gateways together over SECONDS (utime
# + stime of all threads from /proc/PID/stat), by thread name too (ipopd: the
# control thread; rte-worker-N: lcores; gmain, eal-intr-thread), and each one's
# RSS (VmRSS).
cpu_rss() {
	local secs=$1 json=$2 l pids=()
	shift 2
	for l in "$@"; do pids+=("${GW_PID[$l]}"); done
	"$RING_PY" - "$secs" "$json" "$@" -- "${pids[@]}" <<'PY'
import json, os, sys, time
secs, out = float(sys.argv[1]), sys.argv[2]
cut = sys.argv.index("--")
labels, pids = sys.argv[3:cut], sys.argv[cut + 1:]
hz = os.sysconf("SC_CLK_TCK")
def ticks(p):
    f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
def by_thread(p):
    out = {}
    for t in os.listdir("/proc/%s/task" % p):
        try:
            name = open("/proc/%s/task/%s/comm" % (p, t)).read().strip()
            f = open("/proc/%s/task/%s/stat" % (p, t)).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "rte-worker" if name.startswith("rte-worker") else name
        out[name] = out.get(name, 0) + int(f[11]) + int(f[12])
    return out
def rss(p):
    for line in open("/proc/%s/status" % p):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
t0 = {p: ticks(p) for p in pids}; b0 = {p: by_thread(p) for p in pids}; w0 = time.time()
time.sleep(secs)
t1 = {p: ticks(p) for p in pids}; b1 = {p: by_thread(p) for p in pids}; w = time.time() - w0
thr = {}
for p in pids:
    for name, v in b1[p].items():
        thr[name] = thr.get(name, 0) + 100.0 * (v - b0[p].get(name, 0)) / hz / w
per = {l: 100.0 * (t1[p] - t0[p]) / hz / w for l, p in zip(labels, pids)}
mem = {l: rss(p) for l, p in zip(labels, pids)}
tot = sum(per.values())
print("idle CPU of %d gateways over %.1f s: %.1f%% of one CPU together (%.2f%% each on average)"
      % (len(pids), w, tot, tot / len(pids)))
print("per gateway (CPU %/RSS MiB): " + " ".join("gw-%s %.1f/%.0f" % (l, per[l], mem[l]) for l in labels))
print("by thread, all gateways (CPU %): " + " ".join("%s %.1f" % (k, v) for k, v in sorted(thr.items())))
print("RSS: total %.0f MiB, mean %.1f MiB, max %.1f MiB" % (sum(mem.values()), sum(mem.values()) / len(mem),
                                                           max(mem.values())))
if out:
    json.dump({"seconds": round(w, 2), "cpu_pct_total": round(tot, 2),
               "cpu_pct_per_gateway": {l: round(v, 2) for l, v in per.items()},
               "cpu_pct_by_thread": {k: round(v, 2) for k, v in sorted(thr.items())},
               "rss_mib": {l: round(v, 1) for l, v in mem.items()},
               "rss_mib_total": round(sum(mem.values()), 1)}, open(out, "w"), indent=1)
PY
}
