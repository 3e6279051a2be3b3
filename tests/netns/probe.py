#!/usr/bin/env python3
"""probe.py - tiny network probes for the netns testbed (stdlib only).

Run inside a namespace by tests/netns/lib.sh (`ip netns exec NS python3 probe.py ...`).
Each probe exits 0 only when the server answered the way the protocol says, so a
test built on it can fail:

  stun HOST PORT [--bind IP:PORT]              STUN binding request (RFC 8489);
                                               prints "MAPPED ip:port"
  turn-alloc HOST PORT USER PASS [--bind ..] [--keep]
                                               TURN allocate with long-term
                                               credentials (RFC 8656), then frees it
                                               (--keep: leaves it to its lifetime, as a
                                               client that died does);
                                               prints "RELAYED ip:port MAPPED ip:port"
  xmpp-login HOST PORT DOMAIN USER PASS [--tls]
                                               SASL PLAIN login (RFC 6120), STARTTLS
                                               first with --tls; exit 0 success,
                                               1 refused, 2 protocol/transport error
  udp-whoami-server IP PORT                    answers every datagram with the
                                               sender's "ip:port" (runs until killed)
  udp-whoami HOST PORT [--bind IP:PORT]        asks such a server; prints "SEEN ip:port"
  udp-poke HOST PORT [--bind IP:PORT]          asks such a server to answer and also to
                                               send one datagram from another port of
                                               its address (a source we never sent to);
                                               prints "SEEN ip:port" and "POKED yes|no":
                                               whether that unsolicited datagram got in
  udp-punch PEER_IP PEER_PORT --bind IP:PORT [--seconds S]
                                               UDP hole punching: sends to the peer every
                                               50 ms and answers what it hears; exit 0
                                               once both directions worked with exactly
                                               PEER_IP:PEER_PORT; prints "PUNCHED" or
                                               "NOT PUNCHED" (and any other source heard)
  stun-check HOST PORT USERNAME PASSWORD [--bind IP:PORT] [--count N]
             [--pps R] [--malformed] [--expect-answer]
                                               an ICE connectivity check (RFC 8445 7.2.2):
                                               Binding request with USERNAME, PRIORITY,
                                               ICE-CONTROLLING (tie-breaker 0, so the
                                               agent never changes its role),
                                               MESSAGE-INTEGRITY keyed with PASSWORD and
                                               FINGERPRINT, N times (new transaction IDs,
                                               back to back, or R a second); --malformed sends a message
                                               whose last attribute runs past its end
                                               instead. --expect-answer (one request):
                                               exit 0 only if the agent accepted it: a
                                               success response whose MESSAGE-INTEGRITY
                                               matches PASSWORD, or a 487 (role conflict,
                                               decided after the integrity check); prints
                                               "ANSWERED success|487|401 ..."
  xmpp-ice-pwd PCAP UFRAG                      the ICE password sent along with ufrag
                                               UFRAG in a clear-text link stanza found in
                                               a tcpdump capture; prints it

Why Python: no Debian package ships a scriptable STUN/TURN/XMPP client, and these
few hundred bytes of protocol are easier to audit here than to pull in a tool.
"""
import argparse
import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import struct
import sys
import time
import zlib

MAGIC = 0x2112A442
BINDING_REQ, BINDING_OK = 0x0001, 0x0101
ALLOC_REQ, ALLOC_OK, ALLOC_ERR = 0x0003, 0x0103, 0x0113
REFRESH_REQ, REFRESH_OK = 0x0004, 0x0104
A_USERNAME, A_MI, A_ERROR, A_LIFETIME = 0x0006, 0x0008, 0x0009, 0x000D
A_REALM, A_NONCE, A_XOR_RELAYED, A_REQ_TRANSPORT = 0x0014, 0x0015, 0x0016, 0x0019
A_XOR_MAPPED, A_FINGERPRINT = 0x0020, 0x8028
A_PRIORITY, A_ICE_CONTROLLING = 0x0024, 0x802A
BINDING_ERR = 0x0111


def stun_attr(atype, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", atype, len(value)) + value + b"\0" * pad


def stun_msg(mtype, txid, attrs, key=None):
    """Build a STUN message; with key, append MESSAGE-INTEGRITY and FINGERPRINT."""
    body = b"".join(attrs)
    if key is not None:
        # The length field covers the MI attribute while the HMAC is computed.
        hdr = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + txid
        mac = hmac.new(key, hdr + body, hashlib.sha1).digest()
        body += stun_attr(A_MI, mac)
    hdr = struct.pack("!HHI", mtype, len(body) + 8, MAGIC) + txid
    crc = (zlib.crc32(hdr + body) ^ 0x5354554E) & 0xFFFFFFFF
    body += stun_attr(A_FINGERPRINT, struct.pack("!I", crc))
    return struct.pack("!HHI", mtype, len(body), MAGIC) + txid + body


def stun_parse(data, txid):
    """Return (type, {attr: [values]}) or raise ValueError if it is not our reply."""
    if len(data) < 20:
        raise ValueError("short reply (%d bytes)" % len(data))
    mtype, length, cookie = struct.unpack("!HHI", data[:8])
    if cookie != MAGIC:
        raise ValueError("bad magic cookie 0x%08x" % cookie)
    if data[8:20] != txid:
        raise ValueError("transaction id mismatch")
    if 20 + length > len(data):
        raise ValueError("truncated reply")
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        atype, alen = struct.unpack("!HH", data[off:off + 4])
        attrs.setdefault(atype, []).append(data[off + 4:off + 4 + alen])
        off += 4 + alen + (4 - alen % 4) % 4
    return mtype, attrs


def xor_addr(value):
    family, xport = struct.unpack("!xBH", value[:4])
    if family != 1:
        raise ValueError("not an IPv4 address")
    port = xport ^ (MAGIC >> 16)
    ip = struct.unpack("!I", value[4:8])[0] ^ MAGIC
    return "%s:%d" % (socket.inet_ntoa(struct.pack("!I", ip)), port)


def udp_socket(bind, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if bind:
        ip, port = bind.rsplit(":", 1)
        s.bind((ip, int(port)))
    s.settimeout(timeout)
    return s


def transact(s, dest, msg, txid, tries):
    """Send with retransmission (the testbed drops nothing, but startup races do)."""
    last = None
    for _ in range(tries):
        s.sendto(msg, dest)
        try:
            while True:
                data, _ = s.recvfrom(2048)
                try:
                    return stun_parse(data, txid)
                except ValueError as e:  # someone else's packet: keep listening
                    last = e
        except socket.timeout:
            continue
    raise TimeoutError("no valid reply from %s:%d (%s)" % (dest[0], dest[1], last))


def cmd_stun(a):
    s = udp_socket(a.bind, a.timeout)
    txid = os.urandom(12)
    mtype, attrs = transact(s, (a.host, a.port), stun_msg(BINDING_REQ, txid, []),
                            txid, a.tries)
    if mtype != BINDING_OK or A_XOR_MAPPED not in attrs:
        print("unexpected STUN reply type 0x%04x" % mtype, file=sys.stderr)
        return 1
    print("MAPPED %s" % xor_addr(attrs[A_XOR_MAPPED][0]))
    return 0


def cmd_turn_alloc(a):
    s = udp_socket(a.bind, a.timeout)
    transport = stun_attr(A_REQ_TRANSPORT, struct.pack("!B3x", 17))
    txid = os.urandom(12)
    mtype, attrs = transact(s, (a.host, a.port), stun_msg(ALLOC_REQ, txid, [transport]),
                            txid, a.tries)
    if mtype != ALLOC_ERR or A_REALM not in attrs or A_NONCE not in attrs:
        code = attrs.get(A_ERROR, [b"\0\0\0\0"])[0]
        print("expected a 401 challenge, got type 0x%04x error %d%02d %s" %
              (mtype, code[2] & 7, code[3], code[4:].decode(errors="replace")), file=sys.stderr)
        return 1
    realm, nonce = attrs[A_REALM][0], attrs[A_NONCE][0]
    key = hashlib.md5(b"%s:%s:%s" % (a.user.encode(), realm, a.password.encode())).digest()
    creds = [stun_attr(A_USERNAME, a.user.encode()), stun_attr(A_REALM, realm),
             stun_attr(A_NONCE, nonce)]
    txid = os.urandom(12)
    mtype, attrs = transact(s, (a.host, a.port),
                            stun_msg(ALLOC_REQ, txid, [transport] + creds, key), txid, a.tries)
    if mtype != ALLOC_OK:
        code = attrs.get(A_ERROR, [b"\0\0\0\0"])[0]
        print("allocate refused: type 0x%04x error %d%02d %s" %
              (mtype, code[2] & 7, code[3], code[4:].decode(errors="replace")),
              file=sys.stderr)
        return 1
    print("RELAYED %s MAPPED %s" % (xor_addr(attrs[A_XOR_RELAYED][0]),
                                    xor_addr(attrs[A_XOR_MAPPED][0])))
    if a.keep:
        return 0
    # Free the allocation so a test leaves nothing behind in the server.
    txid = os.urandom(12)
    life = stun_attr(A_LIFETIME, struct.pack("!I", 0))
    mtype, _ = transact(s, (a.host, a.port), stun_msg(REFRESH_REQ, txid, [life] + creds, key),
                        txid, a.tries)
    return 0 if mtype == REFRESH_OK else 1


def check_answer(data, txid, key):
    """A Binding response to txid: ("success"|"487"|"401"|..., whether its
    MESSAGE-INTEGRITY matches key)."""
    mtype, attrs = stun_parse(data, txid)
    if mtype not in (BINDING_OK, BINDING_ERR):
        raise ValueError("not a Binding response: 0x%04x" % mtype)
    what = "success"
    if mtype == BINDING_ERR:
        e = attrs.get(A_ERROR, [b"\0\0\0\0"])[0]
        what = str((e[2] & 7) * 100 + e[3])
    off, mi_ok = 20, False
    length = struct.unpack("!H", data[2:4])[0]
    while off + 4 <= 20 + length:
        atype, alen = struct.unpack("!HH", data[off:off + 4])
        if atype == A_MI:
            hdr = data[:2] + struct.pack("!H", off + 24 - 20) + data[4:off]
            mi_ok = hmac.compare_digest(hmac.new(key, hdr, hashlib.sha1).digest(),
                                        data[off + 4:off + 24])
            break
        off += 4 + alen + (4 - alen % 4) % 4
    return what, mi_ok


def cmd_stun_check(a):
    s = udp_socket(a.bind, a.timeout)
    dest, key = (a.host, a.port), a.password.encode()
    t0 = time.monotonic()
    for i in range(a.count):
        if a.pps and i % max(1, a.pps // 100) == 0:
            # Paced in 10-ms batches of pps/100.
            ahead = t0 + i / a.pps - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        txid = os.urandom(12)
        if a.malformed:
            # A SOFTWARE attribute that claims 64 bytes where 4 follow.
            msg = struct.pack("!HHI", BINDING_REQ, 8, MAGIC) + txid + \
                struct.pack("!HH", 0x8022, 64) + b"evil"
        else:
            msg = stun_msg(BINDING_REQ, txid, [
                stun_attr(A_USERNAME, a.username.encode()),
                stun_attr(A_PRIORITY, struct.pack("!I", 0x6e0001ff)),
                stun_attr(A_ICE_CONTROLLING, bytes(8))], key)
        s.sendto(msg, dest)
    if not a.expect_answer:
        print("SENT %d" % a.count)
        return 0
    deadline = a.timeout * a.tries
    s.settimeout(deadline)
    try:
        while True:
            data, _ = s.recvfrom(2048)
            try:
                what, mi_ok = check_answer(data, txid, key)
                break
            except ValueError:
                continue
    except socket.timeout:
        raise TimeoutError("no answer from %s:%d" % dest)
    print("ANSWERED %s integrity=%s" % (what, "ok" if mi_ok else "no"))
    # 487 (role conflict) comes after libnice's integrity check too.
    return 0 if (what == "success" and mi_ok) or what == "487" else 1


def cmd_xmpp_ice_pwd(a):
    data = open(a.pcap, "rb").read()
    u = re.escape(a.ufrag.encode())
    for m in re.finditer(rb"<[^<>]*ufrag=['\"]" + u + rb"['\"][^<>]*>", data):
        p = re.search(rb"pwd=['\"]([A-Za-z0-9+/]+)['\"]", m.group(0))
        if p:
            print(p.group(1).decode())
            return 0
    print("no link stanza with ufrag %s and a pwd" % a.ufrag, file=sys.stderr)
    return 1


def xmpp_read_until(sock, buf, pattern):
    while not re.search(pattern, buf):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed the stream; got: %r" % buf[-300:])
        buf += chunk
    return buf


def xmpp_open(sock, domain):
    sock.sendall(("<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
                  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                  % domain).encode())
    return xmpp_read_until(sock, b"", rb"</stream:features>|<stream:features/>")


def cmd_xmpp_login(a):
    try:
        sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
        feats = xmpp_open(sock, a.domain)
        if a.tls:
            if b"urn:ietf:params:xml:ns:xmpp-tls" not in feats:
                print("server offers no STARTTLS", file=sys.stderr)
                return 2
            sock.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            xmpp_read_until(sock, b"", rb"<proceed")
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the testbed's certificate is self-signed
            sock = ctx.wrap_socket(sock, server_hostname=a.domain)
            feats = xmpp_open(sock, a.domain)
        if b"<mechanism>PLAIN</mechanism>" not in feats:
            print("server offers no SASL PLAIN: %r" % feats[-300:], file=sys.stderr)
            return 2
        token = base64.b64encode(b"\0%s\0%s" % (a.user.encode(), a.password.encode()))
        sock.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                     + token + b"</auth>")
        reply = xmpp_read_until(sock, b"", rb"<success|<failure")
        sock.close()
    except (OSError, ConnectionError) as e:
        print("xmpp: %s" % e, file=sys.stderr)
        return 2
    if b"<success" in reply:
        print("LOGIN ok %s@%s" % (a.user, a.domain))
        return 0
    print("LOGIN refused %s@%s" % (a.user, a.domain))
    return 1


def cmd_udp_whoami_server(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.ip, a.port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(("%s:%d" % peer).encode(), peer)
        if data == b"poke":
            # From a port the client never sent to: only a NAT with endpoint-
            # independent filtering lets it in.
            o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            o.bind((a.ip, 0))
            o.sendto(b"poked", peer)
            o.close()


def cmd_udp_whoami(a):
    s = udp_socket(a.bind, a.timeout)
    for _ in range(a.tries):
        s.sendto(b"who", (a.host, a.port))
        try:
            data, _ = s.recvfrom(2048)
            print("SEEN %s" % data.decode())
            return 0
        except socket.timeout:
            continue
    print("no answer from %s:%d" % (a.host, a.port), file=sys.stderr)
    return 1


def cmd_udp_poke(a):
    s = udp_socket(a.bind, a.timeout)
    seen, poked = None, False
    for _ in range(a.tries):
        s.sendto(b"poke", (a.host, a.port))
        try:
            while True:
                data, src = s.recvfrom(2048)
                if data == b"poked":
                    poked = True
                elif src == (a.host, a.port):
                    seen = data.decode()
        except socket.timeout:
            pass
        if seen is not None:
            break
    if seen is None:
        print("no answer from %s:%d" % (a.host, a.port), file=sys.stderr)
        return 1
    print("SEEN %s" % seen)
    print("POKED %s" % ("yes" if poked else "no"))
    return 0


def cmd_udp_punch(a):
    import time
    s = udp_socket(a.bind, 0.05)
    peer = (a.peer_ip, a.peer_port)
    heard, acked, others = False, False, set()
    deadline = time.monotonic() + a.seconds
    linger = None
    while time.monotonic() < deadline:
        s.sendto(b"ack" if heard else b"punch", peer)
        try:
            while True:
                data, src = s.recvfrom(2048)
                if src != peer:
                    others.add("%s:%d" % src)
                    continue
                heard = True
                if data == b"ack":
                    acked = True
        except socket.timeout:
            pass
        if heard and acked and linger is None:
            # Keep answering a little so the peer hears our ack too.
            linger = time.monotonic() + 0.3
        if linger is not None and time.monotonic() >= linger:
            break
    for o in sorted(others):
        print("HEARD FROM %s" % o)
    if heard and acked:
        print("PUNCHED %s:%d" % peer)
        return 0
    print("NOT PUNCHED %s:%d" % peer)
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timeout", type=float, default=0.5, help="per try, seconds")
    p.add_argument("--tries", type=int, default=4)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("stun")
    c.add_argument("host"); c.add_argument("port", type=int); c.add_argument("--bind")
    c = sub.add_parser("turn-alloc")
    c.add_argument("host"); c.add_argument("port", type=int)
    c.add_argument("user"); c.add_argument("password"); c.add_argument("--bind")
    c.add_argument("--keep", action="store_true")
    c = sub.add_parser("xmpp-login")
    c.add_argument("host"); c.add_argument("port", type=int); c.add_argument("domain")
    c.add_argument("user"); c.add_argument("password"); c.add_argument("--tls", action="store_true")
    c = sub.add_parser("udp-whoami-server")
    c.add_argument("ip"); c.add_argument("port", type=int)
    c = sub.add_parser("udp-whoami")
    c.add_argument("host"); c.add_argument("port", type=int); c.add_argument("--bind")
    c = sub.add_parser("udp-poke")
    c.add_argument("host"); c.add_argument("port", type=int); c.add_argument("--bind")
    c = sub.add_parser("udp-punch")
    c.add_argument("peer_ip"); c.add_argument("peer_port", type=int)
    c.add_argument("--bind", required=True)
    c.add_argument("--seconds", type=float, default=3.0)
    c = sub.add_parser("stun-check")
    c.add_argument("host"); c.add_argument("port", type=int)
    c.add_argument("username"); c.add_argument("password"); c.add_argument("--bind")
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--pps", type=int, default=0, help="send rate (0: back to back)")
    c.add_argument("--malformed", action="store_true")
    c.add_argument("--expect-answer", action="store_true")
    c = sub.add_parser("xmpp-ice-pwd")
    c.add_argument("pcap"); c.add_argument("ufrag")
    a = p.parse_args()
    handlers = {"stun": cmd_stun, "turn-alloc": cmd_turn_alloc, "xmpp-login": cmd_xmpp_login,
                "udp-whoami-server": cmd_udp_whoami_server, "udp-whoami": cmd_udp_whoami,
                "udp-poke": cmd_udp_poke, "udp-punch": cmd_udp_punch,
                "stun-check": cmd_stun_check, "xmpp-ice-pwd": cmd_xmpp_ice_pwd}
    try:
        return handlers[a.cmd](a)
    except (TimeoutError, ValueError, OSError) as e:
        print("%s: %s" % (a.cmd, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
