#!/usr/bin/env python3
"""A tiny HTTPS server with a private CA, for conntest's TLS tests.

    tls_server.py DIR MODE

Writes DIR/ca.pem (the private CA) and serves GET /me -> {"ok": true} over
TLS on 127.0.0.1 (a free port) with a server certificate chosen by MODE:

  good       signed by the CA, valid now, for IP 127.0.0.1
  expired    signed by the CA, expired yesterday
  wrongname  signed by the CA, valid, but only for the name other.example
  ca-leaf    the CA certificate itself is the server certificate
  mtls       as good, and a client certificate is required (CERT_REQUIRED,
             signed by the same CA): writes DIR/client.pem, DIR/client.key, a
             key of another pair DIR/other.key and an encrypted copy of the
             client key DIR/encrypted.key; /me answers {"ok": true, "client": CN}

Prints "LISTENING https://127.0.0.1:PORT" once it accepts connections.
Uses `cryptography` (in the peers venv through pyspnego).
"""
import datetime
import ipaddress
import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_certs(out, mode):
    """Writes OUT/ca.pem, OUT/server.pem and OUT/server.key for MODE; returns the
    server certificate's and key's paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("conntest test CA"))
        .issuer_name(name("conntest test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    with open(os.path.join(out, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))

    if mode == "ca-leaf":
        cert, key = ca, ca_key
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        san = (
            [x509.DNSName("other.example")]
            if mode == "wrongname"
            else [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        )
        before, after = now - datetime.timedelta(days=1), now + datetime.timedelta(days=7)
        if mode == "expired":
            before, after = now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name("127.0.0.1"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(before)
            .not_valid_after(after)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
    if mode == "mtls":
        write_client(out, ca, ca_key, now)
    cert_path, key_path = os.path.join(out, "server.pem"), os.path.join(out, "server.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


def write_client(out, ca, ca_key, now):
    """A client certificate for mutual TLS, signed by the CA, with its key; a key
    of another pair; and the client key encrypted with a passphrase."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("conntest client"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pkcs8 = serialization.PrivateFormat.PKCS8
    with open(os.path.join(out, "client.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(out, "client.key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
    other = ec.generate_private_key(ec.SECP256R1())
    with open(os.path.join(out, "other.key"), "wb") as f:
        f.write(other.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
    locked = serialization.BestAvailableEncryption(b"passphrase")
    with open(os.path.join(out, "encrypted.key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, pkcs8, locked))


def main():
    out, mode = sys.argv[1], sys.argv[2]
    cert_path, key_path = make_certs(out, mode)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            reply = {"ok": True}
            peer = self.connection.getpeercert() if mode == "mtls" else None
            if peer:
                reply["client"] = dict(x[0] for x in peer["subject"]).get("commonName")
            body = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    if mode == "mtls":
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(os.path.join(out, "ca.pem"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"LISTENING https://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
