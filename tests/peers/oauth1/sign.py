#!/usr/bin/env python3
"""Cross-check for conntest's OAuth 1 signer: what oauthlib's Client produces.

    sign.py JSON            # the request as a JSON object (or `-`: read it from stdin)
    sign.py --json JSON     # print a JSON object with more detail (see below)

Prints the one line `Authorization: OAuth ...` that oauthlib.oauth1.Client
(signature type AUTH_HEADER, the default) would send for the request, so a Rust
unit test can compare its own signer byte for byte (run it with the peers venv:
target/peers-venv/bin/python, or $CONNTEST_PEERS_PYTHON).

Input (JSON object; only consumer_key is required):
  method           "GET"                        HTTP method (default GET)
  url              "http://127.0.0.1:8080/api/me?a=1&a=0"
                                                absolute URL; may have a query already
  params           [["filter[name]", "a b"], ["a", "1"]]  or  {"q": "x"}
                                                query parameters appended to url
                                                (percent-encoded, RFC 3986, space as %20)
  body             [["k", "v"], ...]  or  {"k": "v"}  or  "k=v&x=1+2"
                                                form body (application/x-www-form-urlencoded;
                                                its parameters are signed); a list/object is
                                                encoded like params
  content_type     "application/json"           only with a raw string body that is NOT a
                                                form: it is then not signed, oauthlib adds
                                                oauth_body_hash (SHA-1 of the body, base64)
  consumer_key     "ck-test"
  consumer_secret  "..."
  token            "..."                        oauth_token (access or request token)
  token_secret     "..."
  signature_method "HMAC-SHA1" | "HMAC-SHA256" | "PLAINTEXT"  (default HMAC-SHA1)
  nonce            "abc123"                     oauth_nonce   (default: random; give it to compare)
  timestamp        "1700000000"                 oauth_timestamp (default: now; a string or a number)
  realm            "photos"                     realm="..." first in the header
  callback         "http://127.0.0.1:1234/callback"   oauth_callback (request-token request)
  verifier         "..."                        oauth_verifier (access-token request)

Output with --json:
  {"authorization": "OAuth ...",        the header value (without "Authorization: ")
   "url": "...",                        the URL to send (url + params, encoded)
   "body": "..." | null,                the body to send
   "content_type": "..." | null,
   "signature": "...",                  oauth_signature, decoded
   "base_string": "..." | null,         signature base string (null for PLAINTEXT)
   "oauth_params": [[name, value], ...]} the protocol parameters in header order

oauthlib's header order: [realm,] oauth_nonce, oauth_timestamp, oauth_version="1.0",
oauth_signature_method, oauth_consumer_key, [oauth_token,] [oauth_callback,]
[oauth_verifier,] [oauth_body_hash,] oauth_signature; joined by ", ", each value
percent-encoded (RFC 5849 3.6) and double-quoted. Exit code 2 on bad input.
"""

import json
import sys
import urllib.parse

from oauthlib.common import urlencoded
from oauthlib.oauth1 import SIGNATURE_PLAINTEXT, Client
from oauthlib.oauth1.rfc5849 import signature, utils

FORM = "application/x-www-form-urlencoded"
OK = set(urlencoded)


def pct_fix(s: str) -> str:
    """Percent-encode characters oauthlib's urldecode would reject (e.g. a raw `[`
    or `ü`); escapes already there and `+` are kept."""
    return "".join(c if c in OK else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in s)


def pairs(v):
    if isinstance(v, dict):
        return [(str(k), str(x)) for k, x in v.items()]
    if isinstance(v, list):
        return [(str(p[0]), str(p[1])) for p in v]
    raise ValueError("params/body must be an object or a list of [name, value] pairs")


def encode_pairs(ps):
    return "&".join(f"{urllib.parse.quote(k, safe='~')}={urllib.parse.quote(v, safe='~')}" for k, v in ps)


def sign(spec: dict) -> dict:
    if not isinstance(spec, dict) or not spec.get("consumer_key"):
        raise ValueError("input must be a JSON object with at least consumer_key")
    method = str(spec.get("method", "GET")).upper()
    url = str(spec.get("url", ""))
    if not url.startswith(("http://", "https://")):
        raise ValueError("url must be absolute (http:// or https://)")
    base, _, query = url.partition("?")
    query = pct_fix(query)
    if spec.get("params"):
        extra = encode_pairs(pairs(spec["params"]))
        query = f"{query}&{extra}" if query else extra
    url = f"{base}?{query}" if query else base

    headers, body, ctype = {}, None, None
    if spec.get("body") is not None:
        b = spec["body"]
        if isinstance(b, str):
            ctype = spec.get("content_type") or FORM
            body = pct_fix(b) if ctype == FORM else b
        else:
            ctype, body = FORM, encode_pairs(pairs(b))
        headers["Content-Type"] = ctype

    ts = spec.get("timestamp")
    client = Client(
        spec["consumer_key"],
        client_secret=spec.get("consumer_secret"),
        resource_owner_key=spec.get("token") or None,
        resource_owner_secret=spec.get("token_secret") or None,
        callback_uri=spec.get("callback") or None,
        signature_method=spec.get("signature_method") or "HMAC-SHA1",
        verifier=spec.get("verifier") or None,
        realm=spec.get("realm") or None,
        nonce=spec.get("nonce") or None,
        timestamp=str(ts) if ts is not None else None,
    )
    _, signed_headers, signed_body = client.sign(url, http_method=method, body=body, headers=headers)
    auth = signed_headers["Authorization"]

    oauth = [(k, utils.unescape(v)) for k, v in utils.parse_authorization_header(auth)]
    sig = dict(oauth)["oauth_signature"]
    base_string = None
    if client.signature_method != SIGNATURE_PLAINTEXT:
        params = signature.collect_parameters(
            uri_query=urllib.parse.urlsplit(url).query,
            body=signed_body if ctype == FORM else None,
            headers={"Authorization": auth}, exclude_oauth_signature=True)
        base_string = signature.signature_base_string(
            method, signature.base_string_uri(url), signature.normalize_parameters(params))
    return {
        "authorization": auth,
        "url": url,
        "body": signed_body,
        "content_type": ctype,
        "signature": sig,
        "base_string": base_string,
        "oauth_params": [list(p) for p in oauth],
    }


def main(argv):
    as_json = "--json" in argv[1:]
    args = [a for a in argv[1:] if a != "--json"]
    if len(args) != 1:
        sys.stderr.write("usage: sign.py [--json] JSON|-   (see the top of this file)\n")
        return 2
    try:
        spec = json.loads(sys.stdin.read() if args[0] == "-" else args[0])
        out = sign(spec)
    except (ValueError, KeyError, TypeError) as e:
        sys.stderr.write(f"sign.py: {e}\n")
        return 2
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"Authorization: {out['authorization']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
