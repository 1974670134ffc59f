/**
 * Upstream access (issue #8): TLS towards an https upstream (CA bundle, client certificate,
 * server name, insecure_skip_verify), basic credentials, static headers, the Host rewrite —
 * with certificates made by Debian's openssl and a real https upstream; the configuration
 * keys through the YAML loader; and `server.listeners[]` bound to tenant sets.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { ConfigError, parseConfig, summarizeConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startServer } from '../../src/server.ts';
import { CANNED, fakeAuth, fakeEnforcer, pairs, startUpstream, testConfig, type RecordingUpstream } from './kit.ts';

let dir: string;
let httpsUp: https.Server;
let httpsUrl: string;
const seen: Array<{ headers: Record<string, unknown>; clientCN: string | undefined }> = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate for prom.internal and a client certificate, all EC P-256, one day. */
function makeCertificates(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=promfence-test-ca');
  for (const [name, cn, ext] of [['server', 'prom.internal', 'subjectAltName=DNS:prom.internal'], ['client', 'promfence', 'extendedKeyUsage=clientAuth']] as const) {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), ext + '\n');
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
}

const read = (f: string) => execFileSync('cat', [join(dir, f)], { encoding: 'utf8' });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'promfence-tls-'));
  makeCertificates();
  httpsUp = https.createServer({ key: read('server.key'), cert: read('server.crt'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    seen.push({ headers: req.headers, clientCN: peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(CANNED);
    });
  });
  await new Promise<void>((r) => httpsUp.listen(0, '127.0.0.1', r));
  httpsUrl = `https://127.0.0.1:${(httpsUp.address() as AddressInfo).port}`;
});
after(async () => {
  httpsUp.closeAllConnections();
  await new Promise((r) => httpsUp.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function app(url: string, patch: (c: Config) => void) {
  return createApp(testConfig(url, patch), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() }).handler;
}

const tls = (over: Partial<NonNullable<Config['upstreams']['prometheus']['tls']>> = {}) => (c: Config) => {
  c.upstreams.prometheus.tls = { ca: read('ca.crt'), cert: undefined, key: undefined, server_name: 'prom.internal', insecure_skip_verify: false, ...over };
};

describe('upstream TLS', () => {
  it('verifies the upstream with upstream.tls CA and server name, and presents the client certificate', async () => {
    seen.length = 0;
    await request(app(httpsUrl, tls({ cert: read('client.crt'), key: read('client.key') }))).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token').expect(200);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.clientCN, 'promfence');
  });
  it('an upstream certificate the configured CAs do not sign is 502, never sent', async () => {
    seen.length = 0;
    const res = await request(app(httpsUrl, () => {})).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token');
    assert.equal(res.status, 502, res.text);
    assert.equal(JSON.parse(res.text).code, 'upstream_unavailable');
    assert.equal(seen.length, 0);
  });
  it('a certificate for another name is 502', async () => {
    const res = await request(app(httpsUrl, tls({ server_name: 'other.internal' }))).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token');
    assert.equal(res.status, 502, res.text);
  });
  it('insecure_skip_verify connects without verification', async () => {
    await request(app(httpsUrl, tls({ ca: undefined, server_name: undefined, insecure_skip_verify: true }))).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token').expect(200);
  });
});

describe('upstream credentials, static headers and Host', () => {
  let up: RecordingUpstream;
  before(async () => {
    up = await startUpstream();
  });
  after(async () => {
    await up.close();
  });
  it('basic_auth, headers and host are sent; the client credential never is; tenancy headers win', async () => {
    await request(app(up.url, (c) => {
      c.enforce.mode = 'label+header';
      c.upstreams.prometheus.basic_auth = { username: 'gw', password: 'p:w' };
      c.upstreams.prometheus.headers = { 'X-Api-Key': 'k1', 'X-Team': 'infra' };
      c.upstreams.prometheus.host = 'prometheus.internal:9090';
    })).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token').set('X-Api-Key', 'client-value').expect(200);
    const r = up.requests[0]!;
    assert.equal(r.headers.authorization, `Basic ${Buffer.from('gw:p:w').toString('base64')}`);
    assert.equal(r.headers['x-api-key'], 'k1');
    assert.equal(r.headers['x-team'], 'infra');
    assert.equal(r.headers.host, 'prometheus.internal:9090');
    assert.equal(r.headers['x-scope-orgid'], 'team-fruit');
    assert.deepEqual(pairs(r.query), [['query', 'E[team-fruit](up)']]);
  });
});

describe('configuration of upstream access', () => {
  const base = (upstream: string, rest = '') => `upstream: ${upstream}\nauth: {bearer_tokens: [{subject: alice, token: t1}]}\naccess: {subjects: {alice: [a]}}\n${rest}`;
  const parse = (text: string, env: Record<string, string> = {}) => parseConfig(text, { baseDir: dir, env });
  const problems = (text: string): string[] => {
    try {
      parse(text);
    } catch (err) {
      if (err instanceof ConfigError) return [...err.issues];
      throw err;
    }
    return [];
  };
  it('reads tls files relative to the config, basic_auth, headers from env and file, host', () => {
    writeFileSync(join(dir, 'api-key'), 'from-file\n');
    writeFileSync(join(dir, 'up-password'), 'pw\n');
    const c = parse(base('{url: "https://prom:9090", tls: {ca_file: ca.crt, cert_file: client.crt, key_file: client.key, server_name: prom.internal}, basic_auth: {username: gw, password_file: up-password}, headers: {X-Api-Key: {value_file: api-key}, X-Org: "${env:ORG}"}, host: prom.internal}'), { ORG: 'o1' });
    const u = c.upstreams.prometheus;
    assert.equal(u.tls?.ca, read('ca.crt').replace(/\n$/, ''));
    assert.ok(u.tls?.key?.includes('PRIVATE KEY'));
    assert.deepEqual([u.tls?.server_name, u.tls?.insecure_skip_verify, u.basic_auth, u.headers, u.host], ['prom.internal', false, { username: 'gw', password: 'pw' }, { 'X-Api-Key': 'from-file', 'X-Org': 'o1' }, 'prom.internal']);
  });
  it('check-config\'s summary names the new keys (never a secret) and warns about insecure_skip_verify', () => {
    const c = parse(base('{url: "https://prom:9090", tls: {insecure_skip_verify: true}, basic_auth: {username: gw, password: s3cret}, headers: {X-Org: o1}, host: prom.internal}',
      'server: {path_prefix: /prometheus, listeners: [{listen: "127.0.0.1:9201", tenants: [a]}]}\n'));
    const text = summarizeConfig(c).join('\n');
    assert.match(text, /upstream: https:\/\/prom:9090 \(timeout 2m, sends basic credentials; TLS; headers X-Org; Host prom\.internal\)/);
    assert.match(text, /path prefix: \/prometheus/);
    assert.match(text, /listener: 127\.0\.0\.1:9201 -> tenants a/);
    assert.match(text, /upstream\.tls\.insecure_skip_verify: the upstream's certificate is not verified/);
    assert.equal(text.includes('s3cret') || text.includes('o1'), false);
  });
  const bad: Array<[string, string, string]> = [
    ['tls on http', base('{url: "http://prom:9090", tls: {insecure_skip_verify: true}}'), 'config: upstream.tls: is set but upstream.url is not https; write the URL as https://…'],
    ['cert without key', base('{url: "https://prom:9090", tls: {cert_file: client.crt}}'), 'config: upstream.tls: cert_file and key_file go together (client certificate for mTLS); give both or neither'],
    ['not PEM', base('{url: "https://prom:9090", tls: {ca_file: api-key}}'), 'config: upstream.tls.ca_file: the file\'s content is not PEM (no "-----BEGIN" line)'],
    ['bearer and basic', base('{url: "http://prom:9090", bearer_token: x, basic_auth: {username: gw, password: p}}'), 'config: upstream: has bearer_token and basic_auth; keep at most one upstream credential'],
    ['Authorization header', base('{url: "http://prom:9090", headers: {Authorization: "Bearer x"}}'), 'config: upstream.headers.Authorization: "Authorization" cannot be used; it is a standard HTTP header (the upstream credential goes in upstream.bearer_token or upstream.basic_auth, the Host in upstream.host)'],
    ['header with a line break', base('{url: "http://prom:9090", headers: {X-A: "a\\nb"}}'), 'config: upstream.headers.X-A contains control characters or a line break, which an HTTP header cannot carry'],
    ['tenant header in header mode', base('{url: "http://prom:9090", headers: {x-scope-orgid: "a"}}', 'enforce: {mode: header}\n'), 'config: upstream.headers.x-scope-orgid: is the tenant header promfence sets in enforce.mode header; remove it'],
    ['bad host', base('{url: "http://prom:9090", host: "a b"}'), 'config: upstream.host: "a b" is not a host name (write it like "prometheus.internal" or "prometheus.internal:443")'],
    ['path prefix with trailing slash', base('{url: "http://prom:9090"}', 'server: {path_prefix: /prometheus/}\n'), 'config: server.path_prefix: "/prometheus/" is not a path prefix; write it like "/prometheus" (segments of letters, digits, . _ ~ -; no trailing "/")'],
    ['path prefix /tenants', base('{url: "http://prom:9090"}', 'server: {path_prefix: /tenants}\n'), 'config: server.path_prefix: "/tenants" would shadow promfence\'s own /tenants/ paths; pick another prefix'],
    ['listener on the main port', base('{url: "http://prom:9090"}', 'server: {listen: "127.0.0.1:9095", listeners: [{listen: "0.0.0.0:9095", tenants: [a]}]}\n'), 'config: server.listeners[0].listen: "0.0.0.0:9095" uses the port of server.listen; every listener needs its own port'],
    ['listener for "*"', base('{url: "http://prom:9090"}', 'server: {listeners: [{listen: "127.0.0.1:9201", tenants: ["*"]}]}\n'), 'config: server.listeners[0].tenants[0]: tenant "*" means "all tenants" and is not allowed here'],
    ['all_tenants with "*"', base('{url: "http://prom:9090"}', 'enforce: {all_tenants: ["*"]}\n'), 'config: enforce.all_tenants[0]: tenant "*" means "all tenants" and is not allowed here'],
    ['params.unknown', base('{url: "http://prom:9090"}', 'params: {unknown: keep}\n'), 'config: params.unknown: must be one of "forward", "drop"'],
  ];
  for (const [name, text, want] of bad) {
    it(`refuses ${name}`, () => assert.deepEqual(problems(text), [want]));
  }
});

describe('server.listeners[]: one port per team', () => {
  it('each listener reads only its tenants; the main listener the whole grant', async () => {
    const up = await startUpstream();
    const config = testConfig(up.url, (c) => {
      c.server.listeners = [{ listen: '127.0.0.1:0', tenants: ['team-fruit'] }, { listen: '127.0.0.1:0', tenants: ['team-veggie', 'team-other'] }];
    });
    const gw = await startServer(config, { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer() });
    try {
      assert.equal(gw.listeners.length, 2);
      const [fruit, veggie] = gw.listeners;
      const get = (base: string, who: string, path = '/api/v1/query?query=up') => fetch(base + path, { headers: { authorization: `Bearer ${who}-token` } });
      assert.equal((await get(gw.url, 'tom')).status, 200);
      assert.equal((await get(fruit!.url, 'tom')).status, 200);
      assert.equal((await get(veggie!.url, 'tom')).status, 200);
      assert.equal((await get(veggie!.url, 'ops')).status, 200);
      assert.equal((await get(fruit!.url, 'tom', '/tenants/team-fruit/api/v1/query?query=up')).status, 200);
      const refused = await get(veggie!.url, 'alice');
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { error: string }).error, 'none of the tenants team-veggie, team-other (listener 127.0.0.1:0) is granted to subject "alice"');
      assert.equal((await get(fruit!.url, 'tom', '/tenants/team-veggie/api/v1/query?query=up')).status, 403);
      assert.deepEqual(up.requests.map((r) => pairs(r.query)[0]?.[1]), [
        'E[team-fruit,team-veggie](up)', 'E[team-fruit](up)', 'E[team-veggie](up)', 'E[team-other,team-veggie](up)', 'E[team-fruit](up)',
      ]);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});
