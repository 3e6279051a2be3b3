#!/usr/bin/env python3
"""replay.py PCAP DST_IP DST_PORT [--print-index] - resend the ipop UDP payloads found in a
tcpdump capture (a replay attack), or print the receiver index (hex) of the last data
message. Stdlib only; reads classic pcap with Ethernet link type."""
import socket, struct, sys

def payloads(path, port):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 42 or pkt[12:14] != b'\x08\x00' or pkt[23] != 17:
            continue
        ihl = (pkt[14] & 0xf) * 4
        if struct.unpack('>H', pkt[20:22])[0] & 0x3fff:
            continue                      # fragments: skip
        udp = 14 + ihl
        dport = struct.unpack('>H', pkt[udp + 2:udp + 4])[0]
        if dport == port:
            yield pkt[udp + 8:]

def main():
    path, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    msgs = [p for p in payloads(path, port) if len(p) >= 32 and p[0] == 3]
    if '--print-index' in sys.argv:
        if not msgs:
            sys.exit('no data messages in capture')
        last = msgs[-1]
        print(last[4:8].hex(), struct.unpack('>Q', last[8:16])[0])
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for p in msgs:
        s.sendto(p, (ip, port))
    print(len(msgs))

main()
