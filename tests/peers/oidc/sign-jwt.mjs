#!/usr/bin/env node
// Signs a JWT with `jose`, for cross-checking JWT-bearer assertions in tests.
//
//   node tests/peers/oidc/sign-jwt.mjs ALG KEY CLAIMS_JSON [HEADER_JSON]
//
// ALG: HS256/384/512, RS256/384/512, ES256, ES384, EdDSA (also PS256/384/512).
// KEY: the HMAC secret for HS*, otherwise the path of a PKCS#8 PEM private key
//      (e.g. tests/fixtures/keys/rsa.pem).
// CLAIMS_JSON: the payload; `iat` is filled with now unless given, and a
//      numeric `exp` below 1e9 is taken as seconds from now.
// Prints the compact JWS on stdout.
import crypto from 'node:crypto';
import fs from 'node:fs';

import * as jose from 'jose';

const [alg, key, claimsJson = '{}', headerJson = '{}'] = process.argv.slice(2);
if (!alg || key === undefined) {
  process.stderr.write('usage: sign-jwt.mjs ALG KEY CLAIMS_JSON [HEADER_JSON]\n');
  process.exit(2);
}
const claims = JSON.parse(claimsJson);
const now = Math.floor(Date.now() / 1000);
claims.iat ??= now;
if (typeof claims.exp === 'number' && claims.exp < 1e9) claims.exp = now + claims.exp;
const secretKey = alg.startsWith('HS')
  ? new TextEncoder().encode(key)
  : crypto.createPrivateKey(fs.readFileSync(key));
const jwt = await new jose.SignJWT(claims)
  .setProtectedHeader({ typ: 'JWT', ...JSON.parse(headerJson), alg })
  .sign(secretKey);
process.stdout.write(`${jwt}\n`);
