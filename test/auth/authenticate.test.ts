/**
 * The authentication middleware (src/auth/authenticate.ts) with the real providers: bearer
 * tokens and basic users, registered as passport strategies in `auth.order`.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import bcrypt from 'bcryptjs';
import { createAuthenticator, MSG_AUTH_REQUIRED, MSG_MALFORMED } from '../../src/auth/authenticate.ts';
import { MSG_INVALID_BASIC } from '../../src/auth/providers/basic.ts';
import { MSG_INVALID_BEARER } from '../../src/auth/providers/bearer-tokens.ts';
import type { ProviderSeams } from '../../src/auth/providers/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import { providerConfig, type Config } from '../../src/config/types.ts';
import { errorBody, HttpError } from '../../src/http/errors.ts';
import { requestState, state } from '../../src/http/state.ts';
import { captureLogger as captureLines } from '../http/kit.ts';

const CHALLENGE = 'Bearer realm="promfence", Basic realm="promfence"';
const BOB_PW = 'veggie:pass:word';
const EVE_PW = 'eve-password';
let config: Config;

before(() => {
  config = parseConfig(`
upstream: {url: "http://127.0.0.1:9090"}
auth:
  bearer_tokens:
    - {subject: alice, token: fruit-secret, groups: [fruit-devs]}
    - {subject: tom, token: tomato-secret}
  basic_users:
    - {subject: bob, password_hash: "${bcrypt.hashSync(BOB_PW, 4)}", groups: [veggie-devs]}
    - {subject: eve, password_hash: "${bcrypt.hashSync(EVE_PW, 4)}"}
access: {subjects: {alice: [team-fruit], tom: [team-fruit, team-veggie], bob: [team-veggie], eve: [x]}}
`, { baseDir: '/', env: {} });
});

/** A counting bcrypt compare. */
function spyCompare(): { compare: (pw: string, hash: string) => Promise<boolean>; calls: () => number } {
  let n = 0;
  return {
    compare: (pw, hash) => {
      n += 1;
      return bcrypt.compare(pw, hash);
    },
    calls: () => n,
  };
}

function makeApp(cfg: Config, seams: ProviderSeams = {}) {
  const { logger, lines } = captureLines('debug');
  const app = express();
  app.use(requestState());
  app.use(createAuthenticator(cfg, logger, seams).middleware);
  app.use((_req, res) => {
    res.json({ principal: state(res).principal, failures: state(res).authFailures });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) {
      res.status(err.status).set(err.headers).json(errorBody(err.code, err.message));
      return;
    }
    res.status(500).json({ status: 'error', errorType: 'internal', error: String(err), code: 'internal_error' });
  });
  return { app, lines: () => lines.map((l) => JSON.stringify(l)).join('\n') };
}

/** `config` with the basic provider's settings changed (or removed). */
function withBasic(cfg: Config, patch: { cache_ttl_ms?: number } | 'none'): Config {
  const providers = cfg.auth.providers
    .filter((p) => patch !== 'none' || p.kind !== 'basic')
    .map((p) => (p.kind === 'basic' && patch !== 'none' ? { ...p, ...patch } : p));
  return { ...cfg, auth: { ...cfg.auth, providers } };
}

const basic = (user: string, pw: string): string => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

function expect401(res: request.Response, message: string, challenge = CHALLENGE): void {
  assert.equal(res.status, 401);
  assert.match(res.headers['content-type'] ?? '', /application\/json/);
  assert.deepEqual(res.body, { status: 'error', errorType: 'unauthorized', error: message, code: 'unauthenticated' });
  assert.equal(res.headers['www-authenticate'], challenge);
}

describe('auth middleware: bearer', () => {
  it('a valid token sets the principal', async () => {
    const { app, lines } = makeApp(config);
    const res = await request(app).get('/api/v1/query?query=up').set('Authorization', 'Bearer fruit-secret');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.principal, { subject: 'alice', groups: ['fruit-devs'], tenants: [], method: 'bearer_tokens' });
    assert.deepEqual(res.body.failures, []);
    assert.ok(!lines().includes('fruit-secret'));
  });

  it('the scheme is case-insensitive', async () => {
    const { app } = makeApp(config);
    const res = await request(app).get('/').set('Authorization', 'bearer tomato-secret');
    assert.equal(res.body.principal.subject, 'tom');
  });

  it('a wrong token is 401 invalid bearer token, JSON, both challenges, never echoed', async () => {
    const { app, lines } = makeApp(config);
    const res = await request(app).get('/api/v1/query').set('Authorization', 'Bearer fruit-secreT');
    expect401(res, MSG_INVALID_BEARER);
    assert.ok(!res.text.includes('fruit-secreT'));
    assert.match(lines(), /"reason":"invalid_bearer_token"/);
    assert.match(lines(), /"level":"info"/);
    assert.ok(!lines().includes('fruit-secreT'));
  });

  it('no Authorization header is 401 authentication required', async () => {
    const { app, lines } = makeApp(config);
    expect401(await request(app).get('/api/v1/query'), MSG_AUTH_REQUIRED);
    assert.match(lines(), /"reason":"no_credentials"/);
  });

  it('a token for a basic user (its password as bearer) is refused', async () => {
    const { app } = makeApp(config);
    expect401(await request(app).get('/').set('Authorization', `Bearer ${EVE_PW}`), MSG_INVALID_BEARER);
  });

  for (const header of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer  fruit-secret', 'Basic !!!', `Basic ${Buffer.from('nocolon').toString('base64')}`]) {
    it(`malformed header ${JSON.stringify(header)} is 401 malformed`, async () => {
      const { app } = makeApp(config);
      expect401(await request(app).get('/').set('Authorization', header), MSG_MALFORMED);
    });
  }

  it('an unsupported scheme is 401 naming it', async () => {
    const { app } = makeApp(config);
    expect401(await request(app).get('/').set('Authorization', 'Digest username="x"'),
      'unsupported authorization scheme "Digest": send "Authorization: Bearer <token>" or HTTP basic credentials');
  });

  it('challenge and message list only configured schemes', async () => {
    const { app } = makeApp(withBasic(config, 'none'));
    expect401(await request(app).get('/'), 'authentication required: send "Authorization: Bearer <token>"', 'Bearer realm="promfence"');
  });

  it('with no basic users, a Basic header runs no bcrypt at all and says basic is not enabled', async () => {
    const spy = spyCompare();
    const { app } = makeApp(withBasic(config, 'none'), { compare: spy.compare });
    expect401(await request(app).get('/').set('Authorization', basic('bob', BOB_PW)),
      'HTTP basic authentication is not enabled: send "Authorization: Bearer <token>"', 'Bearer realm="promfence"');
    assert.equal(spy.calls(), 0);
  });
});

describe('auth middleware: access_token is never a credential', () => {
  const urls = [
    '/api/v1/query?access_token=fruit-secret',
    '/api/v1/query?access%5Ftoken=fruit-secret',
    '/api/v1/query?ACCESS_TOKEN=fruit-secret',
    '/api/v1/query?query=up;access_token=fruit-secret',
  ];
  for (const url of urls) {
    it(`${url} without a header → 401 with a hint to move and revoke it; the token is never echoed or logged`, async () => {
      const { app, lines } = makeApp(config);
      const res = await request(app).get(url);
      assert.equal(res.status, 401);
      assert.equal(res.body.code, 'unauthenticated');
      assert.match(res.body.error, /access_token parameter is not a credential here: send it in the Authorization header, and revoke it/);
      assert.ok(!res.text.includes('fruit-secret'));
      assert.ok(!lines().includes('fruit-secret'));
    });
  }

  it('a parameter merely containing the name is fine (the parameter reader refuses real ones after authentication)', async () => {
    const { app } = makeApp(config);
    const res = await request(app).get('/api/v1/query?query=access_token&my_access_token=1').set('Authorization', 'Bearer fruit-secret');
    assert.equal(res.status, 200);
  });
});

describe('auth middleware: basic', () => {
  it('valid credentials (password with colons) set the principal', async () => {
    const { app } = makeApp(config);
    const res = await request(app).get('/api/v1/labels').set('Authorization', basic('bob', BOB_PW));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.principal, { subject: 'bob', groups: ['veggie-devs'], tenants: [], method: 'basic' });
  });

  it('supertest .auth() (what promtool sends for http://user:pw@host) works', async () => {
    const { app } = makeApp(config);
    const res = await request(app).get('/').auth('eve', EVE_PW);
    assert.equal(res.body.principal.subject, 'eve');
  });

  it('a password that only shares the part before a colon is refused', async () => {
    const { app } = makeApp(config);
    expect401(await request(app).get('/').set('Authorization', basic('bob', 'veggie')), MSG_INVALID_BASIC);
  });

  it('a wrong password is 401 invalid username or password; known user logged, password not', async () => {
    const { app, lines } = makeApp(config);
    expect401(await request(app).get('/').set('Authorization', basic('bob', 'wrong-pw-123')), MSG_INVALID_BASIC);
    assert.match(lines(), /"user":"bob"/);
    assert.ok(!lines().includes('wrong-pw-123'));
  });

  it('an unknown username is not logged (it may be a mistyped password)', async () => {
    const { app, lines } = makeApp(config);
    expect401(await request(app).get('/').set('Authorization', basic('S3cretTypedHere', 'x')), MSG_INVALID_BASIC);
    assert.ok(!lines().includes('S3cretTypedHere'));
  });

  it('Basic for a subject configured only as bearer is refused (bcrypt still runs)', async () => {
    const spy = spyCompare();
    const { app } = makeApp(config, { compare: spy.compare });
    expect401(await request(app).get('/').set('Authorization', basic('alice', 'fruit-secret')), MSG_INVALID_BASIC);
    assert.equal(spy.calls(), 1);
  });

  it('a scheme that only contains "Basic" is not basic', async () => {
    const { app } = makeApp(config);
    const res = await request(app).get('/').set('Authorization', `XBasicY ${Buffer.from(`bob:${BOB_PW}`).toString('base64')}`);
    expect401(res, 'unsupported authorization scheme "XBasicY": send "Authorization: Bearer <token>" or HTTP basic credentials');
  });

  it('empty password is refused', async () => {
    const { app } = makeApp(config);
    expect401(await request(app).get('/').set('Authorization', basic('bob', '')), MSG_INVALID_BASIC);
  });

  it('cache: the second request with the same credentials does not run bcrypt; expiry does', async () => {
    const spy = spyCompare();
    let now = 1_000_000;
    const { app } = makeApp(config, { compare: spy.compare, now: () => now });
    const send = () => request(app).get('/').set('Authorization', basic('bob', BOB_PW));
    assert.equal((await send()).status, 200);
    assert.equal(spy.calls(), 1);
    assert.equal((await send()).status, 200);
    assert.equal(spy.calls(), 1, 'second request must hit the cache');
    now += (providerConfig(config.auth, 'basic')?.cache_ttl_ms ?? 0) - 1;
    assert.equal((await send()).status, 200);
    assert.equal(spy.calls(), 1);
    now += 2; // older than the TTL
    assert.equal((await send()).status, 200);
    assert.equal(spy.calls(), 2, 'expired entry must be re-verified');
  });

  it('cache: a different password for a cached user is verified (and refused)', async () => {
    const spy = spyCompare();
    const { app } = makeApp(config, { compare: spy.compare });
    assert.equal((await request(app).get('/').set('Authorization', basic('bob', BOB_PW))).status, 200);
    expect401(await request(app).get('/').set('Authorization', basic('bob', `${BOB_PW}x`)), MSG_INVALID_BASIC);
    assert.equal(spy.calls(), 2);
  });

  it('cache: failures are cached too (issue #11: a repeated wrong password runs bcrypt once)', async () => {
    const spy = spyCompare();
    const { app } = makeApp(config, { compare: spy.compare });
    for (let i = 0; i < 3; i++) expect401(await request(app).get('/').set('Authorization', basic('bob', 'nope')), MSG_INVALID_BASIC);
    for (let i = 0; i < 2; i++) expect401(await request(app).get('/').set('Authorization', basic('mallory', 'nope')), MSG_INVALID_BASIC);
    assert.equal(spy.calls(), 2);
    // The right password is another credential: verified, and accepted.
    assert.equal((await request(app).get('/').set('Authorization', basic('bob', BOB_PW))).status, 200);
    assert.equal(spy.calls(), 3);
  });

  it('cache disabled with basic_cache_ttl 0', async () => {
    const spy = spyCompare();
    const { app } = makeApp(withBasic(config, { cache_ttl_ms: 0 }), { compare: spy.compare });
    for (let i = 0; i < 2; i++) assert.equal((await request(app).get('/').set('Authorization', basic('bob', BOB_PW))).status, 200);
    assert.equal(spy.calls(), 2);
  });

  it('a compare that throws is a 500 internal_error, not a pass', async () => {
    const { app } = makeApp(config, { compare: () => Promise.reject(new Error('boom')) });
    const res = await request(app).get('/').set('Authorization', basic('bob', BOB_PW));
    assert.equal(res.status, 500);
    assert.equal(res.body.code, 'internal_error');
    assert.equal(res.body.principal, undefined);
  });
});

describe('auth middleware: shape', () => {
  it('is a named function; providers follow the configured order', () => {
    const { logger } = captureLines();
    const a = createAuthenticator(config, logger);
    assert.equal(a.middleware.name, 'promfenceAuthenticate');
    assert.deepEqual(a.providers.map((p) => p.method), ['bearer_tokens', 'basic']);
  });
  it('a refusal is logged with the provider and reason; a success records no failure', async () => {
    const { app, lines } = makeApp(config);
    const res = await request(app).get('/').set('Authorization', 'Bearer nope');
    assert.equal(res.status, 401);
    assert.match(lines(), /"auth_method":"bearer_tokens"/);
    assert.match(lines(), /"reason":"invalid_bearer_token"/);
    const ok = await request(app).get('/').set('Authorization', basic('bob', BOB_PW));
    assert.deepEqual(ok.body.failures, []);
  });
});

describe('auth middleware: property', () => {
  it('a random Authorization header never authenticates unless it carries a configured credential', async () => {
    const fc = (await import('fast-check')).default;
    const { app } = makeApp(config, { compare: (pw: string, hash: string) => bcrypt.compare(pw, hash) });
    const header = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'Bearer Basic fruit-secret tomato:=+/ abcXYZ019'.split('')), maxLength: 40 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((s) => `Bearer ${s}`),
      fc.tuple(fc.constantFrom('bob', 'eve', 'alice', 'tom', ''), fc.string({ unit: 'grapheme-ascii', maxLength: 20 })).map(([u, p]) => basic(u, p)),
    ).filter((s) => /^[\x20-\x7e]*$/.test(s) && s.trim() === s);
    await fc.assert(fc.asyncProperty(header, async (h) => {
      const res = await request(app).get('/').set('Authorization', h);
      if (res.status === 200) {
        assert.match(h, /^bearer (fruit-secret|tomato-secret)$/i, `authenticated with ${JSON.stringify(h)}`);
      } else {
        assert.equal(res.status, 401);
        assert.equal(res.body.code, 'unauthenticated');
      }
    }), { numRuns: 150 });
  });
});
