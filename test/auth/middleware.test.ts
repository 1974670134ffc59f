import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import bcrypt from 'bcryptjs';
import winston from 'winston';
import { createAuthMiddleware, MSG_AUTH_REQUIRED, MSG_CREDENTIALS_IN_URL, MSG_INVALID_BASIC, MSG_INVALID_BEARER, MSG_MALFORMED, type AuthMiddlewareOptions } from '../../src/auth/middleware.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { ctx, initContext } from '../../src/http/context.ts';
import { errorBody, HttpError } from '../../src/http/errors.ts';

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

function captureLogger(): { logger: winston.Logger; lines: () => string } {
  let buf = '';
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { buf += chunk.toString(); cb(); } });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines: () => buf };
}

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

function makeApp(cfg: Config, opts: AuthMiddlewareOptions = {}, parseBody = false) {
  const { logger, lines } = captureLogger();
  const app = express();
  app.use((req, res, next) => {
    initContext(req, res, 'req-1');
    next();
  });
  if (parseBody) app.use(express.urlencoded({ extended: false }));
  app.use(createAuthMiddleware(cfg, logger, opts));
  app.use((_req, res) => {
    res.json({ principal: ctx(res).principal });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) {
      res.status(err.status).set(err.headers).json(errorBody(err.code, err.message));
      return;
    }
    res.status(500).json({ status: 'error', errorType: 'internal', error: String(err), code: 'internal_error' });
  });
  return { app, lines };
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
    assert.deepEqual(res.body, { principal: { subject: 'alice', groups: ['fruit-devs'], method: 'bearer' } });
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

  it('challenge lists only configured schemes', async () => {
    const bearerOnly: Config = { ...config, auth: { ...config.auth, basic_users: [] } };
    const { app } = makeApp(bearerOnly);
    expect401(await request(app).get('/'), MSG_AUTH_REQUIRED, 'Bearer realm="promfence"');
  });
});

describe('auth middleware: access_token is refused before passport', () => {
  const urls = [
    '/api/v1/query?access_token=fruit-secret',
    '/api/v1/query?query=up&access_token=',
    '/api/v1/query?access%5Ftoken=fruit-secret',
    '/api/v1/query?ACCESS_TOKEN=fruit-secret',
    '/api/v1/query?access_token[]=fruit-secret',
    '/api/v1/query?query=up;access_token=fruit-secret',
    '/api/v1/query?access_token',
  ];
  for (const url of urls) {
    it(`${url} → 400 credentials_in_url (even with a valid header)`, async () => {
      const { app, lines } = makeApp(config);
      for (const auth of [undefined, 'Bearer fruit-secret']) {
        const req = request(app).get(url);
        const res = await (auth ? req.set('Authorization', auth) : req);
        assert.equal(res.status, 400);
        assert.deepEqual(res.body, { status: 'error', errorType: 'bad_data', error: MSG_CREDENTIALS_IN_URL, code: 'credentials_in_url' });
      }
      assert.match(lines(), /"reason":"credentials_in_url"/);
      assert.ok(!lines().includes('fruit-secret'));
    });
  }

  it('access_token in an already-parsed form body → 400', async () => {
    const { app } = makeApp(config, {}, true);
    const res = await request(app).post('/api/v1/query').type('form').send('query=up&access_token=fruit-secret');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'credentials_in_url');
  });

  it('a parameter merely containing the name is fine', async () => {
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
    assert.deepEqual(res.body, { principal: { subject: 'bob', groups: ['veggie-devs'], method: 'basic' } });
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

  it('a scheme that only contains "Basic" is not basic (passport-http\'s regex is unanchored)', async () => {
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
    now += config.auth.basic_cache_ttl_ms - 1;
    assert.equal((await send()).status, 200);
    assert.equal(spy.calls(), 1);
    now += 1;
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

  it('cache: failures are not cached', async () => {
    const spy = spyCompare();
    const { app } = makeApp(config, { compare: spy.compare });
    for (let i = 0; i < 2; i++) expect401(await request(app).get('/').set('Authorization', basic('bob', 'nope')), MSG_INVALID_BASIC);
    assert.equal(spy.calls(), 2);
  });

  it('cache disabled with basic_cache_ttl 0', async () => {
    const spy = spyCompare();
    const { app } = makeApp({ ...config, auth: { ...config.auth, basic_cache_ttl_ms: 0 } }, { compare: spy.compare });
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
  it('is a named function', () => {
    const { logger } = captureLogger();
    assert.equal(createAuthMiddleware(config, logger).name, 'promfenceAuthenticate');
  });
});

describe('auth middleware: property', () => {
  it('a random Authorization header never authenticates unless it carries a configured credential', async () => {
    const fc = (await import('fast-check')).default;
    const { app } = makeApp(config, { compare: (pw, hash) => bcrypt.compare(pw, hash) });
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
