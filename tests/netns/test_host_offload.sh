#!/usr/bin/env bash
# test_host_offload.sh - the host TAP with virtio-net offloads (host.offload, the
# default; drivers/vtap.c): two endpoints (no LAN ports), each host on the overlay
# through its own TAP, the tools running on the endpoint hosts themselves.
#   gw-a (ipop0 10.200.0.211) -- router -- gw-b (ipop0 10.200.0.212)
# Proves: ping and ARP across; a UDP datagram above the MTU (fragmented by the
# sending kernel) arrives whole; an iperf3 TCP stream crosses with large segments:
# a reads TSO segments of several frames from its TAP and cuts them
# (host_gso_in, host_gso_frames), b writes coalesced segments to its TAP
# (host_gro_segments, host_gro_merged); no bad virtio-net header, no failed
# write; the same over IPv6 (TCPv6 segments cut and coalesced). With
# HOST_OFFLOAD=false (the net_tap host TAP) the large-segment checks fail:
# nothing crosses the TAP above one frame.
# ipop-timeout: 150
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

TOPO_HOST_MTU=1500
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
GW_NO_LAN[a]=1
GW_NO_LAN[b]=1
A=10.200.0.211
B=10.200.0.212
OFF=${HOST_OFFLOAD:-true}
t_require "gateway a set up" gw_setup a
t_require "gateway b set up" gw_setup b
gw_config a "host: { enabled = true; tap = \"ipop0\"; address = \"$A/24\"; offload = $OFF; };"
gw_config b "host: { enabled = true; tap = \"ipop0\"; address = \"$B/24\"; offload = $OFF; };"
t_require "ipopd a starts" gw_start a
t_require "ipopd b starts" gw_start b
t_wait "tunnel up" 15 gw_wait_peer a b up 15
t_check "ipop0 offers TSO to the kernel" \
	sh -c "ip netns exec $(nsn gw-a) ethtool -k ipop0 | grep -q '^tcp-segmentation-offload: on'"
t_wait "a pings b over the overlay" 10 nsx gw-a ping -c1 -W1 -I ipop0 "$B"
t_check "b pings a" nsx gw-b ping -c3 -i 0.2 -W2 "$A"
b_mac=$(nsx gw-b cat /sys/class/net/ipop0/address)
t_check "a resolved b's TAP MAC by ARP across the overlay" \
	sh -c "ip netns exec $(nsn gw-a) ip neigh show $B dev ipop0 | grep -qi '$b_mac'"

# UDP: 3000 bytes, fragmented by a's kernel at the TAP's 1500-byte MTU.
udp_dir=$(t_mkdir udp)
bg_start gw-b "$udp_dir/recv.log" timeout 20 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$B', 7000))
s.settimeout(15)
d, _ = s.recvfrom(65535)
print('got', len(d), d == bytes(i % 251 for i in range(3000)))"
UDP_PID=$BG_PID
sleep 0.5
nsx gw-a python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    s.sendto(bytes(i % 251 for i in range(3000)), ('$B', 7000)); time.sleep(0.2)"
t_wait "a 3000-byte UDP datagram arrives whole" 10 grep -q "got 3000 True" "$udp_dir/recv.log"
bg_stop "$UDP_PID" || true

before_in=$(gw_get a "d['dataplane']['host_gso_in']")
iperf_server gw-b "$B"
mbps=$(iperf_mbps gw-a "$B" 4 || echo 0)
echo "TCP a -> b, endpoint to endpoint: $mbps Mbit/s"
t_check "TCP crosses ($mbps Mbit/s)" test "$mbps" -gt 20
bg_stop "$IPERF_PID"
gso_in=$(gw_get a "d['dataplane']['host_gso_in']")
gso_frames=$(gw_get a "d['dataplane']['host_gso_frames']")
reads=$(gw_get a "d['dataplane']['host_reads']")
gro_seg=$(gw_get b "d['dataplane']['host_gro_segments']")
gro_merged=$(gw_get b "d['dataplane']['host_gro_merged']")
writes=$(gw_get b "d['dataplane']['host_writes']")
echo "a: $reads reads from its TAP, $gso_in large segments cut into $gso_frames frames"
echo "b: $writes writes to its TAP, $gro_seg coalesced segments of $gro_merged frames"
t_check "a read large TCP segments from its TAP ($gso_in)" test "$gso_in" -gt "$before_in"
t_check "each was cut into several frames ($gso_frames > 2 x $gso_in)" \
	test "$gso_frames" -gt $((2 * gso_in))
t_check "b wrote coalesced segments to its TAP ($gro_seg)" test "$gro_seg" -gt 0
t_check "of several frames each ($gro_merged > 2 x $gro_seg)" test "$gro_merged" -gt $((2 * gro_seg))
for s in a b; do
	t_eq "$s: no bad virtio-net header" 0 "$(gw_get $s "d['dataplane']['drops']['host_bad_vnet_hdr']")"
	t_eq "$s: no failed TAP write" 0 "$(gw_get $s "d['dataplane']['drops']['host_write_failed']")"
done
t_check "ping still answers after the stream" nsx gw-a ping -c2 -W2 "$B"

# IPv6 over the overlay: the same large segments both ways (TSO6 in, GRO as
# TCPv6 segments out: dataplane/coalesce.c).
A6=fd00:1b0b::211
B6=fd00:1b0b::212
# (the testbed's namespaces start with IPv6 off: on for the TAPs and lo,
# which carries a host's traffic to its own address)
for s in a b; do
	nsx gw-$s sysctl -qw net.ipv6.conf.ipop0.disable_ipv6=0 net.ipv6.conf.lo.disable_ipv6=0
done
nsx gw-a ip -6 addr add "$A6/64" dev ipop0 nodad
nsx gw-b ip -6 addr add "$B6/64" dev ipop0 nodad
t_wait "a pings b over IPv6 (neighbour discovery across)" 10 nsx gw-a ping -6 -c1 -W1 "$B6"
in6=$(gw_get a "d['dataplane']['host_gso_in']")
seg6=$(gw_get b "d['dataplane']['host_gro_segments']")
merged6=$(gw_get b "d['dataplane']['host_gro_merged']")
iperf_server gw-b "$B6"
mbps6=$(iperf_mbps gw-a "$B6" 3 || echo 0)
echo "TCP over IPv6 a -> b: $mbps6 Mbit/s"
t_check "TCP over IPv6 crosses ($mbps6 Mbit/s)" test "$mbps6" -gt 20
bg_stop "$IPERF_PID"
in6=$(($(gw_get a "d['dataplane']['host_gso_in']") - in6))
seg6=$(($(gw_get b "d['dataplane']['host_gro_segments']") - seg6))
merged6=$(($(gw_get b "d['dataplane']['host_gro_merged']") - merged6))
echo "IPv6 stream: a cut $in6 large segments; b wrote $seg6 coalesced segments of $merged6 frames"
t_check "a read large TCPv6 segments from its TAP ($in6)" test "$in6" -gt 0
t_check "b wrote coalesced TCPv6 segments to its TAP ($seg6)" test "$seg6" -gt 0
t_check "of several frames each ($merged6 > 2 x $seg6)" test "$merged6" -gt $((2 * seg6))
for s in a b; do
	t_eq "$s: no bad virtio-net header after IPv6" 0 "$(gw_get $s "d['dataplane']['drops']['host_bad_vnet_hdr']")"
	t_eq "$s: no failed TAP write after IPv6" 0 "$(gw_get $s "d['dataplane']['drops']['host_write_failed']")"
done
gw_stop a
gw_stop b
t_summary
