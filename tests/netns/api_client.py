#!/usr/bin/env python3
"""api_client.py - hostile clients of ipopd's management socket, for the netns tests.

  api_client.py trickle SOCK REQUEST SECONDS   send REQUEST + newline one byte a second
  api_client.py noread SOCK REQUEST SECONDS    send REQUEST + newline, then read nothing
  api_client.py hold SOCK N SECONDS            open N connections and send nothing

Each runs at most SECONDS, then reports on one line what the server did:
  trickle: "trickle: sent B bytes, closed by the server after T s" (or "not closed")
  noread:  "noread: got B bytes, closed by the server" (or "not closed")
  hold:    "hold: K of N closed by the server within SECONDS s"
Exit status 0 when the client ran (the test judges the line).
"""
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def closed_now(s):
    """True if the server closed s (EOF or reset): reads what is pending."""
    s.setblocking(False)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return True
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        s.setblocking(True)


def trickle(path, req, seconds):
    s = connect(path)
    data = (req + "\n").encode()
    t0 = time.monotonic()
    sent = 0
    while time.monotonic() - t0 < seconds and sent < len(data):
        try:
            s.send(data[sent:sent + 1])
        except (BrokenPipeError, ConnectionResetError):
            # The server closed it between our last look and this byte:
            # the same event as closed_now() below, seen by the send.
            print(f"trickle: sent {sent} bytes, closed by the server after "
                  f"{time.monotonic() - t0:.1f} s (seen by the send)", flush=True)
            return
        sent += 1
        time.sleep(1)
        if closed_now(s):
            print(f"trickle: sent {sent} bytes, closed by the server after "
                  f"{time.monotonic() - t0:.1f} s", flush=True)
            return
    print(f"trickle: sent {sent} bytes, not closed after {time.monotonic() - t0:.1f} s",
          flush=True)


def noread(path, req, seconds):
    s = connect(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.send((req + "\n").encode())
    time.sleep(seconds)
    got = 0
    s.settimeout(2)
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                print(f"noread: got {got} bytes, closed by the server", flush=True)
                return
            got += len(b)
    except (ConnectionResetError, BrokenPipeError):
        print(f"noread: got {got} bytes, closed by the server (reset)", flush=True)
    except socket.timeout:
        print(f"noread: got {got} bytes, not closed", flush=True)


def hold(path, n, seconds):
    conns = [connect(path) for _ in range(n)]
    time.sleep(seconds)
    k = sum(1 for s in conns if closed_now(s))
    print(f"hold: {k} of {n} closed by the server within {seconds:g} s", flush=True)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "trickle":
        trickle(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "noread":
        noread(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "hold":
        hold(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
