/**
 * mTLS client certificates and trusted auth-proxy headers through the whole gateway
 * (startServer from YAML, TLS listener, the real enforcer) against a recording upstream.
 * Certificates are generated in the test with openssl (test/kit/certs.ts). Every refusal is
 * one JSON envelope (or, with `client_auth: require`, a failed handshake) and the upstream
 * receives nothing.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { parseSubjectAltName } from '../../src/auth/providers/mtls.ts';
import { captureLogger, startUpstream, type RecordingUpstream } from '../http/kit.ts';
import { createCa, type IssuedCert, type TestCa } from '../kit/certs.ts';
import { httpsRequest, type HttpsAnswer } from '../kit/https.ts';

let dir: string;
let up: RecordingUpstream;
let optional: RunningServer; // client_auth: optional, + bearer tokens + trusted headers
let required: RunningServer; // client_auth: require, subject from the URI SAN
let grafana: RunningServer; // plain HTTP, X-Grafana-User from 127.0.0.1 only
let lines: Array<Record<string, unknown>>;
let serverCa: TestCa;
let alice: IssuedCert; // CN=alice, O=fruit-devs
let workload: IssuedCert; // URI SAN spiffe://cluster.local/ns/monitoring/sa/fruit-reader
let expired: IssuedCert;
let rogue: IssuedCert; // CN=alice from another CA

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'promfence-mtls-'));
  serverCa = createCa(join(dir, 'server'), 'Server CA');
  const serverCert = serverCa.issue('gateway', { cn: 'localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'] });
  const clientCa = createCa(join(dir, 'clients'), 'Client CA');
  alice = clientCa.issue('alice', { cn: 'alice', o: ['fruit-devs'], ou: ['shop'] });
  workload = clientCa.issue('workload', { cn: 'fruit-reader', sans: ['URI:spiffe://cluster.local/ns/monitoring/sa/fruit-reader', 'DNS:fruit-reader.monitoring.svc'] });
  expired = clientCa.issue('expired', { cn: 'alice', o: ['fruit-devs'], notBefore: '20200101000000Z', notAfter: '20200102000000Z' });
  rogue = createCa(join(dir, 'rogue'), 'Rogue CA').issue('mallory', { cn: 'alice', o: ['fruit-devs'] });
  up = await startUpstream();
  const cap = captureLogger('debug');
  lines = cap.lines;
  const tls = (clientAuth: string) => `server:
  listen: "127.0.0.1:0"
  tls:
    cert_file: ${JSON.stringify(serverCert.certPath)}
    key_file: ${JSON.stringify(serverCert.keyPath)}
    client_ca_file: ${JSON.stringify(clientCa.certPath)}
    client_auth: ${clientAuth}
upstream: {url: "${up.url}"}
promql: {syntax: prometheus3}
log: {level: debug}
`;
  optional = await startServer(parseConfig(`${tls('optional')}
auth:
  bearer_tokens: [{subject: tom, token: tomato-secret}]
  trusted_header:
    user_header: X-Forwarded-User
    groups_header: X-Forwarded-Groups
    trusted_cidrs: ["127.0.0.1/32"]
access:
  subjects: {tom: [team-fruit, team-veggie], "bob@example.com": [team-veggie]}
  groups: {fruit-devs: [team-fruit], "veggie-devs": [team-veggie]}
`, { baseDir: dir, env: {} }), { logger: cap.logger });
  required = await startServer(parseConfig(`${tls('require')}
auth:
  mtls: {subject_from: san_uri, groups_from: []}
access:
  subjects: {"spiffe://cluster.local/ns/monitoring/sa/fruit-reader": [team-fruit], alice: ["*"]}
`, { baseDir: dir, env: {} }), { logger: cap.logger });
  grafana = await startServer(parseConfig(`
server: {listen: "127.0.0.1:0"}
upstream: {url: "${up.url}"}
promql: {syntax: prometheus3}
log: {level: debug}
auth:
  trusted_header: {user_header: X-Grafana-User, trusted_cidrs: ["127.0.0.1"]}
access:
  subjects: {alice: [team-fruit]}
`, { baseDir: dir, env: {} }), { logger: cap.logger });
});

after(async () => {
  await optional?.close();
  await required?.close();
  await grafana?.close();
  await up?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  up.requests.length = 0;
});

let seq = 0;
async function get(gw: RunningServer, opts: { cert?: IssuedCert; headers?: Record<string, string | string[]>; localAddress?: string } = {}): Promise<HttpsAnswer & { id: string; body: Record<string, unknown> }> {
  const id = `mtls-test-${++seq}`;
  const a = await httpsRequest(`${gw.url}/api/v1/query?query=up`, {
    ca: serverCa.cert,
    ...(opts.cert !== undefined ? { cert: opts.cert.cert, key: opts.cert.key } : {}),
    headers: { 'x-request-id': id, ...(opts.headers ?? {}) },
    ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
  });
  return { ...a, id, body: JSON.parse(a.text) as Record<string, unknown> };
}

function forwarded(): string {
  assert.equal(up.requests.length, 1, 'exactly one upstream request');
  return new URLSearchParams(up.requests[0]!.query).get('query') ?? '';
}

function refused(a: { status: number; body: Record<string, unknown>; id: string }, reason: string, message?: RegExp): void {
  assert.equal(a.status, 401, JSON.stringify(a.body));
  assert.deepEqual(Object.keys(a.body).sort(), ['code', 'error', 'errorType', 'status']);
  assert.equal(a.body['code'], 'unauthenticated');
  assert.equal(a.body['errorType'], 'unauthorized');
  if (message !== undefined) assert.match(String(a.body['error']), message);
  const line = lines.find((l) => l['request_id'] === a.id && l['msg'] === 'authentication failed');
  assert.equal(line?.['reason'], reason);
  assert.equal(up.requests.length, 0, 'the upstream received nothing');
}

function subjectOf(id: string): unknown {
  return lines.find((l) => l['request_id'] === id && l['msg'] === 'request')?.['subject'];
}

describe('mtls, client_auth: optional', () => {
  it('a good certificate: subject from the CN, groups from O/OU → tenants', async () => {
    const a = await get(optional, { cert: alice });
    assert.equal(a.status, 200, a.text);
    assert.equal(forwarded(), 'up{tenant="team-fruit"}');
    assert.equal(subjectOf(a.id), 'alice');
  });

  it('a certificate of an unknown CA → 401 untrusted_certificate', async () => {
    refused(await get(optional, { cert: rogue }), 'untrusted_certificate', /client certificate refused: it is not issued by a CA in server\.tls\.client_ca_file/);
  });

  it('an expired certificate → 401 certificate_expired', async () => {
    refused(await get(optional, { cert: expired }), 'certificate_expired', /client certificate refused: it has expired \(CERT_HAS_EXPIRED\)/);
  });

  it('other methods work on the same listener: no certificate + a bearer token', async () => {
    const a = await get(optional, { headers: { authorization: 'Bearer tomato-secret' } });
    assert.equal(a.status, 200);
    assert.equal(forwarded(), 'up{tenant=~"team-fruit|team-veggie"}');
  });

  it('nothing at all → 401 naming what is accepted', async () => {
    refused(await get(optional), 'no_credentials', /^authentication required: send a client certificate, "Authorization: Bearer <token>" or the identity headers of the auth proxy/);
  });
});

describe('mtls, client_auth: require', () => {
  it('a good certificate: subject from the URI SAN (SPIFFE ID)', async () => {
    const a = await get(required, { cert: workload });
    assert.equal(a.status, 200, a.text);
    assert.equal(forwarded(), 'up{tenant="team-fruit"}');
    assert.equal(subjectOf(a.id), 'spiffe://cluster.local/ns/monitoring/sa/fruit-reader');
  });

  it('a certificate without the configured SAN → 401 invalid_certificate', async () => {
    refused(await get(required, { cert: alice }), 'invalid_certificate', /no URI subject alternative name/);
  });

  for (const [name, cert] of [['no certificate', undefined], ['an unknown CA', () => rogue], ['an expired certificate', () => expired]] as const) {
    it(`${name}: the handshake fails; nothing reaches the upstream`, async () => {
      await assert.rejects(get(required, cert === undefined ? {} : { cert: cert() }));
      assert.equal(up.requests.length, 0);
    });
  }
});

describe('trusted headers', () => {
  it('from a listed address: user and groups (comma list) are the identity; the headers are not forwarded', async () => {
    const a = await get(optional, { headers: { 'x-forwarded-user': 'bob@example.com', 'x-forwarded-groups': 'fruit-devs, ,other' } });
    assert.equal(a.status, 200, a.text);
    assert.equal(forwarded(), 'up{tenant=~"team-fruit|team-veggie"}');
    assert.equal(subjectOf(a.id), 'bob@example.com');
    const sent = Object.keys(up.requests[0]!.headers);
    for (const h of ['x-forwarded-user', 'x-forwarded-groups', 'authorization']) assert.ok(!sent.includes(h), `${h} forwarded upstream`);
  });

  it('from an unlisted address: ignored → 401, even with X-Forwarded-For naming a listed one', async () => {
    refused(await get(optional, { localAddress: '127.0.0.2', headers: { 'x-forwarded-user': 'tom', 'x-forwarded-for': '127.0.0.1' } }), 'untrusted_peer', /X-Forwarded-User is accepted only from the auth proxy/);
  });

  it('from an unlisted address, other credentials still count', async () => {
    const a = await get(optional, { localAddress: '127.0.0.2', headers: { 'x-forwarded-user': 'tom', authorization: 'Bearer tomato-secret' } });
    assert.equal(a.status, 200);
  });

  it('a repeated user header is refused', async () => {
    refused(await get(optional, { headers: { 'x-forwarded-user': ['tom', 'bob@example.com'] } }), 'invalid_identity_header', /sent exactly once/);
  });

  it('header names are configurable (Grafana\'s X-Grafana-User); from another address it is ignored', async () => {
    const status = (localAddress: string) => new Promise<number>((resolve, reject) => {
      const req = http.request(`${grafana.url}/api/v1/query?query=up`, { localAddress, headers: { 'x-grafana-user': 'alice' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(await status('127.0.0.1'), 200);
    assert.equal(forwarded(), 'up{tenant="team-fruit"}');
    assert.ok(!Object.keys(up.requests[0]!.headers).includes('x-grafana-user'));
    up.requests.length = 0;
    assert.equal(await status('127.0.0.2'), 401);
    assert.equal(up.requests.length, 0);
  });
});

describe('parseSubjectAltName', () => {
  it('reads plain and JSON-quoted entries (Node escapes separators since CVE-2021-44532)', () => {
    assert.deepEqual(parseSubjectAltName('DNS:a.example, URI:spiffe://td/ns/x, IP Address:127.0.0.1'), [['DNS', 'a.example'], ['URI', 'spiffe://td/ns/x'], ['IP Address', '127.0.0.1']]);
    assert.deepEqual(parseSubjectAltName('DNS:"a, b", email:x@y'), [['DNS', 'a, b'], ['email', 'x@y']]);
    assert.equal(parseSubjectAltName('DNS:"unterminated'), undefined);
    assert.equal(parseSubjectAltName('nocolon'), undefined);
  });
});
