#!/usr/bin/env bash
# test_stun_integrity.sh - STUN messages to a link's ICE agent that fail their
# MESSAGE-INTEGRITY check are counted and reported (control/link/stun_watch.c),
# while libnice still gets every one and the link keeps working.
# Two signalled gateways without NAT (ice { stun }, all-to-all) link; a third
# party in the cloud namespace sends gw-a's agent port ICE connectivity checks
# (tests/netns/probe.py stun-check):
#  - the genuine checks between the gateways verify (links[].ice.stun_verified)
#    and fail nothing;
#  - one with gw-a's real ufrag and password (read from the clear-text link
#    stanza the capture on the XMPP server's side saw) is answered by libnice
#    and verified by ipop: the failure counters stay;
#  - one with a wrong password: ice.stun.integrity_failed and the link's
#    stun_failed count it, links[].ice.last_error and the log say from where;
#  - one with a USERNAME no agent has (unknown_ufrag), one malformed (malformed);
#  - a candidate the signalling codec refuses (a second resource of gw-b's
#    account, tests/netns/hostile_xmpp.py --bad-candidate, sends gw-a one with
#    gw-b's node ID and type "nat"): gw-a's link to b shows which candidate
#    from which member and why (links[].ice.last_error), counts it
#    (link_counters.candidates_unparsed, signalling rejected.bad_candidate)
#    and keeps working;
#  - a flood of 3,000 wrong ones in 2 s: `ipopctl ping` keeps answering within 1 s,
#    the work is bounded (copies shed by the worker or control count), the log
#    has at most about a line a second, the link stays connected and carries
#    pings.
# ipop-timeout: 180
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"
source "$(dirname "$0")/nat.sh"
source "$(dirname "$0")/ice_gw.sh"

DOMAIN=ipop.test
GW_XMPP_TLS=false
GW_LINK_TIMEOUT=8

nat_site a 1 none
nat_site b 2 none

ice_cloud a b
for l in a b; do
	gw_config "$l" "$(gw_signal_block "$l" "pw-$l")
topology: { policy = \"all-to-all\"; };
ice: { stun = \"$T_SRV_IP:3478\"; };"
done

# The link stanzas cross the XMPP server in clear text (tls = false): the
# capture gives gw-a's agent password for the genuine check below.
cdir=$(t_mkdir cap)
t_require "capture of the XMPP traffic" cap_start srv eth0 "$cdir/xmpp.pcap" tcp port 5222

t_require "ipopd a starts" gw_start a
t_require "ipopd b starts" gw_start b
t_wait "a's link to b is connected" 30 link_is a b connected
t_wait "ICE selected a pair on a's link" 15 test "$(link_get a b "x['ice']['state']")" = selected
t_check "host-a pings host-b" wait_until 10 pings a b
cap_stop "$CAP_PID"

stun() { gw_get a "d['ice']['stun']['$1']"; }
lnk() { link_get a b "x['ice']['$1']"; }
ufrag=$(lnk ufrag)
ufrag_b=$(link_get b a "x['ice']['ufrag']")
aport=$(lnk "local" | cut -d: -f2)
wan_a=${T_PUBLIC_IP[a]}
echo "gw-a's agent for b: ufrag $ufrag on $wan_a:$aport; ice.stun $(gw_get a "d['ice']['stun']")"
# probe NAME ARGS... : probe.py stun-check from the cloud to gw-a's agent port.
probe() {
	nsx srv python3 "$T_PROBE" --timeout 1 --tries 2 stun-check "$wan_a" "$aport" "$@"
}

# ---- 1. the genuine checks between the gateways verify, none fails
t_check "gw-a verified the genuine checks and responses (${ufrag})" test "$(lnk stun_verified)" -gt 0
t_eq "gw-a: no STUN message failed its integrity check" 0 "$(stun integrity_failed)"
t_eq "gw-a's link: none failed" 0 "$(lnk stun_failed)"
t_eq "gw-b: no STUN message failed its integrity check" 0 "$(gw_get b "d['ice']['stun']['integrity_failed']")"

# ---- 2. a check with gw-a's real credentials, from a third party
pwd=$(nsx srv python3 "$T_PROBE" xmpp-ice-pwd "$cdir/xmpp.pcap" "$ufrag") || pwd=""
t_check "gw-a's agent password was in the captured link stanza" test -n "$pwd"
v0=$(stun verified)
t_check "libnice answers a check with the right password (success or 487)" \
	probe "$ufrag:$ufrag_b" "$pwd" --expect-answer
t_wait "ipop verified it" 5 test "$(stun verified)" -gt "$v0"
t_eq "... and counted no failure" 0 "$(stun integrity_failed)"

# ---- 3. a check with a wrong password
t_check "a check with a wrong password is sent" probe "$ufrag:$ufrag_b" "not-the-password-of-a-1"
t_wait "gw-a counts one integrity failure" 5 test "$(stun integrity_failed)" -eq 1
t_eq "gw-a's link to b counts it" 1 "$(lnk stun_failed)"
err=$(lnk last_error)
echo "links[].ice.last_error: $err"
t_check "show says which check failed and from where" \
	matches "$err" "STUN Binding request from $T_SRV_IP:[0-9]+ failed its MESSAGE-INTEGRITY check.*"
t_check "the log says it" grep -q "ICE: STUN Binding request from $T_SRV_IP:[0-9]* failed its MESSAGE-INTEGRITY check" "${GW_LOG[a]}"
t_check_not "libnice refused it too (no success answer)" probe "$ufrag:$ufrag_b" "not-the-password-of-a-1" --expect-answer

# ---- 4. an unknown USERNAME, a malformed message
u0=$(stun unknown_ufrag)
m0=$(stun malformed)
t_check "a check for an unknown ufrag is sent" probe "nosuchufrag:$ufrag_b" "not-the-password-of-a-1"
t_wait "gw-a counts it as unknown_ufrag, not as a failure" 5 test "$(stun unknown_ufrag)" -eq $((u0 + 1))
t_check "a malformed STUN message is sent" probe x y --malformed
t_wait "gw-a counts it as malformed" 5 test "$(stun malformed)" -eq $((m0 + 1))
t_eq "neither counts as an integrity failure" 2 "$(stun integrity_failed)"

# ---- 4b. a candidate the signalling codec refuses, shown on the member's link
jid_a=$(gw_get a "d['signalling']['jid']")
node_b=$(gw_get b "d['signalling']['node_id']")
bc0=$(gw_get a "d['signalling']['counters']['rejected']['bad_candidate']")
t_check "a second resource of gw-b sends gw-a a candidate that does not parse" \
	nsx srv timeout 30 python3 "$(dirname "$0")/hostile_xmpp.py" "$T_SRV_IP" 5222 "$DOMAIN" \
	gw-b pw-b testnet --no-presence --targets "$jid_a" --bad-candidate "$node_b"
t_wait "gw-a counts it on the link manager (candidates_unparsed)" 5 \
	test "$(gw_get a "d['link_counters']['candidates_unparsed']")" -eq 1
t_eq "... and the signalling module's bad_candidate" $((bc0 + 1)) \
	"$(gw_get a "d['signalling']['counters']['rejected']['bad_candidate']")"
err=$(lnk last_error)
echo "links[].ice.last_error: $err"
t_check "show says which candidate from which member and why" matches "$err" \
	"candidate from gw-b@$DOMAIN refused \\(not in the candidate grammar of docs/signalling.md\\): candidate:1 1 UDP 2013266431 10.91.9.9 5801 typ nat"
t_check "the log says it" grep -q "link gw-b@$DOMAIN: ICE: candidate from gw-b@$DOMAIN refused (not in the candidate grammar" "${GW_LOG[a]}"
t_eq "the agent never saw it (candidates_bad)" 0 "$(gw_get a "d['link_counters']['candidates_bad']")"
t_check "a's link to b is still connected" link_is a b connected
t_check "host-a still pings host-b" wait_until 5 pings a b

# ---- 5. a flood of wrong checks
f0=$(stun integrity_failed)
lines0=$(grep -c 'failed its MESSAGE-INTEGRITY' "${GW_LOG[a]}" || true)
t0=$(_t_now_ms)
bg_start srv "$cdir/flood.log" python3 "$T_PROBE" stun-check "$wan_a" "$aport" \
	"$ufrag:$ufrag_b" "not-the-password-of-a-1" --count 3000 --pps 1500
flood=$BG_PID
slow=0
for i in $(seq 1 10); do
	timeout 1 "$(ipop_bin ipopctl)" -s "${GW_SOCK[a]}" ping >/dev/null 2>&1 || slow=$((slow + 1))
	sleep 0.2
done
wait_until 20 bash -c "! kill -0 $flood 2>/dev/null" || true
bg_stop "$flood" 2
t_eq "gw-a's ipopctl ping answered within 1 s throughout the flood" 0 "$slow"
sleep 1
secs=$(((($(_t_now_ms) - t0) / 1000) + 1))
failed=$(($(stun integrity_failed) - f0))
shed_w=$(gw_get a "d['dataplane']['stun_ctrl_shed']")
shed_c=$(stun shed)
lines=$(($(grep -c 'failed its MESSAGE-INTEGRITY' "${GW_LOG[a]}" || true) - lines0))
echo "flood of 3000: counted as failures $failed, shed by the worker $shed_w, by control $shed_c; $lines log lines in ${secs} s"
t_check "the flood's checks are counted as failures" test "$failed" -gt 0
t_check "the rest were shed and counted (failures + shed >= 3000 - kernel losses)" \
	test $((failed + shed_w + shed_c)) -ge 2900
t_check "the log has at most a line a second" test "$lines" -le $((secs + 1))
t_check "the log line says how many were not logged" grep -q 'more since the last line' "${GW_LOG[a]}"
t_check "a's link to b is still connected" link_is a b connected
t_check "host-a still pings host-b" wait_until 5 pings a b
t_check "libnice still answers the right password" probe "$ufrag:$ufrag_b" "$pwd" --expect-answer
t_summary
