#!/usr/bin/env python3
"""hostile_xmpp.py - a raw XMPP client (stdlib only) that plays a hostile or
confused overlay member against ipopd's signalling, for test_signalling.sh.

  hostile_xmpp.py HOST PORT DOMAIN USER PASS OVERLAY --tls --targets gw-1,gw-2
                  (a target may be a full JID user@domain/resource)
                  [--junk] [--fake-key] [--steal-key B64] [--valid-request]
                  [--ident-key B64|random [--ident-node HEX|random]] [--presence-junk]
                  [--request-type TYPE] [--flood N] [--link-cert B64]
                  [--stay S [--until FILE]] [--ip A.B.C.D]
                  [--bad-candidate NODE] [--no-presence]

Logs in (STARTTLS without verification, SASL PLAIN, resource binding), sends
presence (plain, like a node of an older version; or with --ident-key carrying
the node identity element <identity xmlns='urn:ipop:node:1' node= key=/>, its
node the key's hash unless --ident-node gives one: "random" is another key's),
waits until every target's presence has arrived, then broadcasts
  --presence-junk  malformed identities in presence (one per refusal reason)
and sends to each target's full JID:
  --junk           malformed and oversized link stanzas (one per refusal reason)
  --fake-key       a well-formed request announcing a random key nobody holds
  --steal-key B64  a well-formed request announcing someone else's key
  --valid-request  a well-formed request with a random key (for a non-member)
  --flood N        N copies of one well-formed request (one random key), as
                   fast as the connection takes them
  --bad-candidate NODE  a candidate stanza from node NODE (hex) whose `cand`
                   does not parse (type "nat"), for test_stun_integrity.sh
(--no-presence: log in without sending any presence, so a second resource of
a member's account changes nothing of how the targets see the member; give
the targets as full JIDs then)
(--request-type: the link type these requests ask for, default successor;
 --link-cert: a member certificate, base64, these requests carry as `cert`)
then stays online for --stay seconds (so its links can run into their limits),
or less if FILE appears, printing the link messages it receives.
Prints one line per stanza sent: "sent REASON TARGET", one per presence sent:
"presence WHAT" (the first is the login presence: "presence login NODE" or
"presence login none"), and one per link message received while it stays:
"got OP FROM [reason=REASON]". Test infrastructure only.
"""
import argparse
import base64
import hashlib
import os
import re
import socket
import ssl
import sys
import time

NS = "urn:ipop:link:1"
NODE_NS = "urn:ipop:node:1"


def read_until(sock, buf, pattern, timeout=10):
    end = time.time() + timeout
    while not re.search(pattern, buf):
        sock.settimeout(max(0.1, end - time.time()))
        data = sock.recv(65536)
        if not data:
            raise EOFError("server closed the stream")
        buf += data
        if time.time() > end:
            raise TimeoutError(pattern)
    return buf


def open_stream(sock, domain):
    sock.sendall(("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" %
                  domain).encode())
    return read_until(sock, b"", rb"</stream:features>")


def login(a):
    sock = socket.create_connection((a.host, a.port), timeout=10)
    feats = open_stream(sock, a.domain)
    if a.tls:
        sock.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        read_until(sock, b"", rb"<proceed")
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname=a.domain)
        feats = open_stream(sock, a.domain)
    cred = base64.b64encode(b"\0" + a.user.encode() + b"\0" + a.password.encode()).decode()
    sock.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>"
                  % cred).encode())
    r = read_until(sock, b"", rb"<success|<failure")
    if b"<success" not in r:
        raise PermissionError("authentication failed")
    open_stream(sock, a.domain)
    sock.sendall(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                 b"<resource>hostile</resource></bind></iq>")
    read_until(sock, b"", rb"</jid>")
    if a.no_presence:
        print("presence login none sent")
        return sock
    pres, node = login_presence(a)
    sock.sendall(pres.encode())
    print("presence login %s" % node)
    return sock


def node_of(key):
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def b64(key):
    return base64.b64encode(key).decode()


def identity(node, key, extra="", inner=None):
    attrs = "node='%s' key='%s'%s" % (node, key, extra)
    if inner is None:
        return "<identity xmlns='%s' %s/>" % (NODE_NS, attrs)
    return "<identity xmlns='%s' %s>%s</identity>" % (NODE_NS, attrs, inner)


def login_presence(a):
    """The first presence and the node ID it announces ("none": no element)."""
    if a.ident_key is None:
        return "<presence/>", "none"
    key = os.urandom(32) if a.ident_key == "random" else base64.b64decode(a.ident_key)
    node = a.ident_node or node_of(key)
    if node == "random":
        node = node_of(os.urandom(32))
    extra = " cert='%s'" % a.ident_cert if a.ident_cert else ""
    return "<presence>%s</presence>" % identity(node, b64(key), extra), node


def presence_junk():
    k = os.urandom(32)
    n, key = node_of(k), b64(k)
    ok = identity(n, key)
    zero = bytes(32)
    wrap = lambda *els: "<presence>%s</presence>" % "".join(els)
    return [
        ("too_big", wrap("<status>%s</status>" % ("A" * 3000), ok)),
        ("bad_structure", wrap(ok, ok)),
        ("bad_structure", wrap(identity(n, key, inner="<x/>"))),
        ("bad_structure", wrap(identity(n, key, inner="text"))),
        ("bad_structure", wrap("<ident xmlns='%s' node='%s' key='%s'/>" % (NODE_NS, n, key))),
        ("bad_attribute", wrap(identity(n, key, extra=" overlay='testnet'"))),
        ("bad_attribute", wrap("<identity xmlns='%s' node='%s'/>" % (NODE_NS, n))),
        ("bad_node_id", wrap(identity("XYZ", key))),
        ("bad_key", wrap(identity(n, "AAAA"))),
        ("node_key_mismatch", wrap(identity(node_of(os.urandom(32)), key))),
        ("weak_key", wrap(identity(node_of(zero), b64(zero)))),
    ]


def link(op, overlay, key, ip, port, extra="", node=None, ltype="successor"):
    b64 = base64.b64encode(key).decode()
    node = node or node_of(key)
    return ("<link xmlns='%s' op='%s' overlay='%s' node='%s' key='%s' ip='%s' port='%s' "
            "type='%s'%s/>" % (NS, op, overlay, node, b64, ip, port, ltype, extra))


def junk(overlay, ip):
    k = os.urandom(32)
    other = node_of(os.urandom(32))
    good = lambda **kw: link(kw.get("op", "request"), kw.get("overlay", overlay), k,
                             kw.get("ip", ip), kw.get("port", "5800"), kw.get("extra", ""),
                             kw.get("node"), kw.get("ltype", "successor"))
    return [
        ("bad_op", good(op="hijack")),
        ("bad_overlay", good(overlay="othernet")),
        ("bad_node_id", good(node="XYZ")),
        ("node_key_mismatch", good(node=other)),
        ("bad_key", "<link xmlns='%s' op='request' overlay='%s' node='%s' key='AAAA' ip='%s' "
                    "port='5800' type='successor'/>" % (NS, overlay, node_of(k), ip)),
        ("bad_type", good(ltype="none")),
        ("bad_type", good(ltype="sideways")),
        ("bad_ip", good(ip="300.1.2.3")),
        ("bad_port", good(port="70000")),
        ("bad_attribute", good(extra=" evil='1'")),
        ("bad_attribute", "<link xmlns='%s' op='request' overlay='%s' node='%s'/>"
                          % (NS, overlay, node_of(k))),
        ("bad_structure", good().replace("/>", "><x/></link>")),
        ("too_big", "<body>%s</body>%s" % ("A" * 4000, good())),
        ("too_big", good(extra=" overlay2='%s'" % ("B" * 3000))),
    ]


LINK_RX = re.compile(rb"<message\b[^>]*?\bfrom=['\"]([^'\"]+)['\"][^>]*>(.*?)</message>", re.S)
ATTR = re.compile(rb"\b(op|reason)=['\"]([^'\"]*)['\"]")


def report_links(buf):
    """Print the link messages complete in buf; return the unparsed rest."""
    end = 0
    for m in LINK_RX.finditer(buf):
        end = m.end()
        body = m.group(2)
        if b"urn:ipop:link:1" not in body:
            continue
        attrs = dict((k.decode(), v.decode()) for k, v in ATTR.findall(body))
        line = "got %s %s" % (attrs.get("op", "?"), m.group(1).decode().split("/")[0])
        if "reason" in attrs:
            line += " reason=%s" % attrs["reason"].replace("&#39;", "'")
        print(line)
        sys.stdout.flush()
    return buf[end:] if end else buf[-65536:]


def main():
    p = argparse.ArgumentParser()
    for n in ("host", "port", "domain", "user", "password", "overlay"):
        p.add_argument(n)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--targets", required=True)
    p.add_argument("--junk", action="store_true")
    p.add_argument("--fake-key", action="store_true")
    p.add_argument("--steal-key")
    p.add_argument("--valid-request", action="store_true")
    p.add_argument("--request-type", default="successor")
    p.add_argument("--flood", type=int, default=0)
    p.add_argument("--ident-key")
    p.add_argument("--ident-node")
    p.add_argument("--ident-cert")   # a member certificate (base64) in the identity
    p.add_argument("--presence-junk", action="store_true")
    p.add_argument("--link-cert")    # a member certificate (base64) in the requests
    p.add_argument("--stay", type=float, default=0)
    p.add_argument("--until")
    p.add_argument("--ip", default="10.91.0.2")
    p.add_argument("--bad-candidate")
    p.add_argument("--no-presence", action="store_true")
    a = p.parse_args()
    a.port = int(a.port)
    sock = login(a)
    targets = a.targets.split(",")
    # A target given as a full JID needs no presence (a non-member never gets one).
    full = {t.split("@")[0]: t for t in targets if "/" in t}
    targets = [t.split("@")[0] for t in targets]
    buf = b""
    end = time.time() + 15
    while len(full) < len(targets) and time.time() < end:
        try:
            buf = read_until(sock, buf, rb"<presence[^>]*>", timeout=1)
        except TimeoutError:
            continue
        for m in re.finditer(rb"<presence[^>]*from=['\"]([^'\"]+)['\"]", buf):
            j = m.group(1).decode()
            bare = j.split("/")[0]
            for t in targets:
                if bare.startswith(t + "@") and "/" in j:
                    full[t] = j
        buf = buf[-200:]
    print("presences: %s" % full, file=sys.stderr)
    if len(full) < len(targets):
        print("missing presence of %s" % sorted(set(targets) - set(full)), file=sys.stderr)
        if not full:
            return 1
    if a.presence_junk:
        for reason, pres in presence_junk():
            sock.sendall(pres.encode())
            print("presence %s" % reason)
    stanzas = []
    cert = " cert='%s'" % a.link_cert if a.link_cert else ""
    if a.junk:
        stanzas += junk(a.overlay, a.ip)
    if a.fake_key or a.valid_request:
        stanzas.append(("fake_key", link("request", a.overlay, os.urandom(32), a.ip, "5800",
                                         cert, ltype=a.request_type)))
    if a.steal_key:
        stanzas.append(("stolen_key", link("request", a.overlay, base64.b64decode(a.steal_key),
                                           a.ip, "5800", cert, ltype=a.request_type)))
    if a.flood:
        one = link("request", a.overlay, os.urandom(32), a.ip, "5800", cert, ltype=a.request_type)
        stanzas += [("flood", one)] * a.flood
    if a.bad_candidate:
        stanzas.append(("bad_candidate",
                        "<link xmlns='%s' op='candidate' overlay='%s' node='%s' ufrag='wX3+' "
                        "cand='candidate:1 1 UDP 2013266431 10.91.9.9 5801 typ nat'/>"
                        % (NS, a.overlay, a.bad_candidate)))
    for t, j in sorted(full.items()):
        for reason, body in stanzas:
            sock.sendall(("<message type='normal' to='%s'>%s</message>" % (j, body)).encode())
            print("sent %s %s" % (reason, t))
    sys.stdout.flush()
    end = time.time() + a.stay
    sock.settimeout(0.5)
    rx = b""
    while time.time() < end and not (a.until and os.path.exists(a.until)):
        try:
            data = sock.recv(65536)
            if not data:
                break
            rx = report_links(rx + data)
        except (socket.timeout, ssl.SSLError, TimeoutError):
            pass
    sock.sendall(b"<presence type='unavailable'/></stream:stream>")
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
