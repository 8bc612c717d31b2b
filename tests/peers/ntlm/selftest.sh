#!/usr/bin/env bash
# End-to-end self-test of the NTLM peer, without conntest:
#
#   bash tests/peers/ntlm/selftest.sh
#
# Starts the peer (tests/peers/start-peers8.sh with PEERS8_START=ntlm), then
# curl --ntlm 20 times in a row, a wrong password, keep-alive reuse, and raw
# protocol abuse (out-of-order and garbage messages, a wrong then right password
# on one connection) with pyspnego's own NTLM initiator from the peers venv.
# Prints one line per check, timings, and a closing `N passed, N failed` line;
# exits 1 if any check failed. KEEP=1 keeps the work dir (peer.log).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ntlm-selftest.XXXXXX")"
export NTLM_PEER_LOG="$WORK/peer.log"

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$*"; }
check() { local d="$1"; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
eq() { [ "$1" = "$2" ] || { echo "  expected [$2], got [$1]" >&2; return 1; }; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

cleanup() {
    declare -F peers8_stop >/dev/null && peers8_stop
    if [ "$fail" -ne 0 ] || [ -n "${KEEP:-}" ]; then
        echo "selftest: kept $WORK (peer.log)" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

bash tests/peers/setup-peers8.sh </dev/null || exit 1
t=$(date +%s%N)
PEERS8_START=ntlm
# shellcheck source=../start-peers8.sh
source tests/peers/start-peers8.sh || { fail=1; exit 1; }
echo "peer: $CONNTEST_NTLM_URL (ready in $(ms_since "$t") ms: setup check + python start + /__stats)"
U="$CONNTEST_NTLM_URL"
CRED="$CONNTEST_NTLM_DOMAIN\\$CONNTEST_NTLM_USER:$CONNTEST_NTLM_PASSWORD"
PY="$CONNTEST_PEERS_PYTHON"

# http OUT curl-args...: prints the status code; the body goes to OUT.
http() { local out="$1"; shift; curl -sS --noproxy '*' --max-time 10 -o "$out" -w '%{http_code}' "$@"; }
jget() { "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    d = d.get(k, "") if isinstance(d, dict) else ""
print(d)' "$@" 2>/dev/null; }
stat() { http "$WORK/stats.json" "$U/__stats" >/dev/null; jget "$WORK/stats.json" "$1"; }

# ---- unauthenticated -----------------------------------------------------------------
st=$(curl -sS --noproxy '*' --max-time 10 -o "$WORK/x.json" -D "$WORK/h.txt" -w '%{http_code}' "$U/api/me")
check "no credentials -> 401" eq "$st" 401
check "401 offers WWW-Authenticate: NTLM" grep -qi '^WWW-Authenticate: NTLM\s*$' "$WORK/h.txt"
check "GET /__stats needs no auth -> 200" eq "$(http "$WORK/s.json" "$U/__stats")" 200

# ---- curl --ntlm, 20 times in a row -------------------------------------------------------
ok0=$(stat handshakes_ok); conns0=$(stat connections)
t=$(date +%s%N)
n200=0; users_ok=1; ids=()
for i in $(seq 20); do
    st=$(http "$WORK/me.json" --ntlm -u "$CRED" "$U/api/me")
    [ "$st" = 200 ] && n200=$((n200 + 1))
    [ "$(jget "$WORK/me.json" user)" = "$CONNTEST_NTLM_DOMAIN\\$CONNTEST_NTLM_USER" ] || users_ok=0
    ids+=("$(jget "$WORK/me.json" connection)")
done
loop_ms=$(ms_since "$t")
check "curl --ntlm 20 times in a row: 20 x 200" eq "$n200" 20
check "curl --ntlm: user is DOMAIN\\user every time" eq "$users_ok" 1
check "curl --ntlm: 20 different connections" eq "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" 20
check "stats: handshakes_ok +20" eq "$(( $(stat handshakes_ok) - ok0 ))" 20
check "stats: connections grew by at least 20" test "$(( $(stat connections) - conns0 ))" -ge 20
echo "timing: 20 curl --ntlm runs (each: new connection, negotiate, challenge, authenticate) ${loop_ms} ms, $((loop_ms / 20)) ms each"

# ---- keep-alive: one connection, one handshake, several requests ------------------------------
ok0=$(stat handshakes_ok)
curl -sS --noproxy '*' --max-time 10 --ntlm -u "$CRED" "$U/api/me" "$U/api/me" "$U/api/me" -o "$WORK/k1.json" -o "$WORK/k2.json" -o "$WORK/k3.json"
c1=$(jget "$WORK/k1.json" connection); c3=$(jget "$WORK/k3.json" connection)
check "keep-alive: 3 requests in one curl share one connection" eq "$c3" "$c1"
check "keep-alive: one handshake for the 3 requests" eq "$(( $(stat handshakes_ok) - ok0 ))" 1
http "$WORK/c.json" "$U/__stats?connection=$c1" >/dev/null
check "keep-alive: per-connection stats: 3 authenticated requests, 1 handshake" \
    eq "$(jget "$WORK/c.json" authenticated_requests)/$(jget "$WORK/c.json" handshakes_ok)" "3/1"

# ---- POST, no domain, wrong password ------------------------------------------------------------
st=$(http "$WORK/e.json" --ntlm -u "$CRED" --data-urlencode 'x=1 2' "$U/api/echo")
check "POST /api/echo with NTLM -> 200, body echoed" eq "$st $(jget "$WORK/e.json" body)" "200 x=1+2"
st=$(http "$WORK/nd.json" --ntlm -u "$CONNTEST_NTLM_USER:$CONNTEST_NTLM_PASSWORD" "$U/api/me")
check "no domain (NTLM_ALLOW_NO_DOMAIN=1) -> 200 as bare user" eq "$st $(jget "$WORK/nd.json" user)" "200 $CONNTEST_NTLM_USER"
bad0=$(stat handshakes_failed)
t=$(date +%s%N)
st=$(http "$WORK/w.json" --ntlm -u "$CONNTEST_NTLM_DOMAIN\\$CONNTEST_NTLM_USER:wrong-password" "$U/api/me")
check "wrong password -> 401 (in $(ms_since "$t") ms, no hang)" eq "$st" 401
check "wrong password: handshakes_failed +1" eq "$(( $(stat handshakes_failed) - bad0 ))" 1
st=$(http "$WORK/w.json" --ntlm -u "OTHERDOM\\$CONNTEST_NTLM_USER:$CONNTEST_NTLM_PASSWORD" "$U/api/me")
check "wrong domain -> 401" eq "$st" 401
st=$(http "$WORK/w.json" --ntlm -u "bob:$CONNTEST_NTLM_PASSWORD" "$U/api/me")
check "unknown user -> 401" eq "$st" 401
st=$(http "$WORK/w.json" -u "$CRED" "$U/api/me")
check "Basic credentials -> 401 (NTLM only)" eq "$st" 401

# ---- raw protocol abuse with pyspnego's initiator --------------------------------------------
"$PY" - "$U" "$CONNTEST_NTLM_DOMAIN\\$CONNTEST_NTLM_USER" "$CONNTEST_NTLM_PASSWORD" >"$WORK/py.out" 2>&1 <<'PY'
import base64, http.client, sys, urllib.parse
import spnego

url, user, pw = sys.argv[1:4]
port = urllib.parse.urlsplit(url).port
passed = failed = 0


def check(desc, cond, detail=""):
    global passed, failed
    print(("ok   " if cond else "FAIL ") + desc + ("" if cond else f"\n     {detail}"))
    passed, failed = passed + bool(cond), failed + (not cond)


def conn():
    return http.client.HTTPConnection("127.0.0.1", port, timeout=5)


def get(c, auth=None, scheme="NTLM"):
    c.request("GET", "/api/me", headers={"Authorization": f"{scheme} {auth}"} if auth else {})
    r = c.getresponse()
    return r.status, r.getheader("WWW-Authenticate") or "", r.read()


def initiator(password):
    return spnego.client(user, password, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)


b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731

# wrong password, then the right one, on the same connection
c = conn()
ctx = initiator("wrong-" + pw)
st, h, _ = get(c, b64(ctx.step()))
t3 = ctx.step(base64.b64decode(h.split()[1]))
st, h, _ = get(c, b64(t3))
check("same connection: wrong password -> 401 with WWW-Authenticate: NTLM", st == 401 and h == "NTLM", (st, h))
ctx = initiator(pw)
st, h, _ = get(c, b64(ctx.step()))
check("same connection: a new negotiate after the failure -> 401 challenge", st == 401 and len(h) > 10, (st, h))
st, _, body = get(c, b64(ctx.step(base64.b64decode(h.split()[1]))))
check("same connection: right password after a wrong one -> 200", st == 200, (st, body))
st, _, body2 = get(c)
check("authenticated connection serves a request without a header", st == 200, (st, body2))
good_t3 = t3

# out of order / garbage: 401 at once, never a hang
c2 = conn()
st, h, _ = get(c2, b64(good_t3))
check("authenticate message without a negotiate first -> 401", st == 401 and h == "NTLM", (st, h))
st, _, _ = get(c2, "%%%not-base64")
check("garbage (not base64) -> 401, connection still usable", st == 401)
st, _, _ = get(c2, b64(b"NTLMSSP\x00\x01\x00\x00\x00garbage"))
check("a truncated negotiate message -> 401 (pyspnego's ValueError caught)", st == 401)
st, _, _ = get(c2, b64(b"NTLMSSP\x00\x03\x00\x00\x00" + b"\x00" * 60))
check("a bogus authenticate message -> 401", st == 401)
st, _, _ = get(c2, b64(b"NTLMSSP\x00\x07\x00\x00\x00"))
check("an unknown NTLM message type -> 401", st == 401)
ctx = initiator(pw)
st, h, _ = get(c2, b64(ctx.step()), scheme="Negotiate")
check("raw NTLM under the Negotiate scheme -> challenge under Negotiate", st == 401 and h.startswith("Negotiate "), h)
st, _, body = get(c2, b64(ctx.step(base64.b64decode(h.split()[1]))), scheme="Negotiate")
check("... and the handshake completes -> 200 on the abused connection", st == 200, (st, body))

# a new connection does not inherit authentication
c3 = conn()
st, _, _ = get(c3)
check("a new connection is not authenticated -> 401", st == 401)
print(f"PYSUMMARY {passed} {failed}")
sys.exit(1 if failed else 0)
PY
grep -v '^PYSUMMARY ' "$WORK/py.out"
if summary="$(sed -n 's/^PYSUMMARY //p' "$WORK/py.out")" && [ -n "$summary" ]; then
    pass=$((pass + ${summary% *})); fail=$((fail + ${summary#* }))
else
    bad "raw protocol checks (pyspnego initiator) did not finish"
fi

# ---- the server is still healthy, and its log holds no password --------------------------------
st=$(http "$WORK/me.json" --ntlm -u "$CRED" "$U/api/me")
check "after all that abuse: curl --ntlm still -> 200" eq "$st" 200
check "peer log does not hold the password" bash -c '! grep -qF -- "$1" "$2"' _ "$CONNTEST_NTLM_PASSWORD" "$NTLM_PEER_LOG"
http "$WORK/stats.json" "$U/__stats" >/dev/null; echo "stats: $(cat "$WORK/stats.json")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
