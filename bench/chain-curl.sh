#!/usr/bin/env bash
# Fallback for bench/chain.hurl when hurl is not installed: the same three
# chained requests with three curl processes (so three TCP connections, unlike
# hurl and conntest, which keep one connection alive). Captures use bash regexes
# only, so no extra process is spawned besides curl.
#   bench/chain-curl.sh http://127.0.0.1:PORT
set -euo pipefail
base="${1:?usage: chain-curl.sh BASE_URL}"
r="$(curl -sS --fail -X POST -H 'Content-Type: application/json' \
        --data '{"username": "bench", "password": "bench-password"}' "$base/login")"
[[ $r =~ \"session\":\ *\"([^\"]+)\" ]] || { echo "no session in: $r" >&2; exit 1; }
session="${BASH_REMATCH[1]}"
r="$(curl -sS --fail -X POST --data-urlencode "session=$session" "$base/token")"
[[ $r =~ \"access_token\":\ *\"([^\"]+)\" ]] || { echo "no access_token in: $r" >&2; exit 1; }
token="${BASH_REMATCH[1]}"
r="$(curl -sS --fail -H "Authorization: Bearer $token" "$base/me")"
[[ $r =~ \"username\":\ *\"bench\" ]] || { echo "unexpected /me answer: $r" >&2; exit 1; }
