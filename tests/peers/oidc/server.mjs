#!/usr/bin/env node
// Real OAuth 2 / OpenID Connect authorization server for conntest's tests,
// built on npm `oidc-provider` 9.13 (+ `jose` for the JWT-bearer grant).
//
//   node tests/peers/oidc/server.mjs --port 0
//
// Binds 127.0.0.1 only and prints exactly one line on stdout,
// `LISTENING http://127.0.0.1:PORT`, once it accepts connections; that URL is
// the issuer. Everything else (request log, warnings) goes to stderr, and never
// a token, code, password or secret value. See README.md beside this file.
import { Buffer } from 'node:buffer';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import querystring from 'node:querystring';
import { fileURLToPath } from 'node:url';

import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

// stdout carries the LISTENING line and nothing else: oidc-provider prints its
// NOTICEs with console.info.
console.log = console.info = (...args) => console.error(...args);
// The token endpoint's body is read before oidc-provider sees it (statistics,
// strict client authentication) and handed over as req.body, which it supports
// but warns about once.
const consoleWarn = console.warn;
console.warn = (...args) => {
  if (typeof args[0] === 'string' && args[0].includes('already parsed request body detected')) return;
  consoleWarn(...args);
};

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---- configuration ------------------------------------------------------------
function parseArgs(argv) {
  let port = 0;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--port' && i + 1 < argv.length) {
      port = Number(argv[i += 1]);
    } else if (a.startsWith('--port=')) {
      port = Number(a.slice('--port='.length));
    } else if (a === '--help' || a === '-h') {
      process.stderr.write('usage: node server.mjs [--port N]   (0 = any free port; binds 127.0.0.1)\n');
      process.exit(0);
    } else {
      process.stderr.write(`oidc-peer: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('oidc-peer: --port must be 0..65535\n');
    process.exit(2);
  }
  return { port };
}

const { port: PORT_ARG } = parseArgs(process.argv.slice(2));
const HOST = '127.0.0.1';
const randomSecret = () => crypto.randomBytes(24).toString('base64url');
const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET || randomSecret();
const USER = process.env.OIDC_USER || 'alice';
const PASSWORD = process.env.OIDC_PASSWORD || randomSecret();
const SHORT_TTL = (() => {
  const raw = process.env.OIDC_SHORT_TTL ?? '3';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`oidc-peer: OIDC_SHORT_TTL must be a positive integer (seconds), got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
})();
const KEYS_DIR = process.env.OIDC_KEYS_DIR || path.resolve(HERE, '../../fixtures/keys');
const QUIET = process.env.OIDC_QUIET === '1';

const LONG_TTL = 60 * 60; // access tokens of every other client: 1 h
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const SCOPES = ['openid', 'offline_access', 'api'];
const now = () => Math.floor(Date.now() / 1000);

// ---- clients --------------------------------------------------------------------
// Loopback redirect URIs are registered without a port; native clients may use
// any port on them (RFC 8252 §7.3, oidc-provider's Client#redirectUriAllowed).
const loopback = (p) => `http://127.0.0.1${p}`;
const authCodeClient = {
  application_type: 'native',
  response_types: ['code'],
  grant_types: ['authorization_code', 'refresh_token'],
  redirect_uris: [loopback('/callback')],
  scope: SCOPES.join(' '),
};
const CLIENTS = [
  {
    ...authCodeClient,
    client_id: 'conf-basic',
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [loopback('/callback'), loopback('/cb')],
  },
  {
    ...authCodeClient,
    client_id: 'conf-post',
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_post',
  },
  {
    ...authCodeClient,
    client_id: 'public-pkce',
    token_endpoint_auth_method: 'none',
  },
  {
    ...authCodeClient,
    client_id: 'short-ttl',
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'cc-client',
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api',
  },
  {
    // Issue 19: the device authorization grant (RFC 8628), a public client.
    client_id: 'device-client',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    scope: SCOPES.join(' '),
  },
  {
    client_id: 'jwt-client',
    token_endpoint_auth_method: 'none',
    grant_types: [JWT_BEARER],
    response_types: [],
    redirect_uris: [],
    scope: SCOPES.join(' '),
  },
];
const BASE_CLIENTS = new Map(CLIENTS.map((c) => [c.client_id, c]));

// How each client must authenticate at the token endpoint. oidc-provider itself
// lets a client_secret_basic client send its secret in the body and vice versa;
// the peer is strict so that tests catch a connector using the wrong method.
const TOKEN_AUTH = {
  'conf-basic': ['client_secret_basic'],
  'conf-post': ['client_secret_post'],
  'short-ttl': ['client_secret_basic'],
  'cc-client': ['client_secret_basic', 'client_secret_post'],
  'public-pkce': ['none'],
  'jwt-client': ['none'],
  'device-client': ['none'],
};

// Aliases: `<client>.<tag>` (tag [A-Za-z0-9_-]{1,64}) is a copy of <client> with
// its own client_id, so that tests running in parallel get their own /__stats.
const ALIAS = /^([a-z-]+)\.([A-Za-z0-9_-]{1,64})$/;
function baseClientId(id) {
  if (typeof id !== 'string') return undefined;
  if (BASE_CLIENTS.has(id)) return id;
  const m = ALIAS.exec(id);
  return m && BASE_CLIENTS.has(m[1]) ? m[1] : undefined;
}
function aliasMetadata(id) {
  const base = baseClientId(id);
  if (!base || base === id) return undefined;
  return { ...structuredClone(BASE_CLIENTS.get(base)), client_id: id };
}

// ---- an unbounded, expiry-aware in-memory adapter ------------------------------
// oidc-provider's bundled memory adapter is an LRU (earlier refresh tokens get
// evicted under load). This one keeps everything until it expires; expired
// entries are invisible to find() at once and swept GRACE seconds later (until
// then peek() still sees them, so /api/me can tell "expired" from "unknown").
const GRACE = 300;
const store = new Map(); // `${model}:${id}` -> { payload, exp }
const grantIndex = new Map(); // grantId -> Set of store keys
const uidIndex = new Map(); // `${model}:${uid}` -> id
const userCodeIndex = new Map(); // `${model}:${userCode}` -> id

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, {
      payload: structuredClone(payload),
      exp: expiresIn ? now() + expiresIn : undefined,
    });
    if (payload.grantId) {
      let keys = grantIndex.get(payload.grantId);
      if (!keys) grantIndex.set(payload.grantId, (keys = new Set()));
      keys.add(key);
    }
    if (payload.uid) uidIndex.set(this.key(payload.uid), id);
    if (payload.userCode) userCodeIndex.set(this.key(payload.userCode), id);
  }

  async find(id) {
    if (this.model === 'Client') return aliasMetadata(id);
    const entry = store.get(this.key(id));
    if (!entry || (entry.exp !== undefined && entry.exp <= now())) return undefined;
    return structuredClone(entry.payload);
  }

  // Not part of the adapter interface: the payload even when expired (until swept).
  peek(id) {
    return store.get(this.key(id))?.payload;
  }

  async findByUid(uid) {
    const id = uidIndex.get(this.key(uid));
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodeIndex.get(this.key(userCode));
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = now();
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grantIndex.get(grantId) ?? []) store.delete(key);
    grantIndex.delete(grantId);
  }
}

const adapters = new Map();
function adapterFor(model) {
  if (!adapters.has(model)) adapters.set(model, new MemoryAdapter(model));
  return adapters.get(model);
}

setInterval(() => {
  const limit = now() - GRACE;
  for (const [key, { exp }] of store) {
    if (exp !== undefined && exp <= limit) store.delete(key);
  }
  for (const index of [uidIndex, userCodeIndex]) {
    for (const [k, id] of index) {
      if (!store.has(`${k.slice(0, k.indexOf(':'))}:${id}`)) index.delete(k);
    }
  }
  for (const [grantId, keys] of grantIndex) {
    for (const key of keys) if (!store.has(key)) keys.delete(key);
    if (!keys.size) grantIndex.delete(grantId);
  }
}, 15_000).unref();

// ---- test statistics ------------------------------------------------------------
const stats = new Map();
const emptyStats = () => ({
  token_requests: 0,
  token_errors: 0,
  grants: {},
  auth_methods: {},
  authorize_requests: 0,
  pkce_methods: {},
  api_calls: 0,
  api_unauthorized: 0,
});
function statsFor(clientId) {
  const id = clientId || '_unknown';
  if (!stats.has(id)) stats.set(id, emptyStats());
  return stats.get(id);
}
const bump = (obj, key) => { obj[key] = (obj[key] ?? 0) + 1; };

// ---- keys for JWT-bearer assertions ---------------------------------------------
function loadPublicKey(file) {
  return crypto.createPublicKey(fs.readFileSync(path.join(KEYS_DIR, file)));
}
const ASSERTION_KEYS = (() => {
  const rsa = loadPublicKey('rsa.pub.pem');
  const ec256 = loadPublicKey('ec256.pub.pem');
  const ec384 = loadPublicKey('ec384.pub.pem');
  const ed25519 = loadPublicKey('ed25519.pub.pem');
  const hmac = new TextEncoder().encode(CLIENT_SECRET);
  return new Map([
    ['HS256', hmac], ['HS384', hmac], ['HS512', hmac],
    ['RS256', rsa], ['RS384', rsa], ['RS512', rsa],
    ['ES256', ec256], ['ES384', ec384],
    ['EdDSA', ed25519], ['Ed25519', ed25519],
  ]);
})();

// ---- HTML ----------------------------------------------------------------------
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}

function loginPage(uid, clientId, error) {
  return page('Sign in', `${error ? `<p class="error" role="alert">${esc(error)}</p>\n` : ''}<p>Client <code>${esc(clientId)}</code> wants you to sign in.</p>
<form method="post" action="/interaction/${esc(uid)}/login">
  <label>Login <input type="text" name="login" autocomplete="username" autofocus></label>
  <label>Password <input type="password" name="password" autocomplete="current-password"></label>
  <button type="submit" name="decision" value="login">Sign in</button>
  <button type="submit" name="decision" value="deny">Cancel</button>
</form>`);
}

function consentPage(uid, clientId, scopes) {
  return page('Authorize', `<p>Client <code>${esc(clientId)}</code> asks for: ${scopes.map((s) => `<code>${esc(s)}</code>`).join(' ') || '(nothing new)'}</p>
<form method="post" action="/interaction/${esc(uid)}/consent">
  <button type="submit" name="decision" value="approve">Approve</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>`);
}

// ---- small HTTP helpers ----------------------------------------------------------
const BODY_LIMIT = 64 * 1024;

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function isForm(req) {
  return /^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '');
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
const sendJson = (res, status, obj, headers) => send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(obj)}\n`, headers);
const sendHtml = (res, status, html) => send(res, status, 'text/html; charset=utf-8', html);

function parseBasic(header) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i === -1) return undefined;
  const dec = (s) => { try { return decodeURIComponent(s.replace(/\+/g, '%20')); } catch { return s; } };
  return { id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
}

function jwtClaimsUnverified(jwt) {
  try {
    return jose.decodeJwt(jwt);
  } catch {
    return undefined;
  }
}

const one = (v) => (Array.isArray(v) ? v[0] : v);

// ---- the provider ------------------------------------------------------------------
const server = http.createServer();
server.keepAliveTimeout = 5_000;
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT_ARG, HOST, resolve);
});
const { port } = server.address();
const ISSUER = `http://${HOST}:${port}`;
const TOKEN_URL = `${ISSUER}/token`;
const API_RESOURCE = `${ISSUER}/api`;

const isShortTtl = (clientId) => baseClientId(clientId) === 'short-ttl';

const signingKey = await (async () => {
  // ES256: generating an RSA key would add ~0.5 s to every start.
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: crypto.randomBytes(8).toString('hex') };
})();

const provider = new Provider(ISSUER, {
  adapter: adapterFor,
  clients: CLIENTS,
  jwks: { keys: [signingKey] },
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  clockTolerance: 0,
  scopes: SCOPES,
  claims: { openid: ['sub'] },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    // oidc-provider's default policies, spelled out (it logs a notice otherwise):
    // a confidential client may introspect any token, a public one its own;
    // a client may revoke its own tokens.
    introspection: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
    },
    revocation: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
    },
    clientCredentials: { enabled: true },
    // Issue 19: device flow; the scripted browser confirms the user code.
    deviceFlow: {
      enabled: true,
      userCodeInputSource: async (ctx, form) => { ctx.body = page('Enter code', form + '<button type="submit" form="op.deviceInputForm">Continue</button>'); },
      userCodeConfirmSource: async (ctx, form) => { ctx.body = page('Confirm device', form + '<button type="submit" form="op.deviceConfirmForm">Continue</button>'); },
      successSource: async (ctx) => { ctx.body = page('Device signed in', '<p>Return to your device.</p>'); },
    },
    resourceIndicators: {
      enabled: true,
      // No resource asked for: an opaque token for the userinfo endpoint, which
      // /api/me also accepts. `resource=<issuer>/api` gives an opaque token for it.
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== API_RESOURCE) throw new errors.InvalidTarget();
        return { scope: 'api', audience: API_RESOURCE, accessTokenFormat: 'opaque' };
      },
    },
  },
  pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
  // offline_access is dropped unless prompt=consent: issue refresh tokens to
  // every client allowed the refresh_token grant instead, and always rotate them.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  // Tokens do not die with the browser session (the scripted browser is gone).
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: (_ctx, token, client) => (isShortTtl(client?.clientId ?? token.clientId) ? SHORT_TTL : LONG_TTL),
    ClientCredentials: (_ctx, token, client) => (isShortTtl(client?.clientId ?? token.clientId) ? SHORT_TTL : LONG_TTL),
    AuthorizationCode: 60,
    IdToken: LONG_TTL,
    RefreshToken: 14 * 24 * 60 * 60,
    Interaction: 10 * 60,
    Session: 24 * 60 * 60,
    Grant: 14 * 24 * 60 * 60,
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', `<p class="error">${esc(out.error)}: ${esc(out.error_description ?? '')}</p>`);
  },
});

// Advertise `plain` PKCE, which the HTTP layer below translates (oidc-provider
// 9 implements S256 only).
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
    ctx.body.code_challenge_methods_supported = ['S256', 'plain'];
  }
});

// ---- RFC 7523 JWT-bearer grant ---------------------------------------------------
function invalidGrant(description) {
  const err = new errors.InvalidGrant();
  err.error_description = description;
  return err;
}

provider.registerGrantType(JWT_BEARER, async (ctx) => {
  const { client, params } = ctx.oidc;
  if (!params.assertion) throw new errors.InvalidRequest("missing required parameter 'assertion'");

  let header;
  try {
    header = jose.decodeProtectedHeader(params.assertion);
  } catch {
    throw invalidGrant('assertion is not a JWS in compact serialization');
  }
  const key = ASSERTION_KEYS.get(header.alg);
  if (!key) throw invalidGrant(`assertion algorithm ${String(header.alg)} is not accepted`);

  let payload;
  try {
    ({ payload } = await jose.jwtVerify(params.assertion, key, {
      algorithms: [header.alg],
      issuer: client.clientId,
      audience: [TOKEN_URL, ISSUER],
      requiredClaims: ['iss', 'sub', 'aud', 'exp'],
      clockTolerance: 0,
    }));
  } catch (e) {
    const why = {
      ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'assertion signature verification failed',
      ERR_JWT_EXPIRED: 'assertion has expired',
    }[e.code] ?? `assertion rejected: ${e.message}`;
    throw invalidGrant(why);
  }
  if (typeof payload.sub !== 'string' || !payload.sub) throw invalidGrant('assertion sub must be a non-empty string');

  const requested = params.scope ? params.scope.split(' ').filter(Boolean) : ['api'];
  const allowed = new Set(client.scope.split(' '));
  const bad = requested.find((s) => !allowed.has(s));
  if (bad) throw new errors.InvalidScope('requested scope is not allowed', bad);

  const token = new provider.AccessToken({
    accountId: payload.sub,
    client,
    gty: 'jwt_bearer',
    scope: requested.join(' '),
  });
  ctx.oidc.entity('AccessToken', token);
  const value = await token.save();
  ctx.body = {
    access_token: value,
    token_type: 'Bearer',
    expires_in: token.expiration,
    scope: token.scope,
  };
}, ['assertion', 'scope']);

// ---- oidc-provider events: log errors (descriptions only, no values) --------------
for (const event of ['grant.error', 'authorization.error', 'introspection.error', 'revocation.error', 'server_error']) {
  provider.on(event, (_ctx, err) => {
    const detail = err?.error_detail && err.error_detail !== err.error_description ? ` (${err.error_detail})` : '';
    process.stderr.write(`oidc-peer: ${event}: ${err?.error ?? err?.name}: ${err?.error_description ?? err?.message}${detail}\n`);
  });
}

const providerCallback = provider.callback();

// ---- interactions (login + consent) -------------------------------------------------
async function handleInteraction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (e) {
    sendHtml(res, 400, page('Error', `<p class="error">${esc(e.error_description ?? e.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    sendHtml(res, 400, page('Error', '<p class="error">interaction mismatch</p>'));
    return;
  }
  const { prompt, params } = details;
  const clientId = params.client_id;

  if (req.method === 'GET' && action === undefined) {
    if (prompt.name === 'login') return sendHtml(res, 200, loginPage(uid, clientId));
    if (prompt.name === 'consent') {
      const scopes = [...(prompt.details.missingOIDCScope ?? []),
        ...Object.values(prompt.details.missingResourceScopes ?? {}).flat()];
      return sendHtml(res, 200, consentPage(uid, clientId, scopes));
    }
    return sendHtml(res, 501, page('Error', `<p class="error">prompt ${esc(prompt.name)} is not implemented</p>`));
  }

  if (req.method !== 'POST' || !['login', 'consent', 'abort'].includes(action)) {
    return sendHtml(res, 405, page('Error', '<p class="error">method not allowed</p>'));
  }
  const form = isForm(req) ? querystring.parse((await readBody(req)).toString('utf8')) : {};
  const decision = one(form.decision);

  if (action === 'abort' || decision === 'deny') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: prompt.name === 'login'
        ? 'The user cancelled the sign-in'
        : 'The resource owner denied the request',
    }, { mergeWithLastSubmission: false });
  }

  if (action === 'login') {
    if (prompt.name !== 'login') return sendHtml(res, 400, page('Error', '<p class="error">not at the login prompt</p>'));
    const login = String(one(form.login) ?? '');
    const password = String(one(form.password) ?? '');
    const same = (a, b) => {
      const x = crypto.hash('sha256', a, 'buffer');
      const y = crypto.hash('sha256', b, 'buffer');
      return crypto.timingSafeEqual(x, y);
    };
    const loginOk = same(login, USER);
    const passwordOk = same(password, PASSWORD);
    if (!(loginOk && passwordOk)) {
      return sendHtml(res, 200, loginPage(uid, clientId, 'Invalid login or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: USER } }, { mergeWithLastSubmission: false });
  }

  // consent
  if (prompt.name !== 'consent') return sendHtml(res, 400, page('Error', '<p class="error">not at the consent prompt</p>'));
  if (decision !== 'approve') return sendHtml(res, 400, page('Error', '<p class="error">decision must be approve or deny</p>'));
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

// ---- token endpoint pre-processing: statistics, strict client auth ----------------
async function handleToken(req, res) {
  const raw = await readBody(req);
  const form = isForm(req) ? querystring.parse(raw.toString('utf8')) : {};
  const basic = parseBasic(req.headers.authorization);
  const assertionIss = jwtClaimsUnverified(one(form.assertion) ?? '')?.iss;
  const clientId = basic?.id ?? one(form.client_id)
    ?? jwtClaimsUnverified(one(form.client_assertion) ?? '')?.sub
    ?? (typeof assertionIss === 'string' ? assertionIss : undefined);
  let method = 'none';
  if (basic) method = 'client_secret_basic';
  else if (form.client_secret !== undefined) method = 'client_secret_post';
  else if (form.client_assertion !== undefined) method = 'client_assertion';
  const grantType = one(form.grant_type) ?? '(none)';

  const s = statsFor(clientId);
  s.token_requests += 1;
  bump(s.grants, grantType);
  bump(s.auth_methods, method);
  res.on('finish', () => { if (res.statusCode >= 400) s.token_errors += 1; });

  const allowed = TOKEN_AUTH[baseClientId(clientId)];
  if (allowed && method !== 'none' && !allowed.includes(method)) {
    const description = `client ${clientId} must authenticate with ${allowed.join(' or ')}, not ${method}`;
    process.stderr.write(`oidc-peer: token: invalid_client: ${description}\n`);
    return sendJson(res, 401, { error: 'invalid_client', error_description: description },
      basic ? { 'www-authenticate': `Basic realm="${ISSUER}", error="invalid_client"` } : {});
  }

  // RFC 7523 §3.1: client authentication is optional with the JWT-bearer grant;
  // oidc-provider wants a client_id, so take it from the assertion's iss.
  if (grantType === JWT_BEARER && !basic && form.client_id === undefined && form.client_assertion === undefined) {
    const client = typeof assertionIss === 'string' ? await provider.Client.find(assertionIss) : undefined;
    form.client_id = client?.grantTypeAllowed(JWT_BEARER) ? assertionIss : 'jwt-client';
    req.body = Buffer.from(querystring.stringify(form));
  } else {
    req.body = raw;
  }
  // oidc-provider reads an already-read body from req.body.
  return providerCallback(req, res);
}

// ---- authorization endpoint: statistics, PKCE plain --------------------------------
function handleAuthorize(req, res, url) {
  const q = url.searchParams;
  const s = statsFor(q.get('client_id') ?? undefined);
  s.authorize_requests += 1;
  const challenge = q.get('code_challenge');
  const method = challenge ? (q.get('code_challenge_method') ?? 'plain') : 'none';
  bump(s.pkce_methods, method);
  // RFC 7636 plain: challenge == verifier. oidc-provider 9 only does S256, so
  // store S256(challenge): the verifier then matches iff verifier == challenge.
  if (challenge && method === 'plain' && /^[A-Za-z0-9._~-]{43,128}$/.test(challenge)) {
    q.set('code_challenge', crypto.hash('sha256', challenge, 'base64url'));
    q.set('code_challenge_method', 'S256');
    req.url = `${url.pathname}?${q.toString()}`;
  }
  return providerCallback(req, res);
}

// ---- protected API ------------------------------------------------------------------
async function handleApiMe(req, res) {
  const m = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(req.headers.authorization ?? '');
  const unauthorized = (description, clientId) => {
    const s = statsFor(clientId);
    s.api_calls += 1;
    s.api_unauthorized += 1;
    return sendJson(res, 401, { error: 'invalid_token', error_description: description }, {
      'www-authenticate': `Bearer realm="${API_RESOURCE}", error="invalid_token", error_description="${description}"`,
    });
  };
  if (!m) return unauthorized('no access token provided');
  const value = m[1];

  const token = (await provider.AccessToken.find(value)) ?? (await provider.ClientCredentials.find(value));
  if (!token || !token.isValid) {
    const stale = adapterFor('AccessToken').peek(value) ?? adapterFor('ClientCredentials').peek(value);
    if (stale) {
      return unauthorized(stale.exp <= now() ? 'access token expired' : 'access token is not valid', stale.clientId);
    }
    return unauthorized('access token unknown or revoked');
  }
  if (token.grantId) {
    const grant = await provider.Grant.find(token.grantId);
    if (!grant || grant.clientId !== token.clientId || grant.accountId !== token.accountId) {
      return unauthorized('access token grant was revoked', token.clientId);
    }
  }
  if (token.aud !== undefined && ![].concat(token.aud).includes(API_RESOURCE)) {
    return unauthorized('access token is for another audience', token.clientId);
  }
  statsFor(token.clientId).api_calls += 1;
  return sendJson(res, 200, {
    sub: token.accountId ?? token.clientId,
    client_id: token.clientId,
    scope: token.scope ?? '',
  });
}

// ---- /cb-test: a redirect for conntest's generic `callback` step --------------------
function handleCbTest(res, url) {
  const target = url.searchParams.get('redirect_uri');
  let parsed;
  try {
    parsed = new URL(target);
  } catch {
    return sendJson(res, 400, { error: 'invalid_request', error_description: 'redirect_uri must be an absolute URL' });
  }
  if (parsed.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) {
    return sendJson(res, 400, { error: 'invalid_request', error_description: 'redirect_uri must be an http loopback URL' });
  }
  // Append every other parameter, percent-encoded (space as %20, never '+').
  const extra = [];
  for (const [k, v] of url.searchParams) {
    if (k !== 'redirect_uri') extra.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  const hashAt = target.indexOf('#');
  const base = hashAt === -1 ? target : target.slice(0, hashAt);
  const sep = !extra.length ? '' : base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  const location = `${base}${sep}${extra.join('&')}`;
  res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': 0 });
  return res.end();
}

// ---- /__stats -----------------------------------------------------------------------
function handleStats(res, url) {
  const id = url.searchParams.get('client_id');
  if (id !== null) return sendJson(res, 200, stats.get(id) ?? emptyStats());
  return sendJson(res, 200, { clients: Object.fromEntries(stats) });
}

// ---- /__revoke: make live access tokens answer 401, nothing else ---------------------
// RFC 7009 revocation of an access token makes oidc-provider drop every token of
// its grant, the refresh token included. To test "401 -> refresh", this drops
// only access tokens: the one given as `token`, or every one of `client_id`.
async function handleRevoke(req, res, url) {
  const form = isForm(req) ? querystring.parse((await readBody(req)).toString('utf8')) : {};
  const token = one(form.token) ?? url.searchParams.get('token');
  const clientId = one(form.client_id) ?? url.searchParams.get('client_id');
  if (!token && !clientId) {
    return sendJson(res, 400, { error: 'invalid_request', error_description: 'token or client_id is required' });
  }
  let revoked = 0;
  for (const model of ['AccessToken', 'ClientCredentials']) {
    const prefix = `${model}:`;
    for (const [key, { payload, exp }] of store) {
      if (!key.startsWith(prefix) || (exp !== undefined && exp <= now())) continue;
      if ((token && key === `${prefix}${token}`) || (clientId && payload.clientId === clientId)) {
        store.delete(key);
        revoked += 1;
      }
    }
  }
  return sendJson(res, 200, { revoked });
}

// ---- dispatch ---------------------------------------------------------------------
server.on('request', async (req, res) => {
  const started = process.hrtime.bigint();
  let url;
  try {
    url = new URL(req.url, ISSUER);
  } catch {
    url = new URL(ISSUER);
  }
  const { pathname } = url;
  if (!QUIET) {
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      process.stderr.write(`oidc-peer: ${req.method} ${pathname} ${res.statusCode} ${ms.toFixed(1)}ms\n`);
    });
  }
  try {
    let m;
    if (pathname === '/api/me') {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET' });
      return await handleApiMe(req, res);
    }
    if (pathname === '/cb-test' && req.method === 'GET') return handleCbTest(res, url);
    if (pathname === '/__stats' && req.method === 'GET') return handleStats(res, url);
    if (pathname === '/__revoke' && req.method === 'POST') return await handleRevoke(req, res, url);
    if ((m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent|abort))?$/.exec(pathname))) {
      return await handleInteraction(req, res, m[1], m[2]);
    }
    if (pathname === '/token' && req.method === 'POST') return await handleToken(req, res);
    if (pathname === '/auth' && req.method === 'GET') return handleAuthorize(req, res, url);
    return providerCallback(req, res);
  } catch (e) {
    process.stderr.write(`oidc-peer: ${req.method} ${pathname}: ${e.status ?? 500} ${e.message}\n`);
    if (!res.headersSent) sendJson(res, e.status ?? 500, { error: 'server_error', error_description: e.message });
    else res.destroy();
  }
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}

process.stderr.write(`oidc-peer: issuer ${ISSUER}; user ${USER}; short TTL ${SHORT_TTL}s; keys ${KEYS_DIR}\n`);
process.stdout.write(`LISTENING ${ISSUER}\n`);
