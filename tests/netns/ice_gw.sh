# ice_gw.sh - helpers for tests and benchmarks that run signalled ipopd gateways
# behind the NAT testbed (tests/netns/nat.sh): a link's fields from `show`, the
# time from both gateways' XMPP login to the first ping crossing. Sourced after
# lib.sh, ipop.sh and nat.sh; the caller sets DOMAIN (the XMPP domain).

# ice_cloud SITE... : the cloud (coturn, and Prosody with gw-SITE@DOMAIN of each
# site as the shared roster group "testnet"), and for each site an account
# gw-SITE with password pw-SITE and ipopd's files (gw_setup); each step a
# t_require. The caller writes each gateway's configuration.
ice_cloud() {
	local l
	prosody_groups < <(roster_group testnet "$DOMAIN" "${@/#/gw-}") || return 1
	t_require "the cloud runs coturn and Prosody" nat_cloud prosody
	for l in "$@"; do
		t_require "account gw-$l" prosody_adduser "gw-$l" "$DOMAIN" "pw-$l"
		t_require "gateway $l set up" gw_setup "$l"
	done
}

# link_get SITE MEMBER EXPR : EXPR (python, over the link x) of gw-SITE's link
# to gw-MEMBER, or "none" when there is no such link.
link_get() {
	gw_get "$1" "next((str($3) for x in d.get('links', []) if x['member'] == 'gw-$2@$DOMAIN'), 'none')"
}
link_is() { [[ "$(link_get "$1" "$2" "x['state']" 2>/dev/null)" == "$3" ]]; }
online() { [[ "$(gw_get "$1" "d['signalling']['state']" 2>/dev/null)" == online ]]; }
pings() { nsx "host-$1" ping -c1 -W1 "${T_HOST_IP[$2]}" >/dev/null 2>&1; }
matches() { [[ "$1" =~ ^($2)$ ]]; }

# first_ping FROM TO : the time (epoch ms) the first ping from host-FROM to
# host-TO was answered: one every 20 ms until one is, 20 s at most. The hosts
# know each other's MAC (static neighbour entries), so an ARP request lost
# before the tunnel was up cannot add the kernel's 1 s ARP retry to the figure.
first_ping() {
	nsx "host-$1" ip neigh replace "${T_HOST_IP[$2]}" lladdr "${T_HOST_MAC[$2]}" dev eth0 &&
		nsx "host-$1" ping -c1 -i 0.02 -w 20 "${T_HOST_IP[$2]}" >/dev/null 2>&1 && _t_now_ms
}

# login_ms SITE : when gw-SITE logged in to XMPP (epoch ms, from its log).
login_ms() {
	local t
	t=$(grep -m1 'signal: logged in as' "${GW_LOG[$1]}" | cut -d' ' -f1) || return 1
	[[ -n "$t" ]] && echo "${t//./}"
}

# report_first_ping LABEL FROM TO : the first ping's time since both gateways
# were online (the later login), printed and left in FIRST_PING_MS; fails
# without a ping.
report_first_ping() {
	local tp la lb
	tp=$(first_ping "$2" "$3") || return 1
	wait_until 15 online "$2" && wait_until 15 online "$3" || return 1
	la=$(login_ms "$2") && lb=$(login_ms "$3") || return 1
	((la > lb)) || la=$lb
	echo "$1: both gateways online (XMPP login) to the first ping crossing: $((tp - la)) ms"
	FIRST_PING_MS=$((tp - la))
}
