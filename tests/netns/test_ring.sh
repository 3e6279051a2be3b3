#!/usr/bin/env bash
# test_ring.sh - the live ring (issue 11): RING_N signalled gateways (default 8)
# with the default topology policy (symphony, s = 2, k automatic) around one
# router, Prosody in the srv namespace, light-mode gateways.
# Proves, against a ring computed here from every gateway's node ID
# (tests/netns/ring_check.py):
#  1. started in random order, every gateway's successors are exactly the s
#     next node IDs clockwise, all up; at most k long links; incoming long links
#     within the cap; the connected links are exactly the policy's lists
#     (link counts reported; the gateways' idle CPU and RSS measured);
#  2. both ends agree on every link: the wanted side's type is the other
#     side's remote_type;
#  3. a stopped gateway is repaired around (its predecessor's successors move
#     on, nobody keeps a link to it) and rejoins at its place;
#  6. a joiner closes no link it does not replace (successor links of
#     gateways whose successors did not change never reconnect);
#  4. with s = 1, a gateway cut off on the underlay (tunnel port only), and
#     then one killed (SIGKILL), while XMPP still lists them: the predecessor
#     holds it off the ring and links around it; the ring heals by itself when
#     the cut is lifted and when the killed gateway returns;
#  5. mixed s and k converge, each gateway with its own s and k;
#  7. a long request to a gateway at its incoming cap is refused with a reason
#     both sides show; a flood of link requests is rate limited while the
#     gateway keeps answering and keeps its links.
#  8. Bounded Flood: one ARP request reaches every other gateway exactly once,
#     N - 1 copies in all, and every LAN host pings every other, across
#     gateways that are not linked too.
#  9. transit: on a sparse ring (s = 1, k = 1) every host pings every other;
#     between two gateways without a tunnel, pings and a TCP stream cross other
#     gateways as transit frames (not floods), with no transit drops anywhere;
#     the stream makes the sender want an on-demand link, which carries the
#     next pings directly and goes after its idle time.
# Knobs: RING_N (gateways, default 8), RING_STAGES (default "1 8 2 3 6 4 5 7 9").
# ipop-timeout: 600
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"
source "$(dirname "$0")/ring.sh"

DOMAIN=ipop.test
N=${RING_N:-8}
NEW=$((N + 1))                 # the joiner of stage 6
mapfile -t SITES < <(seq 1 "$N")
CHECK=$RING_CHECK
HOSTILE="$T_LIBDIR/hostile_xmpp.py"
CTL=$(ipop_bin ipopctl)
stage() { [[ " ${RING_STAGES:-1 8 2 3 6 4 5 7 9} " == *" $1 "* ]]; }

# Light-mode gateways, plain SASL, offline_grace 3 s, link_timeout 8 s, and
# the workers' idle sleep raised to 10 ms (also within a second of a packet):
# ring.sh says why. GW_IDLE_MAX_US= GW_IDLE_RECENT_US= (empty) runs with
# ipopd's defaults.
ring_testbed "$NEW" "$DOMAIN"

# ring_agreed PARAMS SITE... : ring_ok, and on the same snapshot both ends of
# every link agree on its type. (Agreement is eventual: a snapshot taken while
# a wish update or a renegotiation is in flight may catch the ends apart.)
ring_agreed() {
	ring_ok "$@" || return 1
	local par=$1
	shift
	python3 "$CHECK" check "$T_TMP/snap" --alive "$(csv "$@")" --part consistency >>"$T_TMP/ring.last" 2>&1
}

# converge NAME TIMEOUT PARAMS SITE... : t_wait for ring_agreed, then print the
# report (the last failing one if it never converged), then show on the same
# snapshot that both ends of every link agree (stage 2's property). Sets CONV_MS.
converge() {
	local name=$1 to=$2 par=$3 t0
	shift 3
	t0=$(_t_now_ms)
	t_wait "$name" "$to" ring_agreed "$par" "$@"
	CONV_MS=$(($(_t_now_ms) - t0))
	sed 's/^/    /' "$T_TMP/ring.last"
	t_check "... and both ends of every link agree on its type" \
		"$RING_PY" "$CHECK" check "$T_TMP/snap" --alive "$(csv "$@")" --part consistency
}

# topo_get SITE PYEXPR : over `ipopctl topology --json` as t.
topo_get() {
	timeout 5 "$CTL" -s "${GW_SOCK[$1]}" topology --json | "$RING_PY" -c '
import json, sys
t = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$2"
}
succ_of() { topo_get "$1" "','.join(e['member'].split('@')[0][3:] for e in t['successors'])"; }
succ_up() { topo_get "$1" "all(e['up'] for e in t['successors'])"; }
link_of() { gw_get "$1" "next((x['$3'] for x in d['links'] if x['member'] == 'gw-$2@$DOMAIN'), 'none')"; }

# next_alive SITE K SITE... : the K sites after SITE clockwise among the list.
next_of() {
	local x=$1 k=$2 order i j out=()
	shift 2
	read -r -a order <<<"$(ring_order "$@")"
	for i in "${!order[@]}"; do [[ "${order[$i]}" == "$x" ]] && break; done
	for ((j = 1; j <= k; j++)); do out+=("${order[$(((i + j) % ${#order[@]}))]}"); done
	csv "${out[@]}"
}
pred_of() {
	local x=$1 order i
	shift
	read -r -a order <<<"$(ring_order "$@")"
	for i in "${!order[@]}"; do [[ "${order[$i]}" == "$x" ]] && break; done
	echo "${order[$(((i + ${#order[@]} - 1) % ${#order[@]}))]}"
}
without() {
	local x=$1 l out=()
	shift
	for l in "$@"; do [[ "$l" == "$x" ]] || out+=("$l"); done
	echo "${out[@]}"
}

for l in "${SITES[@]}"; do ring_conf "$l"; done
ring_conf "$NEW"

# ---- 1. convergence from a random start order
start_all "${SITES[@]}"
converge "the ring of $N converges: every gateway's successors are the next 2 IDs, up; \
long <= k; incoming long <= cap; connected links = the policy's lists" 90 "" "${SITES[@]}"
echo "converged $((CONV_MS)) ms after the last gateway started"
python3 - "$T_TMP/ring.json" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
c = [r["nodes"][l]["links_connected"] for l in sorted(r["nodes"], key=int)]
print("links per gateway: %s (mean %.1f; a full mesh would be %d each)" % (c, sum(c) / len(c), n - 1))
PY
t_check_not "the check can fail: a ring that leaves gw-1 out is not this one" \
	"$RING_PY" "$CHECK" check "$T_TMP/snap" --alive "$(csv $(without 1 "${SITES[@]}"))"
t_check_not "the check can fail: gw-1 claimed to have s = 3" \
	"$RING_PY" "$CHECK" check "$T_TMP/snap" --alive "$(csv "${SITES[@]}")" --params "1:3"
sleep 2
cpu_rss 10 "" "${SITES[@]}"

# ---- 8. Bounded Flood over the ring (not a full mesh): one ARP request from
# host-1 reaches every other gateway exactly once (its flood copies counted at
# each gateway), and every LAN host reaches every other, through gateways that
# are not linked too (unicast for a MAC behind such a gateway is flooded).
pings_from() {
	local a=$1 b
	for b in "${SITES[@]}"; do
		[[ "$a" == "$b" ]] && continue
		nsx "host-$a" ping -c1 -W2 "${T_HOST_IP[$b]}" >/dev/null || {
			echo "host-$a cannot ping host-$b"
			return 1
		}
	done
}
all_ping() {
	local a
	for a in "${SITES[@]}"; do pings_from "$a" || return 1; done
}

if stage 8; then
	fl_get() { gw_get "$1" "d['dataplane']['$2']"; }
	fl_drops() { gw_get "$1" "sum(v for k, v in d['dataplane']['drops'].items() if k.startswith('flood_'))"; }
	declare -A RX0=() TX0=() DR0=()
	for l in "${SITES[@]}"; do
		RX0[$l]=$(fl_get "$l" flood_rx)
		TX0[$l]=$(fl_get "$l" flood_tx)
		DR0[$l]=$(fl_drops "$l")
	done
	fl0=$(fl_get 1 flooded)
	# A target nobody has: the request is the only frame, nobody answers.
	nsx host-1 arping -c 1 -w 1 -I eth0 10.200.0.250 >/dev/null 2>&1 || true
	sleep 1
	t_eq "gw-1 flooded the one broadcast from its LAN" $((fl0 + 1)) "$(fl_get 1 flooded)"
	copies=0
	for l in "${SITES[@]}"; do
		copies=$((copies + $(fl_get "$l" flood_tx) - TX0[$l]))
		t_eq "gw-$l: flood drops unchanged" "${DR0[$l]}" "$(fl_drops "$l")"
		[[ "$l" == 1 ]] && continue
		t_eq "gw-$l received the ARP request exactly once (E1)" $((RX0[$l] + 1)) "$(fl_get "$l" flood_rx)"
	done
	t_eq "$((N - 1)) copies in all, one per gateway" $((N - 1)) "$copies"
	t_eq "gw-1 got none back" "${RX0[1]}" "$(fl_get 1 flood_rx)"
	t_wait "every LAN host pings every other across the ring" 60 all_ping

fi

# ---- 2. consistency across gateways (checked within ring_ok; here on its own)
if stage 2; then
	t_check "both ends agree: for every outgoing link of type T, the member's link is connected with remote_type T" \
		"$RING_PY" "$CHECK" check "$T_TMP/snap" --alive "$(csv "${SITES[@]}")" --part consistency
fi

# ---- 3. repair: a gateway stops and comes back
if stage 3; then
	X=${SITES[$((RANDOM % N))]}
	read -r -a ALIVE <<<"$(without "$X" "${SITES[@]}")"
	P=$(pred_of "$X" "${SITES[@]}")
	want=$(next_of "$P" 2 "${ALIVE[@]}")
	echo "stopping gw-$X; its predecessor gw-$P should move to $want"
	t_require "a snapshot of the ring before the leave" wait_until 10 snap "$T_TMP/before-leave" "${SITES[@]}"
	gw_stop "$X"
	t0=$(_t_now_ms)
	pred_moved() { [[ "$(succ_of "$P")" == "$want" && "$(succ_up "$P")" == True ]]; }
	t_wait "gw-$P's successors become the next two alive ($want), connected" 30 pred_moved
	echo "gw-$P repaired $(($(_t_now_ms) - t0)) ms after gw-$X stopped"
	nobody_links() {
		local l
		for l in "${ALIVE[@]}"; do
			[[ "$(link_of "$l" "$X" state)" != connected ]] || return 1
		done
	}
	t_wait "nobody keeps a connected link to gw-$X" 20 nobody_links
	converge "the ring of $((N - 1)) converges without gw-$X" 60 "" "${ALIVE[@]}"
	echo "leave: ring converged $CONV_MS ms after the predecessor moved; link messages: \
$("$RING_PY" "$CHECK" msgs "$T_TMP/before-leave" "$T_TMP/snap" --alive "$(csv "${ALIVE[@]}")")"
	t_require "gw-$X restarts" gw_start "$X"
	converge "gw-$X rejoins: the ring of $N converges again" 60 "" "${SITES[@]}"
	t_eq "gw-$X's successors are the two after it" "$(next_of "$X" 2 "${SITES[@]}")" "$(succ_of "$X")"
	t_eq "gw-$P's successors include gw-$X again" "$(next_of "$P" 2 "${SITES[@]}")" "$(succ_of "$P")"
fi

# ---- 6. join: the newcomer replaces links, it does not break others
if stage 6; then
	converge "the ring of $N is converged before the join" 30 "" "${SITES[@]}"
	cp -r "$T_TMP/snap" "$T_TMP/before-join"
	t0=$(_t_now_ms)
	t_require "gw-$NEW (the newcomer) starts" gw_start "$NEW"
	converge "the ring of $NEW converges with the newcomer" 60 "" "${SITES[@]}" "$NEW"
	echo "join: converged $CONV_MS ms after gw-$NEW started"
	# Time between the two snapshots, not until now: converge's consistency
	# check and report come after its last snapshot, and on a loaded machine
	# they take seconds, which the links' in_state_s did not live through.
	# The first gateway's file is the earliest of the after-snapshot.
	el=$(($(stat -c %Y "$T_TMP/snap/1.show.json") - t0 / 1000 - 1))   # whole seconds, rounded down
	rm -rf "$T_TMP/after-join"
	cp -r "$T_TMP/snap" "$T_TMP/after-join"
	t_check "the join closed no link it did not replace; successor links of gateways whose successors stayed never reconnected" \
		"$RING_PY" "$CHECK" join "$T_TMP/before-join" "$T_TMP/after-join" --alive "$(csv "${SITES[@]}")" \
		--new "$NEW" --elapsed "$el"
	"$RING_PY" "$CHECK" join "$T_TMP/before-join" "$T_TMP/after-join" --alive "$(csv "${SITES[@]}")" \
		--new "$NEW" --elapsed "$el" | sed 's/^/    /' || true
	gw_stop "$NEW"
fi

# ---- 4. s = 1: a gateway cut off on the underlay, then one killed. XMPP still
# lists both; their predecessors hold them off the ring and link around them; the
# ring heals when the cut is lifted and when the killed one returns.
# held_of SITE : the members SITE holds off the ring, comma-separated numbers.
held_of() { topo_get "$1" "','.join(e['member'].split('@')[0][3:] for e in t['held_off_ring'])"; }
online_for() {
	gw_get "$1" "next(m['online'] for m in d['signalling']['members'] if m['jid'] == 'gw-$2@$DOMAIN')"
}
if stage 4; then
	stop_all "${SITES[@]}"
	for l in "${SITES[@]}"; do ring_conf "$l" 'topology: { successors = 1; };'; done
	S1=$(for l in "${SITES[@]}"; do printf '%s:1,' "$l"; done)
	start_all "${SITES[@]}"
	converge "s = 1: the ring of $N converges (one successor each)" 90 "$S1" "${SITES[@]}"
	X=${SITES[$((RANDOM % N))]}
	P=$(pred_of "$X" "${SITES[@]}")
	read -r -a ALIVE <<<"$(without "$X" "${SITES[@]}")"
	want=$(next_of "$P" 1 "${ALIVE[@]}")
	xip=${T_PUBLIC_IP[$X]}
	echo "cutting gw-$X ($xip) off for tunnel traffic (UDP $GW_PORT); its predecessor gw-$P should move to gw-$want"
	declare -A PID0=()
	for l in "${SITES[@]}"; do PID0[$l]=${GW_PID[$l]}; done
	nsx router nft -f - <<-NFT
		table ip ringcut {
			chain cut {
				type filter hook forward priority 0; policy accept;
				ip saddr $xip udp sport $GW_PORT drop
				ip daddr $xip udp dport $GW_PORT drop
			}
		}
	NFT
	t0=$(_t_now_ms)
	p_down() { [[ "$(link_of "$P" "$X" state)" != connected ]]; }
	t_wait "gw-$P's successor link to gw-$X goes down (session dead, no handshake gets through)" 30 p_down
	p_around() { [[ "$(succ_of "$P")" == "$want" && "$(succ_up "$P")" == True ]]; }
	t_wait "gw-$P links around gw-$X: its successor is gw-$want, connected" 60 p_around
	echo "gw-$P linked around the cut gw-$X $(($(_t_now_ms) - t0)) ms after the cut"
	t_eq "gw-$X is still online for gw-$P (XMPP works)" True "$(online_for "$P" "$X")"
	t_check "gw-$P holds gw-$X off the ring" bash -c "[[ ,$(held_of "$P"), == *,$X,* ]]"
	echo "gw-$P's link to gw-$X: $(link_of "$P" "$X" state), why: $(link_of "$P" "$X" last_error)"
	RING_GHOST=$X converge "the ring of the $((N - 1)) reachable gateways converges around gw-$X" 60 "$S1" "${ALIVE[@]}"
	nsx router nft delete table ip ringcut
	t0=$(_t_now_ms)
	converge "the cut lifted, the ring of $N heals by itself" 120 "$S1" "${SITES[@]}"
	echo "healed $CONV_MS ms after the cut was lifted (the hold off the ring lasts 30 s)"
	same=1
	for l in "${SITES[@]}"; do [[ "${GW_PID[$l]}" == "${PID0[$l]}" ]] && bg_alive "${GW_PID[$l]}" || same=0; done
	t_eq "no gateway was restarted" 1 "$same"

	# A gateway killed (SIGKILL): its XMPP session dies with its exception TAP,
	# so the server keeps listing it; the ring must not wait for the server.
	X=${SITES[$((RANDOM % N))]}
	P=$(pred_of "$X" "${SITES[@]}")
	read -r -a ALIVE <<<"$(without "$X" "${SITES[@]}")"
	want=$(next_of "$P" 1 "${ALIVE[@]}")
	echo "killing gw-$X; its predecessor gw-$P should move to gw-$want"
	gw_kill "$X"
	t0=$(_t_now_ms)
	t_wait "gw-$P links around the killed gw-$X: its successor is gw-$want, connected" 60 p_around
	echo "gw-$P linked around the killed gw-$X $(($(_t_now_ms) - t0)) ms after the kill"
	t_eq "gw-$X is still online for gw-$P (the server has not noticed)" True "$(online_for "$P" "$X")"
	RING_GHOST=$X converge "the ring of the $((N - 1)) alive gateways converges around the killed gw-$X" 60 "$S1" "${ALIVE[@]}"
	t_check "host-$P pings host-$want across the repaired ring" nsx "host-$P" ping -c3 -W2 "${T_HOST_IP[$want]}"
	t_require "gw-$X restarts" gw_start "$X"
	converge "gw-$X back: the ring of $N converges with it at its place" 90 "$S1" "${SITES[@]}"
	t_eq "gw-$P's successor is gw-$X again" "$X" "$(succ_of "$P")"
	t_eq "gw-$P holds nobody off the ring" "" "$(held_of "$P")"
fi

# ---- 5. mixed s and k (and gw-1 with max_incoming = 1 for stage 7)
if stage 5 || stage 7; then
	stop_all "${SITES[@]}"
	S_OF=(1 3 2 1 3 2 3 1)
	K_OF=(1 4 0 4 1 0 4 1)
	MIX=""
	for l in "${SITES[@]}"; do
		s=${S_OF[$(((l - 1) % 8))]} k=${K_OF[$(((l - 1) % 8))]} mi=0
		if ((l == 1)); then mi=1 k=1; fi
		ring_conf "$l" "topology: { successors = $s; long_links = $k; max_incoming = $mi; };"
		MIX+="$l:$s:$k:$mi,"
	done
	echo "parameters (site:s:k:max_incoming, 0 = automatic): $MIX"
	start_all "${SITES[@]}"
	converge "mixed s and k: the ring converges, each gateway with its own s and k" 90 "$MIX" "${SITES[@]}"
fi

# ---- 7. bad input: a long request over the cap; a flood of requests
if stage 7; then
	V=1
	lc() { gw_get "$V" "d['link_counters']['$1']"; }
	ref0=$(lc refusals_tx)
	echo "gw-$V (max_incoming = 1) refused $ref0 long requests of the ring's gateways while it converged"
	real=$(python3 - "$T_TMP/snap" "${SITES[@]}" <<'PY'
import json, sys
d = sys.argv[1]
for l in sys.argv[2:]:
    show = json.load(open("%s/%s.show.json" % (d, l)))
    for x in show.get("links", []):
        if not x["member"].startswith("gw-1@"):
            continue
        if "refused by the member" in (x.get("last_error") or ""):
            print("gw-%s: %s" % (l, x["last_error"]))
        elif show.get("link_counters", {}).get("refusals_rx", 0) > 0 and x.get("remote_type") not in (None, "none"):
            # Refused, and since linked again because gw-1 itself wants the link:
            # the closed record (and its reason) made way for it.
            print("gw-%s: refused (refusals_rx %d), since linked for gw-1's own %s wish" %
                  (l, show["link_counters"]["refusals_rx"], x["remote_type"]))
    # The closed record may also be gone by now (a later link to gw-1 came
    # and went): the requester's own count of refusals received remains.
    if show.get("link_counters", {}).get("refusals_rx", 0) > 0:
        print("gw-%s: counted %d refusal(s) received" % (l, show["link_counters"]["refusals_rx"]))
PY
)
	if ((ref0 > 0)); then
		echo "requesters' links to gw-$V: $real"
		t_check "a gateway whose long request gw-$V refused shows the reason on its (closed) link, or counted the refusal (its record gone since)" \
			grep -qE "refused by the member: incoming long links at their cap of 1|since linked for gw-1's own|refusal\(s\) received" <<<"$real"
	fi
	# evil2 takes gw-1's one incoming long slot (a key it cannot handshake with:
	# the link stays handshaking for link_timeout), unless a gateway has it.
	nsx srv timeout 40 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil2 pw-evil2 testnet \
		--targets "gw-$V" --fake-key --request-type long --stay 12 >"$T_TMP/evil2.out" &
	e2=$!
	sleep 2
	rc=0
	nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet \
		--targets "gw-$V" --fake-key --request-type long --stay 3 >"$T_TMP/evil.out" || rc=$?
	wait "$e2" || true
	t_eq "evil sent a long request to gw-$V" 0 "$rc"
	sed 's/^/    evil: /' "$T_TMP/evil.out"
	sed 's/^/    evil2: /' "$T_TMP/evil2.out"
	t_check "evil got a refuse naming the cap" grep -q "got refuse gw-$V@$DOMAIN reason=incoming long links at their cap of 1" "$T_TMP/evil.out"
	t_check "gw-$V counted the refusal (refusals_tx)" test "$(lc refusals_tx)" -gt "$ref0"
	err=$(gw_get "$V" "next((x['last_error'] for x in d['links'] if x['member'] == 'evil@$DOMAIN'), None)")
	echo "gw-$V's link to evil: $err"
	t_eq "gw-$V's link to evil shows the reason in last_error" "incoming long links at their cap of 1" "$err"

	t_require "a snapshot of the ring before the flood" wait_until 10 snap "$T_TMP/before-flood" "${SITES[@]}"
	rl0=$(lc rate_limited)
	rq0=$(lc requests_rx)
	rc=0
	# A member of its own: evil announced another key above, and a key change of
	# a known member is refused before the rate limit sees it (trust).
	nsx srv timeout 40 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil3 pw-evil3 testnet \
		--targets "gw-$V" --flood 100 --stay 3 >"$T_TMP/flood.out" || rc=$?
	t_eq "evil3 sent 100 link requests to gw-$V" "0 100" "$rc $(grep -c '^sent flood' "$T_TMP/flood.out" || true)"
	rl_done() { (($(lc rate_limited) + $(lc requests_rx) - rl0 - rq0 >= 100)); }
	t_wait "gw-$V saw all 100" 15 rl_done
	rl=$(($(lc rate_limited) - rl0))
	rq=$(($(lc requests_rx) - rq0))
	echo "gw-$V: $rl of 100 requests rate limited, $rq handled"
	t_check "most of the flood is ignored (rate_limited >= 90)" test "$rl" -ge 90
	t_check "at most 8 of them handled in the 10 s window (plus one window turn)" test "$rq" -le 16
	t_check "gw-$V still answers ipopctl ping" bash -c "timeout 5 '$CTL' -s '${GW_SOCK[$V]}' ping | grep -q pong"
	t_check "gw-$V's gateway links stayed connected through the flood (connects unchanged)" \
		python3 - "$T_TMP/before-flood" "$V" "$(timeout 5 "$CTL" -s "${GW_SOCK[$V]}" show --json)" <<'PY'
import json, sys
before = {x["member"]: x for x in json.load(open("%s/%s.show.json" % (sys.argv[1], sys.argv[2])))["links"]}
after = {x["member"]: x for x in json.loads(sys.argv[3])["links"]}
bad = [m for m, x in before.items() if m.startswith("gw-") and x["state"] == "connected" and
       (after.get(m, {}).get("state") != "connected" or after[m]["connects"] != x["connects"])]
print(bad)
sys.exit(1 if bad else 0)
PY
	converge "the mixed ring is still converged after the hostile member" 30 "$MIX" "${SITES[@]}"
fi


# ---- 9. transit on a sparse ring (s = 1, k = 1: far from a full mesh)
if stage 9; then
	stop_all "${SITES[@]}"
	SPARSE=""
	for l in "${SITES[@]}"; do
		# On-demand links at 512 KiB in 5 s, let go after 20 s idle (stage 9's
		# end; the checks between the stream and the pings over the link take
		# seconds on a loaded machine, which a shorter idle time did not outlast).
		ring_conf "$l" "topology: { successors = 1; long_links = 1; ondemand_kib = 512;
			ondemand_window = 5; ondemand_idle = 20; };"
		SPARSE+="$l:1:1:0,"
	done
	start_all "${SITES[@]}"
	converge "the sparse ring (s = 1, k = 1) converges" 90 "$SPARSE" "${SITES[@]}"
	t_wait "every LAN host pings every other across the sparse ring" 60 all_ping

	# Transit: two gateways without a tunnel between them (from the last
	# snapshot); their hosts' unicast crosses a third gateway as transit
	# frames, not as floods.
	read -r TA TB < <(ring_unlinked_pair "${SITES[@]}")
	if [[ -z "${TB:-}" ]]; then
		t_check "some two gateways hold no tunnel (s = 1, k = 1 at n = $N)" false
	else
		tr_get() { gw_get "$1" "d['dataplane']['$2']"; }
		# Transit drops for bad input must not happen here at all; a route that
		# points back where a frame came from (transit_loop) or none
		# (transit_no_route) can, for a frame or two, while routes learnt from
		# different floods and transit paths meet (docs/architecture.md).
		tr_drops() { gw_get "$1" "sum(v for k, v in d['dataplane']['drops'].items() if k.startswith('transit_') and k not in ('transit_loop', 'transit_no_route'))"; }
		tr_route_drops() { gw_get "$1" "d['dataplane']['drops']['transit_loop'] + d['dataplane']['drops']['transit_no_route']"; }
		declare -A TR0=()
		for l in "${SITES[@]}"; do TR0[$l]=$(tr_route_drops "$l"); done
		declare -A TD0=()
		for l in "${SITES[@]}"; do TD0[$l]=$(tr_drops "$l"); done
		# Routes are learnt from the ARP exchange the pings above made.
		nsx "host-$TA" ping -c1 -W2 "${T_HOST_IP[$TB]}" >/dev/null || true
		rxb=$(tr_get "$TB" transit_rx) rxa=$(tr_get "$TA" transit_rx)
		txa=$(tr_get "$TA" transit_tx) miss=$(tr_get "$TA" transit_route_miss)
		fla=$(tr_get "$TA" flooded)
		t_check "host-$TA pings host-$TB 20 times across gw-$TA and gw-$TB, which hold no tunnel" \
			nsx "host-$TA" ping -c 20 -i 0.05 -W 2 -q "${T_HOST_IP[$TB]}"
		echo "gw-$TA -> gw-$TB: transit_tx +$(($(tr_get "$TA" transit_tx) - txa)), \
	gw-$TB transit_rx +$(($(tr_get "$TB" transit_rx) - rxb)), gw-$TA transit_rx +$(($(tr_get "$TA" transit_rx) - rxa)), \
	route misses +$(($(tr_get "$TA" transit_route_miss) - miss)), floods +$(($(tr_get "$TA" flooded) - fla))"
		t_check "the 20 requests reached gw-$TB as transit frames" \
			test "$(($(tr_get "$TB" transit_rx) - rxb))" -ge 20
		t_check "the 20 replies reached gw-$TA as transit frames" \
			test "$(($(tr_get "$TA" transit_rx) - rxa))" -ge 20
		t_check "gw-$TA flooded none of the unicast (at most an ARP refresh: <= 2)" \
			test "$(($(tr_get "$TA" flooded) - fla))" -le 2
		rd=0
		for l in "${SITES[@]}"; do
			t_eq "gw-$l: no transit drop for bad input" "${TD0[$l]}" "$(tr_drops "$l")"
			rd=$((rd + $(tr_route_drops "$l") - TR0[$l]))
		done
		echo "transit frames dropped for a route loop or no route, all gateways: $rd"
		t_check "at most 2 transit frames lost to a route loop or a missing route (got $rd)" test "$rd" -le 2
		frags() { local l f=0; for l in "${SITES[@]}"; do f=$((f + $(tr_get "$l" frag_out))); done; echo "$f"; }
		fr0=$(frags)
		iperf_server "host-$TB" "${T_HOST_IP[$TB]}"
		mbps=$(iperf_mbps "host-$TA" "${T_HOST_IP[$TB]}" 3 || echo 0)
		# (Its first 512 KiB make gw-$TA hot: the on-demand link below takes the
		# stream over within about a second, so this is not transit's speed.)
		echo "iperf3 TCP host-$TA -> host-$TB, transit then on-demand: $mbps Mbit/s"
		t_check "a TCP stream crosses the transit gateway (got $mbps Mbit/s)" test "$mbps" -gt 10
		bg_stop "$IPERF_PID"
		t_eq "no outer fragments: the MSS clamp leaves room for the fabric header" "$fr0" "$(frags)"

		# On-demand: the stream sent far more than 512 KiB through other
		# gateways within 5 s, so gw-$TA wants a direct link to gw-$TB.
		od_state() { gw_get "$TA" "next((x['state'] + ':' + x['type'] for x in d['links'] if x['member'] == 'gw-$TB@$DOMAIN'), 'none')"; }
		od_up() { [[ "$(od_state)" == connected:ondemand ]]; }
		t_wait "gw-$TA holds an on-demand link to gw-$TB, connected" 30 od_up
		echo "gw-$TA's link to gw-$TB: $(gw_get "$TA" "next((x['why'] for x in d['links'] if x['member'] == 'gw-$TB@$DOMAIN'), None)")"
		t_eq "gw-$TB holds it too, for gw-$TA's wish" ondemand \
			"$(gw_get "$TB" "next((x['remote_type'] for x in d['links'] if x['member'] == 'gw-$TA@$DOMAIN'), 'none')")"
		t_check "gw-$TA lists gw-$TB as hot" test "$(gw_get "$TA" "d['gateways']['hot']")" -ge 1
		# The link is connected once ICE is; its session, then the route, follow
		# within a handshake (longer on a loaded host): wait for a ping that
		# does not pass through as transit, then count ten.
		ping_direct() {
			local r0
			r0=$(tr_get "$TB" transit_rx)
			nsx "host-$TA" ping -c 1 -W 2 -q "${T_HOST_IP[$TB]}" >/dev/null &&
				[[ "$(tr_get "$TB" transit_rx)" == "$r0" ]]
		}
		t_wait "a ping from host-$TA to host-$TB goes over the direct link, not as transit" 15 ping_direct
		rxb=$(tr_get "$TB" transit_rx)
		t_check "host-$TA pings host-$TB over the direct link" \
			nsx "host-$TA" ping -c 10 -i 0.05 -W 2 -q "${T_HOST_IP[$TB]}"
		t_eq "... and no longer as transit (gw-$TB transit_rx unchanged)" "$rxb" "$(tr_get "$TB" transit_rx)"
		od_gone() { [[ "$(od_state)" != connected:ondemand ]]; }
		t0=$(_t_now_ms)
		sleep 10
		t_check "the on-demand link is still up 10 s after the pings (idle time 20 s)" od_up
		t_wait "the on-demand link goes after 20 s without traffic" 60 od_gone
		echo "on-demand link let go $(($(_t_now_ms) - t0)) ms after the last ping"
		t_check "host-$TA still pings host-$TB (transit again)" \
			nsx "host-$TA" ping -c 3 -W 2 -q "${T_HOST_IP[$TB]}"
	fi
fi

for l in "${SITES[@]}" "$NEW"; do
	t_check_not "gw-$l never crashed" grep -qiE "segfault|assert|panic|AddressSanitizer|runtime error" "${GW_LOG[$l]}"
done
t_summary
