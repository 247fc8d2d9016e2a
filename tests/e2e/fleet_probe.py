#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One NATS operation with a host's certificate, to show what the broker lets
it do (tests/e2e/test_fleet.sh). There is no `nats` CLI in Debian, and this
speaks just enough of the protocol: INFO, the TLS upgrade, CONNECT, one PUB
or SUB, PING.

  fleet_probe.py HOST PORT CA CERT|- KEY|- pub|sub|req SUBJECT [PAYLOAD [COUNT]]

COUNT publishes the payload that many times on one connection (a flood).
req publishes the payload as a request and prints the reply's body (the
JetStream API: what the broker holds).

Prints "allowed" (exit 0), or "refused: why" (exit 3) when the broker
answers a permissions violation or refuses the connection. Bounded: 5 s.
"""
import socket
import ssl
import sys
import time


def main():
    host, port, ca, cert, key, verb, subj = sys.argv[1:8]
    payload = sys.argv[8] if len(sys.argv) > 8 else ""
    count = min(int(sys.argv[9]), 100000) if len(sys.argv) > 9 else 1
    deadline = time.monotonic() + 5
    try:
        raw = socket.create_connection((host, int(port)), timeout=3)
        info = raw.recv(4096)
        if not info.startswith(b"INFO "):
            print("refused: no INFO from the server")
            return 3
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False
        if cert != "-":
            ctx.load_cert_chain(cert, key)
        tls = ctx.wrap_socket(raw)
        tls.sendall(b'CONNECT {"verbose":false,"pedantic":false,"tls_required":true,'
                    b'"headers":true,"protocol":1,"name":"probe"}\r\n')
        if verb == "req":
            data = payload.encode()
            tls.sendall(b"SUB _INBOX_probe.r 1\r\nPUB %s _INBOX_probe.r %d\r\n%s\r\n"
                        % (subj.encode(), len(data), data))
            got = b""
            while time.monotonic() < deadline:
                if got.startswith(b"-ERR") or b"\r\n-ERR" in got:
                    break
                i = got.find(b"MSG ")
                if i >= 0 and b"\r\n" in got[i:]:
                    head, rest = got[i:].split(b"\r\n", 1)
                    n = int(head.split()[-1])
                    if len(rest) >= n:
                        print(rest[:n].decode("utf-8", "replace"))
                        return 0
                chunk = tls.recv(4096)
                if not chunk:
                    break
                got += chunk
            text = got.decode("utf-8", "replace")
            print("refused: %s" % (text.split("-ERR", 1)[1].split("\r\n", 1)[0].strip()
                                   if "-ERR" in text else "no reply"))
            return 3
        if verb == "pub":
            data = payload.encode()
            one = b"PUB %s %d\r\n%s\r\n" % (subj.encode(), len(data), data)
            tls.sendall(one * count)
        else:
            tls.sendall(b"SUB %s 1\r\n" % subj.encode())
        tls.sendall(b"PING\r\n")
        got = b""
        while b"PONG" not in got and time.monotonic() < deadline:
            chunk = tls.recv(4096)
            if not chunk:
                break
            got += chunk
    except (OSError, ssl.SSLError) as e:
        print("refused: %s" % e)
        return 3
    text = got.decode("utf-8", "replace")
    if "-ERR" in text:
        print("refused: " + text.split("-ERR", 1)[1].split("\r\n", 1)[0].strip())
        return 3
    if "PONG" not in text:
        print("refused: no PONG (%r)" % text[:200])
        return 3
    print("allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
