#!/usr/bin/env python3
"""A small forwarding proxy for conntest's `--proxy` tests: CONNECT tunnels
(https) and absolute-form requests (http), on 127.0.0.1.

    proxy.py LOG [USER:PASSWORD]

Prints "LISTENING http://127.0.0.1:PORT" once it accepts connections and
appends one line per proxied request to LOG: `CONNECT host:port` or
`GET http://host:port/path`. With USER:PASSWORD, a request without that
`Proxy-Authorization: Basic` answers 407. Standard library only.
"""
import base64
import select
import socket
import sys
import threading

LOG = sys.argv[1]
CREDS = sys.argv[2] if len(sys.argv) > 2 else None
LOCK = threading.Lock()


def note(line):
    with LOCK, open(LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 1 << 20:
            return None, b""
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def pipe(a, b):
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


def handle(conn):
    try:
        head, rest = read_head(conn)
        if head is None:
            return
        lines = head.split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if CREDS:
            want = "Basic " + base64.b64encode(CREDS.encode()).decode()
            if headers.get("proxy-authorization") != want:
                note(f"407 {method} {target}")
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
                return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host, int(port)), timeout=10)
            note(f"CONNECT {target}")
            conn.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            pipe(conn, upstream)
            upstream.close()
            return
        if not target.startswith("http://"):
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        note(f"{method} {target}")
        hostport, _, path = target[len("http://"):].partition("/")
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "80")
        upstream = socket.create_connection((host, int(port)), timeout=10)
        kept = [line for line in lines[1:] if not line.lower().startswith(("proxy-", "connection:"))]
        request = f"{method} /{path} HTTP/1.1\r\n" + "\r\n".join(kept) + "\r\nConnection: close\r\n\r\n"
        upstream.sendall(request.encode("latin-1") + rest)
        pipe(conn, upstream)
        upstream.close()
    except (OSError, ValueError):
        pass
    finally:
        conn.close()


def main():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    print(f"LISTENING http://127.0.0.1:{server.getsockname()[1]}", flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
