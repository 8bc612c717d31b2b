#!/usr/bin/env python3
"""The OAuth 1.0a peer (app.py) over TLS, for signatures over an https base URI
with a non-default port (RFC 5849 §3.4.1.2 keeps such a port in the base string).

    tls.py DIR

Writes DIR/ca.pem (a private CA, see ../tls_server.py) and serves app.py's routes
over TLS on 127.0.0.1 (a free port); prints "LISTENING https://127.0.0.1:PORT" once
it accepts connections. The consumer and the pre-issued token come from the same
environment as app.py's (OAUTH1_CONSUMER_KEY, OAUTH1_CONSUMER_SECRET, OAUTH1_TOKEN,
OAUTH1_TOKEN_SECRET); oauthlib verifies against https://HOST:PORT/path.
"""
import os
import signal
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import app  # noqa: E402
import tls_server  # noqa: E402


def main():
    cert_path, key_path = tls_server.make_certs(sys.argv[1], "good")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    from werkzeug.serving import make_server
    httpd = make_server("127.0.0.1", 0, app.app, threaded=True, ssl_context=ctx)
    print(f"LISTENING https://127.0.0.1:{httpd.socket.getsockname()[1]}", flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
