#!/usr/bin/env bash
# test_signalling.sh - ipopd gateways that find each other through XMPP, with no
# static peer list: 4 sites around one router, Prosody (TLS, shared roster group
# "testnet" from mod_groups) in the srv namespace.
# Proves: gateways started in random order discover each other and form 6
# tunnels, every LAN host pings every other; a gateway that leaves is noticed and
# its tunnels torn down, and it rejoins when it returns; stopping Prosody does
# not stop traffic over existing tunnels, and when it returns the nodes log in
# again and a member that was away joins; a wrong password cannot join (and the
# log says why); a member announcing a key it does not hold gets no tunnel, a
# member claiming another member's key is refused; malformed and oversized
# stanzas from a hostile member, and stanzas from a non-member, are refused and
# counted per reason, and the gateways keep working. Node IDs travel in
# presence: every gateway lists the others' IDs; a member whose presence
# announces an ID that is not its key's, a malformed identity, or an honest
# gateway's ID and key is refused, counted, never online, and the honest
# gateways keep their links and IDs; a member that announces an absent
# gateway's (proven) ID is refused, and the gateway gets it back at once.
# ipop-timeout: 540
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

DOMAIN=ipop.test
SITES=(1 2 3 4)
GW_OFFLINE_GRACE=3
GW_LINK_TIMEOUT=8
HOSTILE="$(dirname "$0")/hostile_xmpp.py"

topo_sites 4

# ---- Prosody with the overlay as a shared roster group
prosody_groups < <(roster_group testnet "$DOMAIN" "${SITES[@]/#/gw-}" evil
	roster_group others "$DOMAIN" outsider)
t_require "prosody starts (TLS, mod_groups)" prosody_start srv "$T_SRV_IP" 5222 "$DOMAIN" tls
for l in "${SITES[@]}"; do
	t_require "account gw-$l" prosody_adduser "gw-$l" "$DOMAIN" "pw-$l"
done
t_require "account evil" prosody_adduser evil "$DOMAIN" pw-evil
t_require "account outsider" prosody_adduser outsider "$DOMAIN" pw-out

# prosody_restart: the same config and data (accounts survive), a new process.
prosody_restart() {
	bg_start srv "$PROSODY_DIR/stdout-restart.log" setpriv --reuid=prosody --regid=prosody \
		--init-groups prosody -F --config "$PROSODY_CFG" || return 1
	PROSODY_PID=$BG_PID
	wait_until 15 tcp_open srv "$T_SRV_IP" 5222
}

for l in "${SITES[@]}"; do
	t_require "gateway $l set up" gw_setup "$l"
	gw_config "$l" "$(gw_signal_block "$l" "pw-$l")"
done

# n_links SITE STATE : how many of SITE's links are in STATE.
n_links() {
	gw_get "$1" "sum(1 for x in d.get('links', []) if x['state'] == '$2')"
}
links_are() { [[ "$(n_links "$1" "$2" 2>/dev/null)" == "$3" ]]; }
link_state() {
	gw_get "$1" "next((x['state'] for x in d.get('links', []) if x['member'] == '$2'), 'none')" \
		2>/dev/null
}
link_is() { [[ "$(link_state "$1" "$2")" == "$3" ]]; }
all_connected() {
	local l
	for l in "$@"; do links_are "$l" connected $(($# - 1)) || return 1; done
}
pings_all() {
	local a b
	for a in "$@"; do
		for b in "$@"; do
			[[ "$a" == "$b" ]] && continue
			nsx "host-$a" ping -c1 -W2 "${T_HOST_IP[$b]}" >/dev/null || {
				echo "host-$a cannot ping host-$b"
				return 1
			}
		done
	done
}
sig_get() { gw_get "$1" "d['signalling']$2"; }
# member_id SITE JID : the node ID SITE's signalling lists for member JID (None: unknown).
member_id() {
	gw_get "$1" "next((m['node_id'] for m in d['signalling']['members'] if m['jid'] == '$2'), 'no such member')"
}
sig_state_is() { [[ "$(sig_get "$1" "['state']" 2>/dev/null)" == "$2" ]]; }
sig_state_not() {
	local s
	s=$(sig_get "$1" "['state']") || return 1
	[[ "$s" != "$2" ]]
}
# at_least SITE N PYEXPR : the value of PYEXPR over SITE's JSON is N or more.
at_least() {
	local v
	v=$(gw_get "$1" "$3") || return 1
	((v >= $2))
}
# stage N : run stage N (all by default; SIG_STAGES="1 5" picks some).
stage() { [[ " ${SIG_STAGES:-1 2 3 4 5 6} " == *" $1 "* ]]; }

# ---- 1. discovery: random start order, 6 links, full mesh of pings
order=$(printf '%s\n' "${SITES[@]}" | shuf | tr '\n' ' ')
echo "start order: $order"
for l in $order; do
	t_require "ipopd $l starts" gw_start "$l"
	sleep 0.$((RANDOM % 8))
done
t_wait "every gateway has 3 connected links" 40 all_connected 1 2 3 4
total=0
for l in "${SITES[@]}"; do total=$((total + $(n_links "$l" connected))); done
t_eq "6 tunnels (12 link ends)" 12 "$total"
for l in "${SITES[@]}"; do
	t_eq "gw-$l: no static peers, 3 signalled peers up" 3 \
		"$(gw_get "$l" "sum(1 for p in d['peers'] if p['state'] == 'up')")"
done
t_wait "every LAN host pings every other" 20 pings_all 1 2 3 4
inits=0
for l in "${SITES[@]}"; do
	inits=$((inits + $(gw_get "$l" "sum(1 for x in d['links'] if x['role'] == 'initiator')")))
done
t_eq "6 initiators in all: one per pair" 6 "$inits"
show=$("$(ipop_bin ipopctl)" -s "${GW_SOCK[1]}" show)
t_check "ipopctl show (text) lists links with state and bytes" \
	bash -c "grep -q 'links:' <<<\"\$1\" && grep -q 'state: connected' <<<\"\$1\" && grep -q 'tx_bytes' <<<\"\$1\"" _ "$show"
t_check "links carry traffic (bytes counted)" \
	test "$(gw_get 1 "min(x['tx_bytes'] for x in d['links'])")" -gt 0
declare -A NODE_ID=()
for l in "${SITES[@]}"; do NODE_ID[$l]=$(sig_get "$l" "['node_id']"); done
for l in "${SITES[@]}"; do
	for m in "${SITES[@]}"; do
		[[ "$m" == "$l" ]] && continue
		t_eq "gw-$l lists gw-$m's node ID (from its presence)" "${NODE_ID[$m]}" \
			"$(member_id "$l" "gw-$m@$DOMAIN")"
	done
	t_eq "gw-$l refused no presence" 0 "$(sig_get "$l" "['counters']['presence_rejected']['total']")"
done
t_check "ipopctl show (text) lists gw-2's node ID among gw-1's members" \
	bash -c "grep -A3 'jid: gw-2@$DOMAIN\$' <<<\"\$1\" | grep -q 'node_id: ${NODE_ID[2]}'" _ "$show"

# ---- 2. a gateway leaves and comes back
if stage 2; then
gw_stop 4
for l in 1 2 3; do
	t_wait "gw-$l notices gw-4 left: link closed" 20 link_is "$l" "gw-4@$DOMAIN" closed
	t_eq "gw-$l: gw-4's peer removed" 0 "$(gw_get "$l" "sum(1 for p in d['peers'] if p['name'] == 'gw-4')")"
done
t_check "the other tunnels stay up" pings_all 1 2 3
t_require "gw-4 restarts" gw_start 4
t_wait "gw-4 rejoins: 3 links everywhere" 40 all_connected 1 2 3 4
t_wait "host-4 pings everyone again" 20 pings_all 1 2 3 4

fi

# ---- 3. Prosody stops: tunnels keep working; it returns: logins, a member joins
if stage 3; then
gw_stop 4
for l in 1 2 3; do t_wait "gw-$l: gw-4 closed" 20 link_is "$l" "gw-4@$DOMAIN" closed; done
# Link failures so far (the first links of a loaded machine may have failed
# once and been retried): the restart must add none.
declare -A FAIL0=()
for l in 1 2 3; do
	FAIL0[$l]=$(gw_get "$l" "sum(x['failures'] for x in d['links'] if x['member'] != 'gw-4@$DOMAIN')")
done
echo "link failures before the restart (gw-1 gw-2 gw-3): ${FAIL0[1]} ${FAIL0[2]} ${FAIL0[3]}"
prosody_stop
t_wait "gateways notice the server is gone" 10 sig_state_not 1 online
sleep 8   # longer than dead_after (6 s): sessions must live on keepalives alone
t_check "without the server, hosts 1-3 still ping each other" pings_all 1 2 3
for l in 1 2 3; do t_check "gw-$l: links still connected" links_are "$l" connected 2; done
t_require "prosody comes back" prosody_restart
for l in 1 2 3; do
	t_wait "gw-$l logs in again" 30 sig_state_is "$l" online
done
t_check "gw-1 logged in at least twice" test "$(sig_get 1 "['counters']['logins']")" -ge 2
t_require "gw-4 starts after the restart" gw_start 4
t_wait "gw-4 joins: 3 links everywhere" 40 all_connected 1 2 3 4
t_wait "all hosts ping each other" 20 pings_all 1 2 3 4
for l in 1 2 3; do
	f=$(gw_get "$l" "sum(x['failures'] for x in d['links'] if x['member'] != 'gw-4@$DOMAIN')")
	t_eq "gw-$l: the links that survived the restart never failed" "${FAIL0[$l]}" "$f"
	((f == FAIL0[$l])) || gw_get "$l" "[(x['member'], x['state'], x['failures'], x.get('last_error')) for x in d['links']]"
done

fi

# ---- 4. a wrong password cannot join
if stage 4; then
gw_stop 3
gw_config 3 "$(gw_signal_block 3 not-the-password)"
t_require "gw-3 starts with a wrong password" gw_start 3
t_wait "gw-3's log says why it cannot join" 15 grep -q "login failed: the server refused the password" "${GW_LOG[3]}"
grep -E "login failed|xmpp" "${GW_LOG[3]}" | head -n 3 || true
t_check "gw-3 is not online" sig_state_not 3 online
t_check "gw-3 has no links" links_are 3 connected 0
for l in 1 2 4; do t_wait "gw-$l: gw-3 gone" 20 link_is "$l" "gw-3@$DOMAIN" closed; done
gw_stop 3
gw_config 3 "$(gw_signal_block 3 pw-3)"
t_require "gw-3 restarts with its password" gw_start 3
t_wait "gw-3 back: 3 links everywhere" 40 all_connected 1 2 3 4

fi

# ---- 5. hostile members
if stage 5; then
out="$T_TMP/hostile.out"
rej_total() { sig_get "$1" "['counters']['rejected']['total']"; }
declare -A rej0=()
for l in "${SITES[@]}"; do rej0[$l]=$(rej_total "$l"); done
rc=0
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-1,gw-2,gw-3,gw-4 --junk --stay 1 >"$out" || rc=$?
t_eq "evil (a member) sent junk to every gateway" 0 "$rc"
sent=$(grep -c ' gw-1$' "$out" || true)
echo "junk stanzas sent to each gateway: $sent"
t_check "a dozen kinds of junk" test "$sent" -ge 10
for l in "${SITES[@]}"; do
	t_wait "gw-$l refused all $sent junk stanzas" 10 at_least "$l" $((rej0[$l] + sent)) \
		"d['signalling']['counters']['rejected']['total']"
	t_eq "gw-$l refused exactly those" $((rej0[$l] + sent)) "$(rej_total "$l")"
done
for r in bad_op bad_overlay bad_node_id node_key_mismatch bad_key bad_ip bad_port bad_attribute \
	bad_structure too_big bad_type; do
	t_check "gw-2 counted $r" test "$(sig_get 2 "['counters']['rejected']['$r']")" -ge 1
done
t_eq "junk bound no key to evil's link on gw-1" None \
	"$(gw_get 1 "next((x.get('public_key') for x in d['links'] if x['member'] == 'evil@$DOMAIN'), None)")"
t_check "gateways still alive and pinging" pings_all 1 2 3 4

before=$(sig_get 1 "['counters']['rejected']['not_member']")
gw1_full=$(sig_get 1 "['jid']")
rc=0
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" outsider pw-out testnet --tls \
	--targets "$gw1_full" --valid-request --stay 1 >/dev/null || rc=$?
t_eq "outsider (not in the group) sent a valid request to $gw1_full" 0 "$rc"
t_wait "gw-1 refused it as not_member" 5 at_least 1 $((before + 1)) \
	"d['signalling']['counters']['rejected']['not_member']"
t_eq "no link for the outsider" none "$(link_state 1 "outsider@$DOMAIN")"

stolen=${GW_PUB[1]}
nsx srv timeout 40 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-2,gw-3 --fake-key --stay $((GW_LINK_TIMEOUT + 6)) >"$T_TMP/fake.out" &
fake_pid=$!
t_wait "gw-2 takes evil's announced key: link handshaking" 15 link_is 2 "evil@$DOMAIN" handshaking
t_wait "the handshake with a key evil does not hold fails" $((GW_LINK_TIMEOUT + 6)) \
	link_is 2 "evil@$DOMAIN" failed
err=$(gw_get 2 "next(x['last_error'] for x in d['links'] if x['member'] == 'evil@$DOMAIN')")
echo "gw-2's link to evil: $err"
t_check "the failure names the key" grep -q "announced key" <<<"$err"
t_eq "no peer of evil is up on gw-3" 0 \
	"$(gw_get 3 "sum(1 for p in d['peers'] if p['name'] == 'evil' and p['state'] == 'up')")"
wait "$fake_pid" || true
t_check "evil claiming gw-1's key is refused by gw-2" \
	nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-2 --steal-key "$stolen" --stay 1
t_wait "gw-2 refused it: gw-1's key is proven by gw-1 (trust: key_of_another)" 5 at_least 2 1 \
	"d['trust']['counters']['refused']['key_of_another']"
t_check "gw-2's link to gw-1 is untouched" link_is 2 "gw-1@$DOMAIN" connected
t_check "all hosts still ping each other" pings_all 1 2 3 4
t_check "evil's plain presences (no identity) were counted as an older node's" \
	at_least 2 1 "d['signalling']['counters']['presence_no_id']"
fi

# ---- 6. hostile presences: identities that are not the member's own
if stage 6; then
prej() { sig_get "$1" "['counters']['presence_rejected']['$2']"; }
evil_online() {
	gw_get "$1" "next(m['online'] for m in d['signalling']['members'] if m['jid'] == 'evil@$DOMAIN')"
}
evil_in_topology() {
	gw_get "$1" "next((m['online'] or m['in_topology'] for m in d['topology']['members'] if m['jid'] == 'evil@$DOMAIN'), False)"
}
evil_gone() { [[ "$(evil_in_topology "$1" 2>/dev/null)" == False ]]; }
for l in "${SITES[@]}"; do t_wait "gw-$l: evil out of the topology" 15 evil_gone "$l"; done
declare -A ptot0=()
for l in "${SITES[@]}"; do ptot0[$l]=$(prej "$l" total); done
out="$T_TMP/hostile-presence.out"
rc=0
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-1,gw-2,gw-3,gw-4 --ident-key random --ident-node random --presence-junk \
	--stay 1 >"$out" || rc=$?
t_eq "evil announced a node ID that is not its key's, then junk identities" 0 "$rc"
sent=$(grep -c '^presence ' "$out" || true)
echo "presences with a bad identity sent: $sent"
t_check "a mismatched login presence and ten kinds of junk" test "$sent" -ge 11
for l in "${SITES[@]}"; do
	t_wait "gw-$l refused all $sent presences" 10 at_least "$l" $((ptot0[$l] + sent)) \
		"d['signalling']['counters']['presence_rejected']['total']"
	t_eq "gw-$l refused exactly those" $((ptot0[$l] + sent)) "$(prej "$l" total)"
done
for r in too_big bad_structure bad_attribute bad_node_id bad_key node_key_mismatch weak_key; do
	t_check "gw-2 counted presence $r" test "$(prej 2 "$r")" -ge 1
done
t_check "gw-3's log names a refused presence" grep -q "presence of evil@$DOMAIN/.* refused: node_key_mismatch" \
	"${GW_LOG[3]}"

declare -A unt0=()
for l in "${SITES[@]}"; do unt0[$l]=$(prej "$l" untrusted); done
own0=$(prej 1 own_node)
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-1,gw-2,gw-3,gw-4 --ident-key "${GW_PUB[1]}" --ident-node "${NODE_ID[1]}" \
	--stay 8 >"$T_TMP/claim.out" &
claim_pid=$!
for l in 2 3 4; do
	t_wait "gw-$l refused evil claiming gw-1's node ID and key: untrusted (gw-1 proved it)" 15 \
		at_least "$l" $((unt0[$l] + 1)) "d['signalling']['counters']['presence_rejected']['untrusted']"
done
t_wait "gw-1 refused evil claiming its own node ID and key" 15 at_least 1 $((own0 + 1)) \
	"d['signalling']['counters']['presence_rejected']['own_node']"
for l in "${SITES[@]}"; do
	t_eq "gw-$l: evil, logged in, is not online" False "$(evil_online "$l")"
	t_eq "gw-$l: evil is not in the topology" False "$(evil_in_topology "$l")"
	t_eq "gw-$l: evil holds no node ID" None "$(member_id "$l" "evil@$DOMAIN")"
done
for l in 2 3 4; do
	t_eq "gw-$l: gw-1 keeps its node ID" "${NODE_ID[1]}" "$(member_id "$l" "gw-1@$DOMAIN")"
	t_check "gw-$l: its link to gw-1 stays connected" link_is "$l" "gw-1@$DOMAIN" connected
done
t_check "every gateway keeps 3 connected links" all_connected 1 2 3 4
t_check "all hosts still ping each other" pings_all 1 2 3 4
wait "$claim_pid" || true
show=$("$(ipop_bin ipopctl)" -s "${GW_SOCK[2]}" show)
for m in 1 3 4; do
	t_check "ipopctl show on gw-2 lists gw-$m's node ID" \
		bash -c "grep -A3 'jid: gw-$m@$DOMAIN\$' <<<\"\$1\" | grep -q 'node_id: ${NODE_ID[$m]}'" _ "$show"
done

# A member cannot squat an absent gateway's ID: gw-4's key was proven (its
# handshakes completed), so evil announcing it is refused at once, and gw-4
# takes its ID back as soon as it returns, while evil is still logged in.
member_id_is() { [[ "$(member_id "$1" "$2" 2>/dev/null)" == "$3" ]]; }
gw_stop 4
for l in 1 2 3; do
	t_wait "gw-$l: gw-4 left, its ID released" 10 member_id_is "$l" "gw-4@$DOMAIN" None
	unt0[$l]=$(prej "$l" untrusted)
done
go="$T_TMP/evil-may-leave"
rm -f "$go"
nsx srv timeout 90 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-1,gw-2,gw-3 --ident-key "${GW_PUB[4]}" --ident-node "${NODE_ID[4]}" \
	--stay 80 --until "$go" >"$T_TMP/squat.out" &
squat_pid=$!
for l in 1 2 3; do
	t_wait "gw-$l refused evil claiming absent gw-4's proven key" 15 at_least "$l" \
		$((unt0[$l] + 1)) "d['signalling']['counters']['presence_rejected']['untrusted']"
	t_eq "gw-$l: evil holds nothing" None "$(member_id "$l" "evil@$DOMAIN")"
done
t_require "gw-4 restarts" gw_start 4
for l in 1 2 3; do
	t_wait "gw-$l: gw-4 takes its ID back at once" 30 member_id_is "$l" "gw-4@$DOMAIN" "${NODE_ID[4]}"
done
touch "$go"
wait "$squat_pid" || true
t_wait "gw-4 back: 3 links everywhere" 40 all_connected 1 2 3 4
t_wait "all hosts ping each other" 20 pings_all 1 2 3 4
fi

for l in "${SITES[@]}"; do
	t_check_not "gw-$l never crashed" grep -qiE "segfault|assert|panic|AddressSanitizer|runtime error" "${GW_LOG[$l]}"
done
t_summary
