/**
 * Identity end to end: a real Prometheus 2.42 over backfilled fruit/veggie/platform data,
 * promfence started from one YAML configuration on an HTTPS listener with optional client
 * certificates, and one caller per identity kind — each JWT key kind (cortex-gateway HS256,
 * a PEM public key, a JWK, a JWKS URL, OIDC discovery, a Kubernetes service-account token
 * over HTTPS discovery with ca_file), an mTLS client certificate, and an auth proxy's
 * trusted headers — each seeing exactly its tenants, on GET and POST.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createCa, type IssuedCert, type TestCa } from '../kit/certs.ts';
import { httpsRequest } from '../kit/https.ts';
import { startIssuer, type TestIssuer } from '../kit/oidc.ts';
import { requirePrometheus, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

const FRUIT = 'team-fruit';
const VEGGIE = 'team-veggie';
const CORTEX_SECRET = 'cortex-gateway-shared-secret-0123456789';

let dir: string;
let prom: RunningPrometheus;
let gw: RunningServer;
let serverCa: TestCa;
let aliceCert: IssuedCert;
const issuers: TestIssuer[] = [];
/** Caller name → how it authenticates (headers, client certificate) and what it must see ('' = untenanted). */
const callers: Record<string, { headers: Record<string, string>; cert?: IssuedCert; expected: string[] }> = {};

before(async () => {
  requirePrometheus();
  dir = mkdtempSync(join(tmpdir(), 'promfence-identity-'));
  serverCa = createCa(join(dir, 'server'), 'Server CA');
  const serverCert = serverCa.issue('gateway', { cn: 'localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'] });
  const clientCa = createCa(join(dir, 'clients'), 'Client CA');
  aliceCert = clientCa.issue('alice', { cn: 'alice', o: ['fruit-devs'] });
  const issuerCa = createCa(join(dir, 'issuer'), 'Cluster CA');
  const k8s = await startIssuer({ tls: issuerCa.issue('apiserver', { cn: 'localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'] }), host: 'localhost', flavour: 'kubernetes' });
  const keycloak = await startIssuer();
  const jwks = await startIssuer({ alg: 'ES256' });
  issuers.push(k8s, keycloak, jwks);
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ed = await generateKeyPair('EdDSA', { extractable: true });
  const edJwk = { ...(await exportJWK(ed.publicKey)), kid: 'ed-1' };
  prom = await startPrometheus();

  const yaml = `
server:
  listen: "127.0.0.1:0"
  tls:
    cert_file: ${JSON.stringify(serverCert.certPath)}
    key_file: ${JSON.stringify(serverCert.keyPath)}
    client_ca_file: ${JSON.stringify(clientCa.certPath)}
    client_auth: optional
upstream: {url: "${prom.url}", timeout: 30s}
promql: {syntax: auto}
auth:
  jwt:
    - name: cortex-gateway
      hmac_secret: "${CORTEX_SECRET}"
      subject_claim: tenant_id
      tenants_claim: tenant_id
      require_exp: false
    - issuer: "https://pem.example"
      public_keys: [${JSON.stringify(await exportSPKI(rsa.publicKey))}]
    - issuer: "https://jwk.example"
      public_keys: [${JSON.stringify(edJwk)}]
      tenants_claim: tenants
    - issuer: "${jwks.url}"
      audience: promfence
      jwks_url: "${jwks.jwksUrl}"
      groups_claim: groups
    - issuer: "${keycloak.url}"
      audience: promfence
      discovery: true
      groups_claim: realm_access.roles
    - issuer: "${k8s.url}"
      audience: promfence
      discovery: true
      ca_file: ${JSON.stringify(issuerCa.certPath)}
  trusted_header:
    user_header: X-Forwarded-User
    groups_header: X-Forwarded-Groups
    trusted_cidrs: ["127.0.0.1/32"]
access:
  subjects:
    bob: [${VEGGIE}]
    "system:serviceaccount:monitoring:fruit-reader": [${FRUIT}]
    "ops@example.com": ["*"]
  groups:
    fruit-devs: [${FRUIT}]
    veggie-devs: [${VEGGIE}]
`;
  gw = await startServer(parseConfig(yaml, { baseDir: dir, env: {} }), { logger: silentLogger() });

  const now = Math.floor(Date.now() / 1000);
  const std = (c: JWTPayload): JWTPayload => ({ aud: 'promfence', iat: now, exp: now + 3600, ...c });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  callers['cortex-gateway HS256 token'] = { headers: bearer(await new SignJWT({ tenant_id: VEGGIE, version: 1 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(CORTEX_SECRET))), expected: [VEGGIE] };
  callers['PEM public key (RS256)'] = { headers: bearer(await new SignJWT(std({ iss: 'https://pem.example', sub: 'bob' })).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey)), expected: [VEGGIE] };
  callers['JWK (EdDSA), tenants claim'] = { headers: bearer(await new SignJWT(std({ iss: 'https://jwk.example', sub: 'svc', tenants: [FRUIT, VEGGIE] })).setProtectedHeader({ alg: 'EdDSA', kid: 'ed-1' }).sign(ed.privateKey)), expected: [FRUIT, VEGGIE] };
  callers['JWKS URL (ES256), groups claim'] = { headers: bearer(await jwks.sign(std({ sub: 'grafana-sa', groups: ['veggie-devs'] }))), expected: [VEGGIE] };
  callers['OIDC discovery, nested roles'] = { headers: bearer(await keycloak.sign(std({ sub: 'f2c1-uuid', realm_access: { roles: ['fruit-devs', 'offline_access'] } }))), expected: [FRUIT] };
  callers['Kubernetes service account of another cluster'] = {
    headers: bearer(await k8s.sign(std({ sub: 'system:serviceaccount:monitoring:fruit-reader', aud: ['promfence'], 'kubernetes.io': { namespace: 'monitoring', serviceaccount: { name: 'fruit-reader', uid: 'u-1' } } }))),
    expected: [FRUIT],
  };
  callers['mTLS client certificate (O=fruit-devs)'] = { headers: {}, cert: aliceCert, expected: [FRUIT] };
  callers['oauth2-proxy headers (unrestricted user)'] = { headers: { 'x-forwarded-user': 'ops@example.com', 'x-forwarded-groups': 'sre' }, expected: ['', FRUIT, VEGGIE] };
});

after(async () => {
  await gw?.close();
  await prom?.stop();
  for (const i of issuers) await i.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function visibleTenants(name: string, method: 'GET' | 'POST'): Promise<string[]> {
  const c = callers[name]!;
  const form = new URLSearchParams({ query: 'count by (tenant) (up)', time: String(prom.dataEnd) }).toString();
  const a = await httpsRequest(`${gw.url}/api/v1/query${method === 'GET' ? `?${form}` : ''}`, {
    ca: serverCa.cert,
    method,
    headers: { ...c.headers, ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(c.cert !== undefined ? { cert: c.cert.cert, key: c.cert.key } : {}),
    ...(method === 'POST' ? { body: form } : {}),
  });
  assert.equal(a.status, 200, `${name}: ${a.text}`);
  const body = JSON.parse(a.text) as { data: { result: Array<{ metric: Record<string, string> }> } };
  return [...new Set(body.data.result.map((r) => r.metric['tenant'] ?? ''))].sort();
}

describe('each identity kind reads exactly its tenants on a real Prometheus', () => {
  it('callers are set up', () => assert.equal(Object.keys(callers).length, 8));
  for (const name of [
    'cortex-gateway HS256 token', 'PEM public key (RS256)', 'JWK (EdDSA), tenants claim', 'JWKS URL (ES256), groups claim',
    'OIDC discovery, nested roles', 'Kubernetes service account of another cluster', 'mTLS client certificate (O=fruit-devs)', 'oauth2-proxy headers (unrestricted user)',
  ]) {
    for (const method of ['GET', 'POST'] as const) {
      it(`${name} (${method})`, async () => {
        assert.deepEqual(await visibleTenants(name, method), callers[name]!.expected);
      });
    }
  }
});
