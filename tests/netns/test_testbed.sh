#!/usr/bin/env bash
# test_testbed.sh - proves the netns testbed (lib.sh) itself, before any ipopd exists:
# topologies, NAT behaviour (cone and symmetric), Prosody, coturn, process control
# and cleanup. Kernel VXLAN bridges stand in for the gateways so that real frames
# cross the same plumbing ipopd will own.
# ipop-timeout: 180
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ms_since() { echo $(($(_t_now_ms) - $1)); }

# ---- topology: a and b plain, c behind a cone NAT, d behind a symmetric NAT
t0=$(_t_now_ms)
topo_pair none none
site_add c 3 cone
site_add d 4 symmetric
echo "topology of $(t_leftovers | wc -l) namespaces built in $(ms_since "$t0") ms"
t_eq "router, srv, 4 hosts, 4 gateways and 2 NAT boxes exist" 12 "$(t_leftovers | wc -l)"

no_ipv4() { ! ip -n "$(nsn "$1")" -4 addr show dev "$2" | grep -q inet; }
tx_csum_off() { nsx "$1" ethtool -k "$2" | grep -E '^\s*tx-checksum-ip-generic: off' >/dev/null; }
t_check "gw-a lan carries no IPv4 address (DPDK owns it)" no_ipv4 gw-a lan
t_check "gw-c wan carries no IPv4 address (DPDK owns it)" no_ipv4 gw-c wan
t_check "host-a eth0 sends full checksums towards DPDK" tx_csum_off host-a eth0
t_check "router s1 sends full checksums towards DPDK" tx_csum_off router s1
t_check "nat-c lan sends full checksums towards DPDK" tx_csum_off nat-c lan
t_eq "host-b has its planned MAC" "${T_HOST_MAC[b]}" \
	"$(nsx host-b cat /sys/class/net/eth0/address)"

# ---- stand-in gateways: plumbing carries an L2 overlay between host-a and host-b
gw_standin_bridge a b
gw_standin_bridge b a
t_wait "gw-a reaches the router" 5 nsx gw-a ping -c1 -W1 10.91.1.1
t_wait "gw-a reaches srv across the router" 5 nsx gw-a ping -c1 -W1 "$T_SRV_IP"
t_wait "host-a pings host-b over the bridged overlay" 10 nsx host-a ping -c1 -W1 "${T_HOST_IP[b]}"
arp_mac() {
	nsx host-a arping -c1 -w2 -I eth0 "${T_HOST_IP[b]}" |
		sed -n 's/.*reply from [0-9.]* \[\([0-9A-Fa-f:]*\)\].*/\1/p' | tr 'A-F' 'a-f' | head -n1
}
t_eq "host-a learns host-b's MAC by ARP across the overlay" "${T_HOST_MAC[b]}" "$(arp_mac)"
t_check "a full-size frame (1400 B MTU, DF) crosses" \
	nsx host-a ping -c1 -W2 -M "do" -s $((TOPO_HOST_MTU - 28)) "${T_HOST_IP[b]}"
cap=$(t_mkdir cap)/lan-b.pcap
t_require "tcpdump starts on gw-b's lan" cap_start gw-b lan "$cap" arp
nsx host-a ip neigh flush dev eth0
nsx host-a arping -c3 -w4 -I eth0 "${T_HOST_IP[b]}" >/dev/null || true
cap_stop "$CAP_PID"
# iputils arping broadcasts its first request and unicasts the rest.
t_eq "all 3 ARP requests from host-a reach gw-b's lan" 3 \
	"$(cap_count "$cap" "arp[6:2] = 1 and ether src ${T_HOST_MAC[a]}")"
t_eq "exactly one of them is a broadcast" 1 \
	"$(cap_count "$cap" "arp[6:2] = 1 and ether dst ff:ff:ff:ff:ff:ff")"
t_require "iperf3 server on host-b" iperf_server host-b "${T_HOST_IP[b]}"
mbps=$(iperf_mbps host-a "${T_HOST_IP[b]}" 2 || echo 0)
echo "iperf3 TCP host-a -> host-b through the VXLAN stand-in: $mbps Mbit/s"
t_check "TCP flows host-a -> host-b (iperf3 > 10 Mbit/s)" test "$mbps" -gt 10
t_check_not "host-a has no route to the underlay" nsx host-a ping -c1 -W1 10.91.1.1
t_check_not "host-c is not bridged (its gateway is empty)" \
	nsx host-a ping -c1 -W1 "${T_HOST_IP[c]}"

# ---- NAT: the outside sees the NAT's address; nothing gets in unasked
gw_kernel_wan c wan
gw_kernel_wan d wan
log=$(t_mkdir servers)
# shellcheck disable=SC2016 # socat's shell expands $SOCAT_PEERADDR
bg_start srv "$log/tcp-whoami.log" socat "TCP-LISTEN:7000,bind=$T_SRV_IP,reuseaddr,fork" \
	'SYSTEM:echo $SOCAT_PEERADDR'
bg_start srv "$log/udp-whoami.log" python3 "$T_PROBE" udp-whoami-server "$T_SRV_IP" 7001
wait_until 5 tcp_open srv "$T_SRV_IP" 7000
tcp_seen() { nsx "$1" timeout 5 socat -T2 - "TCP:$T_SRV_IP:7000" </dev/null; }
t_eq "srv sees gw-a's own address (no NAT)" "${T_GW_WAN_IP[a]}" "$(tcp_seen gw-a)"
t_eq "srv sees the cone NAT's public address" "${T_PUBLIC_IP[c]}" "$(tcp_seen gw-c)"
t_eq "srv sees the symmetric NAT's public address" "${T_PUBLIC_IP[d]}" "$(tcp_seen gw-d)"
bg_start gw-c "$log/inside.log" socat "TCP-LISTEN:7100,bind=${T_GW_WAN_IP[c]},reuseaddr" -
wait_until 5 tcp_open gw-c "${T_GW_WAN_IP[c]}" 7100
t_check_not "srv cannot connect in through the NAT" \
	nsx srv timeout 4 socat -T2 - "TCP:${T_PUBLIC_IP[c]}:7100,connect-timeout=2"
t_check_not "srv has no route to the private side" \
	nsx srv timeout 4 socat -T2 - "TCP:${T_GW_WAN_IP[c]}:7100,connect-timeout=2"

# ---- coturn: STUN tells each site what its NAT does, TURN allocates relays
t0=$(_t_now_ms)
t_require "coturn starts and answers STUN" coturn_start srv "$T_SRV_IP"
echo "coturn ready in $(ms_since "$t0") ms"
mapped_a=$(stun_probe gw-a "$T_SRV_IP" 3478 "${T_GW_WAN_IP[a]}:40000" || true)
t_eq "STUN without NAT maps to the gateway itself" "${T_GW_WAN_IP[a]}:40000" "$mapped_a"
stun_c=$(stun_probe gw-c "$T_SRV_IP" 3478 "${T_GW_WAN_IP[c]}:40000" || true)
seen_c=$(udp_whoami gw-c "$T_SRV_IP" 7001 "${T_GW_WAN_IP[c]}:40000" || true)
t_eq "cone NAT: STUN maps to the NAT's address, port kept" "${T_PUBLIC_IP[c]}:40000" "$stun_c"
t_eq "cone NAT: a second destination sees the same mapping" "$stun_c" "$seen_c"
stun_d=$(stun_probe gw-d "$T_SRV_IP" 3478 "${T_GW_WAN_IP[d]}:40000" || true)
seen_d=$(udp_whoami gw-d "$T_SRV_IP" 7001 "${T_GW_WAN_IP[d]}:40000" || true)
echo "symmetric NAT mappings of ${T_GW_WAN_IP[d]}:40000: STUN $stun_d, whoami $seen_d"
t_eq "symmetric NAT: STUN maps to the NAT's address" "${T_PUBLIC_IP[d]}" "${stun_d%:*}"
different_mapping() { [[ -n "$1" && -n "$2" && "$1" != "$2" ]]; }
t_check "symmetric NAT: a second destination gets another port" \
	different_mapping "$stun_d" "$seen_d"
relay=$(turn_probe gw-c "$T_SRV_IP" 3478 || true)
echo "TURN from behind the cone NAT: $relay"
relay_ok() {
	[[ "$relay" =~ ^RELAYED\ ([0-9.]+):([0-9]+)\ MAPPED\ ([0-9.]+): ]] || return 1
	[[ "${BASH_REMATCH[1]}" == "$T_SRV_IP" && "${BASH_REMATCH[3]}" == "${T_PUBLIC_IP[c]}" ]] &&
		((BASH_REMATCH[2] >= COTURN_MIN_PORT && BASH_REMATCH[2] <= COTURN_MAX_PORT))
}
t_check "TURN allocates a relay on srv in the configured port range" relay_ok
COTURN_PASS=wrong t_check_not "TURN refuses a wrong password" turn_probe gw-c "$T_SRV_IP" 3478

# ---- Prosody: accounts and logins, in clear and with STARTTLS
t0=$(_t_now_ms)
t_require "Prosody starts (plain)" prosody_start srv "$T_SRV_IP" 5222 ipop.test
echo "prosody ready in $(ms_since "$t0") ms"
plain_pid=$PROSODY_PID
t_eq "Prosody runs as the prosody user" prosody "$(ps -o user= -p "$plain_pid")"
t_check "register alice" prosody_adduser alice ipop.test alice-pw
t_check "alice logs in" xmpp_login gw-a "$T_SRV_IP" 5222 ipop.test alice alice-pw
t_check "alice logs in from behind the symmetric NAT" \
	xmpp_login gw-d "$T_SRV_IP" 5222 ipop.test alice alice-pw
t_check_not "a wrong password is refused" xmpp_login gw-a "$T_SRV_IP" 5222 ipop.test alice nope
t_check_not "an unknown user is refused" xmpp_login gw-a "$T_SRV_IP" 5222 ipop.test bob alice-pw
t_require "Prosody starts (STARTTLS)" prosody_start srv "$T_SRV_IP" 5223 tls.test tls
t_check "register carol on the TLS server" prosody_adduser carol tls.test carol-pw
t_check "carol logs in over STARTTLS" \
	xmpp_login gw-b "$T_SRV_IP" 5223 tls.test carol carol-pw --tls
t_check_not "the TLS server refuses login in clear" \
	xmpp_login gw-b "$T_SRV_IP" 5223 tls.test carol carol-pw
prosody_stop "$plain_pid"
t_check_not "prosody_stop ends the plain server" bg_alive "$plain_pid"
t_check_not "its port is closed afterwards" tcp_open srv "$T_SRV_IP" 5222

# ---- processes: SIGTERM first, SIGKILL for the stubborn, children included
bg_start srv "$log/stubborn.log" bash -c 'trap "" TERM; sleep 300 & wait'
stubborn=$BG_PID
wait_until 3 pgrep -P "$stubborn" sleep
child=$(pgrep -P "$stubborn" sleep || true)
t0=$(_t_now_ms)
bg_stop "$stubborn" 1
took=$(ms_since "$t0")
t_check_not "bg_stop ends a process that ignores SIGTERM" bg_alive "$stubborn"
t_check "it took SIGKILL after the 1 s grace, and no longer than 4 s" \
	test "$took" -ge 1000 -a "$took" -lt 4000
t_check_not "its child is gone too" kill -0 "${child:-999999999}"
bg_start srv "$log/orphan.log" bash -c '(trap "" TERM; exec sleep 300) & wait'
leader=$BG_PID
wait_until 3 pgrep -P "$leader" sleep
child=$(pgrep -P "$leader" sleep || true)
bg_stop "$leader" 1
t_check_not "a child that ignores SIGTERM dies with its group when the leader quits" \
	kill -0 "${child:-999999999}"

# ---- cleanup: nothing of this run survives
left_pids=("${T_PIDS[@]}")
tmp=$T_TMP
echo "cleanup stops ${#left_pids[@]} processes: ${left_pids[*]}"
t0=$(_t_now_ms)
t_cleanup
echo "cleanup took $(ms_since "$t0") ms"
t_eq "no namespace of this run remains" "" "$(t_leftovers)"
none_alive() {
	local p
	for p in "$@"; do
		[[ ! -d /proc/$p ]] || return 1
	done
}
t_check "every background process is gone" none_alive "${left_pids[@]}"
t_check "the temp dir is gone" test ! -e "$tmp"
t_summary
