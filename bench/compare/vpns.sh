# vpns.sh - how bench/compare_vpns.sh brings up each candidate between gw-a and gw-b
# of the netns testbed (tests/netns/lib.sh topo_pair). Sourced after lib.sh and
# ipop.sh; bash only; test infrastructure, never on ipop's fast path.
#
# Each vpn_up_NAME configures a fresh topology and sets:
#   CMP_DST      host-b's address, the iperf3/ping target from host-a
#   CMP_MODE     "L2 bridged" or "L3 routed" (what the hosts see)
#   CMP_CIPHER   the data-channel crypto in use
#   CMP_EXTRA    pids of VPN processes outside gw-a/gw-b (n2n's supernode)
#   CMP_NOTE     anything a reader of the table must know
# and returns non-zero if the VPN could not be brought up. Optional hooks:
# vpn_down_NAME (tidy what lives outside the namespaces) and vpn_extra_NAME DIR (one
# more measurement after the standard ones). The processes it starts
# are tracked by lib.sh (bg_start), so bench/compare_vpns.sh's topology reset and
# lib.sh's exit trap stop them by pid.
#
# Addresses (lib.sh's map plus these):
#   L2 candidates keep lib.sh's hosts: 10.200.0.1 (host-a) and 10.200.0.2 (host-b) in
#     one subnet; each gateway bridges lan with its tap in br0 and holds its WAN
#     address 10.91.I.2/24 on wan.
#   L3 candidates re-address the hosts: host-L 10.201.I.10/24 via gw-L 10.201.I.1
#     (on lan); tunnel addresses 10.202.0.I/24; each gateway routes the other site's
#     10.201.J.0/24 into the tunnel.
# shellcheck shell=bash disable=SC2034

CMP_MTU=${CMP_MTU:-1400}        # every tunnel interface; equals the hosts' MTU
CMP_KEYDIR=""

# _cmp_dir NAME : a fresh private directory for one candidate's keys, configs and
# logs (fresh each round: nebula-cert, for one, refuses to overwrite a CA key).
_cmp_dir() {
	local d
	d=$(mktemp -d "$T_TMP/$1.XXXX") && chmod 700 "$d" && echo "$d"
}

_cmp_other() { [[ "$1" == a ]] && echo b || echo a; }

# _cmp_wait_link NS IF : the daemon created its interface.
_cmp_wait_link() {
	wait_until 15 ip -n "$(nsn "$1")" link show dev "$2"
}

# l3_hosts : re-address the hosts for a routed candidate; gateways forward.
l3_hosts() {
	local l i
	for l in a b; do
		i=${T_SITE_IDX[$l]}
		ip -n "$(nsn "host-$l")" addr flush dev eth0 || return 1
		addr_add "host-$l" eth0 "10.201.$i.10/24" || return 1
		route_add "host-$l" default "10.201.$i.1" || return 1
		addr_add "gw-$l" lan "10.201.$i.1/24" || return 1
		router_enable "gw-$l" || return 1
		gw_kernel_wan "$l" wan || return 1
	done
	CMP_DST=10.201.2.10
	CMP_MODE="L3 routed"
}

# l2_bridge SITE TAP : put the VPN's tap into the gateway's bridge with lan.
l2_bridge() {
	local g
	g=$(nsn "gw-$1")
	_cmp_wait_link "gw-$1" "$2" || {
		_t_log "vpns.sh: no interface $2 in gw-$1"
		return 1
	}
	ip -n "$g" link set dev "$2" mtu "$CMP_MTU" || return 1
	ip -n "$g" addr flush dev "$2" || return 1
	ip -n "$g" link set dev "$2" master br0 || return 1
	ip -n "$g" link set dev "$2" up
}

# l2_gateways : bridge br0 with lan on both gateways, WAN address on wan.
l2_gateways() {
	local l g
	for l in a b; do
		g=$(nsn "gw-$l")
		gw_kernel_wan "$l" wan || return 1
		ip -n "$g" link add br0 type bridge || return 1
		ip -n "$g" link set dev lan master br0 || return 1
		ip -n "$g" link set dev br0 up || return 1
	done
	CMP_DST=${T_HOST_IP[b]}
	CMP_MODE="L2 bridged"
}

# ---------------------------------------------------------------- plain forwarding

vpn_up_plain() {
	l3_hosts || return 1
	route_add router 10.201.1.0/24 "${T_GW_WAN_IP[a]}" || return 1
	route_add router 10.201.2.0/24 "${T_GW_WAN_IP[b]}" || return 1
	CMP_CIPHER="none"
	CMP_NOTE="kernel IP forwarding, no tunnel: the upper bound"
}

# ---------------------------------------------------------------- ipop

vpn_up_ipop() {
	local l
	# One worker per gateway: two gateways' pollers already fill the two vCPUs.
	GW_WORKERS=1
	GW_PEERS[a]="b"
	GW_PEERS[b]="a"
	gw_setup a && gw_setup b || return 1
	if [[ "${CMP_TOPO:-bridged}" == endpoint ]]; then
		GW_NO_LAN[a]=1
		GW_NO_LAN[b]=1
		for l in a b; do
			gw_config "$l" "host: { enabled = true; tap = \"ipop0\"; address = \"10.204.0.${T_SITE_IDX[$l]}/24\"; offload = ${CMP_IPOP_OFFLOAD:-true}; };" ||
				return 1
		done
	else
		gw_config a && gw_config b || return 1
	fi
	gw_start a && gw_start b || return 1
	gw_wait_peer a b up 20 || return 1
	CMP_DST=${T_HOST_IP[b]}
	CMP_MODE="L2 bridged"
	CMP_CIPHER="AES-256-GCM"
	CMP_NOTE="ipopd, 1 worker lcore per gateway (pinned, busy-polling with idle back-off), net_af_packet ports, --no-huge"
}

# ---------------------------------------------------------------- wireguard-go

# The userspace API socket lives in /var/run/wireguard, which namespaces share:
# names carry this run's id so concurrent runs do not collide.
_wg_if() { echo "wg${T_ID}$1"; }

vpn_up_wireguard_go() {
	local l o d i j
	l3_hosts || return 1
	d=$(_cmp_dir wg) || return 1
	for l in a b; do
		(umask 077 && wg genkey >"$d/$l.key") || return 1
		wg pubkey <"$d/$l.key" >"$d/$l.pub" || return 1
		bg_start "gw-$l" "$d/$l.log" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$(_wg_if "$l")" ||
			return 1
	done
	for l in a b; do
		o=$(_cmp_other "$l")
		i=${T_SITE_IDX[$l]}
		j=${T_SITE_IDX[$o]}
		wait_until 10 test -S "/var/run/wireguard/$(_wg_if "$l").sock" || return 1
		nsx "gw-$l" wg set "$(_wg_if "$l")" private-key "$d/$l.key" listen-port 51820 \
			peer "$(<"$d/$o.pub")" endpoint "${T_GW_WAN_IP[$o]}:51820" \
			allowed-ips "10.202.0.$j/32,10.201.$j.0/24" || return 1
		ip -n "$(nsn "gw-$l")" addr add "10.202.0.$i/24" dev "$(_wg_if "$l")" || return 1
		ip -n "$(nsn "gw-$l")" link set dev "$(_wg_if "$l")" mtu 1420 up || return 1
		route_add "gw-$l" "10.201.$j.0/24" "10.202.0.$j" "$(_wg_if "$l")" || return 1
	done
	CMP_CIPHER="ChaCha20-Poly1305"
	CMP_NOTE="wireguard-go (no kernel WireGuard here), tun MTU 1420"
}

vpn_down_wireguard_go() {
	rm -f "/var/run/wireguard/$(_wg_if a).sock" "/var/run/wireguard/$(_wg_if b).sock"
}

# ---------------------------------------------------------------- nebula

_nebula_conf() {
	local l=$1 d=$2 o i j
	o=$(_cmp_other "$l")
	i=${T_SITE_IDX[$l]}
	j=${T_SITE_IDX[$o]}
	cat >"$d/$l.yml" <<EOF
pki:
  ca: $d/ca.crt
  cert: $d/$l.crt
  key: $d/$l.key
static_host_map:
  "10.202.0.$j": ["${T_GW_WAN_IP[$o]}:4242"]
lighthouse:
  am_lighthouse: false
  hosts: []
listen:
  host: ${T_GW_WAN_IP[$l]}
  port: 4242
punchy:
  punch: false
cipher: aes
tun:
  disabled: false
  dev: nebula1
  mtu: $CMP_MTU
  tx_queue: 500
  routes: []
  unsafe_routes:
    - route: 10.201.$j.0/24
      via: 10.202.0.$j
logging:
  level: warning
  format: text
firewall:
  outbound:
    - port: any
      proto: any
      host: any
  inbound:
    - port: any
      proto: any
      host: any
EOF
}

vpn_up_nebula() {
	local l d i
	l3_hosts || return 1
	d=$(_cmp_dir nebula) || return 1
	nebula-cert ca -name "ipop-compare" -duration 24h -out-crt "$d/ca.crt" -out-key "$d/ca.key" \
		>/dev/null || return 1
	for l in a b; do
		i=${T_SITE_IDX[$l]}
		nebula-cert sign -ca-crt "$d/ca.crt" -ca-key "$d/ca.key" -name "gw-$l" \
			-ip "10.202.0.$i/24" -subnets "10.201.$i.0/24" \
			-out-crt "$d/$l.crt" -out-key "$d/$l.key" >/dev/null || return 1
		_nebula_conf "$l" "$d" || return 1
		bg_start "gw-$l" "$d/$l.log" nebula -config "$d/$l.yml" || return 1
	done
	_cmp_wait_link gw-a nebula1 && _cmp_wait_link gw-b nebula1 || return 1
	CMP_CIPHER="AES-256-GCM"
	CMP_NOTE="nebula, static host map (no lighthouse), unsafe_routes for the host subnets"
}

# ---------------------------------------------------------------- tinc (switch mode)

_tinc_host() {
	local l=$1 d=$2
	cat >"$d/$l/hosts/gw$l" <<EOF
Address = ${T_GW_WAN_IP[$l]}
Port = 655
Cipher = aes-256-cbc
Digest = sha256
MACLength = 16
PMTUDiscovery = no
EOF
}

vpn_up_tinc() {
	local l o d
	l2_gateways || return 1
	d=$(_cmp_dir tinc) || return 1
	for l in a b; do
		mkdir -p "$d/$l/hosts" || return 1
		cat >"$d/$l/tinc.conf" <<EOF
Name = gw$l
Mode = switch
DeviceType = tap
Interface = tinc0
AddressFamily = ipv4
BindToAddress = ${T_GW_WAN_IP[$l]}
EOF
		[[ "$l" == a ]] && echo "ConnectTo = gwb" >>"$d/$l/tinc.conf"
		_tinc_host "$l" "$d" || return 1
		tincd -c "$d/$l" -K 2048 </dev/null >/dev/null 2>&1 || return 1
	done
	for l in a b; do
		o=$(_cmp_other "$l")
		cp "$d/$o/hosts/gw$o" "$d/$l/hosts/gw$o" || return 1
	done
	for l in a b; do
		bg_start "gw-$l" "$d/$l.log" tincd -c "$d/$l" -D -d1 --pidfile="$d/$l.pid" \
			--logfile="$d/$l/tinc.log" || return 1
	done
	l2_bridge a tinc0 && l2_bridge b tinc0 || return 1
	CMP_CIPHER="AES-256-CBC + HMAC-SHA256 (16-byte MAC)"
	CMP_NOTE="tinc 1.0 switch mode; PMTUDiscovery off (frames fit: no TCP fallback while probing); defaults would be Blowfish + 4-byte SHA1 MAC"
}

# ---------------------------------------------------------------- OpenVPN (tap)

vpn_up_openvpn() {
	local l o d role fp
	l2_gateways || return 1
	d=$(_cmp_dir openvpn) || return 1
	for l in a b; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj "/CN=gw-$l" -keyout "$d/$l.key" -out "$d/$l.crt" >/dev/null 2>&1 || return 1
	done
	for l in a b; do
		o=$(_cmp_other "$l")
		fp=$(openssl x509 -in "$d/$o.crt" -noout -fingerprint -sha256 | cut -d= -f2) || return 1
		if [[ "$l" == a ]]; then role=(--tls-server --dh none); else role=(--tls-client); fi
		bg_start "gw-$l" "$d/$l.log" openvpn --dev tap0 --dev-type tap --proto udp \
			--local "${T_GW_WAN_IP[$l]}" --lport 1194 --remote "${T_GW_WAN_IP[$o]}" 1194 \
			"${role[@]}" --cert "$d/$l.crt" --key "$d/$l.key" --peer-fingerprint "$fp" \
			--data-ciphers AES-256-GCM --disable-dco --ping 5 --ping-restart 30 \
			--script-security 1 --verb 3 --mute-replay-warnings || return 1
	done
	l2_bridge a tap0 && l2_bridge b tap0 || return 1
	wait_until 20 grep -q 'Initialization Sequence Completed' "$d/a.log" || return 1
	CMP_CIPHER="AES-256-GCM (TLS 1.3 control channel)"
	CMP_NOTE="OpenVPN 2.6 p2p TLS with self-signed certs pinned by --peer-fingerprint; no DCO module here"
}

# ---------------------------------------------------------------- n2n

vpn_up_n2n() {
	local l d i
	l2_gateways || return 1
	d=$(_cmp_dir n2n) || return 1
	bg_start srv "$d/supernode.log" supernode -l 7654 || return 1
	CMP_EXTRA=$BG_PID
	# The key goes through the environment, not argv (ps would show it).
	head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$d/key" || return 1
	for l in a b; do
		i=${T_SITE_IDX[$l]}
		bg_start "gw-$l" "$d/$l.log" env N2N_KEY="$(<"$d/key")" edge -d n2n0 \
			-a "10.203.0.$i" -s 255.255.255.0 -c ipopcmp -l "$T_SRV_IP:7654" -p 7655 -r \
			-M "$CMP_MTU" || return 1
	done
	l2_bridge a n2n0 && l2_bridge b n2n0 || return 1
	CMP_CIPHER="Twofish (n2n v1)"
	CMP_NOTE="n2n 1.3 (Debian's is v1): edges register with a supernode in srv; edge -r to bridge other MACs"
}

# ---------------------------------------------------------------- fastd (tap)

vpn_up_fastd() {
	local l o d out
	l2_gateways || return 1
	d=$(_cmp_dir fastd) || return 1
	for l in a b; do
		out=$(fastd --generate-key 2>/dev/null) || return 1
		sed -n 's/^Secret: //p' <<<"$out" >"$d/$l.secret"
		sed -n 's/^Public: //p' <<<"$out" >"$d/$l.pub"
	done
	for l in a b; do
		o=$(_cmp_other "$l")
		cat >"$d/$l.conf" <<EOF
log level warn;
bind ${T_GW_WAN_IP[$l]}:10000;
mode tap;
interface "fastd0";
method "${CMP_FASTD_METHOD:-aes128-ctr+umac}";
secret "$(<"$d/$l.secret")";
mtu $CMP_MTU;
peer "gw$o" {
  key "$(<"$d/$o.pub")";
  remote ${T_GW_WAN_IP[$o]}:10000;
}
EOF
		bg_start "gw-$l" "$d/$l.log" fastd -c "$d/$l.conf" || return 1
	done
	l2_bridge a fastd0 && l2_bridge b fastd0 || return 1
	CMP_CIPHER="${CMP_FASTD_METHOD:-aes128-ctr+umac}"
	CMP_NOTE="fastd tap mode; the method fastd recommends with AES-NI"
}

# ---------------------------------------------------------------- plain, offloads on

# The testbed turns TX checksum offload off on every veth (ipop's af_packet ports
# need it, machine-notes), which also turns off TSO and GSO, so "plain" forwards
# MTU-sized packets one by one. This row shows what the kernel does with them on:
# a reference for the reader, not a candidate (tunnels segment anyway).
vpn_up_plain_gso() {
	local l
	for l in a b; do
		nsx "host-$l" ethtool -K eth0 tx on >/dev/null || return 1
		nsx "gw-$l" ethtool -K lan tx on >/dev/null || return 1
		nsx "gw-$l" ethtool -K wan tx on >/dev/null || return 1
		nsx router ethtool -K "s${T_SITE_IDX[$l]}" tx on >/dev/null || return 1
	done
	vpn_up_plain || return 1
	CMP_NOTE="plain forwarding with TX checksum offload, TSO and GSO back on (every other row has them off)"
}

# endpoint_dst NAME : with --topology endpoint, the address on gw-b that gw-a
# measures, over the VPN's own interface (see compare_vpns.sh); a no-op otherwise.
endpoint_dst() {
	local l j=${T_SITE_IDX[b]}
	[[ "${CMP_TOPO:-bridged}" == endpoint ]] || return 0
	CMP_SRC=gw-a
	CMP_SRV=gw-b
	case "$1" in
	plain | plain-gso) CMP_DST=${T_GW_WAN_IP[b]} ;;
	wireguard-go | nebula) CMP_DST=10.202.0.$j ;;
	ipop) CMP_DST=10.204.0.$j ;;
	*)
		for l in a b; do
			addr_add "gw-$l" br0 "10.204.0.${T_SITE_IDX[$l]}/24" || return 1
		done
		CMP_DST=10.204.0.$j
		;;
	esac
	CMP_MODE="endpoint ($CMP_MODE)"
}

# vpn_extra_ipop DIR : after the measurements, the ping again with the workers'
# idle back-off off (dpdk.idle_sleep_max_us = 0, pure polling), to show how much
# of ipop's RTT is the sleeping worker. Ping only: two pure pollers own both vCPUs.
vpn_extra_ipop() {
	local d=$1 l
	gw_stop a && gw_stop b || return 1
	for l in a b; do
		sed -i 's/^\(  workers = [0-9]*;\)$/\1\n  idle_sleep_max_us = 0;/' "${GW_CONF[$l]}" || return 1
		grep -q 'idle_sleep_max_us = 0;' "${GW_CONF[$l]}" || return 1
	done
	gw_start a && gw_start b || return 1
	gw_wait_peer a b up 20 || return 1
	wait_until 10 nsx host-a ping -c 1 -W 1 "$CMP_DST" || return 1
	nsx host-a ping -q -c 50 -i 0.05 -W 1 "$CMP_DST" >"$d/ping_nosleep.txt" 2>&1
}
