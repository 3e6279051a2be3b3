#!/usr/bin/env bash
# test_nat.sh - the NAT testbed (tests/netns/nat.sh) does what each NAT type claims:
# mappings seen by two cloud addresses, filtering of an unsolicited cloud port, the
# reflexive address coturn's STUN reports, TURN through a symmetric NAT, hole
# punching between two port-restricted cones (and not across a symmetric NAT), and a
# NAT's restart and port change giving new mappings. Then ipopd's ICE module
# (control/ice, driven by tests/tools/ipop-ice-pair with one agent in each of two
# gateway namespaces) connects each NAT pair with the candidate types ICE should
# choose, and reports how long it took. No ipopd: the gateways' kernels hold the
# WAN addresses here.
# ipop-timeout: 240
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nat.sh"

# ---- sites: a none, b eim, c prc, d sym, e prc (c's hole-punching partner), f sym
t0=$(_t_now_ms)
nat_site a 1 none
nat_site b 2 eim
nat_site c 3 prc
nat_site d 4 sym
nat_site e 5 prc
nat_site f 6 sym
for s in a b c d e f; do
	gw_kernel_wan "$s" wan
done
t_require "the cloud runs coturn" nat_cloud
t_require "the cloud reflects on two addresses" nat_reflector
echo "testbed of 6 sites, coturn and reflectors ready in $(($(_t_now_ms) - t0)) ms"

# mapping_of SITE PORT DEST_IP DEST_PORT : what DEST saw from gw-SITE's WAN:PORT
mapping_of() {
	nat_mapped "gw-$1" "$3" "$4" "${T_GW_WAN_IP[$1]}:$2" || true
}
same_nonempty() { [[ -n "$1" && "$1" == "$2" ]]; }
differ_nonempty() { [[ -n "$1" && -n "$2" && "$1" != "$2" ]]; }

# ---- mapping: one inside ip:port towards two cloud addresses
declare -A m1 m2 stun
for s in a b c d; do
	m1[$s]=$(mapping_of "$s" 40000 "$T_SRV_IP" "$T_REFLECT_PORT")
	m2[$s]=$(mapping_of "$s" 40000 "$T_SRV_IP2" "$T_REFLECT_PORT2")
	stun[$s]=$(stun_probe "gw-$s" "$T_SRV_IP" 3478 "${T_GW_WAN_IP[$s]}:40000" || true)
	echo "site $s (${T_NAT_MODE[$s]}): ${T_GW_WAN_IP[$s]}:40000 -> reflector 1 sees ${m1[$s]}, reflector 2 sees ${m2[$s]}, STUN ${stun[$s]}"
done
t_eq "none: the cloud sees the gateway's own address and port" \
	"${T_GW_WAN_IP[a]}:40000" "${m1[a]}"
t_eq "none: a second cloud address sees the same" "${m1[a]}" "${m2[a]}"
for s in b c; do
	mode=${T_NAT_MODE[$s]}
	t_eq "$mode: the cloud sees the NAT's public address" "${T_PUBLIC_IP[$s]}" "${m1[$s]%:*}"
	t_check "$mode: the public port is from the NAT's range, not the private one" \
		nat_port_in_range "$s" "${m1[$s]#*:}"
	t_check "$mode: a second cloud address sees the same mapping (endpoint-independent)" \
		same_nonempty "${m1[$s]}" "${m2[$s]}"
	t_check "$mode: STUN to coturn reports that same reflexive address" \
		same_nonempty "${m1[$s]}" "${stun[$s]}"
done
t_eq "sym: the cloud sees the NAT's public address" "${T_PUBLIC_IP[d]}" "${m1[d]%:*}"
t_check "sym: a second cloud address sees another port (endpoint-dependent)" \
	differ_nonempty "${m1[d]}" "${m2[d]}"
t_check "sym: STUN to coturn sees yet another port" \
	differ_nonempty "${m1[d]}" "${stun[d]}"
m3=$(mapping_of d 40000 "$T_SRV_IP" "$T_REFLECT_PORT3")
t_check "sym: another port of the same cloud address sees another port" \
	differ_nonempty "${m1[d]}" "$m3"

# ---- filtering: a datagram from a cloud port the gateway never sent to
t_check "none: an unsolicited cloud port gets in" nat_poked gw-a "${T_GW_WAN_IP[a]}:40001"
t_check "eim: an unsolicited cloud port gets in (endpoint-independent filtering)" \
	nat_poked gw-b "${T_GW_WAN_IP[b]}:40001"
t_check "prc: an unsolicited cloud port is dropped (address+port-dependent filtering)" \
	nat_not_poked gw-c "${T_GW_WAN_IP[c]}:40001"
t_check "sym: an unsolicited cloud port is dropped" nat_not_poked gw-d "${T_GW_WAN_IP[d]}:40001"

# ---- hole punching, the thing ICE's checks do
# punch SITE1 SITE2 PORT : both send to the other's STUN-reported address at once.
punch() {
	local s1=$1 s2=$2 port=$3 r1 r2 p1 rc1=0 rc2=0
	r1=$(stun_probe "gw-$s1" "$T_SRV_IP" 3478 "${T_GW_WAN_IP[$s1]}:$port") || return 2
	r2=$(stun_probe "gw-$s2" "$T_SRV_IP" 3478 "${T_GW_WAN_IP[$s2]}:$port") || return 2
	echo "punch $s1 ($r1) <-> $s2 ($r2)"
	nsx "gw-$s1" python3 "$T_PROBE" udp-punch "${r2%:*}" "${r2#*:}" \
		--bind "${T_GW_WAN_IP[$s1]}:$port" --seconds 3 &
	p1=$!
	nsx "gw-$s2" python3 "$T_PROBE" udp-punch "${r1%:*}" "${r1#*:}" \
		--bind "${T_GW_WAN_IP[$s2]}:$port" --seconds 3 || rc2=$?
	wait "$p1" || rc1=$?
	((rc1 == 0 && rc2 == 0)) && return 0
	((rc1 <= 1 && rc2 <= 1)) || return 2
	return 1
}
# punch_fails ... : the probes ran and found no way through (not a setup error).
punch_fails() {
	local rc=0
	punch "$@" || rc=$?
	((rc == 1))
}
t_check "prc <-> prc: both gateways punch through to each other's reflexive address" \
	punch c e 41000
t_check "prc <-> sym: no hole punching to the reflexive address (TURN's case)" \
	punch_fails c d 41001

# ---- TURN from behind the symmetric NAT
relay=$(turn_probe gw-d "$T_SRV_IP" 3478 "${T_GW_WAN_IP[d]}:41002" || true)
echo "TURN from behind sym: $relay"
relay_ok() {
	[[ "$relay" =~ ^RELAYED\ ([0-9.]+):([0-9]+)\ MAPPED\ ([0-9.]+): ]] || return 1
	[[ "${BASH_REMATCH[1]}" == "$T_SRV_IP" && "${BASH_REMATCH[3]}" == "${T_PUBLIC_IP[d]}" ]]
}
t_check "sym: TURN allocates a relay on the cloud" relay_ok

# ---- ICE (control/ice) across each NAT pair, STUN and TURN from the cloud
ice_pair_bin=$(ipop_bin ipop-ice-pair)
ice_log=$(t_mkdir ice)
# ice_pair S1 S2 PORT [--relay] : prints the tool's line (SELECTED ... or FAILED ...)
ice_pair() {
	local s1=$1 s2=$2 port=$3 turn=(--turn "$T_SRV_IP:$COTURN_PORT" "$COTURN_USER" "$COTURN_PASS")
	shift 3
	[[ -z "${ICE_NO_TURN:-}" ]] || turn=()
	timeout 30 "$ice_pair_bin" "/run/netns/$(nsn "gw-$s1")" "${T_GW_WAN_IP[$s1]}" \
		"/run/netns/$(nsn "gw-$s2")" "${T_GW_WAN_IP[$s2]}" "$port" \
		--stun "$T_SRV_IP:$COTURN_PORT" "${turn[@]}" --timeout "${ICE_TIMEOUT:-15}" "$@" \
		2>>"$ice_log/$s1-$s2-$port.log" || true
}
# ice_case NAME S1 S2 PORT EXPECT [--relay] : EXPECT is a regex the types must match
ice_case() {
	local name=$1 s1=$2 s2=$3 port=$4 expect=$5 out
	shift 5
	out=$(ice_pair "$s1" "$s2" "$port" "$@")
	echo "ICE $name ($s1 ${T_NAT_MODE[$s1]} <-> $s2 ${T_NAT_MODE[$s2]}${1:+ $1}): $out"
	if [[ "$out" != SELECTED* ]]; then
		t_fail "ICE $name: both agents select a pair" "$out"
		return 0
	fi
	t_pass "ICE $name: both agents select a pair"
	if [[ "$out" =~ $expect ]]; then
		t_pass "ICE $name: the pair has the expected candidate types"
	else
		t_fail "ICE $name: the pair has the expected candidate types" "'$out' !~ /$expect/"
	fi
}
host_only=' a=host/host .* b=host/host '
no_relay=' a=(host|srflx|prflx)/(host|srflx|prflx) .* b=(host|srflx|prflx)/(host|srflx|prflx) '
to_srflx=' a=[a-z]+/srflx .* b=[a-z]+/srflx '
relayed=' a=([a-z]+/relay|relay/[a-z]+) .* b=([a-z]+/relay|relay/[a-z]+) '
# One site without NAT: both agents in gw-a, on two ports of its address.
ice_case "none-none" a a 42000 "$host_only"
ice_case "prc-prc" c e 42100 "$to_srflx"
ice_case "none-prc" a c 42200 "$no_relay"
ice_case "eim-sym" b d 42300 "$no_relay"
ice_case "prc-sym" c d 42400 "$relayed"
ice_case "sym-sym" d f 42500 "$relayed"
ice_case "prc-prc forced relay" c e 42600 ' a=relay/relay .* b=relay/relay ' --relay
out=$(ICE_NO_TURN=1 ICE_TIMEOUT=8 ice_pair c d 42700)
echo "ICE prc-sym without TURN: $out"
t_check "ICE prc-sym without TURN: no pair (only the relay crosses this pair)" \
	test "${out%% *}" = FAILED

# ---- a NAT restart and a port change give new mappings
before=$(mapping_of c 40020 "$T_SRV_IP" "$T_REFLECT_PORT")
t_check "prc: a mapping exists before the restart" test -n "$before"
nat_flush c
after=$(mapping_of c 40020 "$T_SRV_IP" "$T_REFLECT_PORT")
echo "prc restart: $before -> $after"
t_check "prc: after a NAT restart the same inside port gets another public port" \
	differ_nonempty "$before" "$after"
nat_move_ports c
moved=$(mapping_of c 40020 "$T_SRV_IP" "$T_REFLECT_PORT")
echo "prc port change: $after -> $moved (range from ${T_NAT_PORT_BASE[c]})"
t_check "prc: after a port change the public port is in the new range" \
	nat_port_in_range c "${moved#*:}"
t_check "prc: the moved NAT still keeps one mapping for two destinations" \
	same_nonempty "$moved" "$(mapping_of c 40020 "$T_SRV_IP2" "$T_REFLECT_PORT2")"
eim_before=$(mapping_of b 40020 "$T_SRV_IP" "$T_REFLECT_PORT")
nat_move_ports b
t_check "eim: after a port change the public port is in the new range" \
	nat_port_in_range b "$(mapping_of b 40020 "$T_SRV_IP" "$T_REFLECT_PORT" | cut -d: -f2)"
t_check "eim: filtering still lets an unsolicited port in after the change" \
	nat_poked gw-b "${T_GW_WAN_IP[b]}:40021"
echo "eim port change: $eim_before -> $(mapping_of b 40020 "$T_SRV_IP" "$T_REFLECT_PORT")"

t_summary
