# ipop.sh - running real ipopd gateways in the netns testbed. Sourced after lib.sh
# by the integration tests and the demo.
#
#   gw_setup SITE          keys, guard rules and facts for the gateway of SITE
#   gw_config SITE [EXTRA] write SITE's config; peers are the other sites given by
#                          GW_PEERS[SITE] ("b c"), or the lines of the file
#                          GW_PEERFILE[SITE] ("NAME PUBLIC_KEY IP:PORT": peers that
#                          are not gateways of the testbed); EXTRA is appended verbatim
#   gw_start SITE / gw_stop SITE [SIG] / gw_kill SITE
#   gw_json SITE / gw_get SITE PYEXPR / gw_wait_peer SITE PEER STATE TIMEOUT_S
#   gw_signal_block SITE PW  a signal { } group (XMPP signalling) for gw_config's EXTRA
#   gw_wan_tap_bridge SITE   with GW_WAN_TAP[SITE]=NAME the WAN is a net_tap named NAME
#                          instead of af_packet on `wan`: after gw_start, this bridges
#                          NAME with `wan` in the kernel (frames pass whole: no
#                          reassembly before DPDK, unlike af_packet)
#
# Two busy pollers on one CPU collapse (machine-notes), so sites alternate their
# workers between the two CPUs and every gateway runs with idle back-off. Knobs:
# GW_WORKERS (1 or 2), GW_CIPHER[SITE], GW_KEEPALIVE, GW_DEAD_AFTER, GW_REKEY_AFTER,
# GW_REKEY_PACKETS, GW_REJECT_AFTER, GW_LOG_LEVEL, GW_OVERLAY, GW_NO_LAN[SITE]=1 (no LAN
# port: endpoint mode only), GW_EAL_MB (EAL -m, 128), GW_MBUFS (4095), GW_IDLE_MAX_US and
# GW_IDLE_RECENT_US (dpdk.idle_sleep_max_us / idle_sleep_recent_us; unset: the defaults),
# GW_IDLE_WAIT[SITE] or, for every site, GW_IDLE_WAIT_DEFAULT (dpdk.idle_wait: true,
# false or '"auto"'; unset: the default, on here: these are light-mode gateways),
# GW_AFP_ARGS (extra net_af_packet vdev arguments for both ports, e.g.
# "framecnt=512": ring sizes; unset: ipopd's defaults), GW_EAL_LOG (the EAL's
# --log-level; unset: "*:error"; empty: none, DPDK's own levels).
# shellcheck disable=SC2034

declare -gA GW_KEY=() GW_PUB=() GW_CONF=() GW_SOCK=() GW_LOG=() GW_PID=() GW_PEERS=()
declare -gA GW_LCORES=() GW_PEERFILE=()
GW_PORT=5800

_gw_dir() {
	local d="$T_TMP/gw-$1"
	mkdir -p "$d" && echo "$d"
}

# gw_guard SITE : af_packet gives DPDK a copy of each frame, but the kernel still
# receives it too and, by the weak host model, would answer packets for the WAN
# address (held by ipopd's TAP) with ICMP port unreachable. A netdev ingress hook
# runs after the packet taps, so dropping there leaves DPDK's copy intact.
gw_guard() {
	nsx "gw-$1" nft -f - <<'NFT'
table netdev ipopguard {
	chain wan { type filter hook ingress device "wan" priority 0; policy drop; }
	chain lan { type filter hook ingress device "lan" priority 0; policy drop; }
}
NFT
}

gw_setup() {
	local l=$1 d
	d=$(_gw_dir "$l") || return 1
	GW_KEY[$l]="$d/node.key"
	GW_CONF[$l]="$d/ipopd.conf"
	GW_SOCK[$l]="$d/api.sock"
	GW_LOG[$l]="$d/ipopd.log"
	rm -f "${GW_KEY[$l]}"
	GW_PUB[$l]=$("$(ipop_bin ipopctl)" genkey -o "${GW_KEY[$l]}") || return 1
	local idx=${T_SITE_IDX[$l]}
	if [[ -n "${GW_LCORES_ALL:-}" ]]; then
		GW_LCORES[$l]=$GW_LCORES_ALL   # e.g. "0@(0-1),1@(0-1)": threads not pinned
	elif ((idx % 2)); then GW_LCORES[$l]="0@0,1@1,2@0"; else GW_LCORES[$l]="0@1,1@0,2@1"; fi
	gw_guard "$l"
}

# gw_config SITE [EXTRA_LINES] : static peers from GW_PEERS[SITE] or GW_PEERFILE[SITE].
gw_config() {
	local l=$1 extra=${2:-} p peers="" name pub ep eal_log="" log_level=${GW_EAL_LOG-*:error}
	[[ -z "$log_level" ]] || eal_log=", \"--log-level=$log_level\""
	for p in ${GW_PEERS[$l]:-}; do
		peers+="  { name = \"gw-$p\"; public_key = \"${GW_PUB[$p]}\"; endpoint = \"${T_PUBLIC_IP[$p]}:$GW_PORT\"; },"$'\n'
	done
	if [[ -n "${GW_PEERFILE[$l]:-}" ]]; then
		while read -r name pub ep; do
			[[ -n "$name" ]] || continue
			peers+="  { name = \"$name\"; public_key = \"$pub\"; endpoint = \"$ep\"; },"$'\n'
		done <"${GW_PEERFILE[$l]}" || return 1
	fi
	peers=${peers%,$'\n'}
	cat >"${GW_CONF[$l]}" <<CONF
# written by tests/netns/ipop.sh for site $l
node: {
  name = "gw-$l";
  overlay = "${GW_OVERLAY:-testnet}";
  key_file = "${GW_KEY[$l]}";
  cipher = "${GW_CIPHER[$l]:-aes-256-gcm}";
};
dpdk: {
  eal = [ "--no-pci", "--no-huge", "--no-shconf", "-m", "${GW_EAL_MB:-128}", "--no-telemetry",
          "--lcores=${GW_LCORES[$l]}"$eal_log ];
  workers = ${GW_WORKERS:-1};
  mbufs = ${GW_MBUFS:-4095};
  aead_code_path = "${GW_AEAD_PATH[$l]:-auto}";
${GW_IDLE_MAX_US:+  idle_sleep_max_us = $GW_IDLE_MAX_US;}
${GW_IDLE_RECENT_US:+  idle_sleep_recent_us = $GW_IDLE_RECENT_US;}
$(w=${GW_IDLE_WAIT[$l]:-${GW_IDLE_WAIT_DEFAULT:-}}; [[ -z "$w" ]] || echo "  idle_wait = $w;")
};
$( ((${GW_NO_LAN[$l]:-0})) || echo "lan: { device = \"net_af_packet_lan,iface=lan${GW_AFP_ARGS:+,$GW_AFP_ARGS}\"; };" )
wan: {
  device = "$(_gw_wan_dev "$l")";
  address = "${T_GW_WAN_CIDR[$l]}";
  gateway = "${T_GW_WAN_GW[$l]}";
  port = $GW_PORT;
};
timers: {
  keepalive = ${GW_KEEPALIVE:-2};
  dead_after = ${GW_DEAD_AFTER:-6};
  rekey_after = ${GW_REKEY_AFTER:-120};
  rekey_after_packets = ${GW_REKEY_PACKETS:-1000000000}L;
  reject_after = ${GW_REJECT_AFTER:-180};
  handshake_retry_ms = 500;
};
control: { api_socket = "${GW_SOCK[$l]}"; log_level = "${GW_LOG_LEVEL:-info}"; };
$extra
peers = (
$peers
);
CONF
}

declare -gA GW_CIPHER=() GW_NO_LAN=() GW_AEAD_PATH=() GW_IDLE_WAIT=() GW_WAN_TAP=()

_gw_wan_dev() {
	if [[ -n "${GW_WAN_TAP[$1]:-}" ]]; then
		echo "net_tap_wan,iface=${GW_WAN_TAP[$1]}"
	else
		echo "net_af_packet_wan,iface=wan${GW_AFP_ARGS:+,$GW_AFP_ARGS}"
	fi
}

# gw_wan_tap_bridge SITE : join the WAN TAP ipopd created to the `wan` veth with a
# kernel bridge (no address, so the kernel only forwards); gw_guard's drop on
# `wan` goes, or the bridge would never see a frame. The TAP's kernel side
# starts with the MAC DPDK uses: as a bridge port's own address the bridge
# would keep every frame for ipopd to itself, so it gets another one.
gw_wan_tap_bridge() {
	local l=$1 tap=${GW_WAN_TAP[$1]:-}
	[[ -n "$tap" ]] || return 1
	wait_until 15 nsx "gw-$l" ip link show dev "$tap" || return 1
	nsx "gw-$l" nft delete chain netdev ipopguard wan || return 1
	nsx "gw-$l" ip link set dev "$tap" address "02:00:00:00:fe:$(printf %02x "${T_SITE_IDX[$l]}")" || return 1
	nsx "gw-$l" ip link add br-wan type bridge forward_delay 0 stp_state 0 || return 1
	nsx "gw-$l" ip link set dev wan master br-wan || return 1
	nsx "gw-$l" ip link set dev "$tap" master br-wan || return 1
	nsx "gw-$l" ip link set dev "$tap" up || return 1
	nsx "gw-$l" ip link set dev br-wan up
}

# gw_signal_block SITE PASSWORD : a signal { } group for EXTRA in gw_config; the
# site's JID is gw-SITE@$GW_XMPP_DOMAIN on the srv namespace's Prosody. Knobs:
# GW_XMPP_DOMAIN (ipop.test), GW_XMPP_TLS (true: STARTTLS, trusting the test CA),
# GW_OFFLINE_GRACE, GW_LINK_TIMEOUT. Leave GW_PEERS[SITE] empty for no static peers.
gw_signal_block() {
	local l=$1 pw=$2 tls=${GW_XMPP_TLS:-true} trust=""
	[[ "$tls" == true ]] && trust=" tls_trust = true;"
	printf 'signal: { jid = "gw-%s@%s"; password = "%s"; server = "%s"; port = 5222; tls = %s;%s offline_grace = %s; link_timeout = %s; };\n' \
		"$l" "${GW_XMPP_DOMAIN:-ipop.test}" "$pw" "$T_SRV_IP" "$tls" "$trust" \
		"${GW_OFFLINE_GRACE:-3}" "${GW_LINK_TIMEOUT:-8}"
}

gw_start() {
	local l=$1
	bg_start "gw-$l" "${GW_LOG[$l]}" "$(ipop_bin ipopd)" -c "${GW_CONF[$l]}" || return 1
	GW_PID[$l]=$BG_PID
	wait_until 15 test -S "${GW_SOCK[$l]}"
}

gw_stop() {
	local l=$1
	[[ -n "${GW_PID[$l]:-}" ]] || return 0
	bg_stop "${GW_PID[$l]}" 10
	GW_PID[$l]=""
}

# gw_kill SITE : SIGKILL, as a crash would.
gw_kill() {
	local l=$1
	[[ -n "${GW_PID[$l]:-}" ]] || return 0
	kill -KILL "${GW_PID[$l]}" 2>/dev/null
	wait_until 5 bash -c "! kill -0 ${GW_PID[$l]} 2>/dev/null"
	bg_stop "${GW_PID[$l]}" 1 >/dev/null 2>&1
	GW_PID[$l]=""
}

gw_json() {
	"$(ipop_bin ipopctl)" -s "${GW_SOCK[$1]}" show --json
}

# gw_get SITE EXPR : evaluate a Python expression over the node's JSON as 'd'
# (e.g. "d['dataplane']['drops']['wan_replay']"); peers by name via p('gw-b').
gw_get() {
	gw_json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def p(name):
    return next(x for x in d["peers"] if x["name"] == name)
print(eval(sys.argv[1]))' "$2"
}

gw_peer_is() {
	[[ "$(gw_get "$1" "p('gw-$2')['state']" 2>/dev/null)" == "$3" ]]
}

# gw_wait_peer SITE PEER STATE TIMEOUT_S
gw_wait_peer() {
	wait_until "$4" gw_peer_is "$1" "$2" "$3"
}
