#!/usr/bin/env bash
# test_port_stats.sh - no silent loss at the ports (issue 15 item 5): `ipopctl show`
# reports every DPDK port's own statistics (the device's, the af_packet socket's,
# the kernel interface's), and a burst through the bridged pair is accounted for:
# the frames host-a sent equal the frames host-b received plus what the counters
# of both gateways and the kernel say was dropped on the way. gw-a's LAN port gets
# a 16-frame af_packet ring so that the burst overflows it: the drop counter is
# seen to count, not just to read 0.
#   host-a -- gw-a (LAN ring 16 frames) -- router -- gw-b -- host-b
# ipop-timeout: 150
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ipop.sh"

topo_pair
GW_PEERS[a]="b"
GW_PEERS[b]="a"
t_require "gateway a set up" gw_setup a
t_require "gateway b set up" gw_setup b
# A tiny ring on gw-a (both its af_packet ports), ipopd's default on gw-b.
GW_AFP_ARGS="framecnt=16" gw_config a 'host: { enabled = true; tap = "ipop0"; address = "10.200.0.101/24"; };'
gw_config b
t_require "ipopd a starts" gw_start a
t_require "ipopd b starts" gw_start b
t_wait "a sees b up" 15 gw_wait_peer a b up 15
HB=${T_HOST_IP[b]}
t_wait "host-a pings host-b" 10 nsx host-a ping -c1 -W1 "$HB"

# ---- the ports appear in `ipopctl show`, text and JSON
show=$("$(ipop_bin ipopctl)" -s "${GW_SOCK[a]}" show)
for role in lan wan wan_tap host; do
	t_check "show lists gw-a's $role port" grep -q "port: $role\$" <<<"$show"
done
for k in ipackets opackets imissed ierrors oerrors rx_nombuf sock_rx sock_rx_dropped if_tx_dropped; do
	t_check "show has the port counter $k" grep -q "^ *$k: [0-9]" <<<"$show"
done
port_get() { gw_get "$1" "next(p for p in d['ports'] if p['port'] == '$2')['$3']"; }
t_eq "gw-a's LAN port is net_af_packet on lan" "net_af_packet lan" \
	"$(port_get a lan driver) $(port_get a lan interface)"
t_eq "gw-a's WAN exception port is net_tap" "net_tap" "$(port_get a wan_tap driver)"
t_check "gw-a's LAN port counted the pings" test "$(port_get a lan ipackets)" -gt 0
t_check "gw-a's af_packet socket counted them too" test "$(port_get a lan sock_rx)" -gt 0
t_check "gw-a's TAP ports report no socket counts" test "$(port_get a wan_tap sock_rx)" -eq 0

# ---- a burst through the pair is accounted for
# snap FILE : host-a's and host-b's kernel counters and both gateways' show.
snap() {
	{
		printf '{"a": '
		ip -n "$(nsn host-a)" -j -s link show dev eth0
		printf ', "b": '
		ip -n "$(nsn host-b)" -j -s link show dev eth0
		printf ', "gwa": '
		gw_json a
		printf ', "gwb": '
		gw_json b
		printf '}\n'
	} >"$1"
}
# account F0 F1 : frames host-a sent (eth0 tx) = frames host-b received (eth0 rx)
# + every drop counted on the way: gw-a's and gw-b's ports (af_packet rings,
# device errors, kernel interfaces), their dataplane drops, host-b's rx_dropped.
# Prints the terms; exit 0 iff the equation holds. The router forwards in the
# kernel: its drops would show as the gateways' veths' if_*_dropped.
account() {
	python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
def st(s, h, d, k): return s[h][0]["stats64"][d][k]
def link(h, d, k): return st(b, h, d, k) - st(a, h, d, k)
LOSS = ("sock_rx_dropped", "imissed", "ierrors", "oerrors", "rx_nombuf", "if_rx_dropped", "if_tx_dropped")
def port_losses(g):
    out = {}
    for p1 in b[g]["ports"]:
        p0 = next(p for p in a[g]["ports"] if p["port"] == p1["port"])
        for k in LOSS:
            if p1[k] - p0[k]:
                out[f"{g}.{p1['port']}.{k}"] = p1[k] - p0[k]
    return out
def dp_drops(g):
    d0, d1 = a[g]["dataplane"]["drops"], b[g]["dataplane"]["drops"]
    return {f"{g}.drops.{k}": d1[k] - d0[k] for k in d1 if d1[k] - d0[k]}
sent, rcvd = link("a", "tx", "packets"), link("b", "rx", "packets")
drops = {**port_losses("gwa"), **dp_drops("gwa"), **port_losses("gwb"), **dp_drops("gwb")}
if link("b", "rx", "dropped"):
    drops["host-b.rx_dropped"] = link("b", "rx", "dropped")
print(f"host-a sent {sent}, host-b received {rcvd}, dropped {sum(drops.values())}: {drops}")
ring = drops.get("gwa.lan.sock_rx_dropped", 0)
print(f"RING_DROPS={ring}")
sys.exit(0 if sent == rcvd + sum(drops.values()) else 1)
PY
}
# balanced F0 F1 : take snapshot F1 and check it against F0 (account).
balanced() {
	snap "$2" && account "$1" "$2"
}
# burst N : N 1000-byte UDP datagrams host-a -> host-b:9 as fast as Python sends.
burst() {
	nsx host-a timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
p = b"x" * 1000
for _ in range(int(sys.argv[2])):
    s.sendto(p, (sys.argv[1], 9))' "$HB" "$1"
}
s0="$T_TMP/s0.json" s1="$T_TMP/s1.json"
ring=0
for try in 1 2 3; do
	snap "$s0"
	t_require "burst $try of 20000 datagrams sent" burst 20000
	# Settled when the equation holds (the rings drain within milliseconds).
	t_wait "burst $try: what host-a sent = what host-b received + what the counters say was dropped" \
		10 balanced "$s0" "$s1"
	out=$(account "$s0" "$s1" || true)
	echo "$out" | head -n 1
	ring=$(sed -n 's/^RING_DROPS=//p' <<<"$out")
	((ring > 0)) && break
done
t_check "the 16-frame ring overflowed and its drops were counted (sock_rx_dropped $ring)" test "$ring" -gt 0
# Same snapshots with gw-a's ring drops removed from the second: must not balance.
python3 - "$s1" "$T_TMP/s1-cut.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
lan = next(p for p in d["gwa"]["ports"] if p["port"] == "lan")
lan["sock_rx_dropped"] = 0
json.dump(d, open(sys.argv[2], "w"))
PY
t_check_not "the books do not balance without the ring's drop counter" account "$s0" "$T_TMP/s1-cut.json"

gw_stop a
gw_stop b
t_summary
