#!/usr/bin/env bash
# test_gateway_pair.sh - two real ipopd gateways with static peers on af_packet vdevs:
#   host-a -- gw-a -- router -- gw-b -- host-b
# Proves: ping/arping/TCP across the encrypted overlay at LAN MTU 1500 over an
# underlay of MTU 1500; nothing readable on the wire; garbage, replayed and
# wrong-key packets dropped and counted and never delivered; rekeying without
# loss; a dead peer noticed; a crashed gateway recovering by itself; endpoint mode
# (the gateway host's own TAP on the overlay); bad configs refused with the line.
# gw-b runs IPsec-MB's compact code path (dpdk.aead_code_path), gw-a the automatic
# one: on an AVX-512 CPU every AES-256-GCM packet, both ways, crosses two paths.
# ipop-timeout: 300
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

TOPO_HOST_MTU=1500
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
GW_REKEY_AFTER=4 GW_REJECT_AFTER=30
GW_AEAD_PATH[b]=compact
t_require "gateway a set up" gw_setup a
t_require "gateway b set up" gw_setup b
gw_config a 'host: { enabled = true; tap = "ipop0"; address = "10.200.0.101/24"; };'
gw_config b
t_require "ipopd a starts" gw_start a
t_require "ipopd b starts" gw_start b
t_wait "a sees b up" 15 gw_wait_peer a b up 15
t_wait "b sees a up" 15 gw_wait_peer b a up 15

HA=${T_HOST_IP[a]} HB=${T_HOST_IP[b]}
t_wait "host-a pings host-b" 10 nsx host-a ping -c1 -W1 "$HB"
t_check "3 pings, no loss" nsx host-a ping -c3 -i0.2 -W2 "$HB"
arp_mac() {
	nsx host-a arping -c1 -w2 -I eth0 "$HB" |
		sed -n 's/.*reply from [0-9.]* \[\([0-9A-Fa-f:]*\)\].*/\1/p' | tr 'A-F' 'a-f' | head -n1
}
t_eq "arping host-b gets host-b's MAC" "${T_HOST_MAC[b]}" "$(arp_mac)"
t_check "1500-byte IP packet with DF crosses (outer fragments)" \
	nsx host-a ping -c2 -W2 -M do -s 1472 "$HB"
t_check "a 1900-byte datagram fragmented by the host crosses" \
	nsx host-a ping -c2 -W2 -s 1900 "$HB"
t_check "endpoint mode: the gateway host itself pings host-b via its TAP" \
	nsx gw-a ping -c2 -W2 -I ipop0 "$HB"

# ---- TCP: throughput, MSS clamping, confidentiality on the wire
iperf_server host-b "$HB"
mbps=$(iperf_mbps host-a "$HB" 3 || echo 0)
echo "iperf3 TCP host-a -> host-b: $mbps Mbit/s"
t_check "iperf3 TCP stream crosses (got $mbps Mbit/s)" test "$mbps" -gt 10
bg_stop "$IPERF_PID"

cap="$T_TMP/wan-a.pcap"
cap_start router s1 "$cap"
marker="MARKER-$RANDOM-$RANDOM-SECRET"
recv="$T_TMP/received.txt"
listening() { nsx host-b ss -ltn | grep -q "$HB:7000"; }
bg_start host-b "$recv" socat -u TCP-LISTEN:7000,bind="$HB",reuseaddr STDOUT
t_wait "receiver listens" 5 listening
for i in 1 2 3; do printf '%s line %d\n' "$marker" "$i"; done |
	nsx host-a timeout 10 socat -u STDIN TCP:"$HB":7000
t_wait "the marker arrived at host-b" 5 grep -q "$marker" "$recv"
sleep 0.5
cap_stop
t_check "the capture of the WAN link has tunnel packets" \
	test "$(cap_count "$cap" udp port 5800)" -gt 5
t_check_not "the marker never appears on the WAN link" grep -aq "$marker" "$cap"
t_check_not "no plaintext TCP port 7000 on the WAN link" \
	test "$(cap_count "$cap" tcp port 7000)" -gt 0

# ---- hostile traffic towards gw-b, from the router (on path)
B_WAN=${T_PUBLIC_IP[b]}
# drops_at_least SITE N REASON... : the named drop counters sum to N or more.
drops_at_least() {
	local l=$1 n=$2 expr
	shift 2
	expr="sum(d['dataplane']['drops'][k] for k in '$*'.split())"
	(($(gw_get "$l" "$expr") >= n))
}
lan_tx() { gw_get b "d['dataplane']['lan_tx']"; }
cap_b="$T_TMP/host-b.pcap"
cap_start host-b eth0 "$cap_b"
before_lan=$(lan_tx)
n=$(nsx router python3 "$T_LIBDIR/replay.py" "$cap" "$B_WAN" 5800)
echo "replayed $n captured data messages"
t_check "captured data messages were replayed" test "$n" -gt 5
t_wait "replays are dropped (replay window, or sessions already rotated)" 5 \
	drops_at_least b "$n" wan_replay wan_too_old wan_unknown_index
t_check "some replays hit a live session and were caught by the window" \
	drops_at_least b 1 wan_replay
t_check "garbage sent" nsx router "$(ipop_bin ipop-inject)" garbage "$B_WAN" 5800 200
t_wait "garbage is dropped and counted by reason" 5 \
	drops_at_least b 150 wan_short wan_bad_version wan_bad_type wan_bad_length
idx=$(gw_get b "'%08x' % p('gw-a')['session_current']['local_index']")
t_check "wrong-key packets sent for a live index" \
	nsx router "$(ipop_bin ipop-inject)" wrongkey "$B_WAN" 5800 "$idx" 1099511627776 50
t_wait "wrong-key packets fail authentication" 5 \
	drops_at_least b 50 wan_auth_failed
sleep 0.5
cap_stop
t_check_not "no injected frame reached host-b's LAN" grep -aq "IPOP-INJECTED" "$cap_b"
after_lan=$(lan_tx)
echo "gw-b lan_tx before/after the attacks: $before_lan/$after_lan"
t_check "gw-b delivered no attack packet (only keepalive-free traffic)" \
	test $((after_lan - before_lan)) -lt 10
t_check "the tunnel still works after the attacks" nsx host-a ping -c2 -W2 "$HB"

# ---- rekeying (rekey_after = 4 s) under traffic: no loss
rk0=$(gw_get a "p('gw-b')['rekeys'] + 0")
out=$(nsx host-a ping -q -c 120 -i 0.05 -W 1 "$HB" || true)
echo "$out" | tail -n 2
rk1=$(gw_get a "p('gw-b')['rekeys'] + 0")
rkb=$(gw_get b "p('gw-a')['rekeys'] + 0")
echo "rekeys seen by a during 6 s of ping: $((rk1 - rk0)); b total: $rkb"
t_check "sessions were rekeyed during the ping run" test $((rk1 - rk0)) -ge 1
t_check "no ping lost across rekeys" grep -q ' 0% packet loss' <<<"$out"

# ---- a dead peer is noticed; a restarted gateway recovers by itself
gw_stop b
# After declaring b dead, a goes straight on to retrying handshakes.
b_dead() { (($(gw_get a "p('gw-b')['deaths']") >= 1)) && ! gw_peer_is a b up; }
t_wait "a declares b dead after dead_after (6 s) and retries" 15 b_dead
t_check "a flushed b's session keys" test "$(gw_get a "p('gw-b')['session_current']")" = None
t_require "ipopd b restarts" gw_start b
t_wait "traffic resumes after b's restart" 20 nsx host-a ping -c1 -W1 "$HB"
gw_kill a
t_require "ipopd a restarts after SIGKILL" gw_start a
t_wait "traffic resumes after a's crash" 20 nsx host-a ping -c1 -W1 "$HB"

# ---- a config with an error is refused with its line
bad="$T_TMP/bad.conf"
sed 's/^  workers = 1;/  workers = 99;/' "${GW_CONF[a]}" >"$bad"
line=$(grep -n 'workers = 99' "$bad" | cut -d: -f1)
msg=$("$(ipop_bin ipopd)" -c "$bad" 2>&1 || true)
echo "ipopd said: $msg"
t_check "bad config names file, line and setting" grep -q "bad.conf:$line: dpdk.workers" <<<"$msg"
t_check_not "bad config is refused (non-zero exit)" "$(ipop_bin ipopd)" -c "$bad" --check

gw_stop a
gw_stop b
t_summary
