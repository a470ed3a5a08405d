#!/usr/bin/env python3
"""A forwarding HTTP proxy for the script tests that notes what it is asked.

Usage: python3 test/proxy_log.py LOGFILE PORT

Listens on 127.0.0.1:PORT; for each client connection appends its first
request line ("CONNECT host:port" or "POST http://host:port/") to LOGFILE,
then relays the bytes both ways (a CONNECT tunnel, or the request sent on
in origin form).  Standard library only; SIGTERM stops it.
"""

import errno
import select
import socket
import socketserver
import time
import sys
import threading
from urllib.parse import urlsplit

log_path, port = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()


def relay(a: socket.socket, b: socket.socket) -> None:
    socks = [a, b]
    while True:
        ready, _, _ = select.select(socks, [], [], 60)
        if not ready:
            return
        for s in ready:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                return
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        method, target, version = lines[0].decode("latin-1").split(" ", 2)
        with lock, open(log_path, "a") as f:
            f.write(f"{method} {target}\n")
        if method == "CONNECT":
            host, up_port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(up_port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
        else:
            url = urlsplit(target)
            upstream = socket.create_connection((url.hostname, url.port or 80))
            path = (url.path or "/") + ("?" + url.query if url.query else "")
            upstream.sendall(f"{method} {path} {version}\r\n".encode("latin-1")
                             + b"".join(line + b"\r\n" for line in lines[1:]) + b"\r\n" + rest)
        with upstream:
            relay(client, upstream)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


# The port lies in the kernel's ephemeral range: a client connection of the
# moment may hold it as its local port; wait for it (5 s at most).
for attempt in range(50):
    try:
        server = Server(("127.0.0.1", port), Handler)
        break
    except OSError as err:
        if err.errno != errno.EADDRINUSE or attempt == 49:
            raise
        time.sleep(0.1)
with server:
    server.serve_forever()
