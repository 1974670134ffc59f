/**
 * examples/identity/: every configuration validates (with the files and environment it
 * names); the cortex-gateway example serves a cortex-gateway token in header mode; the
 * Grafana provisioning files, read the way Grafana reads them, authenticate against promfence.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startServer } from '../../src/server.ts';
import { startUpstream, type RecordingUpstream } from '../http/kit.ts';
import { createCa } from '../kit/certs.ts';

const EXAMPLES = join(import.meta.dirname, '../../examples/identity');
const ENV = {
  CORTEX_GATEWAY_JWT_SECRET: 'cortex-gateway-secret-from-the-environment',
  PROMFENCE_CI_TOKEN: 'ci-token-0123456789',
  PROMFENCE_GRAFANA_TOKEN: 'grafana-token-0123456789',
};

let dir: string;
let up: RecordingUpstream;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'promfence-examples-'));
  const ca = createCa(join(dir, 'pki'), 'Example CA');
  const server = ca.issue('promfence', { cn: 'promfence.monitoring.svc', sans: ['DNS:promfence.monitoring.svc'] });
  mkdirSync(join(dir, 'tls'));
  copyFileSync(server.certPath, join(dir, 'tls/promfence.pem'));
  copyFileSync(server.keyPath, join(dir, 'tls/promfence.key'));
  copyFileSync(ca.certPath, join(dir, 'tls/clients-ca.pem'));
  copyFileSync(ca.certPath, join(dir, 'cluster-b-ca.crt'));
  up = await startUpstream();
});
after(async () => {
  await up?.close();
  rmSync(dir, { recursive: true, force: true });
});

const read = (name: string) => readFileSync(join(EXAMPLES, name), 'utf8');
const load = (name: string, text = read(name)) => parseConfig(text, { baseDir: dir, env: ENV });

describe('examples/identity configurations validate', () => {
  const expected: Record<string, string[]> = {
    'cortex-gateway.yaml': ['jwt'],
    'oidc-keycloak.yaml': ['jwt'],
    'kubernetes-service-accounts.yaml': ['jwt'],
    'oauth2-proxy.yaml': ['bearer_tokens', 'trusted_header'],
    'mtls.yaml': ['mtls', 'bearer_tokens'],
  };
  for (const [name, kinds] of Object.entries(expected)) {
    it(name, () => {
      assert.deepEqual(load(name).auth.providers.map((p) => p.kind), kinds);
    });
  }

  it('the Kubernetes example maps a service account to its tenant and requires the audience', () => {
    const c = load('kubernetes-service-accounts.yaml');
    const jwt = c.auth.providers.find((p) => p.kind === 'jwt');
    assert.equal(jwt?.kind === 'jwt' && jwt.issuers[0]!.audience?.[0], 'promfence');
    assert.equal(jwt?.kind === 'jwt' && jwt.issuers[0]!.keys.kind, 'discovery');
    assert.deepEqual(c.access.subjects['system:serviceaccount:monitoring:fruit-reader'], ['team-fruit']);
  });
});

describe('examples/identity in use', () => {
  it('cortex-gateway.yaml: a cortex-gateway token reads its tenant through X-Scope-OrgID', async () => {
    const text = read('cortex-gateway.yaml')
      .replace('listen: "0.0.0.0:9095"', 'listen: "127.0.0.1:0"')
      .replace('url: "http://query-frontend.cortex.svc:8080/prometheus"', `url: "${up.url}/prometheus"\npromql: {syntax: prometheus3}`);
    const gw = await startServer(load('cortex-gateway.yaml', text), { logger: silentLogger() });
    try {
      up.requests.length = 0;
      const token = await new SignJWT({ tenant_id: 'team-fruit', version: 1, aud: 'cortex' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(ENV.CORTEX_GATEWAY_JWT_SECRET));
      const res = await fetch(`${gw.url}/api/v1/query?query=up`, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': 'team-veggie' } });
      assert.equal(res.status, 200, await res.text());
      assert.equal(up.requests.length, 1);
      assert.equal(up.requests[0]!.path, '/prometheus/api/v1/query');
      assert.equal(up.requests[0]!.headers['x-scope-orgid'], 'team-fruit', 'the token\'s tenant, never the client\'s header');
    } finally {
      await gw.close();
    }
  });

  it('the Grafana provisioning files authenticate the way Grafana sends them (POST, custom header / basic auth)', async () => {
    const hash = await bcrypt.hash('bob-password', 4);
    const gw = await startServer(parseConfig(`
server: {listen: "127.0.0.1:0"}
upstream: {url: "${up.url}"}
promql: {syntax: prometheus3}
auth:
  bearer_tokens: [{subject: grafana-fruit, token: fruit-token-0123}]
  basic_users: [{subject: bob, password_hash: "${hash}"}]
access: {subjects: {grafana-fruit: [team-fruit], bob: [team-veggie]}}
`, { baseDir: dir, env: {} }), { logger: silentLogger() });
    const grafanaEnv: Record<string, string> = { PROMFENCE_FRUIT_TOKEN: 'fruit-token-0123', PROMFENCE_BOB_PASSWORD: 'bob-password', PROMFENCE_CA_PEM: '' };
    const expand = (v: string) => v.replace(/\$\{(\w+)\}/g, (_m, n: string) => grafanaEnv[n] ?? '');
    try {
      for (const [file, tenant] of [['grafana-datasource-bearer.yaml', 'team-fruit'], ['grafana-datasource-basic.yaml', 'team-veggie']] as const) {
        const doc = YAML.parse(read(file)) as { apiVersion: number; datasources: Array<Record<string, unknown>> };
        assert.equal(doc.apiVersion, 1);
        const ds = doc.datasources[0]!;
        assert.equal(ds['type'], 'prometheus');
        assert.equal(ds['access'], 'proxy');
        const json = ds['jsonData'] as Record<string, unknown>;
        const secure = ds['secureJsonData'] as Record<string, string>;
        assert.equal(json['httpMethod'], 'POST');
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Grafana/11.3.0' };
        if (ds['basicAuth'] === true) {
          headers['authorization'] = `Basic ${Buffer.from(`${String(ds['basicAuthUser'])}:${expand(secure['basicAuthPassword']!)}`).toString('base64')}`;
        } else {
          assert.equal(json['httpHeaderName1'], 'Authorization');
          headers[String(json['httpHeaderName1'])] = expand(secure['httpHeaderValue1']!);
        }
        up.requests.length = 0;
        const res = await fetch(`${gw.url}/api/v1/query`, { method: 'POST', headers, body: 'query=up&time=4' });
        assert.equal(res.status, 200, `${file}: ${await res.text()}`);
        assert.equal(up.requests.length, 1);
        assert.equal(new URLSearchParams(up.requests[0]!.body).get('query'), `up{tenant="${tenant}"}`);
        assert.equal(up.requests[0]!.headers['authorization'], undefined, 'the client credential is not forwarded');
      }
    } finally {
      await gw.close();
    }
  });
});
