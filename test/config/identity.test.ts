/**
 * The identity keys of the configuration (`auth.jwt`, `auth.mtls`, `auth.trusted_header`,
 * `auth.order`, `server.tls`): defaults, every refusal with its key path and advice,
 * check-config's summary and warnings, and `check-config --probe` against real issuers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { checkConfigCommand } from '../../src/commands/check-config.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { configWarnings, summarizeConfig } from '../../src/config/summary.ts';
import { providerConfig, type Config } from '../../src/config/types.ts';
import { main } from '../../src/cli.ts';
import { createCa, type IssuedCert, type TestCa } from '../kit/certs.ts';
import { startIssuer, type TestIssuer } from '../kit/oidc.ts';
import { memoryIO } from './helpers.ts';

let dir = '';
let ca: TestCa;
let server: IssuedCert;
let other: IssuedCert;
let rsaPem = '';
let rsaPrivatePem = '';
let ecJwk: Record<string, unknown> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'promfence-identity-config-'));
  ca = createCa(join(dir, 'ca'), 'Test CA');
  server = ca.issue('server', { cn: 'localhost', sans: ['DNS:localhost'] });
  other = ca.issue('other', { cn: 'other' });
  const rsa = await generateKeyPair('RS256', { extractable: true });
  rsaPem = await exportSPKI(rsa.publicKey);
  rsaPrivatePem = await exportPKCS8(rsa.privateKey);
  ecJwk = { ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey)), kid: 'ec-1' };
  writeFileSync(join(dir, 'keys.pem'), rsaPem);
  writeFileSync(join(dir, 'keys.json'), JSON.stringify({ keys: [ecJwk] }));
  writeFileSync(join(dir, 'not-a-ca.pem'), 'hello');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const UP = 'upstream: {url: "http://127.0.0.1:9090"}\n';
const parse = (text: string): Config => parseConfig(text, { baseDir: dir, env: { SECRET: 'a-secret-from-the-environment-0123456789' } });

function issuesOf(text: string): readonly string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

/** One issuer entry (flow YAML) under auth.jwt. */
const jwt = (entry: string, extra = '') => `${UP}auth:\n  jwt:\n    - ${entry}\n${extra}`;

describe('auth.jwt: defaults and key sources', () => {
  it('an HMAC issuer (cortex-gateway style) with every default', () => {
    const c = parse(jwt('{hmac_secret: "${env:SECRET}", subject_claim: tenant_id, tenants_claim: tenant_id, require_exp: false}'));
    const p = providerConfig(c.auth, 'jwt');
    assert.equal(p?.cache_size, 10000);
    assert.equal(p?.cache_max_bytes, 16 * 1024 * 1024);
    const i = p!.issuers[0]!;
    assert.deepEqual({ ...i, keys: i.keys.kind }, {
      name: 'auth.jwt[0]', issuer: undefined, audience: undefined, keys: 'hmac', algorithms: ['HS256', 'HS384', 'HS512'],
      subject_claim: 'tenant_id', groups_claim: undefined, tenants_claim: 'tenant_id', subject_prefix: '', groups_prefix: '',
      clock_tolerance_ms: 30000, require_exp: false, allow_unrestricted_claim: false, fetch_timeout_ms: 5000, refresh_interval_ms: 600000,
      ca: undefined, ca_file: undefined,
    });
    assert.deepEqual(i.keys, { kind: 'hmac', secret: 'a-secret-from-the-environment-0123456789' });
  });

  it('public keys: PEM, JWK, a PEM file, a JWK Set file; discovery URL; audience list', () => {
    const c = parse(`${UP}auth:
  jwt:
    - {issuer: "https://a.example", public_keys: [${JSON.stringify(rsaPem)}, ${JSON.stringify(ecJwk)}]}
    - {issuer: "https://b.example", public_keys_file: keys.pem}
    - {issuer: "https://c.example", public_keys_file: keys.json, algorithms: [ES256]}
    - {issuer: "https://d.example/realms/x/", audience: [promfence, grafana], discovery: true, ca_file: ${JSON.stringify(ca.certPath)}}
`);
    const [a, b, cc, d] = providerConfig(c.auth, 'jwt')!.issuers;
    assert.equal(a!.keys.kind === 'public_keys' && a!.keys.keys.map((k) => k.kty).join(), 'RSA,EC');
    assert.equal(b!.keys.kind === 'public_keys' && b!.keys.keys.length, 1);
    assert.equal(cc!.keys.kind === 'public_keys' && cc!.keys.keys[0]!.kid, 'ec-1');
    assert.deepEqual(d!.keys, { kind: 'discovery', url: 'https://d.example/realms/x/.well-known/openid-configuration' });
    assert.deepEqual(d!.audience, ['promfence', 'grafana']);
    assert.equal(d!.ca_file, ca.certPath);
    assert.match(d!.ca ?? '', /BEGIN CERTIFICATE/);
    assert.equal(d!.name, 'https://d.example/realms/x/');
  });

  it('auth.order: default, explicit, and providers sorted by it', () => {
    const base = `${UP}server: {tls: {cert_file: ${JSON.stringify(server.certPath)}, key_file: ${JSON.stringify(server.keyPath)}, client_ca_file: ${JSON.stringify(ca.certPath)}, client_auth: optional}}
auth:
  bearer_tokens: [{subject: a, token: t}]
  basic_users: [{subject: b, password_hash: "$2b$04$CCCCCCCCCCCCCCCCCCCCC.tc0DlVVKb6PbexJ3mr/5eeGyOp09Uc2"}]
  jwt: [{hmac_secret: s}]
  trusted_header: {trusted_cidrs: [10.0.0.1]}
`;
    assert.deepEqual(parse(base).auth.providers.map((p) => p.kind), ['mtls', 'bearer_tokens', 'jwt', 'basic', 'trusted_header']);
    assert.deepEqual(parse(base + '  order: [trusted_header, jwt, basic, bearer_tokens, mtls]\n').auth.providers.map((p) => p.kind), ['trusted_header', 'jwt', 'basic', 'bearer_tokens', 'mtls']);
    const th = providerConfig(parse(base).auth, 'trusted_header');
    assert.deepEqual(th, { kind: 'trusted_header', user_header: 'X-Forwarded-User', groups_header: undefined, trusted_cidrs: ['10.0.0.1/32'] });
    assert.deepEqual(providerConfig(parse(base).auth, 'mtls'), { kind: 'mtls', subject_from: 'cn', groups_from: ['O', 'OU'] });
  });

  it('server.tls defaults', () => {
    const c = parse(`${UP}server: {tls: {cert_file: ${JSON.stringify(server.certPath)}, key_file: ${JSON.stringify(server.keyPath)}}}\nauth: {bearer_tokens: [{subject: a, token: t}]}\n`);
    assert.deepEqual(c.server.tls, { cert_file: server.certPath, key_file: server.keyPath, client_ca_file: undefined, client_auth: 'none', min_version: 'TLSv1.2', reload_interval_ms: 10000 });
  });
});

describe('identity configuration errors name the key and what to do', () => {
  const cert = (extra: string) => `${UP}server: {tls: {cert_file: ${JSON.stringify(server.certPath)}, key_file: ${JSON.stringify(server.keyPath)}${extra}}}\nauth: {bearer_tokens: [{subject: a, token: t}]}\n`;
  const cases: Array<[string, () => string, RegExp[]]> = [
    ['no key source', () => jwt('{issuer: "https://x"}'), [/^config: auth\.jwt\[0\]: needs one of hmac_secret, public_keys, jwks_url, discovery$/]],
    ['two key sources', () => jwt('{issuer: "https://x", hmac_secret: s, jwks_url: "https://x/k"}'), [/^config: auth\.jwt\[0\]: has hmac_secret and jwks_url; keep exactly one/]],
    ['public keys without issuer', () => jwt(`{public_keys: [${JSON.stringify(rsaPem)}]}`), [/^config: auth\.jwt\[0\]: needs issuer \(the exact "iss" of its tokens\)/]],
    ['discovery without audience', () => jwt('{issuer: "https://x", discovery: true}'), [/^config: auth\.jwt\[0\]: needs audience: an identity provider issues tokens for many clients/]],
    ['discovery with a non-URL issuer', () => jwt('{issuer: "x", audience: a, discovery: true}'), [/^config: auth\.jwt\[0\]\.issuer: must be an http\(s\) URL .*\(discovery reads <issuer>\/\.well-known\/openid-configuration\)$/]],
    ['HS256 on a public-key issuer', () => jwt(`{issuer: "https://x", public_keys: [${JSON.stringify(rsaPem)}], algorithms: [RS256, HS256]}`), [/^config: auth\.jwt\[0\]\.algorithms\[1\]: "HS256" does not fit this issuer's keys \(a public-key issuer never accepts HMAC algorithms: that is the key-confusion attack\)$/]],
    ['RS256 on an HMAC issuer', () => jwt('{hmac_secret: s, algorithms: [RS256]}'), [/^config: auth\.jwt\[0\]\.algorithms\[0\]: "RS256" does not fit this issuer's keys \(an hmac_secret issuer verifies only HS256, HS384, HS512\)$/]],
    ['alg none', () => jwt('{hmac_secret: s, algorithms: [none]}'), [/^config: auth\.jwt\[0\]\.algorithms\[0\]: "none" \(unsigned tokens\) is never accepted$/]],
    ['a private key as public key', () => jwt(`{issuer: "https://x", public_keys: [${JSON.stringify(rsaPrivatePem)}]}`), [/^config: auth\.jwt\[0\]\.public_keys\[0\]: is a private key; configure its public key instead \(openssl pkey -in key\.pem -pubout\)$/]],
    ['a private JWK', () => jwt('{issuer: "https://x", public_keys: [{kty: EC, crv: P-256, x: a, y: b, d: c}]}'), [/^config: auth\.jwt\[0\]\.public_keys\[0\]: holds private key members \(d\); configure only the public key$/]],
    ['an oct JWK', () => jwt('{issuer: "https://x", public_keys: [{kty: oct, k: abc}]}'), [/^config: auth\.jwt\[0\]\.public_keys\[0\]: is a symmetric \(oct\) key; configure a shared secret as hmac_secret$/]],
    ['garbage key', () => jwt('{issuer: "https://x", public_keys: ["hello"]}'), [/^config: auth\.jwt\[0\]\.public_keys\[0\]: must be a PEM public key/]],
    ['ca_file with HMAC', () => jwt(`{hmac_secret: s, ca_file: ${JSON.stringify(ca.certPath)}}`), [/^config: auth\.jwt\[0\]\.ca_file: is only used to fetch keys over HTTPS/]],
    ['ca_file not a CA', () => jwt('{issuer: "https://x", audience: a, discovery: true, ca_file: not-a-ca.pem}'), [/^config: auth\.jwt\[0\]\.ca_file: holds no PEM certificate/]],
    ['ca_file missing', () => jwt('{issuer: "https://x", audience: a, discovery: true, ca_file: nope.pem}'), [/^config: auth\.jwt\[0\]\.ca_file: cannot read ".*nope\.pem": no such file \(ENOENT\)$/]],
    ['duplicate issuer', () => `${UP}auth:\n  jwt:\n    - {issuer: "https://x", hmac_secret: s}\n    - {issuer: "https://x", hmac_secret: t}\n`, [/^config: auth\.jwt\[1\]\.issuer: "https:\/\/x" is already configured by auth\.jwt\[0\]/]],
    ['jwks_url with credentials', () => jwt('{issuer: "https://x", audience: a, jwks_url: "https://u:p@x/k"}'), [/^config: auth\.jwt\[0\]\.jwks_url: must not contain credentials$/]],
    ['unknown key with a hint', () => jwt('{hmac_secret: s, tenant_claim: t}'), [/^config: auth\.jwt\[0\]: unknown key "tenant_claim" \(did you mean "tenants_claim"\?\)/]],
    ['empty claim name', () => jwt('{hmac_secret: s, groups_claim: ""}'), [/^config: auth\.jwt\[0\]\.groups_claim is empty/]],
    ['trusted_cidrs missing', () => `${UP}auth: {trusted_header: {user_header: X-Forwarded-User}}\n`, [/^config: auth\.trusted_header\.trusted_cidrs is required$/]],
    ['trusted_cidrs /0', () => `${UP}auth: {trusted_header: {trusted_cidrs: ["0.0.0.0/0"]}}\n`, [/^config: auth\.trusted_header\.trusted_cidrs\[0\]: "0\.0\.0\.0\/0" trusts every address, so anyone could claim any identity/]],
    ['bad CIDR', () => `${UP}auth: {trusted_header: {trusted_cidrs: ["10.0.0.0/33"]}}\n`, [/^config: auth\.trusted_header\.trusted_cidrs\[0\]: "10\.0\.0\.0\/33" is not an IP address or CIDR/]],
    ['tenancy header as user header', () => `${UP}auth: {trusted_header: {user_header: X-Scope-OrgID, trusted_cidrs: [10.0.0.1]}}\n`, [/^config: auth\.trusted_header\.user_header: "X-Scope-OrgID" is a tenancy or forwarding header/]],
    ['Authorization as user header', () => `${UP}auth: {trusted_header: {user_header: Authorization, trusted_cidrs: [10.0.0.1]}}\n`, [/^config: auth\.trusted_header\.user_header: "Authorization" cannot be used/]],
    ['order missing a configured method', () => `${UP}auth: {bearer_tokens: [{subject: a, token: t}], jwt: [{hmac_secret: s}], order: [bearer_tokens]}\n`, [/^config: auth\.order: "jwt" is configured \(auth\.jwt\) but not listed; add it, or remove its configuration$/]],
    ['order twice', () => `${UP}auth: {bearer_tokens: [{subject: a, token: t}], order: [bearer_tokens, bearer_tokens]}\n`, [/^config: auth\.order\[1\]: "bearer_tokens" is listed twice$/]],
    ['order unknown', () => `${UP}auth: {bearer_tokens: [{subject: a, token: t}], order: [oidc]}\n`, [/^config: auth\.order\[0\]: must be one of "mtls", "bearer_tokens", "jwt", "basic", "trusted_header"$/]],
    ['auth.mtls without client certificates', () => `${UP}auth: {bearer_tokens: [{subject: a, token: t}], mtls: {subject_from: cn}}\n`, [/^config: auth\.mtls: client certificates are not requested; set server\.tls\.client_ca_file and server\.tls\.client_auth/]],
    ['client_auth without CA', () => cert(', client_auth: require'), [/^config: server\.tls\.client_auth: require needs client_ca_file/]],
    ['CA without client_auth', () => cert(`, client_ca_file: ${JSON.stringify(ca.certPath)}`), [/^config: server\.tls\.client_ca_file: is set but client_auth is "none"/]],
    ['certificate and key that do not match', () => `${UP}server: {tls: {cert_file: ${JSON.stringify(server.certPath)}, key_file: ${JSON.stringify(other.keyPath)}}}\nauth: {bearer_tokens: [{subject: a, token: t}]}\n`, [/^config: server\.tls\.key_file: the certificate and key cannot be used together/]],
    ['TLS 1.1', () => cert(', min_version: "1.1"'), [/^config: server\.tls\.min_version: must be one of "1\.2", "1\.3"$/]],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const issues = issuesOf(text());
      assert.equal(issues.length, expected.length, issues.join('\n'));
      expected.forEach((re, i) => assert.match(issues[i]!, re));
      for (const line of issues) assert.ok(!line.includes('a-secret-from'), 'no secret in messages');
    });
  }

  it('min_version may be written as a YAML number', () => {
    const c = parse(cert(', min_version: 1.3'));
    assert.equal(c.server.tls?.min_version, 'TLSv1.3');
  });
});

describe('check-config with identity', () => {
  it('summarises issuers, mTLS, trusted headers and TLS; warns about weak setups; no secret printed', async () => {
    const file = join(dir, 'identity.yaml');
    writeFileSync(file, `${UP}server:
  tls: {cert_file: ${JSON.stringify(server.certPath)}, key_file: ${JSON.stringify(server.keyPath)}, client_ca_file: ${JSON.stringify(ca.certPath)}, client_auth: optional}
auth:
  jwt:
    - {name: cortex, hmac_secret: short-secret, subject_claim: tenant_id, tenants_claim: tenant_id, require_exp: false}
    - {issuer: "http://idp.example", audience: promfence, jwks_url: "http://idp.example/keys", groups_claim: groups}
  trusted_header: {groups_header: X-Forwarded-Groups, trusted_cidrs: [10.0.3.7]}
access:
  subjects: {"system:serviceaccount:monitoring:fruit-reader": [team-fruit]}
`);
    const io = memoryIO();
    assert.equal(await checkConfigCommand({ config: file }, io, {}), 0, io.err());
    const out = io.out();
    assert.match(out, /^tls: HTTPS \(certificate .*server\.pem, CN=localhost, valid until .*; min TLSv1\.2; files checked every 10s\); client certificates: optional \(CA .*\)$/m);
    assert.match(out, /^jwt "cortex": iss any \(HMAC\); aud not checked; keys: HMAC secret \(12 bytes\); alg HS256,HS384,HS512; claims: subject "tenant_id", tenants "tenant_id"; exp optional, tolerance 30s$/m);
    assert.match(out, /^jwt "http:\/\/idp\.example": iss "http:\/\/idp\.example"; aud "promfence"; keys: JWKS http:\/\/idp\.example\/keys; alg RS256,.*; claims: subject "sub", groups "groups"; exp required/m);
    assert.match(out, /^mtls: subject from the CN, groups from O, OU$/m);
    assert.match(out, /^trusted_header: user X-Forwarded-User, groups X-Forwarded-Groups accepted only from 10\.0\.3\.7\/32$/m);
    assert.match(out, /^subjects of JWTs, client certificates and proxy headers are resolved per request/m);
    assert.match(out, /auth\.jwt\[0\]\.hmac_secret: shorter than 32 bytes/);
    assert.match(out, /auth\.jwt\[1\]: keys are fetched over plain HTTP/);
    assert.match(out, /auth\.jwt\[0\]: accepts tokens that never expire with no issuer or audience check/);
    assert.ok(!out.includes('short-secret'));
    assert.ok(!/no auth entry defines subject/.test(out), 'JWT subjects are not known in advance: no "unused grant" warning');
    assert.match(out, /^config OK$/m);
  });

  it('warns about a server certificate that expired', () => {
    const old = ca.issue('old-server', { cn: 'localhost', notBefore: '20200101000000Z', notAfter: '20200102000000Z' });
    const c = parse(`${UP}server: {tls: {cert_file: ${JSON.stringify(old.certPath)}, key_file: ${JSON.stringify(old.keyPath)}}}\nauth: {bearer_tokens: [{subject: a, token: t}]}\naccess: {subjects: {a: [x]}}\n`);
    assert.deepEqual(configWarnings(c), ['server.tls.cert_file: the certificate expired on 2020-01-02T00:00:00.000Z; clients will refuse it']);
    assert.ok(summarizeConfig(c).some((l) => l.includes('the certificate expired')));
  });
});

describe('check-config --probe', () => {
  let good: TestIssuer;
  let tlsIssuer: TestIssuer;
  let downIssuer: TestIssuer;
  before(async () => {
    good = await startIssuer();
    tlsIssuer = await startIssuer({ tls: ca.issue('issuer-https', { cn: 'localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'] }), host: 'localhost', flavour: 'kubernetes' });
    downIssuer = await startIssuer();
    downIssuer.mode = 'down';
  });
  after(async () => {
    await good.close();
    await tlsIssuer.close();
    await downIssuer.close();
  });

  it('reports each issuer: OK with its key count and URL, static keys, failures; exit 1 when one fails', async () => {
    const file = join(dir, 'probe.yaml');
    writeFileSync(file, `${UP}auth:
  jwt:
    - {name: idp, issuer: "${good.url}", audience: promfence, discovery: true}
    - {name: k8s, issuer: "${tlsIssuer.url}", audience: promfence, discovery: true, ca_file: ${JSON.stringify(ca.certPath)}}
    - {name: static, hmac_secret: "0123456789abcdef0123456789abcdef"}
    - {name: down, issuer: "${downIssuer.url}", audience: promfence, jwks_url: "${downIssuer.jwksUrl}", fetch_timeout: 2s}
`);
    const io = memoryIO();
    assert.equal(await main(['node', 'promfence', 'check-config', '--config', file, '--probe'], io), 1);
    assert.match(io.out(), /^config OK$/m);
    assert.match(io.out(), new RegExp(`^probe: jwt "idp": OK, 1 key from ${good.url.replace(/[.]/g, '\\.')}/protocol/openid-connect/certs \\(discovery ${good.url.replace(/[.]/g, '\\.')}/\\.well-known/openid-configuration\\)$`, 'm'));
    assert.match(io.out(), /^probe: jwt "k8s": OK, 1 key from https:\/\/localhost:\d+\/openid\/v1\/jwks/m);
    assert.match(io.out(), /^probe: jwt "static": HMAC secret, nothing to fetch$/m);
    assert.match(io.err(), /^probe: jwt "down": FAILED: the keys of issuer "down" cannot be fetched \(GET http:\/\/127\.0\.0\.1:\d+\/protocol\/openid-connect\/certs: answered 500\)$/m);
    assert.match(io.err(), /1 issuer unreachable/);
  });

  it('exit 0 when every issuer answers; without --probe nothing is fetched', async () => {
    const file = join(dir, 'probe-ok.yaml');
    writeFileSync(file, `${UP}auth:\n  jwt:\n    - {name: idp, issuer: "${good.url}", audience: promfence, discovery: true}\n`);
    const before = good.fetches.length;
    const plain = memoryIO();
    assert.equal(await main(['node', 'promfence', 'check-config', '--config', file], plain), 0);
    assert.equal(good.fetches.length, before);
    const io = memoryIO();
    assert.equal(await main(['node', 'promfence', 'check-config', '--config', file, '--probe'], io), 0, io.err());
    assert.equal(good.fetches.length, before + 2);
  });
});
