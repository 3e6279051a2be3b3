#!/usr/bin/env bash
# test_workers_ciphers.sh - gateways with two worker lcores each (queues split by
# af_packet fanout), a different AEAD per node (gw-a receives AES-256-GCM, gw-b
# ChaCha20-Poly1305, so each direction uses its receiver's choice), and rekeying by
# packet count (timers.rekey_after_packets = 400) under traffic without loss.
# gw-a runs IPsec-MB's compact code path (dpdk.aead_code_path = "compact", small
# AES-GCM keys) and gw-b the automatic one: keys are expanded per process, so
# the two must still agree on every packet.
# ipop-timeout: 180
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

TOPO_HOST_MTU=1500
topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
GW_WORKERS=2 GW_REKEY_PACKETS=400
GW_CIPHER[a]=aes-256-gcm
GW_CIPHER[b]=chacha20-poly1305
GW_AEAD_PATH[a]=compact
t_require "gateway a set up" gw_setup a
t_require "gateway b set up" gw_setup b
gw_config a
gw_config b
t_require "ipopd a starts with 2 workers" gw_start a
t_require "ipopd b starts with 2 workers" gw_start b
t_wait "tunnel up" 15 gw_wait_peer a b up 15
t_eq "a reports 2 workers" 2 "$(gw_get a "d['workers']")"
t_eq "a encrypts towards b with b's choice" chacha20-poly1305 "$(gw_get a "p('gw-b')['tx_cipher']")"
t_eq "b encrypts towards a with a's choice" aes-256-gcm "$(gw_get b "p('gw-a')['tx_cipher']")"
t_eq "a runs the compact code path" compact "$(gw_get a "d['aead_code_path']")"
t_eq "b runs the automatic code path" auto "$(gw_get b "d['aead_code_path']")"
t_check "a's AES-256-GCM keys are compact ($(gw_get a "d['ipsec_mb_arch']"), $(gw_get a "d['aead_key_bytes']") bytes)" \
	test "$(gw_get a "d['aead_key_bytes']")" -le 512

HB=${T_HOST_IP[b]}
t_wait "host-a pings host-b" 10 nsx host-a ping -c1 -W1 "$HB"
rk0=$(gw_get a "p('gw-b')['rekeys']")
out=$(nsx host-a ping -q -c 1500 -i 0.004 -W 1 "$HB" || true)
echo "$out" | tail -n 2
rk1=$(gw_get a "p('gw-b')['rekeys']")
rkb=$(gw_get b "p('gw-a')['rekeys']")
echo "rekeys during 1500 pings: a $((rk1 - rk0)), b total $rkb"
t_check "rekeyed by packet count (>= 2 rekeys for ~1500 packets each way)" test $((rk1 - rk0 + rkb)) -ge 2
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' <<<"$out")
t_check "no more than 0.5% of pings lost across rekeys (lost $loss%)" \
	python3 -c "import sys; sys.exit(0 if float('$loss') <= 0.5 else 1)"

t_eq "no authentication failure across rekeys" 0 \
	"$(gw_get b "d['dataplane']['drops']['wan_auth_failed']")"

# Throughput with two workers, without the artificial packet-count rekeys: a session
# rekeyed every 400 packets at 100 kpps retires keys while packets are in flight.
gw_stop a
gw_stop b
GW_REKEY_PACKETS=1000000000
gw_config a
gw_config b
t_require "ipopd a restarts" gw_start a
t_require "ipopd b restarts" gw_start b
t_wait "tunnel up again" 15 gw_wait_peer a b up 15
t_wait "host-a pings host-b again" 10 nsx host-a ping -c1 -W1 "$HB"
iperf_server host-b "$HB"
mbps=$(iperf_mbps host-a "$HB" 3 -P 2 || echo 0)
echo "iperf3 TCP, 2 streams, 2 workers, mixed ciphers: $mbps Mbit/s"
t_check "TCP crosses with two workers ($mbps Mbit/s)" test "$mbps" -gt 10
bg_stop "$IPERF_PID"
t_eq "no authentication or index failures between the gateways" 0 \
	"$(gw_get b "d['dataplane']['drops']['wan_auth_failed'] + d['dataplane']['drops']['wan_unknown_index']")"
echo "per worker at b: $(gw_get b "[(w['wan_rx'], w['decrypted']) for w in d['per_worker']]")"
t_eq "b's two workers both received WAN traffic (fanout spreads queues)" True \
	"$(gw_get b "all(w['wan_rx'] > 0 for w in d['per_worker']) and len(d['per_worker']) == 2")"
gw_stop a
gw_stop b
t_summary
