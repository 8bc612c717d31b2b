#!/usr/bin/env bash
# End-to-end self-test of the OIDC peer and the scripted browser, without conntest:
#
#   bash tests/peers/oidc/selftest.sh
#
# Starts the peer (tests/peers/start-oidc.sh), plays conntest's part with
# one-shot Python loopback listeners, tests/peers/browser.py as $BROWSER, curl
# for the token endpoint and node + jose (the peer's own node_modules) to sign
# JWT-bearer assertions. Prints one line per check, timings, and a closing
# `N passed, N failed` line; exits 1 if any check failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
ROOT="$PWD"
PEER="$ROOT/tests/peers/oidc"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/oidc-selftest.XXXXXX")"
export OIDC_PEER_LOG="$WORK/peer.log"

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$*"; }
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() { local d="$1"; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

listener_pids=()
cleanup() {
    local p
    for p in "${listener_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    declare -F oidc_stop >/dev/null && oidc_stop
    if [ "$fail" -ne 0 ] || [ -n "${KEEP:-}" ]; then
        echo "selftest: kept $WORK (peer.log, browser.log)" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# ---- start ------------------------------------------------------------------------
bash tests/peers/setup-oidc.sh </dev/null || exit 1
t_start=$(date +%s%N)
# shellcheck source=../start-oidc.sh
source tests/peers/start-oidc.sh || exit 1
start_ms=$(ms_since "$t_start")
U="$CONNTEST_OIDC_URL"
CS="$CONNTEST_OIDC_CLIENT_SECRET"
export BROWSER_USER="$CONNTEST_OIDC_USER" BROWSER_PASSWORD="$CONNTEST_OIDC_PASSWORD"
export BROWSER_LOG="$WORK/browser.log"
echo "peer: $U (ready in ${start_ms} ms: npm check + node start + discovery)"

# ---- helpers ------------------------------------------------------------------------
# The helpers run Python many times: resolve the interpreter once (a pyenv shim
# costs ~0.4 s per start). browser.py itself is run as conntest runs it.
PY="$(python3 -c 'import sys; print(sys.executable)')"
cat >"$WORK/listener.py" <<'PY'
import http.server, os, sys
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(out + ".tmp", "w") as f:
            f.write(self.path)
        os.rename(out + ".tmp", out)
        body = b"<p>You may close this window.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
srv.timeout = 30
with open(out + ".port.tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(out + ".port.tmp", out + ".port")
srv.handle_request()
PY

# listen NAME: one-shot listener on a free port; sets LPORT.
listen() {
    "$PY" "$WORK/listener.py" "$WORK/$1" &
    listener_pids+=($!)
    local i
    for i in $(seq 100); do [ -s "$WORK/$1.port" ] && break; sleep 0.05; done
    LPORT="$(cat "$WORK/$1.port")"
}
# await_cb NAME [SECONDS]: prints the path+query the listener got; 1 on timeout.
await_cb() {
    local i n=$(( ${2:-20} * 20 ))
    for i in $(seq "$n"); do
        [ -f "$WORK/$1" ] && { cat "$WORK/$1"; return 0; }
        sleep 0.05
    done
    return 1
}
# browse MODE URL: what conntest does: run $BROWSER URL without waiting. Fails
# when the browser did not return at once.
browse() {
    local t; t=$(date +%s%N)
    BROWSER_MODE="$1" "$CONNTEST_BROWSER" "$2" </dev/null >/dev/null 2>&1
    local rc=$? took; took=$(ms_since "$t")
    [ "$rc" -eq 0 ] && [ "$took" -lt 1000 ] || { echo "browser returned $rc after ${took} ms" >&2; return 1; }
}
# qparam QUERY_OR_URL NAME: the decoded value ('' when absent; exit 1 when absent).
qparam() {
    "$PY" -c 'import sys, urllib.parse as u
q = u.parse_qs(u.urlsplit(sys.argv[1]).query, keep_blank_values=True)
v = q.get(sys.argv[2])
print(v[0] if v else "")
sys.exit(0 if v else 1)' "$1" "$2"
}
# jget FILE KEY: a top-level JSON value ('' when absent).
jget() {
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = d.get(sys.argv[2], "") if isinstance(d, dict) else ""
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2" 2>/dev/null
}
# http OUT curl-args...: prints the status code; the body goes to OUT.
http() { local out="$1"; shift; curl -sS --noproxy '*' -o "$out" -w '%{http_code}' "$@"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
rand_b64url() { head -c "$1" /dev/urandom | b64url; }
s256() { printf %s "$1" | openssl dgst -sha256 -binary | b64url; }
urlenc() { "$PY" -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$1"; }
eq() { [ "$1" = "$2" ] || { echo "  expected [$2], got [$1]" >&2; return 1; }; }
ne() { [ "$1" != "$2" ] || { echo "  expected something other than [$2]" >&2; return 1; }; }
stat_of() { # stat_of CLIENT_ID KEY [SUBKEY]
    http "$WORK/stats.json" "$U/__stats?client_id=$(urlenc "$1")" >/dev/null
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    d = d.get(k, 0) if isinstance(d, dict) else 0
print(d)' "$WORK/stats.json" "${@:2}"
}
SCOPE="openid%20offline_access%20api"
authz_url() { # authz_url CLIENT REDIRECT_URI STATE [EXTRA_QUERY]
    echo "$U/auth?client_id=$1&response_type=code&scope=$SCOPE&redirect_uri=$(urlenc "$2")&state=$3${4:+&$4}"
}

# ---- 1. authorization code, confidential client, client_secret_basic -----------------
listen basic
RU="http://127.0.0.1:$LPORT/callback"
STATE="st-$(rand_b64url 12)"
URL1="$(authz_url conf-basic "$RU" "$STATE")"
t_rt=$(date +%s%N)
check "browser.py returns at once" browse approve "$URL1"
if cb="$(await_cb basic)"; then ok "conf-basic: callback reached the listener on port $LPORT"; else bad "conf-basic: no callback"; cb=; fi
cb_ms=$(ms_since "$t_rt")
check "conf-basic: callback path is /callback" eq "${cb%%\?*}" "/callback"
check "conf-basic: state comes back unchanged" eq "$(qparam "$cb" state)" "$STATE"
check "conf-basic: iss is the issuer (RFC 9207)" eq "$(qparam "$cb" iss)" "$U"
CODE="${cb#*code=}"; CODE="${CODE%%&*}"
st=$(http "$WORK/tok1.json" -u "conf-basic:$CS" -d grant_type=authorization_code --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$RU" "$U/token")
rt_ms=$(ms_since "$t_rt")
check "conf-basic: code from the raw query is the decoded one" eq "$CODE" "$(qparam "$cb" code)"
check "conf-basic: code exchange with client_secret_basic -> 200" eq "$st" 200
AT1="$(jget "$WORK/tok1.json" access_token)"
RT1="$(jget "$WORK/tok1.json" refresh_token)"
check "conf-basic: access token issued" ne "$AT1" ""
check "conf-basic: refresh token issued (issueRefreshToken)" ne "$RT1" ""
check "conf-basic: id_token issued" ne "$(jget "$WORK/tok1.json" id_token)" ""
check "conf-basic: expires_in 3600" eq "$(jget "$WORK/tok1.json" expires_in)" 3600
flow_ms="$("$PY" - "$BROWSER_LOG" <<'PY'
import re, sys
t = [l.split()[0] for l in open(sys.argv[1]) if re.search(r" (GET|POST) http", l)]
to_ms = lambda s: (int(s[0:2]) * 3600 + int(s[3:5]) * 60 + float(s[6:])) * 1000
print(round(to_ms(t[-1]) - to_ms(t[0])) if t else "?")
PY
)"
echo "timing: auth-code round trip ${rt_ms} ms (launching \$BROWSER -> callback ${cb_ms} ms, of which the browser's 7 HTTP requests ${flow_ms} ms; then the token request)"
st=$(http "$WORK/me1.json" -H "Authorization: Bearer $AT1" "$U/api/me")
check "conf-basic: /api/me -> 200" eq "$st" 200
check "conf-basic: /api/me sub" eq "$(jget "$WORK/me1.json" sub)" "$CONNTEST_OIDC_USER"
check "conf-basic: /api/me client_id" eq "$(jget "$WORK/me1.json" client_id)" conf-basic
check "conf-basic: /api/me scope has api" grep -q '"scope":"[^"]*api' "$WORK/me1.json"
st=$(http "$WORK/replay.json" -u "conf-basic:$CS" -d grant_type=authorization_code --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$RU" "$U/token")
check "conf-basic: replayed code -> 400 invalid_grant" eq "$st:$(jget "$WORK/replay.json" error)" "400:invalid_grant"
st=$(http "$WORK/me1b.json" -H "Authorization: Bearer $AT1" "$U/api/me")
check "conf-basic: code replay revoked the grant's access token -> 401" eq "$st" 401

# strict client authentication
st=$(http "$WORK/x.json" -d grant_type=authorization_code -d code=whatever -d client_id=conf-basic --data-urlencode "client_secret=$CS" --data-urlencode "redirect_uri=$RU" "$U/token")
check "conf-basic: client_secret_post is refused -> 401 invalid_client" eq "$st:$(jget "$WORK/x.json" error)" "401:invalid_client"
st=$(http "$WORK/x.json" -u "conf-basic:wrong-$CS" -d grant_type=authorization_code -d code=whatever --data-urlencode "redirect_uri=$RU" "$U/token")
check "conf-basic: wrong secret -> 401 invalid_client" eq "$st:$(jget "$WORK/x.json" error)" "401:invalid_client"

# ---- 2. client_secret_post + custom redirect path not registered ------------------------
listen post
RU="http://127.0.0.1:$LPORT/callback"
STATE="st-$(rand_b64url 12)"
browse approve "$(authz_url conf-post "$RU" "$STATE")" || bad "conf-post: browser"
cb="$(await_cb post)" || cb=
check "conf-post: callback with state" eq "$(qparam "$cb" state)" "$STATE"
st=$(http "$WORK/x.json" -u "conf-post:$CS" -d grant_type=authorization_code --data-urlencode "code=$(qparam "$cb" code)" --data-urlencode "redirect_uri=$RU" "$U/token")
check "conf-post: client_secret_basic is refused -> 401 invalid_client" eq "$st:$(jget "$WORK/x.json" error)" "401:invalid_client"
st=$(http "$WORK/tok2.json" -d grant_type=authorization_code -d client_id=conf-post --data-urlencode "client_secret=$CS" --data-urlencode "code=$(qparam "$cb" code)" --data-urlencode "redirect_uri=$RU" "$U/token")
check "conf-post: code exchange with client_secret_post -> 200" eq "$st" 200
st=$(http "$WORK/me2.json" -H "Authorization: Bearer $(jget "$WORK/tok2.json" access_token)" "$U/api/me")
check "conf-post: /api/me -> 200 client_id conf-post" eq "$st:$(jget "$WORK/me2.json" client_id)" "200:conf-post"
# revocation (RFC 7009): how a test makes a token that looks fresh answer 401
st=$(http "$WORK/x.json" -d client_id=conf-post --data-urlencode "client_secret=$CS" --data-urlencode "token=$(jget "$WORK/tok2.json" access_token)" "$U/token/revocation")
check "conf-post: revoke the access token -> 200" eq "$st" 200
st=$(http "$WORK/me2.json" -H "Authorization: Bearer $(jget "$WORK/tok2.json" access_token)" "$U/api/me")
check "conf-post: revoked access token -> /api/me 401" eq "$st:$(jget "$WORK/me2.json" error)" "401:invalid_token"
st=$(http "$WORK/x.json" -d grant_type=refresh_token -d client_id=conf-post --data-urlencode "client_secret=$CS" --data-urlencode "refresh_token=$(jget "$WORK/tok2.json" refresh_token)" "$U/token")
check "conf-post: RFC 7009 revocation of the access token also kills the refresh token (oidc-provider)" eq "$st:$(jget "$WORK/x.json" error)" "400:invalid_grant"

# ---- 3. custom redirect_path /cb (registered for conf-basic only) ----------------------
listen cbpath
RU="http://127.0.0.1:$LPORT/cb"
browse approve "$(authz_url conf-basic "$RU" s1)" || bad "cb path: browser"
cb="$(await_cb cbpath)" || cb=
check "conf-basic: redirect_path /cb with any port" eq "${cb%%\?*}" "/cb"
listen cbpath2
: >"$BROWSER_LOG.cb2"
BROWSER_LOG="$BROWSER_LOG.cb2" browse approve "$(authz_url conf-post "http://127.0.0.1:$LPORT/cb" s2)" || bad "cb path 2: browser"
if await_cb cbpath2 2 >/dev/null; then bad "conf-post: unregistered /cb must not redirect"; else ok "conf-post: unregistered /cb is not redirected to"; fi
for i in $(seq 40); do grep -q '^.* exit ' "$BROWSER_LOG.cb2" && break; sleep 0.05; done
check "browser: error page without a redirect -> exit 4 in the log" grep -q 'exit 4$' "$BROWSER_LOG.cb2"
cat "$BROWSER_LOG.cb2" >>"$BROWSER_LOG"

# ---- 4. public client + PKCE (S256 and plain) ------------------------------------------
for method in S256 plain; do
    listen "pkce-$method"
    RU="http://127.0.0.1:$LPORT/callback"
    STATE="st-$(rand_b64url 12)"
    VERIFIER="$(rand_b64url 48)"
    if [ "$method" = S256 ]; then CHALLENGE="$(s256 "$VERIFIER")"; else CHALLENGE="$VERIFIER"; fi
    browse approve "$(authz_url public-pkce "$RU" "$STATE" "code_challenge=$CHALLENGE&code_challenge_method=$method")" || bad "pkce: browser"
    cb="$(await_cb "pkce-$method")" || cb=
    check "public-pkce/$method: callback with state" eq "$(qparam "$cb" state)" "$STATE"
    CODE="$(qparam "$cb" code)"
    st=$(http "$WORK/x.json" -d grant_type=authorization_code -d client_id=public-pkce --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$RU" --data-urlencode "code_verifier=$(rand_b64url 48)" "$U/token")
    check "public-pkce/$method: wrong code_verifier -> 400 invalid_grant" eq "$st:$(jget "$WORK/x.json" error)" "400:invalid_grant"
done
# (the wrong verifier consumed that code; a fresh round for the right one)
for method in S256 plain; do
    listen "pkce2-$method"
    RU="http://127.0.0.1:$LPORT/callback"
    VERIFIER="$(rand_b64url 48)"
    if [ "$method" = S256 ]; then CHALLENGE="$(s256 "$VERIFIER")"; else CHALLENGE="$VERIFIER"; fi
    browse approve "$(authz_url public-pkce "$RU" s3 "code_challenge=$CHALLENGE&code_challenge_method=$method")" || bad "pkce2: browser"
    cb="$(await_cb "pkce2-$method")" || cb=
    st=$(http "$WORK/tokp.json" -d grant_type=authorization_code -d client_id=public-pkce --data-urlencode "code=$(qparam "$cb" code)" --data-urlencode "redirect_uri=$RU" --data-urlencode "code_verifier=$VERIFIER" "$U/token")
    check "public-pkce/$method: code + code_verifier, no secret -> 200" eq "$st" 200
    check "public-pkce/$method: refresh token issued" ne "$(jget "$WORK/tokp.json" refresh_token)" ""
    st=$(http "$WORK/x.json" -H "Authorization: Bearer $(jget "$WORK/tokp.json" access_token)" "$U/api/me")
    check "public-pkce/$method: /api/me -> 200" eq "$st" 200
done
st=$(http "$WORK/x.json" -d grant_type=refresh_token -d client_id=public-pkce --data-urlencode "refresh_token=$(jget "$WORK/tokp.json" refresh_token)" "$U/token")
check "public-pkce: refresh with client_id only -> 200, rotated" eq "$st:$([ "$(jget "$WORK/x.json" refresh_token)" != "$(jget "$WORK/tokp.json" refresh_token)" ] && echo rotated)" "200:rotated"
check "stats: public-pkce pkce_methods counted S256 and plain" eq "$(stat_of public-pkce pkce_methods S256):$(stat_of public-pkce pkce_methods plain)" "2:2"
listen nopkce
browse approve "$(authz_url public-pkce "http://127.0.0.1:$LPORT/callback" s4)" || bad "nopkce: browser"
cb="$(await_cb nopkce)" || cb=
check "public-pkce: no code_challenge -> error=invalid_request on the redirect" eq "$(qparam "$cb" error)" invalid_request

# ---- 5. short-ttl: expiry -> 401, refresh (rotated) -----------------------------------
listen short
RU="http://127.0.0.1:$LPORT/callback"
browse approve "$(authz_url short-ttl "$RU" s5)" || bad "short: browser"
cb="$(await_cb short)" || cb=
st=$(http "$WORK/toks.json" -u "short-ttl:$CS" -d grant_type=authorization_code --data-urlencode "code=$(qparam "$cb" code)" --data-urlencode "redirect_uri=$RU" "$U/token")
t_issued=$(date +%s%N)
check "short-ttl: code exchange -> 200" eq "$st" 200
TTL="${OIDC_SHORT_TTL:-3}"
check "short-ttl: expires_in is OIDC_SHORT_TTL" eq "$(jget "$WORK/toks.json" expires_in)" "$TTL"
ATS="$(jget "$WORK/toks.json" access_token)"
RTS="$(jget "$WORK/toks.json" refresh_token)"
st=$(http "$WORK/x.json" -H "Authorization: Bearer $ATS" "$U/api/me")
check "short-ttl: /api/me right away -> 200" eq "$st" 200
sleep "$("$PY" -c "print(max(0.0, $TTL + 0.2 - ($(date +%s%N) - $t_issued) / 1e9))")"
st=$(curl -sS --noproxy '*' -D "$WORK/hdr.txt" -o "$WORK/x.json" -w '%{http_code}' -H "Authorization: Bearer $ATS" "$U/api/me")
check "short-ttl: /api/me after ${TTL} s -> 401" eq "$st" 401
check "short-ttl: WWW-Authenticate: Bearer error=\"invalid_token\"" grep -qi '^www-authenticate: Bearer .*error="invalid_token"' "$WORK/hdr.txt"
check "short-ttl: error_description says expired" eq "$(jget "$WORK/x.json" error_description)" "access token expired"
st=$(http "$WORK/tokr.json" -u "short-ttl:$CS" -d grant_type=refresh_token --data-urlencode "refresh_token=$RTS" "$U/token")
check "short-ttl: refresh_token grant -> 200" eq "$st" 200
RTS2="$(jget "$WORK/tokr.json" refresh_token)"
check "short-ttl: refresh token rotated" eq "$([ -n "$RTS2" ] && [ "$RTS2" != "$RTS" ] && echo rotated)" rotated
st=$(http "$WORK/x.json" -H "Authorization: Bearer $(jget "$WORK/tokr.json" access_token)" "$U/api/me")
check "short-ttl: /api/me with the refreshed token -> 200" eq "$st" 200
# /__revoke drops access tokens only: "401 -> refresh" with a token that looks fresh
st=$(http "$WORK/x.json" -X POST "$U/__revoke?client_id=short-ttl")
check "short-ttl: /__revoke?client_id -> 200" eq "$st:$(jget "$WORK/x.json" revoked)" "200:1"
st=$(http "$WORK/x.json" -H "Authorization: Bearer $(jget "$WORK/tokr.json" access_token)" "$U/api/me")
check "short-ttl: revoked access token -> /api/me 401" eq "$st" 401
st=$(http "$WORK/tokr2.json" -u "short-ttl:$CS" -d grant_type=refresh_token --data-urlencode "refresh_token=$RTS2" "$U/token")
check "short-ttl: the refresh token still works after /__revoke" eq "$st" 200
st=$(http "$WORK/x.json" -H "Authorization: Bearer $(jget "$WORK/tokr2.json" access_token)" "$U/api/me")
check "short-ttl: /api/me with the new token -> 200" eq "$st" 200
st=$(http "$WORK/x.json" -u "short-ttl:$CS" -d grant_type=refresh_token --data-urlencode "refresh_token=$RTS" "$U/token")
check "short-ttl: the first (rotated) refresh token -> 400 invalid_grant" eq "$st:$(jget "$WORK/x.json" error)" "400:invalid_grant"
st=$(http "$WORK/x.json" -H "Authorization: Bearer" "$U/api/me")
check "/api/me without a token -> 401 invalid_token" eq "$st:$(jget "$WORK/x.json" error)" "401:invalid_token"

# ---- 6. client credentials -------------------------------------------------------------
st=$(http "$WORK/cc1.json" -u "cc-client:$CS" -d grant_type=client_credentials -d scope=api "$U/token")
check "cc-client: client_credentials with client_secret_basic -> 200" eq "$st" 200
st=$(http "$WORK/cc2.json" -d grant_type=client_credentials -d client_id=cc-client --data-urlencode "client_secret=$CS" "$U/token")
check "cc-client: client_credentials with client_secret_post -> 200" eq "$st" 200
check "cc-client: no refresh token" eq "$(jget "$WORK/cc1.json" refresh_token)" ""
st=$(http "$WORK/x.json" -H "Authorization: Bearer $(jget "$WORK/cc1.json" access_token)" "$U/api/me")
check "cc-client: /api/me -> 200 sub=client_id=cc-client scope=api" eq "$st:$(jget "$WORK/x.json" sub):$(jget "$WORK/x.json" client_id):$(jget "$WORK/x.json" scope)" "200:cc-client:cc-client:api"
st=$(http "$WORK/x.json" -u "cc-client:nope" -d grant_type=client_credentials "$U/token")
check "cc-client: wrong secret -> 401 invalid_client" eq "$st:$(jget "$WORK/x.json" error)" "401:invalid_client"
st=$(http "$WORK/x.json" -u "conf-basic:$CS" -d grant_type=client_credentials "$U/token")
check "conf-basic: client_credentials not allowed -> 400" eq "$st" 400
st=$(http "$WORK/x.json" -u "cc-client:$CS" -d token="$(jget "$WORK/cc2.json" access_token)" "$U/token/introspection")
check "introspection: cc token active" eq "$st:$(jget "$WORK/x.json" active)" "200:True"
st=$(http "$WORK/ccr.json" -u "cc-client:$CS" -d grant_type=client_credentials -d scope=api --data-urlencode "resource=$U/api" "$U/token")
check "cc-client: resource=<issuer>/api -> 200" eq "$st" 200
st=$(http "$WORK/x.json" -u "cc-client:$CS" -d token="$(jget "$WORK/ccr.json" access_token)" "$U/token/introspection")
check "cc-client: that token's aud is <issuer>/api" eq "$(jget "$WORK/x.json" aud)" "$U/api"
st=$(http "$WORK/x.json" -H "Authorization: Bearer $(jget "$WORK/ccr.json" access_token)" "$U/api/me")
check "cc-client: /api/me accepts the audience-bound token" eq "$st" 200
st=$(http "$WORK/x.json" -u "cc-client:$CS" -d grant_type=client_credentials --data-urlencode "resource=https://elsewhere.invalid/" "$U/token")
check "cc-client: unknown resource -> 400 invalid_target" eq "$st:$(jget "$WORK/x.json" error)" "400:invalid_target"

# ---- 7. JWT-bearer grant (RFC 7523) ---------------------------------------------------
sign() { (cd "$PEER" && node sign-jwt.mjs "$@"); }
K="$CONNTEST_OIDC_KEYS"
for spec in HS256: HS384: HS512: RS256:rsa RS384:rsa RS512:rsa ES256:ec256 ES384:ec384 EdDSA:ed25519; do
    alg="${spec%%:*}"; key="${spec#*:}"
    if [ -z "$key" ]; then key="$CS"; else key="$K/$key.pem"; fi
    sub="svc-$alg"
    jwt="$(sign "$alg" "$key" "{\"iss\":\"jwt-client\",\"sub\":\"$sub\",\"aud\":\"$U/token\",\"exp\":300,\"jti\":\"$(rand_b64url 9)\"}")"
    st=$(http "$WORK/jb.json" -d "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer" -d client_id=jwt-client --data-urlencode "assertion=$jwt" -d scope=api "$U/token")
    if [ "$st" = 200 ]; then
        st=$(http "$WORK/x.json" -H "Authorization: Bearer $(jget "$WORK/jb.json" access_token)" "$U/api/me")
        check "jwt-bearer/$alg: token -> /api/me 200 sub=$sub" eq "$st:$(jget "$WORK/x.json" sub):$(jget "$WORK/x.json" client_id)" "200:$sub:jwt-client"
    else
        bad "jwt-bearer/$alg: token endpoint answered $st $(cat "$WORK/jb.json")"
    fi
done
jb() { http "$WORK/jb.json" -d "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer" "$@" "$U/token"; }
jwt="$(sign HS256 "wrong-$CS" "{\"iss\":\"jwt-client\",\"sub\":\"x\",\"aud\":\"$U/token\",\"exp\":300}")"
st=$(jb -d client_id=jwt-client --data-urlencode "assertion=$jwt")
check "jwt-bearer: bad HS256 signature -> 400 invalid_grant" eq "$st:$(jget "$WORK/jb.json" error)" "400:invalid_grant"
jwt="$(sign ES256 "$K/ec256.pem" "{\"iss\":\"jwt-client\",\"sub\":\"x\",\"aud\":\"$U/token\",\"exp\":300}" '{"alg":"ES256"}')"
tampered="${jwt%.*}.$(rand_b64url 64)"
st=$(jb -d client_id=jwt-client --data-urlencode "assertion=$tampered")
check "jwt-bearer: bad ES256 signature -> 400 invalid_grant" eq "$st:$(jget "$WORK/jb.json" error)" "400:invalid_grant"
jwt="$(sign RS256 "$K/rsa.pem" "{\"iss\":\"jwt-client\",\"sub\":\"x\",\"aud\":\"$U/token\",\"exp\":$(( $(date +%s) - 5 ))}")"
st=$(jb -d client_id=jwt-client --data-urlencode "assertion=$jwt")
check "jwt-bearer: expired assertion -> 400 invalid_grant" eq "$st:$(jget "$WORK/jb.json" error)" "400:invalid_grant"
jwt="$(sign RS256 "$K/rsa.pem" "{\"iss\":\"jwt-client\",\"sub\":\"x\",\"aud\":\"https://elsewhere.invalid/token\",\"exp\":300}")"
st=$(jb -d client_id=jwt-client --data-urlencode "assertion=$jwt")
check "jwt-bearer: wrong aud -> 400 invalid_grant" eq "$st:$(jget "$WORK/jb.json" error)" "400:invalid_grant"
jwt="$(sign RS256 "$K/rsa.pem" "{\"iss\":\"someone-else\",\"sub\":\"x\",\"aud\":\"$U/token\",\"exp\":300}")"
st=$(jb -d client_id=jwt-client --data-urlencode "assertion=$jwt")
check "jwt-bearer: iss is not the client -> 400 invalid_grant" eq "$st:$(jget "$WORK/jb.json" error)" "400:invalid_grant"
jwt="$(sign EdDSA "$K/ed25519.pem" "{\"iss\":\"jwt-client\",\"sub\":\"no-client-id\",\"aud\":\"$U\",\"exp\":300}")"
st=$(jb --data-urlencode "assertion=$jwt")
check "jwt-bearer: no client_id (taken from iss), aud = issuer -> 200" eq "$st" 200
check "stats: jwt-client token requests counted" eq "$(stat_of jwt-client grants urn:ietf:params:oauth:grant-type:jwt-bearer)" 15

# ---- 8. deny, tamper-state, drop-state, wrong password, never ----------------------------
listen deny
STATE="st-$(rand_b64url 12)"
browse deny "$(authz_url conf-basic "http://127.0.0.1:$LPORT/callback" "$STATE")" || bad "deny: browser"
cb="$(await_cb deny)" || cb=
check "deny: error=access_denied on the redirect" eq "$(qparam "$cb" error)" access_denied
check "deny: error_description on the redirect" ne "$(qparam "$cb" error_description)" ""
check "deny: state still comes back" eq "$(qparam "$cb" state)" "$STATE"
check "deny: no code" eq "$(qparam "$cb" code)" ""

listen tamper
STATE="st-$(rand_b64url 12)"
browse tamper-state "$(authz_url conf-basic "http://127.0.0.1:$LPORT/callback" "$STATE")" || bad "tamper: browser"
cb="$(await_cb tamper)" || cb=
check "tamper-state: a state arrives, but a different one" eq "$(qparam "$cb" state >/dev/null && [ "$(qparam "$cb" state)" != "$STATE" ] && echo changed)" changed
check "tamper-state: code still delivered" ne "$(qparam "$cb" code)" ""

listen drop
browse drop-state "$(authz_url conf-basic "http://127.0.0.1:$LPORT/callback" "st-$(rand_b64url 12)")" || bad "drop: browser"
cb="$(await_cb drop)" || cb=
check "drop-state: no state parameter" eq "$(qparam "$cb" state >/dev/null && echo present || echo absent)" absent
check "drop-state: code still delivered" ne "$(qparam "$cb" code)" ""

listen badpw
: >"$BROWSER_LOG.badpw"
BROWSER_PASSWORD="wrong" BROWSER_LOG="$BROWSER_LOG.badpw" browse approve "$(authz_url conf-basic "http://127.0.0.1:$LPORT/callback" s6)" || bad "badpw: browser"
for i in $(seq 100); do grep -q ' exit ' "$BROWSER_LOG.badpw" && break; sleep 0.05; done
check "wrong password: login rejected -> browser exit 3" grep -q 'exit 3$' "$BROWSER_LOG.badpw"
cat "$BROWSER_LOG.badpw" >>"$BROWSER_LOG"

listen never
before=$(stat_of conf-basic.never authorize_requests)
browse never "$(authz_url conf-basic.never "http://127.0.0.1:$LPORT/callback" s7)" || bad "never: browser"
sleep 1
if [ -f "$WORK/never" ]; then bad "never: something reached the listener"; else ok "never: nothing reaches the listener"; fi
check "never: no authorization request was made" eq "$(stat_of conf-basic.never authorize_requests)" "$before"

# ---- 9. /cb-test with BROWSER_MODE=direct ----------------------------------------------
listen direct
RU="http://127.0.0.1:$LPORT/hook"
browse direct "$U/cb-test?redirect_uri=$(urlenc "$RU")&code=abc%2B1&msg=hello%20world&odd=a%26b%3Dc&empty=" || bad "direct: browser"
cb="$(await_cb direct)" || cb=
check "cb-test/direct: path" eq "${cb%%\?*}" "/hook"
check "cb-test/direct: raw query percent-encoded" eq "${cb#*\?}" "code=abc%2B1&msg=hello%20world&odd=a%26b%3Dc&empty="
check "cb-test/direct: decoded values" eq "$(qparam "$cb" code)|$(qparam "$cb" msg)|$(qparam "$cb" odd)" "abc+1|hello world|a&b=c"
st=$(curl -sS --noproxy '*' -o /dev/null -w '%{http_code} %{redirect_url}' "$U/cb-test?redirect_uri=$(urlenc 'http://127.0.0.1:9/x?a=1')&b=2")
check "cb-test: keeps an existing query" eq "$st" "302 http://127.0.0.1:9/x?a=1&b=2"
st=$(http "$WORK/x.json" "$U/cb-test?redirect_uri=$(urlenc 'https://example.invalid/x')")
check "cb-test: non-loopback redirect_uri -> 400" eq "$st" 400

# ---- 10. statistics, aliases, log hygiene -------------------------------------------------
check "stats: conf-basic token_requests counts failures too" eq "$(stat_of conf-basic token_requests)" 5
check "stats: conf-basic token_errors" eq "$(stat_of conf-basic token_errors)" 4
check "stats: conf-basic auth_methods (4 basic, 1 post)" eq "$(stat_of conf-basic auth_methods client_secret_basic):$(stat_of conf-basic auth_methods client_secret_post)" "4:1"
check "stats: short-ttl grants (1 code, 3 refresh)" eq "$(stat_of short-ttl grants authorization_code):$(stat_of short-ttl grants refresh_token)" "1:3"
check "stats: short-ttl api_calls 4 (1 unauthorized; a revoked token is unattributed)" eq "$(stat_of short-ttl api_calls):$(stat_of short-ttl api_unauthorized)" "4:1"
check "stats: an unused client id has zero token requests" eq "$(stat_of conf-basic.unused token_requests)" 0
st=$(http "$WORK/x.json" -u "cc-client.selftest:$CS" -d grant_type=client_credentials "$U/token")
check "alias cc-client.selftest: token -> 200" eq "$st" 200
st=$(http "$WORK/x.json" -H "Authorization: Bearer $(jget "$WORK/x.json" access_token)" "$U/api/me")
check "alias cc-client.selftest: /api/me client_id" eq "$(jget "$WORK/x.json" client_id)" cc-client.selftest
check "alias cc-client.selftest: its own stats" eq "$(stat_of cc-client.selftest token_requests):$(stat_of cc-client.selftest api_calls)" "1:1"

secrets_in_log() {
    local f="$1" v
    for v in "$CS" "$CONNTEST_OIDC_PASSWORD" "$AT1" "$RT1" "$ATS" "$RTS"; do
        [ -n "$v" ] && grep -qF -- "$v" "$f" && { echo "  found a secret value in $f" >&2; return 0; }
    done
    return 1
}
check "peer log holds no secret, password or token" eval '! secrets_in_log "$CONNTEST_OIDC_LOG"'
check "browser log holds no secret, password, code or state value" eval '! secrets_in_log "$BROWSER_LOG" && ! grep -q "code=" "$BROWSER_LOG" && ! grep -q "state=" "$BROWSER_LOG"'
# A second instance with stdout on its own: exactly the LISTENING line.
node "$PEER/server.mjs" --port 0 </dev/null >"$WORK/stdout.txt" 2>/dev/null &
second=$!
for i in $(seq 200); do grep -q LISTENING "$WORK/stdout.txt" && break; sleep 0.05; done
kill "$second"; wait "$second" 2>/dev/null
check "peer stdout is exactly one line: LISTENING http://127.0.0.1:PORT" eq "$(wc -l <"$WORK/stdout.txt"):$(grep -cE '^LISTENING http://127\.0\.0\.1:[0-9]+$' "$WORK/stdout.txt")" "1:1"

# ---- done ------------------------------------------------------------------------------
echo "timing: peer ready ${start_ms} ms; auth-code round trip ${rt_ms} ms (browser requests ${flow_ms} ms); whole self-test $SECONDS s"
echo "${pass} passed, ${fail} failed"
[ "$fail" -eq 0 ]
