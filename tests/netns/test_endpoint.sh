#!/usr/bin/env bash
# test_endpoint.sh - endpoint mode (IPOP's classic host mode): gw-a has no LAN port,
# only the host TAP, so the gateway host itself is a member of the overlay; it
# reaches a LAN host behind gw-b by ping and TCP, ARP resolves across, and the
# bridge learns the TAP's MAC as local.
# ipop-timeout: 120
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

TOPO_HOST_MTU=1500
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
GW_NO_LAN[a]=1
t_require "gateway a set up" gw_setup a
t_require "gateway b set up" gw_setup b
gw_config a 'host: { enabled = true; tap = "ipop0"; address = "10.200.0.201/24"; };'
gw_config b
t_check_not "a's config has no LAN port" grep -q '^lan:' "${GW_CONF[a]}"
t_require "ipopd a starts without a LAN port" gw_start a
t_require "ipopd b starts" gw_start b
t_wait "tunnel up" 15 gw_wait_peer a b up 15
HB=${T_HOST_IP[b]}
t_wait "the gateway host pings host-b through its TAP" 10 nsx gw-a ping -c1 -W1 -I ipop0 "$HB"
t_check "host-b pings the gateway host's overlay address" nsx host-b ping -c2 -W2 10.200.0.201
tap_mac=$(nsx gw-a cat /sys/class/net/ipop0/address)
t_eq "a learnt its TAP's MAC as the host location" host \
	"$("$(ipop_bin ipopctl)" -s "${GW_SOCK[a]}" macs | python3 -c "
import json, sys
print(next((m['location'] for m in json.load(sys.stdin) if m['mac'] == '$tap_mac'), 'none'))")"
iperf_server host-b "$HB"
mbps=$(iperf_mbps gw-a "$HB" 2 || echo 0)
echo "TCP from the gateway host's TAP to host-b: $mbps Mbit/s"
t_check "TCP from the endpoint crosses ($mbps Mbit/s)" test "$mbps" -gt 10
bg_stop "$IPERF_PID"
t_eq "a has no LAN traffic counters" 0 "$(gw_get a "d['dataplane']['lan_rx'] + d['dataplane']['lan_tx']")"
gw_stop a
gw_stop b
t_summary
