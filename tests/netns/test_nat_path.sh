#!/usr/bin/env bash
# test_nat_path.sh - a signalled ICE link survives path changes by itself
# (control/link/ice_link.c ipop_ice_link_path_check, control/link/linkmgr.c
# ice_check_path): two gateways a and b behind port-restricted cone NATs
# (tests/netns/nat.sh), Prosody and coturn (STUN) in the cloud, keepalive 2 s,
# dead_after 6 s. With a ping running from host-a to host-b:
#   1. nat-a restarts (nat_flush: every mapping and filter state forgotten);
#   2. nat-a moves its public ports to a new range (nat_move_ports).
# Each time the tunnel must come back by itself; the script prints the loss
# window (the longest gap between answered pings, 5 a second) and asserts:
# - it is below dead_after (6 s): the link's initiator saw nothing from the peer
#   on the selected pair for 1.5 keepalive intervals (3 s), restarted ICE with
#   restart='ice', both agents found a new pair and the tunnel moved to it,
#   before the session could even be declared dead (the path before this
#   change: dead_after, then a new request with a session reset, then ICE and a
#   handshake, so never below 6 s);
# - neither peer's session died (deaths unchanged): the keys stayed;
# - `show` links[].ice on both sides: restarts grew, last_restart says why, a
#   later selected_at, the new pair in use (srflx/srflx, b's endpoint a's new
#   public port after the port move), and a round-trip time measured on it by
#   each side (the link's initiator by its handshake, the responder from its
#   response to the initiator's confirming keepalive).
# ipop-timeout: 420
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"
source "$(dirname "$0")/nat.sh"
source "$(dirname "$0")/ice_gw.sh"

DOMAIN=ipop.test
GW_XMPP_TLS=false
GW_LINK_TIMEOUT=8
GW_KEEPALIVE=2
GW_DEAD_AFTER=6
BOUND_MS=$((GW_DEAD_AFTER * 1000))

nat_site a 1 prc
nat_site b 2 prc

ice_cloud a b
for l in a b; do
	gw_config "$l" "$(gw_signal_block "$l" "pw-$l")
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:3478\"; };"
done

ice_in_use() { [[ "$(link_get "$1" "$2" "x['ice'].get('in_use')" 2>/dev/null)" == True ]]; }
deaths() { gw_get "$1" "p('gw-$2')['deaths']"; }
# The link never left connected: its connects and failures did not move.
link_runs() { link_get "$1" "$2" "(x['connects'], x['failures'])"; }

t_require "ipopd a starts" gw_start a
t_require "ipopd b starts" gw_start b
t_wait "a's link to b is connected" 30 link_is a b connected
t_wait "b's link to a is connected" 10 link_is b a connected
t_wait "a's ICE pair is the tunnel's 5-tuple" 10 ice_in_use a b
t_wait "b's ICE pair is the tunnel's 5-tuple" 10 ice_in_use b a
t_check "host-a pings host-b" wait_until 10 pings a b
echo "before: a -> b ice: $(link_get a b "x['ice']")"

# max_gap_ms LOG T0_MS [END_MS] : the longest gap (ms) between answered pings
# in LOG (ping -D) from T0_MS on, counting from T0_MS to the first answer and,
# with END_MS, from the last answer to END_MS (a tunnel that never came back).
max_gap_ms() {
	python3 - "$1" "$2" "${3:-0}" <<'EOF'
import re, sys
t0 = int(sys.argv[2]) / 1000.0
end = int(sys.argv[3]) / 1000.0
ts = [float(m.group(1)) for m in (re.match(r'^\[(\d+\.\d+)\].*bytes from', l)
      for l in open(sys.argv[1])) if m]
ts = [t for t in ts if t >= t0]
if not ts:
    print(int((end - t0) * 1000) if end else -1)
    sys.exit(0)
prev, gap = t0, 0.0
for t in ts:
    gap = max(gap, t - prev)
    prev = t
gap = max(gap, end - prev)
print(int(gap * 1000))
EOF
}

# snap SITE MEMBER : one line of SITE's view of its link to gw-MEMBER, fields
# separated by '|': restarts, selected_at, local_type/remote_type, last_restart,
# in_use, rtt_ms, role, "deaths/(connects, failures)" (one API call: the
# machine these tests share is slow).
snap() {
	gw_get "$1" "(lambda x, q: '|'.join(str(v) for v in (x['ice']['restarts'],
	x['ice'].get('selected_at'), '%s/%s' % (x['ice'].get('local_type'), x['ice'].get('remote_type')),
	x['ice']['last_restart'], x['ice'].get('in_use'), x['ice'].get('rtt_ms'), x['role'],
	'%s/(%s, %s)' % (q['deaths'], x['connects'], x['failures']))))(next(x for x in d['links']
	if x['member'] == 'gw-$2@$DOMAIN'), p('gw-$2'))"
}
field() { cut -d'|' -f"$2" <<<"$1"; }

# path_change LABEL CMD... : run CMD (a NAT change at a) while host-a pings
# host-b, wait for the tunnel to come back, report and check it.
path_change() {
	local label=$1
	shift
	local log t0 gap s0a s0b s1a s1b
	log="$(t_mkdir "ping-$label")/ping.log"
	s0a=$(snap a b)
	s0b=$(snap b a)
	bg_start host-a "$log" stdbuf -oL ping -D -n -i 0.2 -W 1 -w 60 "${T_HOST_IP[b]}"
	local ping_pid=$BG_PID
	sleep 1
	t0=$(_t_now_ms)
	t_require "$label at nat-a" "$@"
	# Back when pings have been answered for 2 s in a row after a gap.
	local end=$((t0 + 25000)) back=no last
	while (($(_t_now_ms) < end)); do
		sleep 0.5
		gap=$(max_gap_ms "$log" "$t0")
		last=$(grep -o '^\[[0-9.]*\].*bytes from' "$log" | tail -1 | sed 's/^\[\([0-9]*\)\.\([0-9]\{3\}\).*/\1\2/')
		if [[ -n "$last" ]] && ((gap > 0 && $(_t_now_ms) - last < 1000 && last - t0 > gap + 2000)); then
			back=yes
			break
		fi
	done
	local t_end
	t_end=$(_t_now_ms)
	bg_stop "$ping_pid" 5
	gap=$(max_gap_ms "$log" "$t0" "$t_end")
	t_wait "$label: a's new pair is the tunnel's 5-tuple" 10 ice_in_use a b
	t_wait "$label: b's new pair is the tunnel's 5-tuple" 10 ice_in_use b a
	s1a=$(snap a b)
	s1b=$(snap b a)
	echo "$label: ping loss window $gap ms (bound: dead_after $BOUND_MS ms); tunnel back: $back"
	echo "$label: gw-a before: $s0a"
	echo "$label: gw-a after:  $s1a"
	echo "$label: gw-b before: $s0b"
	echo "$label: gw-b after:  $s1b"
	t_check "$label: pings host-a -> host-b are answered again" test "$back" = yes
	t_check "$label: the loss window ($gap ms) is below dead_after ($BOUND_MS ms)" \
		test "$gap" -ge 0 -a "$gap" -lt "$BOUND_MS"
	t_eq "$label: a's session with b never died, its link never failed (deaths/(connects, failures))" \
		"$(field "$s0a" 8)" "$(field "$s1a" 8)"
	t_eq "$label: b's session with a never died, its link never failed (deaths/(connects, failures))" \
		"$(field "$s0b" 8)" "$(field "$s1b" 8)"
	local s x0 x1 init=b
	[[ "$(field "$s1a" 7)" == initiator ]] && init=a
	for s in a b; do
		if [[ $s == a ]]; then x0=$s0a x1=$s1a; else x0=$s0b x1=$s1b; fi
		t_check "$label: gw-$s's link restarted ICE ($(field "$x0" 1) -> $(field "$x1" 1))" \
			test "$(field "$x1" 1)" -gt "$(field "$x0" 1)"
		t_check "$label: gw-$s's pair was chosen later ($(field "$x0" 2) -> $(field "$x1" 2))" \
			test "$(field "$x1" 2)" '>' "$(field "$x0" 2)"
		t_eq "$label: gw-$s's pair is srflx/srflx" "srflx/srflx" "$(field "$x1" 3)"
		t_check "$label: gw-$s says why it restarted ($(field "$x1" 4))" test "$(field "$x1" 4)" != None
	done
	# The initiator's handshake over the new pair: both sides measure its
	# round trip (the responder from its response to the confirming keepalive).
	for s in a b; do
		if [[ $s == a ]]; then x1=$s1a; else x1=$s1b; fi
		local role=responder
		[[ $s == "$init" ]] && role=initiator
		t_check "$label: gw-$s ($role) measured a round trip on the new pair ($(field "$x1" 6) ms)" \
			test "$(field "$x1" 6)" != None
	done
}

path_change "NAT restart" nat_flush a
ep_before=$(gw_get b "p('gw-a')['endpoint']")
path_change "public port change" nat_move_ports a
ep_after=$(gw_get b "p('gw-a')['endpoint']")
echo "b sees a at $ep_before before the port change, at $ep_after after"
t_check "b's endpoint for a is in nat-a's new public port range" \
	nat_port_in_range a "${ep_after##*:}"
t_check "host-b pings host-a" pings b a
t_summary
