/**
 * `auth.order`, the choice of the 401 message among several providers' refusals, the reasons
 * recorded for metrics (`state.authFailures`), and provider-level JWT details (key prefetch,
 * issuer routing without an HMAC fallback, a cache too small to hold an entry).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { SignJWT } from 'jose';
import { createAuthenticator } from '../../src/auth/authenticate.ts';
import { jwtProvider } from '../../src/auth/providers/jwt.ts';
import { verifyJwt } from '../../src/auth/jwt/verify.ts';
import { parseConfig } from '../../src/config/load.ts';
import { providerConfig, type Config } from '../../src/config/types.ts';
import type { HttpError } from '../../src/http/errors.ts';
import { errorBody } from '../../src/http/errors.ts';
import { requestState, state } from '../../src/http/state.ts';
import { forwardedClientHeaders } from '../../src/upstream/headers.ts';
import { parseAuthorization } from '../../src/auth/header.ts';
import type { AuthInput } from '../../src/auth/provider.ts';
import { captureLogger } from '../http/kit.ts';
import { startIssuer, type TestIssuer } from '../kit/oidc.ts';

const SECRET = 'order-test-secret-0123456789-0123456789';
const hs = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
const now = () => Math.floor(Date.now() / 1000);

function config(order: string): Config {
  return parseConfig(`
upstream: {url: "http://127.0.0.1:9090"}
auth:
  order: ${order}
  bearer_tokens: [{subject: alice, token: fruit-secret}]
  jwt: [{issuer: "https://hmac.example", hmac_secret: "${SECRET}", tenants_claim: tenants}]
  trusted_header: {trusted_cidrs: ["10.9.9.9/32"]}
`, { baseDir: '/', env: {} });
}

function app(cfg: Config) {
  const { logger } = captureLogger('debug');
  const a = express();
  a.use(requestState());
  a.use(createAuthenticator(cfg, logger, { jwksPrefetch: false }).middleware);
  a.use((_req, res) => {
    res.json({ subject: state(res).principal?.subject, method: state(res).principal?.method, failures: state(res).authFailures });
  });
  a.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as HttpError;
    res.status(e.status).json({ ...errorBody(e.code, e.message), failures: state(res).authFailures });
  });
  return a;
}

describe('auth.order and refusal messages', () => {
  for (const order of ['[bearer_tokens, jwt, trusted_header]', '[jwt, bearer_tokens, trusted_header]', '[trusted_header, jwt, bearer_tokens]']) {
    it(`order ${order}: a static token and a JWT both work; an accepted request records no failure`, async () => {
      const a = app(config(order));
      const s = await request(a).get('/').set('Authorization', 'Bearer fruit-secret');
      assert.deepEqual(s.body, { subject: 'alice', method: 'bearer_tokens', failures: [] });
      const j = await request(a).get('/').set('Authorization', `Bearer ${await hs({ iss: 'https://hmac.example', sub: 'svc', exp: now() + 60 })}`);
      assert.deepEqual(j.body, { subject: 'svc', method: 'jwt', failures: [] });
    });

    it(`order ${order}: an expired JWT is explained as expired, and only that is recorded`, async () => {
      const a = app(config(order));
      const r = await request(a).get('/').set('Authorization', `Bearer ${await hs({ iss: 'https://hmac.example', sub: 'svc', exp: now() - 3600 })}`);
      assert.equal(r.status, 401);
      assert.match(r.body.error, /^invalid JWT: the token expired at /);
      assert.deepEqual(r.body.failures, [{ method: 'jwt', reason: 'expired' }]);
    });

    it(`order ${order}: an unknown static token is "invalid bearer token"; untrusted proxy headers do not change that`, async () => {
      const a = app(config(order));
      const r = await request(a).get('/').set('Authorization', 'Bearer nope').set('X-Forwarded-User', 'ops');
      assert.equal(r.status, 401);
      assert.equal(r.body.error, 'invalid bearer token');
      assert.deepEqual(r.body.failures, order.startsWith('[trusted')
        ? [{ method: 'trusted_header', reason: 'untrusted_peer' }, { method: 'bearer_tokens', reason: 'invalid_bearer_token' }]
        : [{ method: 'bearer_tokens', reason: 'invalid_bearer_token' }, { method: 'trusted_header', reason: 'untrusted_peer' }]);
    });
  }

  it('a JWT-only configuration asks for a bearer token', async () => {
    const only = parseConfig(`upstream: {url: "http://127.0.0.1:9090"}\nauth: {jwt: [{hmac_secret: "${SECRET}"}]}\n`, { baseDir: '/', env: {} });
    const r = await request(app(only)).get('/');
    assert.equal(r.body.error, 'authentication required: send "Authorization: Bearer <token>"');
    assert.deepEqual(r.body.failures, [{ method: 'none', reason: 'no_credentials' }]);
  });
});

describe('the upstream header allow-list never carries identity headers', () => {
  it('auth-proxy and Grafana identity headers are dropped', () => {
    const out = forwardedClientHeaders({
      'x-forwarded-user': 'ops', 'x-forwarded-groups': 'admins', 'x-forwarded-email': 'ops@example.com', 'x-forwarded-preferred-username': 'ops',
      'x-auth-request-user': 'ops', 'x-grafana-user': 'admin', 'x-webauth-user': 'admin', authorization: 'Bearer x', 'user-agent': 'Grafana/11',
    });
    assert.deepEqual(out, { 'user-agent': 'Grafana/11' });
  });
});

describe('verifyJwt', () => {
  it('iss and aud are required whenever the issuer configures them (the provider routes by iss; this is the second line)', async () => {
    const cfg = providerConfig(parseConfig(`
upstream: {url: "http://127.0.0.1:9090"}
auth: {jwt: [{issuer: "https://a.example", audience: promfence, hmac_secret: "${SECRET}"}]}
`, { baseDir: '/', env: {} }).auth, 'jwt')!.issuers[0]!;
    const key = new TextEncoder().encode(SECRET);
    const check = async (claims: Record<string, unknown>) => verifyJwt(await hs({ exp: now() + 60, ...claims }), key, cfg, Date.now(), 'HS256');
    assert.equal((await check({ iss: 'https://a.example', aud: 'promfence' })).ok, true);
    for (const [claims, reason] of [
      [{ iss: 'https://b.example', aud: 'promfence' }, 'wrong_issuer'],
      [{ aud: 'promfence' }, 'wrong_issuer'],
      [{ iss: 'https://a.example', aud: ['grafana'] }, 'wrong_audience'],
      [{ iss: 'https://a.example' }, 'wrong_audience'],
    ] as const) {
      const v = await check(claims);
      assert.equal(v.ok ? 'ok' : v.reason, reason, JSON.stringify(claims));
    }
  });
});

describe('jwt provider details', () => {
  let idp: TestIssuer;
  before(async () => {
    idp = await startIssuer();
  });
  after(() => idp.close());

  const input = (token: string): AuthInput => ({ authorization: parseAuthorization(`Bearer ${token}`), headers: {}, rawHeaders: [], socket: {} as AuthInput['socket'] });
  const issuerConfig = (extra = '') => providerConfig(parseConfig(`
upstream: {url: "http://127.0.0.1:9090"}
auth: {jwt: [{name: idp, issuer: "${idp.url}", audience: promfence, jwks_url: "${idp.jwksUrl}"${extra}}]}
`, { baseDir: '/', env: {} }).auth, 'jwt')!;

  it('remote keys are fetched when the provider is created (warm before the first token)', async () => {
    const before = idp.fetches.length;
    const p = jwtProvider({ issuers: issuerConfig().issuers, realm: 'r', cacheSize: 10, cacheMaxBytes: 1 << 20 });
    try {
      const deadline = Date.now() + 5000;
      while (idp.fetches.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(idp.fetches.length, before + 1);
    } finally {
      p.close?.();
    }
  });

  it('without an issuer-less HMAC issuer, an unknown iss is unknown_issuer (no key fetched)', async () => {
    const p = jwtProvider({ issuers: issuerConfig().issuers, realm: 'r', cacheSize: 10, cacheMaxBytes: 1 << 20, prefetch: false });
    const before = idp.fetches.length;
    const t = await hs({ iss: 'https://elsewhere.example', sub: 'x', exp: now() + 60 });
    const o = await p.authenticate(input(t));
    assert.equal(o.kind, 'fail');
    assert.equal(o.kind === 'fail' && o.reason, 'unknown_issuer');
    assert.equal(idp.fetches.length, before);
    const noIss = await p.authenticate(input(await hs({ sub: 'x', exp: now() + 60 })));
    assert.equal(noIss.kind === 'fail' && noIss.message, 'invalid JWT: tokens without an issuer ("iss") are not accepted here');
  });

  it('discovery: a document naming another issuer is refused (OpenID Connect Discovery §4.3), so are its keys', async () => {
    const doc = providerConfig(parseConfig(`
upstream: {url: "http://127.0.0.1:9090"}
auth: {jwt: [{name: idp, issuer: "${idp.url}", audience: promfence, discovery: true}]}
`, { baseDir: '/', env: {} }).auth, 'jwt')!;
    idp.advertisedIssuer = 'https://attacker.example';
    const p = jwtProvider({ issuers: doc.issuers, realm: 'r', cacheSize: 10, cacheMaxBytes: 1 << 20, prefetch: false });
    try {
      const o = await p.authenticate(input(await idp.sign({ sub: 'alice', aud: 'promfence', exp: now() + 60 })));
      assert.equal(o.kind === 'fail' && o.reason, 'jwks_unavailable');
      assert.match(o.kind === 'fail' ? o.detail ?? '' : '', /its "issuer" is "https:\/\/attacker\.example", not "http:\/\/127\.0\.0\.1:\d+" as configured/);
      assert.ok(!idp.fetches.slice(-1)[0]!.includes('certs'), 'the advertised jwks_uri was not fetched');
    } finally {
      idp.advertisedIssuer = undefined;
      p.close?.();
    }
  });

  it('an entry larger than 1/16 of jwt_cache_max_bytes is not cached, and verification still works', async () => {
    let mono = 0;
    const p = jwtProvider({ issuers: issuerConfig().issuers, realm: 'r', cacheSize: 10, cacheMaxBytes: 1024, prefetch: false, now: () => mono });
    const t = await idp.sign({ sub: 'alice', aud: 'promfence', exp: now() + 600, pad: 'x'.repeat(200) });
    assert.equal((await p.authenticate(input(t))).kind, 'success');
    const fetched = idp.fetches.length;
    mono += 11 * 60_000; // keys due for a refresh: a key lookup (no cache hit) refreshes them
    assert.equal((await p.authenticate(input(t))).kind, 'success');
    const deadline = Date.now() + 5000;
    while (idp.fetches.length === fetched && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(idp.fetches.length, fetched + 1, 'not served from the cache');
    p.close?.();
  });
});
