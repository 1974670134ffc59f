/**
 * JWT bearer authentication through the whole gateway (startServer from a YAML configuration,
 * the real enforcer) against a recording upstream, with real local OIDC issuers over HTTP and
 * HTTPS (a CA generated in the test with openssl), tokens minted with jose, and frozen clocks
 * (the JWT wall clock and the JWKS monotonic clock are injected).
 *
 * Every refusal must be one JSON envelope (401 `unauthenticated` with the reason in the log,
 * or 403 `no_tenants`) and the upstream must receive nothing.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { parseConfig } from '../../src/config/load.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { captureLogger, startUpstream, waitFor, type RecordingUpstream } from '../http/kit.ts';
import { createCa } from '../kit/certs.ts';
import { b64json, startIssuer, type TestIssuer } from '../kit/oidc.ts';

/** Frozen wall clock of JWT checks (2030-01-01T00:00:00Z), and the JWKS monotonic clock. */
const T0 = Date.parse('2030-01-01T00:00:00Z');
let clock = T0;
let mono = 1_000_000;
const nowS = () => Math.floor(clock / 1000);
const advance = (ms: number) => {
  clock += ms;
  mono += ms;
};

const CORTEX_SECRET = 'cortex-gateway-shared-secret-0123456789';
const HMAC_SECRET = 'issuer-hmac-secret-0123456789-abcdefghij';
const OPS_SECRET = 'operator-tooling-secret-0123456789-abcdef';

let dir: string;
let up: RecordingUpstream;
let gw: RunningServer;
let lines: Array<Record<string, unknown>>;
let jwks: TestIssuer; // jwks_url, HTTP
let oidc: TestIssuer; // discovery, HTTP (Keycloak-shaped)
let k8s: TestIssuer; // discovery, HTTPS with ca_file (Kubernetes-shaped)
let k8sNoCa: TestIssuer; // discovery, HTTPS without ca_file
let down: TestIssuer;
let hang: TestIssuer;
let rsa: { privateKey: CryptoKey; pem: string };
let ec: { privateKey: CryptoKey };
const tokens = new Set<string>();

async function hs(claims: JWTPayload, secret: string, alg = 'HS256'): Promise<string> {
  const t = await new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
  tokens.add(t);
  return t;
}

async function signed(issuer: TestIssuer, claims: JWTPayload, key?: Awaited<ReturnType<TestIssuer['newKey']>>): Promise<string> {
  const t = await issuer.sign(claims, key);
  tokens.add(t);
  return t;
}

const std = (extra: JWTPayload = {}): JWTPayload => ({ aud: 'promfence', exp: nowS() + 300, iat: nowS(), ...extra });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'promfence-jwt-'));
  const ca = createCa(dir, 'Issuer CA');
  const serverCert = ca.issue('issuer', { cn: 'localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'] });
  writeFileSync(join(dir, 'hmac.secret'), HMAC_SECRET + '\n');
  jwks = await startIssuer();
  oidc = await startIssuer({ alg: 'ES256' });
  k8s = await startIssuer({ tls: serverCert, host: 'localhost', flavour: 'kubernetes' });
  k8sNoCa = await startIssuer({ tls: serverCert, host: 'localhost', flavour: 'kubernetes' });
  down = await startIssuer();
  down.mode = 'down';
  hang = await startIssuer();
  const r = await generateKeyPair('RS256', { extractable: true });
  rsa = { privateKey: r.privateKey, pem: await exportSPKI(r.publicKey) };
  const e = await generateKeyPair('ES256', { extractable: true });
  ec = { privateKey: e.privateKey };
  const ecJwk = { ...(await exportJWK(e.publicKey)), kid: 'ec-1' };
  up = await startUpstream();
  const yaml = `
server: {listen: "127.0.0.1:0"}
upstream: {url: "${up.url}"}
promql: {syntax: prometheus3}
log: {level: debug}
auth:
  bearer_tokens:
    - {subject: alice, token: fruit-secret}
  jwt:
    - name: cortex
      hmac_secret: "\${env:CORTEX_SECRET}"
      subject_claim: tenant_id
      tenants_claim: tenant_id
      require_exp: false
    - name: hmac-iss
      issuer: "https://hmac.example"
      hmac_secret_file: hmac.secret
      tenants_claim: tenants
    - name: pem
      issuer: "https://pem.example"
      audience: promfence
      public_keys:
        - ${JSON.stringify(rsa.pem)}
      groups_claim: groups
    - name: jwk
      issuer: "https://jwk.example"
      public_keys:
        - ${JSON.stringify(ecJwk)}
      tenants_claim: realm_access.tenants
    - name: jwks
      issuer: "${jwks.url}"
      audience: promfence
      jwks_url: "${jwks.jwksUrl}"
      groups_claim: groups
      tenants_claim: tenants
    - name: oidc
      issuer: "${oidc.url}"
      audience: [promfence, grafana]
      discovery: true
      groups_claim: groups
    - name: kubernetes
      issuer: "${k8s.url}"
      audience: promfence
      discovery: true
      ca_file: ${JSON.stringify(ca.certPath)}
      algorithms: [RS256]
    - name: kubernetes-without-ca
      issuer: "${k8sNoCa.url}"
      audience: promfence
      discovery: true
    - name: down
      issuer: "${down.url}"
      audience: promfence
      jwks_url: "${down.jwksUrl}"
    - name: hang
      issuer: "${hang.url}"
      audience: promfence
      discovery: true
      fetch_timeout: 1s
    - name: operator-tool
      issuer: "https://ops.example"
      hmac_secret: "${OPS_SECRET}"
      tenants_claim: tenants
      allow_unrestricted_claim: true
access:
  subjects:
    alice: [team-fruit]
    "system:serviceaccount:monitoring:fruit-reader": [team-fruit]
    carol: [team-veggie]
  groups:
    veggie-devs: [team-veggie]
`;
  const config = parseConfig(yaml, { baseDir: dir, env: { CORTEX_SECRET } });
  const cap = captureLogger('debug');
  lines = cap.lines;
  gw = await startServer(config, { logger: cap.logger, authSeams: { jwtClock: () => clock, jwksNow: () => mono, jwksPrefetch: false } });
});

after(async () => {
  await gw?.close();
  await up?.close();
  for (const i of [jwks, oidc, k8s, k8sNoCa, down, hang]) await i?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  up.requests.length = 0;
});

let seq = 0;
interface Answer { status: number; body: Record<string, unknown>; headers: Headers; id: string }

async function call(token: string, query = 'up'): Promise<Answer> {
  const id = `jwt-test-${++seq}`;
  const res = await fetch(`${gw.url}/api/v1/query?query=${encodeURIComponent(query)}`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': id } });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers, id };
}

/** The enforced query the upstream received (exactly one request). */
function forwarded(): string {
  assert.equal(up.requests.length, 1, 'exactly one upstream request');
  return new URLSearchParams(up.requests[0]!.query).get('query') ?? '';
}

function logOf(id: string, msg: string): Record<string, unknown> | undefined {
  return lines.find((l) => l['request_id'] === id && l['msg'] === msg);
}

/** The detail the jwt provider logged at debug for its refusal of request `id`. */
function detailOf(id: string): string {
  return String(lines.find((l) => l['request_id'] === id && l['msg'] === 'authentication refused by provider' && l['auth_method'] === 'jwt')?.['detail'] ?? '');
}

/** A 401 envelope with a Bearer challenge, the reason in the log, and nothing forwarded. */
function refused(a: Answer, reason: string, message?: RegExp): void {
  assert.equal(a.status, 401, JSON.stringify(a.body));
  assert.deepEqual(Object.keys(a.body).sort(), ['code', 'error', 'errorType', 'status']);
  assert.equal(a.body['status'], 'error');
  assert.equal(a.body['errorType'], 'unauthorized');
  assert.equal(a.body['code'], 'unauthenticated');
  assert.match(a.headers.get('www-authenticate') ?? '', /Bearer realm="promfence"/);
  if (message !== undefined) assert.match(String(a.body['error']), message);
  assert.equal(logOf(a.id, 'authentication failed')?.['reason'], reason, `reason of ${a.id}`);
  assert.equal(up.requests.length, 0, 'the upstream received nothing');
}

describe('jwt: each key kind → the right tenants', () => {
  it('a cortex-gateway token ({"tenant_id","version":1}, HS256, no iss/aud/exp) reads its tenant', async () => {
    const a = await call(await hs({ tenant_id: 'team-fruit', version: 1 }, CORTEX_SECRET));
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up{tenant="team-fruit"}');
    const access = logOf(a.id, 'request');
    assert.equal(access?.['subject'], 'team-fruit');
  });

  it('HS384 and HS512 with the issuer\'s secret from hmac_secret_file', async () => {
    for (const alg of ['HS384', 'HS512']) {
      up.requests.length = 0;
      const a = await call(await hs({ iss: 'https://hmac.example', sub: 'svc', tenants: ['team-veggie'], exp: nowS() + 60 }, HMAC_SECRET, alg));
      assert.equal(a.status, 200, alg);
      assert.equal(forwarded(), 'up{tenant="team-veggie"}');
    }
  });

  it('a static PEM public key (RS256); groups claim → access.groups', async () => {
    const t = await new SignJWT(std({ iss: 'https://pem.example', sub: 'dave', groups: ['veggie-devs', 'other'] })).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
    tokens.add(t);
    const a = await call(t);
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up{tenant="team-veggie"}');
  });

  it('a static JWK (ES256, kid) without audience; tenants from a dot path', async () => {
    const t = await new SignJWT({ iss: 'https://jwk.example', sub: 'erin', exp: nowS() + 60, realm_access: { tenants: ['team-fruit', 'team-veggie'] } }).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).sign(ec.privateKey);
    tokens.add(t);
    const a = await call(t);
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up{tenant=~"team-fruit|team-veggie"}');
  });

  it('a JWKS URL: subject grant ∪ claim tenants ∪ groups', async () => {
    const a = await call(await signed(jwks, std({ sub: 'alice', tenants: 'team-x, team-y', groups: 'veggie-devs' })));
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up{tenant=~"team-fruit|team-veggie|team-x|team-y"}');
  });

  it('OIDC discovery (Keycloak-shaped, ES256); any configured audience', async () => {
    const a = await call(await signed(oidc, std({ sub: 'carol', aud: ['grafana', 'account'] })));
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up{tenant="team-veggie"}');
    assert.ok(oidc.fetches.includes('/.well-known/openid-configuration'));
    assert.ok(oidc.fetches.includes('/protocol/openid-connect/certs'));
  });

  it('a Kubernetes service-account token over HTTPS discovery with ca_file → access.subjects["system:serviceaccount:…"]', async () => {
    const claims = std({
      sub: 'system:serviceaccount:monitoring:fruit-reader',
      aud: ['promfence'],
      nbf: nowS(),
      'kubernetes.io': { namespace: 'monitoring', serviceaccount: { name: 'fruit-reader', uid: '0d7c6b6e-1f7a-4c39-9b59-4f9b5c0f2a11' }, pod: { name: 'agent-7d9f', uid: 'a1b2' } },
    });
    const a = await call(await signed(k8s, claims));
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up{tenant="team-fruit"}');
    assert.deepEqual(k8s.fetches, ['/.well-known/openid-configuration', '/openid/v1/jwks']);
  });

  it('an issuer with "*" allowed in its tenants claim grants every tenant (the query is not scoped)', async () => {
    const a = await call(await hs({ iss: 'https://ops.example', sub: 'ops-bot', tenants: ['*'], exp: nowS() + 60 }, OPS_SECRET));
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up');
  });

  it('a token that is not a JWT falls through to static bearer tokens', async () => {
    const a = await call('fruit-secret');
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up{tenant="team-fruit"}');
    up.requests.length = 0;
    refused(await call('not.a-jwt'), 'invalid_bearer_token', /^invalid bearer token$/);
  });
});

describe('jwt: refusals (401, one envelope, nothing forwarded)', () => {
  it('expired beyond clock_tolerance (30 s); accepted within it', async () => {
    refused(await call(await signed(jwks, std({ sub: 'alice', exp: nowS() - 31 }))), 'expired', /invalid JWT: the token expired at 2029-12-31T23:59:29\.000Z/);
    assert.equal((await call(await signed(jwks, std({ sub: 'alice', exp: nowS() - 29 })))).status, 200);
  });

  it('not yet valid beyond clock_tolerance; accepted within it', async () => {
    refused(await call(await signed(jwks, std({ sub: 'alice', nbf: nowS() + 31 }))), 'not_yet_valid', /not valid before/);
    assert.equal((await call(await signed(jwks, std({ sub: 'alice', nbf: nowS() + 29 })))).status, 200);
  });

  it('a cached token stops working when it expires (frozen clock moved)', async () => {
    const t = await signed(jwks, std({ sub: 'alice', exp: nowS() + 100 }));
    assert.equal((await call(t)).status, 200);
    assert.equal((await call(t)).status, 200);
    up.requests.length = 0;
    advance(131_000);
    refused(await call(t), 'expired');
  });

  it('wrong or missing aud', async () => {
    refused(await call(await signed(jwks, std({ sub: 'alice', aud: 'grafana' }))), 'wrong_audience', /audience \("aud"\) does not include "promfence"/);
    refused(await call(await signed(jwks, std({ sub: 'alice', aud: undefined }))), 'wrong_audience');
  });

  it('an iss no issuer is configured for', async () => {
    refused(await call(await signed(jwks, std({ sub: 'alice', iss: 'https://evil.example' }))), 'unknown_issuer', /issuer "https:\/\/evil\.example" is not accepted here/);
    // An HS256 token with an unknown iss is tried against the issuer-less HMAC issuer (cortex).
    refused(await call(await hs({ iss: 'https://evil.example', tenant_id: 'team-fruit' }, 'not-the-cortex-secret-0123456789-012345')), 'bad_signature', /issuer "cortex"/);
  });

  it('an iss of an HMAC issuer, signed with another secret', async () => {
    refused(await call(await hs({ iss: 'https://hmac.example', sub: 'x', exp: nowS() + 60 }, 'some-other-secret-0123456789-0123456789')), 'bad_signature', /signature does not verify/);
  });

  it('no exp when the issuer requires it (default require_exp: true)', async () => {
    refused(await call(await hs({ iss: 'https://hmac.example', sub: 'svc', tenants: ['team-fruit'] }, HMAC_SECRET)), 'missing_exp', /no expiry/);
  });

  it('a tampered payload (signature of another payload)', async () => {
    const [h, , s] = (await signed(jwks, std({ sub: 'alice' }))).split('.');
    const t = `${h}.${b64json({ iss: jwks.url, ...std({ sub: 'alice', tenants: ['team-veggie'] }) })}.${s}`;
    tokens.add(t);
    refused(await call(t), 'bad_signature');
  });

  it('"alg": "none" (any case), signature empty or not', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const t = `${b64json({ alg, typ: 'JWT' })}.${b64json({ iss: jwks.url, ...std({ sub: 'alice' }) })}.`;
      refused(await call(t), 'alg_none', /unsigned tokens/);
      refused(await call(`${t}c2ln`), 'alg_none');
    }
  });

  it('HS256 signed with the issuer\'s RSA public key (key confusion)', async () => {
    const t = await hs({ iss: 'https://pem.example', ...std({ sub: 'alice' }) }, rsa.pem);
    refused(await call(t), 'algorithm_not_allowed', /algorithm "HS256" is not accepted for issuer "pem"/);
  });

  it('a JWT-shaped token over 8 KiB', async () => {
    refused(await call(await hs({ tenant_id: 'team-fruit', pad: 'x'.repeat(9000) }, CORTEX_SECRET)), 'token_too_large', /longer than 8192 bytes/);
  });

  it('claims of the wrong type', async () => {
    refused(await call(await signed(jwks, std({ sub: 'alice', groups: 5 }))), 'invalid_groups_claim', /"groups" \(groups\) must be a string or an array of strings/);
    refused(await call(await signed(jwks, std({ sub: 'alice', groups: ['a', 7] }))), 'invalid_groups_claim');
    refused(await call(await signed(jwks, std({ sub: 'alice', tenants: { a: 1 } }))), 'invalid_tenants_claim');
    refused(await call(await signed(jwks, std({ sub: 'alice', tenants: ['team|x'] }))), 'invalid_tenants_claim', /contains "\|"/);
    refused(await call(await signed(jwks, std({ sub: 42 as unknown as string }))), 'invalid_subject_claim');
    refused(await call(await signed(jwks, std({ sub: undefined }))), 'missing_subject', /no "sub" claim/);
    refused(await call(await hs({ version: 1 }, CORTEX_SECRET)), 'missing_subject', /no "tenant_id" claim/);
  });

  it('"*" in a tenants claim is refused unless the issuer allows it', async () => {
    refused(await call(await signed(jwks, std({ sub: 'alice', tenants: ['team-fruit', '*'] }))), 'unrestricted_claim', /allow_unrestricted_claim/);
    refused(await call(await hs({ tenant_id: '*' }, CORTEX_SECRET)), 'unrestricted_claim');
  });

  it('HTTPS discovery with a private CA but without ca_file', async () => {
    const a = await call(await signed(k8sNoCa, std({ sub: 'system:serviceaccount:monitoring:fruit-reader' })));
    refused(a, 'jwks_unavailable', /^invalid JWT: the keys of issuer "kubernetes-without-ca" cannot be fetched right now; try again later$/);
    assert.match(detailOf(a.id), /self-signed certificate|unable to verify|certificate/i);
  });

  it('a JWKS endpoint that is down: 401 jwks_unavailable, not 500', async () => {
    const a = await call(await signed(down, std({ sub: 'alice' })));
    refused(a, 'jwks_unavailable', /cannot be fetched right now/);
    assert.match(detailOf(a.id), /GET http:\/\/127\.0\.0\.1:\d+\/protocol\/openid-connect\/certs: answered 500/);
    assert.ok(!String(a.body['error']).includes('127.0.0.1'), 'no internal address in the answer');
  });

  it('no token in any log line', () => {
    const all = lines.map((l) => JSON.stringify(l)).join('\n');
    for (const t of tokens) assert.ok(!all.includes(t), 'a token was logged');
    assert.ok(lines.some((l) => l['msg'] === 'authentication refused by provider' && l['reason'] === 'expired' && l['level'] === 'debug'), 'each refusal is logged at debug with its reason');
  });
});

describe('jwt: tenants', () => {
  it('a valid token granted no tenant is 403 no_tenants naming the subject; nothing forwarded', async () => {
    const a = await call(await signed(jwks, std({ sub: 'nobody' })));
    assert.equal(a.status, 403);
    assert.deepEqual(a.body, {
      status: 'error', errorType: 'forbidden', code: 'no_tenants',
      error: 'subject "nobody" is authenticated but no tenants are granted to it; add it to access.subjects or one of its groups to access.groups',
    });
    assert.equal(up.requests.length, 0);
  });
});

describe('jwt: JWKS rotation and the refetch rate limit', () => {
  it('an unknown kid refetches the JWKS once; after the issuer rotates, the new key works once 10 s passed since that fetch', async () => {
    advance(10_001);
    const before = jwks.fetches.length;
    const k2 = await jwks.newKey('key-2');
    const t2 = await signed(jwks, std({ sub: 'alice' }), k2);
    refused(await call(t2), 'unknown_kid', /no key of issuer "jwks" matches/);
    assert.equal(jwks.fetches.length, before + 1, 'the kid miss refetched the JWKS');
    jwks.published = [k2, ...jwks.published]; // the issuer rotates
    refused(await call(t2), 'unknown_kid');
    assert.equal(jwks.fetches.length, before + 1, 'no refetch within 10 s of the last fetch');
    advance(10_001);
    const a = await call(t2);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(jwks.fetches.length, before + 2);
    assert.equal(forwarded(), 'up{tenant="team-fruit"}');
  });

  it('a flood of made-up kids costs the issuer at most one fetch per 10 s', async () => {
    advance(10_001);
    const before = jwks.fetches.length;
    const key = jwks.published[0]!;
    const bogus = Array.from({ length: 8 }, (_, i) => ({ ...key, kid: `made-up-${i}` }));
    const answers = await Promise.all(bogus.map(async (k) => call(await signed(jwks, std({ sub: 'alice' }), k))));
    for (const a of answers) assert.equal(a.status, 401);
    assert.equal(jwks.fetches.length, before + 1);
    for (const a of answers) refused(a, 'unknown_kid');
  });

  it('a verified token is served from the cache: no key lookup, even when the keys are due for a refresh', async () => {
    advance(10_001);
    const t = await signed(jwks, std({ sub: 'alice', exp: nowS() + 3600 }));
    assert.equal((await call(t)).status, 200);
    const before = jwks.fetches.length;
    mono += 11 * 60_000; // keys older than refresh_interval (10m): a lookup would refresh them
    up.requests.length = 0;
    assert.equal((await call(t)).status, 200);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(jwks.fetches.length, before, 'the cache answered');
    const fresh = await signed(jwks, std({ sub: 'alice', jti: 'other' }));
    up.requests.length = 0;
    assert.equal((await call(fresh)).status, 200);
    await waitFor(() => jwks.fetches.length === before + 1);
  });
});

describe('jwt: a failing JWKS fetch does not slow other callers', () => {
  // The 15 s timeout is only a hang guard: the hung caller must be answered after fetch_timeout (1 s).
  it('while one issuer\'s fetch hangs, static tokens and other issuers are served; the hung caller gets 401 after fetch_timeout', { timeout: 15_000 }, async () => {
    hang.mode = 'hang';
    const hung = signed(hang, std({ sub: 'alice' })).then((t) => call(t));
    let settled = false;
    void hung.then(() => {
      settled = true;
    });
    await waitFor(() => hang.held() === 1, 5000);
    const second = signed(hang, std({ sub: 'carol' })).then((t) => call(t)); // joins the same fetch
    const other = await call('fruit-secret');
    assert.equal(other.status, 200);
    const jwtOther = await call(await hs({ tenant_id: 'team-veggie', version: 1 }, CORTEX_SECRET));
    assert.equal(jwtOther.status, 200);
    assert.equal(settled, false, 'the hung caller is still waiting while the others were served');
    assert.equal(hang.held(), 1, 'concurrent callers of one issuer share one fetch');
    up.requests.length = 0;
    const [a, b] = await Promise.all([hung, second]);
    refused(a, 'jwks_unavailable');
    assert.match(detailOf(a.id), /no complete answer within 1000 ms/);
    refused(b, 'jwks_unavailable');
  });
});
