// Peer server for Tessera's bench/run: node-oidc-provider (npm "oidc-provider", version pinned
// in ./package.json) configured to match Tessera's bench tenant, so both servers can be load
// tested side by side with the same requests. It generates fresh signing keys (RS256, ES256,
// EdDSA), registers the bench-m2m and bench-web clients and three JWT resource servers,
// pre-mints N refresh tokens and N opaque access tokens for account bench-user, writes them
// to FILE as JSON, then prints the single line "ready" on stdout.
//
// By hand (Node 20.18+; oidc-provider itself recommends Node 22 LTS and warns otherwise), in a
// scratch folder so node_modules stays out of the repo:
//   mkdir -p /tmp/peer && cp bench/peers/* /tmp/peer && cd /tmp/peer && npm install --no-audit --no-fund
//   node oidc-provider.mjs --port 3192 --out /tmp/peer/tokens.json [--tokens 2000]

import * as crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    out: { type: 'string' },
    tokens: { type: 'string', default: '2000' },
  },
});
const port = Number(args.port);
const count = Number(args.tokens);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !args.out || !Number.isInteger(count) || count < 0) {
  console.error('usage: node oidc-provider.mjs --port PORT --out FILE [--tokens N]');
  process.exit(2);
}

const ISSUER = `http://127.0.0.1:${port}`;
const DAY = 24 * 60 * 60;
const ACCOUNT = 'bench-user';
const WEB_SCOPE = 'openid offline_access profile email';
const RESOURCE_SCOPE = 'read:bench';
// Resource indicator -> JWS algorithm of its JWT access tokens.
const RESOURCE_SERVERS = {
  'https://rs256.bench': 'RS256',
  'https://es256.bench': 'ES256',
  'https://eddsa.bench': 'EdDSA',
};
const M2M_CLIENT = 'bench-m2m';

// Signing keys, fresh on every start: one per algorithm, all published at the jwks endpoint.
function signingJwk(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, use: 'sig', alg, kid: `${alg.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}` };
}
const jwks = {
  keys: [
    signingJwk('rsa', { modulusLength: 2048 }, 'RS256'), // first RS256 key: ID tokens
    signingJwk('ec', { namedCurve: 'P-256' }, 'ES256'),
    signingJwk('ed25519', undefined, 'EdDSA'),
  ],
};

// Unbounded in-process storage. The adapter oidc-provider falls back to when none is configured
// is an LRU capped at ~1000-2000 entries (documented as quick-start/development only), which
// would evict the pre-minted tokens; this one keeps everything until it expires.
const store = new Map(); // key -> { payload, expiresAt (ms, Infinity = none) }
const grantIndex = new Map(); // grantId -> Set of keys of tokens issued under that grant
const uidIndex = new Map(); // Session uid -> key
const userCodeIndex = new Map(); // user code -> key

function live(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= Date.now()) {
    drop(key);
    return undefined;
  }
  return entry.payload;
}

function drop(key) {
  const entry = store.get(key);
  if (!entry) return;
  store.delete(key);
  const { grantId, uid, userCode } = entry.payload;
  if (grantId) {
    const members = grantIndex.get(grantId);
    members?.delete(key);
    if (members?.size === 0) grantIndex.delete(grantId);
  }
  if (uid && uidIndex.get(uid) === key) uidIndex.delete(uid);
  if (userCode && userCodeIndex.get(userCode) === key) userCodeIndex.delete(userCode);
}

// Sweep expired entries now and then (lookups also check expiry).
setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of store) if (entry.expiresAt <= now) drop(key);
}, 5 * 60 * 1000).unref();

class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    drop(key);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(key, { payload, expiresAt });
    if (payload.grantId && this.model !== 'Grant') {
      let members = grantIndex.get(payload.grantId);
      if (!members) grantIndex.set(payload.grantId, (members = new Set()));
      members.add(key);
    }
    if (this.model === 'Session' && payload.uid) uidIndex.set(payload.uid, key);
    if (payload.userCode) userCodeIndex.set(payload.userCode, key);
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUid(uid) {
    const key = uidIndex.get(uid);
    return key ? live(key) : undefined;
  }

  async findByUserCode(userCode) {
    const key = userCodeIndex.get(userCode);
    return key ? live(key) : undefined;
  }

  async consume(id) {
    const payload = live(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    drop(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const members = grantIndex.get(grantId);
    if (!members) return;
    for (const key of [...members]) drop(key);
    grantIndex.delete(grantId);
  }
}

const accountClaims = {
  sub: ACCOUNT,
  email: 'ann@example.com',
  email_verified: true,
  name: 'Ann Example',
};

const provider = new Provider(ISSUER, {
  adapter: MapAdapter,
  jwks,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  clients: [
    {
      client_id: M2M_CLIENT,
      client_secret: 'bench-m2m-secret-0123456789abcdef',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'bench-web',
      client_secret: 'bench-web-secret-0123456789abcdef',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://app.example.com/callback'],
      scope: WEB_SCOPE,
    },
  ],
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  async findAccount(ctx, sub) {
    if (sub !== ACCOUNT) return undefined;
    return { accountId: ACCOUNT, async claims() { return { ...accountClaims }; } };
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async getResourceServerInfo(ctx, resourceIndicator, client) {
        const alg = RESOURCE_SERVERS[resourceIndicator];
        if (!alg || client.clientId !== M2M_CLIENT) throw new errors.InvalidTarget();
        return {
          scope: RESOURCE_SCOPE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: DAY,
          jwt: { sign: { alg } },
        };
      },
    },
  },
  // Every refresh returns a new refresh token; presenting a used one fails with invalid_grant
  // (and, as oidc-provider does on reuse, revokes that token's grant).
  rotateRefreshToken: true,
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? DAY,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? DAY,
    AuthorizationCode: 60,
    IdToken: 60 * 60,
    RefreshToken: 14 * DAY,
    Grant: 14 * DAY,
    Session: 14 * DAY,
    Interaction: 60 * 60,
    DeviceCode: 10 * 60,
    BackchannelAuthenticationRequest: 10 * 60,
    PreAuthorizedCode: 10 * 60,
  },
  // Same policy as the library default (browsers may call userinfo only from a registered
  // redirect_uri origin), defined here so it does not print a configuration notice.
  clientBasedCORS(ctx, origin, client) {
    if (origin === 'null' || ctx.oidc.route !== 'userinfo') return false;
    return client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin);
  },
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

// Pre-mint tokens with the provider's own models: each token gets its own grant (as if each
// came from a separate login), so the reuse detection on one refresh token does not revoke
// the others.
const webClient = await provider.Client.find('bench-web');
const authTime = Math.floor(Date.now() / 1000);

async function newGrant() {
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: webClient.clientId });
  grant.addOIDCScope(WEB_SCOPE);
  return grant.save();
}

const refreshTokens = [];
const accessTokens = [];
for (let i = 0; i < count; i += 1) {
  refreshTokens.push(await new provider.RefreshToken({
    accountId: ACCOUNT,
    client: webClient,
    grantId: await newGrant(),
    gty: 'authorization_code',
    scope: WEB_SCOPE,
    authTime,
    expiresWithSession: false,
  }).save());
  accessTokens.push(await new provider.AccessToken({
    accountId: ACCOUNT,
    client: webClient,
    grantId: await newGrant(),
    gty: 'authorization_code',
    scope: 'openid profile email',
    expiresWithSession: false,
    expiresIn: DAY,
  }).save());
}

const server = provider.listen(port, '127.0.0.1');
server.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
server.on('listening', () => {
  writeFileSync(args.out, `${JSON.stringify({
    issuer: ISSUER,
    token_endpoint: provider.pathFor('token'),
    userinfo_endpoint: provider.pathFor('userinfo'),
    jwks_endpoint: provider.pathFor('jwks'),
    refresh_tokens: refreshTokens,
    access_tokens: accessTokens,
  })}\n`);
  process.stdout.write('ready\n');
});
