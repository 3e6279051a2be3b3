#!/usr/bin/env bash
# test_trust.sh - members cannot take another's place (docs/signalling.md,
# "Trust"): 3 gateways with Prosody (TLS, shared roster group), gw-1 and gw-2
# also static peers of each other.
# Proves, without a CA: a member announcing a static peer's key does not reset
# it (the static tunnel keeps its session and carries pings; the refusal is
# counted); a hostile client with gw-3's stolen password announcing its own
# key is refused by every gateway (key change pending, logged with both
# fingerprints, listed by `ipopctl show`), gw-3 keeps its links, and
# `ipopctl accept-key` then binds gw-3 to the new key. With an overlay CA
# (ipopctl ca-keygen / ca-sign): certified gateways link; a member without a
# certificate, and the stolen-password client with its own key, are refused;
# a revoked member is dropped at once (`ipopctl reload-revocations`) and cannot
# come back; a certificate that expires drops its member; a gateway refuses to
# start with an expired or foreign certificate. With signal.bindings_file, a
# restarted gateway still refuses the stolen password's key (stage 2b). With
# a CA, link stanzas carry the certificate: a gateway links with a member
# whose presence it has not taken, and a request whose certificate fails gets
# a refuse naming the reason (stage 4).
# ipop-timeout: 600
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

DOMAIN=ipop.test
SITES=(1 2 3)
GW_OFFLINE_GRACE=3
GW_LINK_TIMEOUT=6
HOSTILE="$(dirname "$0")/hostile_xmpp.py"
CTL=$(ipop_bin ipopctl)

topo_sites 3

prosody_groups < <(roster_group testnet "$DOMAIN" "${SITES[@]/#/gw-}" evil)
t_require "prosody starts (TLS, mod_groups)" prosody_start srv "$T_SRV_IP" 5222 "$DOMAIN" tls
for l in "${SITES[@]}"; do
	t_require "account gw-$l" prosody_adduser "gw-$l" "$DOMAIN" "pw-$l"
done
t_require "account evil" prosody_adduser evil "$DOMAIN" pw-evil

link_state() {
	gw_get "$1" "next((x['state'] for x in d.get('links', []) if x['member'] == '$2'), 'none')" \
		2>/dev/null
}
link_is() { [[ "$(link_state "$1" "$2")" == "$3" ]]; }
ping_ok() { nsx "host-$1" ping -c1 -W2 "${T_HOST_IP[$2]}" >/dev/null; }
trust_get() { gw_get "$1" "d['trust']$2"; }
refused() { trust_get "$1" "['counters']['refused']['$2']"; }
at_least() {
	local v
	v=$(gw_get "$1" "$3") || return 1
	((v >= $2))
}
static_up() { [[ "$(gw_get "$1" "next(p['state'] for p in d['peers'] if p['name'] == 'gw-$2')")" == up ]]; }
static_hs() { gw_get "$1" "next(p['handshakes'] for p in d['peers'] if p['name'] == 'gw-$2')"; }
stage() { [[ " ${TRUST_STAGES:-1 2 3 4} " == *" $1 "* ]]; }

GW_PEERS[1]=2
GW_PEERS[2]=1
for l in "${SITES[@]}"; do
	t_require "gateway $l set up" gw_setup "$l"
done
for l in "${SITES[@]}"; do gw_config "$l" "$(gw_signal_block "$l" "pw-$l")"; done
# gw-2 keeps its bindings across restarts (stage 2b).
BFILE="$(t_mkdir bindings)/gw-2.bindings"
sed -i "s|link_timeout = \([0-9]*\); };|link_timeout = \1; bindings_file = \"$BFILE\"; };|" "${GW_CONF[2]}"
t_check "gw-2's configuration has signal.bindings_file" grep -q "bindings_file = \"$BFILE\"" "${GW_CONF[2]}"

# ---- 1. without a CA: static keys stay their peers'
if stage 1 || stage 2; then
for l in "${SITES[@]}"; do t_require "ipopd $l starts" gw_start "$l"; done
t_wait "gw-1's static peer gw-2 is up" 30 static_up 1 2
t_wait "gw-1 -- gw-3 connected (signalled)" 40 link_is 1 "gw-3@$DOMAIN" connected
t_wait "gw-2 -- gw-3 connected (signalled)" 40 link_is 2 "gw-3@$DOMAIN" connected
t_wait "host-1 pings host-2 (static tunnel)" 10 ping_ok 1 2
t_check "gw-2's presence is refused on gw-1: a static peer's key" at_least 1 1 \
	"d['trust']['counters']['refused']['static_key']"
fi
if stage 1; then
hs0=$(static_hs 1 2)
st0=$(refused 1 static_key)
for i in 1 2 3; do
	nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
		--targets gw-1 --steal-key "${GW_PUB[2]}" --stay 0.5 >/dev/null
done
t_wait "gw-1 refused evil's 3 requests with gw-2's key: static_key" 10 at_least 1 $((st0 + 3)) \
	"d['trust']['counters']['refused']['static_key']"
sleep 2
t_eq "gw-1's session with static gw-2 was not reset (no new handshake)" "$hs0" "$(static_hs 1 2)"
t_check "gw-1's static peer gw-2 is still up" static_up 1 2
t_check "host-1 still pings host-2 over the static tunnel" ping_ok 1 2
t_eq "evil got no link bound to gw-2's key on gw-1" None \
	"$(gw_get 1 "next((x.get('public_key') for x in d['links'] if x['member'] == 'evil@$DOMAIN'), None)")"
fi

# ---- 2. without a CA: a stolen password cannot replace gw-3's key
if stage 2; then
declare -A kc0=()
for l in 1 2; do kc0[$l]=$(refused "$l" key_change); done
nsx srv timeout 40 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" gw-3 pw-3 testnet --tls \
	--targets gw-1,gw-2 --ident-key random --fake-key --stay 6 >"$T_TMP/stolen.out" &
stolen_pid=$!
for l in 1 2; do
	t_wait "gw-$l refused the new key of gw-3 (stolen password): key_change" 40 at_least "$l" \
		$((kc0[$l] + 2)) "d['trust']['counters']['refused']['key_change']"
	t_eq "gw-$l lists gw-3's pending key change" "gw-3@$DOMAIN" \
		"$(trust_get "$l" "['pending_key_changes'][0]['jid']")"
	t_check "gw-$l's log has both fingerprints" \
		grep -qE "trust: member gw-3@$DOMAIN announces key [0-9a-f]{32} but is bound to key [0-9a-f]{32}" \
		"${GW_LOG[$l]}"
done
sleep 2
for l in 1 2; do
	t_check "gw-$l: its link to gw-3 stays connected" link_is "$l" "gw-3@$DOMAIN" connected
	t_eq "gw-$l: gw-3 is still online with its own node ID" "$(gw_get 3 "d['signalling']['node_id']")" \
		"$(gw_get "$l" "next(m['node_id'] for m in d['signalling']['members'] if m['jid'] == 'gw-3@$DOMAIN')")"
done
t_check "host-1 pings host-3" ping_ok 1 3
wait "$stolen_pid" || true
fp=$(trust_get 1 "['pending_key_changes'][0]['node_id']")
t_check_not "accept-key refuses a wrong fingerprint" "$CTL" -s "${GW_SOCK[1]}" accept-key "gw-3@$DOMAIN" 00000000
t_check "ipopctl accept-key gw-3 ${fp:0:12} on gw-1" "$CTL" -s "${GW_SOCK[1]}" accept-key "gw-3@$DOMAIN" "${fp:0:12}"
t_eq "gw-1 now binds gw-3 to the accepted key" "$fp" \
	"$(gw_get 1 "next(b['node_id'] for b in d['trust']['bindings'] if b['jid'] == 'gw-3@$DOMAIN')")"
t_eq "no pending key change left on gw-1" 0 "$(gw_get 1 "len(d['trust']['pending_key_changes'])")"

# ---- 2b. signal.bindings_file: gw-2 restarts while gw-3 is away; the stolen
# password's key is still refused (without the file, a restarted gw-2 bound
# gw-3 to the first key it saw: the hostile client's), and gw-3 links again.
g3key=$(gw_get 3 "d['signalling']['node_id']")
t_check "gw-2's bindings file has gw-3's key, proven" grep -qE "^gw-3@$DOMAIN [A-Za-z0-9+/=]{44} proven\$" "$BFILE"
gw_stop 3
gw_stop 2
t_require "ipopd 2 starts again" gw_start 2
t_eq "gw-2 read its bindings at start (gw-3's)" 1 "$(gw_get 2 "d['trust']['counters']['store_loaded']")"
kc2=$(refused 2 key_change)
nsx srv timeout 40 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" gw-3 pw-3 testnet --tls \
	--targets gw-2 --ident-key random --fake-key --stay 6 >"$T_TMP/stolen2.out" &
stolen_pid=$!
t_wait "restarted gw-2 refused the stolen password's key for gw-3: key_change" 40 at_least 2 \
	$((kc2 + 1)) "d['trust']['counters']['refused']['key_change']"
t_eq "restarted gw-2 binds gw-3 to its own key still" "$g3key" \
	"$(gw_get 2 "next(b['node_id'] for b in d['trust']['bindings'] if b['jid'] == 'gw-3@$DOMAIN')")"
sleep 2
t_check_not "restarted gw-2 did not link with the stolen-password client" link_is 2 "gw-3@$DOMAIN" connected
wait "$stolen_pid" || true
t_require "ipopd 3 starts again" gw_start 3
t_wait "gw-2 -- gw-3 connected again (the bound key)" 40 link_is 2 "gw-3@$DOMAIN" connected
t_check "host-2 pings host-3" ping_ok 2 3
fi
for l in "${SITES[@]}"; do gw_stop "$l"; done

# ---- 3. an overlay CA
if stage 3; then
cadir=$(t_mkdir ca)
CA_PUB=$("$CTL" ca-keygen -o "$cadir/ca.key")
t_eq "the CA's secret key file is 0600" 600 "$(stat -c %a "$cadir/ca.key")"
GW_PEERS[1]=""
GW_PEERS[2]=""
ca_block() { # SITE : signal { } with the CA, the site's certificate and a revocation list
	gw_signal_block "$1" "pw-$1" | sed "s|};\$| ca = \"$CA_PUB\"; certificate = \"$cadir/gw-$1.cert\"; revocations = \"$cadir/revoked-$1\"; };|"
}
for l in "${SITES[@]}"; do
	: >"$cadir/revoked-$l"
	rm -f "$cadir/gw-$l.cert"
	validity=1h
	[[ $l == 2 ]] && validity=150s
	t_require "ca-sign gw-$l (serial $l, $validity)" "$CTL" ca-sign "$cadir/ca.key" "${GW_PUB[$l]}" testnet "$l" "$validity" -o "$cadir/gw-$l.cert"
	gw_config "$l" "$(ca_block "$l")"
done
# A start-up refusal: a certificate for another key.
cp "$cadir/gw-1.cert" "$cadir/gw-1.good"
"$CTL" ca-sign "$cadir/ca.key" "${GW_PUB[2]}" testnet 9 1h >"$cadir/gw-1.cert"
t_check_not "ipopd --check refuses gw-1 with gw-2's certificate" \
	"$(ipop_bin ipopd)" -c "${GW_CONF[1]}" --check
"$(ipop_bin ipopd)" -c "${GW_CONF[1]}" --check 2>&1 | tee "$T_TMP/check.out" || true
t_check "the error names the reason" grep -q "wrong_key" "$T_TMP/check.out"
cp "$cadir/gw-1.good" "$cadir/gw-1.cert"
t0=$(date +%s)
for l in "${SITES[@]}"; do t_require "ipopd $l starts with its certificate" gw_start "$l"; done
for a in 1 2 3; do
	for b in 1 2 3; do
		((a == b)) && continue
		t_wait "gw-$a -- gw-$b connected (certified)" 40 link_is "$a" "gw-$b@$DOMAIN" connected
	done
done
t_check "host-1 pings host-3" ping_ok 1 3

# evil (a member, no certificate) and a stolen gw-3 password (own key, no certificate)
declare -A miss0=()
for l in 1 2; do miss0[$l]=$(refused "$l" missing); done
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-1,gw-2 --ident-key random --valid-request --stay 1 >/dev/null
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" gw-3 pw-3 testnet --tls \
	--targets gw-1,gw-2 --ident-key random --fake-key --stay 1 >/dev/null
for l in 1 2; do
	t_wait "gw-$l refused 4 uncertified keys: missing" 10 at_least "$l" $((miss0[$l] + 4)) \
		"d['trust']['counters']['refused']['missing']"
	t_eq "gw-$l: evil is not online" False \
		"$(gw_get "$l" "next(m['online'] for m in d['signalling']['members'] if m['jid'] == 'evil@$DOMAIN')")"
	t_check "gw-$l: gw-3's link is untouched" link_is "$l" "gw-3@$DOMAIN" connected
done
# A certificate signed by another CA is refused as bad_signature.
"$CTL" ca-keygen -o "$cadir/rogue.key" >/dev/null
rogue=$("$CTL" ca-sign "$cadir/rogue.key" "${GW_PUB[3]}" testnet 3 1h)
bs0=$(refused 1 bad_signature)
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-1 --ident-key "${GW_PUB[3]}" --ident-cert "$rogue" --stay 1 >/dev/null
t_wait "gw-1 refused a certificate from a rogue CA: bad_signature" 10 at_least 1 $((bs0 + 1)) \
	"d['trust']['counters']['refused']['bad_signature']"

# Revocation: gw-3's serial, reread by gw-1 and gw-2.
for l in 1 2; do
	echo "3 # gw-3, revoked by the test" >"$cadir/revoked-$l"
	t_check "gw-$l rereads its revocation list" "$CTL" -s "${GW_SOCK[$l]}" reload-revocations
done
for l in 1 2; do
	t_wait "gw-$l dropped revoked gw-3 at once" 5 bash -c "! [[ \$(\"$CTL\" -s '${GW_SOCK[$l]}' show --json | python3 -c \"import json,sys; d=json.load(sys.stdin); print(next((x['state'] for x in d['links'] if x['member']=='gw-3@$DOMAIN'),'none'))\") == connected ]]"
	t_check "gw-$l counted the revocation" at_least "$l" 1 "d['trust']['counters']['certs_revoked']"
done
gw_stop 3
t_require "gw-3 restarts (its certificate is still valid for itself)" gw_start 3
sleep $((GW_LINK_TIMEOUT + 4))
for l in 1 2; do
	t_check_not "gw-$l: revoked gw-3 did not come back" link_is "$l" "gw-3@$DOMAIN" connected
	t_check "gw-$l refused gw-3's certificate as revoked" at_least "$l" 1 \
		"d['trust']['counters']['refused']['revoked']"
done
t_check_not "host-1 cannot reach host-3" ping_ok 1 3

# Expiry: gw-2's certificate (150 s) expires; gw-1 drops it.
left=$((t0 + 150 - $(date +%s)))
((left > 0)) && echo "waiting ${left}s for gw-2's certificate to expire"
t_wait "gw-1 dropped gw-2: its certificate expired" $((left + 15)) at_least 1 1 \
	"d['trust']['counters']['certs_expired']"
t_wait "gw-1's link to gw-2 is no longer connected" 5 bash -c "! [[ \$(\"$CTL\" -s '${GW_SOCK[1]}' show --json | python3 -c \"import json,sys; d=json.load(sys.stdin); print(next((x['state'] for x in d['links'] if x['member']=='gw-2@$DOMAIN'),'none'))\") == connected ]]"
gw_stop 2
t_check_not "gw-2 refuses to start with its expired certificate" \
	"$(ipop_bin ipopd)" -c "${GW_CONF[2]}" --check
"$(ipop_bin ipopd)" -c "${GW_CONF[2]}" --check >"$T_TMP/check2.out" 2>&1 || true
cat "$T_TMP/check2.out"
t_check "the error says expired" grep -q expired "$T_TMP/check2.out"
fi

# ---- 4. with a CA, link stanzas carry the sender's certificate: a gateway
# links with a member whose presence it has not taken. gw-1 revokes gw-3 by
# mistake: gw-3's requests are refused and gw-3 sees why (a refuse naming
# the reason); gw-1 takes the revocation back: gw-3's presence was refused and
# is not sent again, so only the certificate in gw-3's next request can bring
# the link back (before link stanzas carried one it stayed down, `missing`,
# until gw-3 logged in again). A request whose certificate is for another key
# is refused with the reason too.
if stage 4; then
for l in "${SITES[@]}"; do gw_stop "$l"; done
ca4=$(t_mkdir ca4)
CA4_PUB=$("$CTL" ca-keygen -o "$ca4/ca.key")
GW_PEERS[1]=""
GW_PEERS[3]=""
for l in 1 3; do
	: >"$ca4/revoked-$l"
	t_require "ca-sign gw-$l (serial 4$l)" "$CTL" ca-sign "$ca4/ca.key" "${GW_PUB[$l]}" testnet "4$l" 1h -o "$ca4/gw-$l.cert"
	gw_config "$l" "$(gw_signal_block "$l" "pw-$l" | sed "s|};\$| ca = \"$CA4_PUB\"; certificate = \"$ca4/gw-$l.cert\"; revocations = \"$ca4/revoked-$l\"; };|")"
	t_require "ipopd $l starts with its certificate" gw_start "$l"
done
t_wait "gw-1 -- gw-3 connected (certified)" 40 link_is 1 "gw-3@$DOMAIN" connected
last_error_has() { # SITE MEMBER TEXT
	[[ "$(gw_get "$1" "next((x['last_error'] for x in d['links'] if x['member'] == '$2@$DOMAIN'), '')")" == *"$3"* ]]
}
echo "43 # gw-3, revoked by mistake" >"$ca4/revoked-1"
t_check "gw-1 rereads its revocation list (gw-3 revoked)" "$CTL" -s "${GW_SOCK[1]}" reload-revocations
t_wait "gw-1 dropped gw-3" 5 at_least 1 1 "d['trust']['counters']['certs_revoked']"
t_wait "gw-3's link to gw-1 failed with gw-1's reason: certificate refused: revoked" 60 \
	last_error_has 3 gw-1 "refused by the member: certificate refused: revoked"
t_check "gw-1 counted the refuse it sent" at_least 1 1 "d['link_counters']['cert_refusals_tx']"
t_check "gw-1 refused the certificate in gw-3's request: revoked" at_least 1 1 \
	"d['trust']['counters']['refused']['revoked']"
: >"$ca4/revoked-1"
t_check "gw-1 rereads its revocation list (empty again)" "$CTL" -s "${GW_SOCK[1]}" reload-revocations
t_wait "gw-1 -- gw-3 connected again, from the certificate in gw-3's request" 90 \
	link_is 1 "gw-3@$DOMAIN" connected
t_eq "gw-1 took no presence of gw-3 since the revocation" False \
	"$(gw_get 1 "next(m['online'] for m in d['signalling']['members'] if m['jid'] == 'gw-3@$DOMAIN')")"
t_eq "gw-1 binds gw-3's key with its certificate (serial 43)" "43 True" \
	"$(gw_get 1 "next('%d %s' % (b['serial'], b['certified']) for b in d['trust']['bindings'] if b['jid'] == 'gw-3@$DOMAIN')")"
t_wait "host-1 pings host-3" 10 ping_ok 1 3
# evil (a member) asks with its own key and gw-3's certificate.
wk0=$(refused 1 wrong_key)
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-1 --fake-key --link-cert "$(cat "$ca4/gw-3.cert")" --stay 3 >"$T_TMP/wrongkey.out"
cat "$T_TMP/wrongkey.out"
t_check "evil got a refuse naming the reason: wrong_key" \
	grep -q "got refuse gw-1@$DOMAIN reason=certificate refused: wrong_key" "$T_TMP/wrongkey.out"
t_check "gw-1 counted wrong_key" at_least 1 $((wk0 + 1)) "d['trust']['counters']['refused']['wrong_key']"
t_eq "evil has no link on gw-1" none "$(link_state 1 "evil@$DOMAIN")"
# The same 40 times as fast as the server forwards them: at most one refuse a
# second goes back (before, one per stanza), the rest are counted.
rt0=$(gw_get 1 "d['link_counters']['cert_refusals_tx']")
rl0=$(gw_get 1 "d['link_counters']['cert_refusals_limited']")
nsx srv timeout 30 python3 "$HOSTILE" "$T_SRV_IP" 5222 "$DOMAIN" evil pw-evil testnet --tls \
	--targets gw-1 --flood 40 --link-cert "$(cat "$ca4/gw-3.cert")" --stay 3 >"$T_TMP/certflood.out"
t_wait "gw-1 refused all 40 by trust" 10 at_least 1 $((wk0 + 41)) "d['trust']['counters']['refused']['wrong_key']"
rt=$(( $(gw_get 1 "d['link_counters']['cert_refusals_tx']") - rt0 ))
rl=$(( $(gw_get 1 "d['link_counters']['cert_refusals_limited']") - rl0 ))
got=$(grep -c "got refuse gw-1@$DOMAIN reason=certificate refused: wrong_key" "$T_TMP/certflood.out" || true)
echo "cert flood: refuses sent $rt, limited $rl, evil got $got"
t_check "gw-1 sent at most 3 refuses for 40 stanzas (one a second)" test "$rt" -ge 1 -a "$rt" -le 3
t_eq "gw-1 counted the others as limited" 40 "$((rt + rl))"
t_eq "evil got the refuses gw-1 sent" "$rt" "$got"
t_check "gw-1 -- gw-3 still connected" link_is 1 "gw-3@$DOMAIN" connected
fi

for l in "${SITES[@]}"; do
	t_check_not "gw-$l never crashed" grep -qiE "segfault|assert|panic|AddressSanitizer|runtime error" "${GW_LOG[$l]}"
done
t_summary
