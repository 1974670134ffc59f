/**
 * Server TLS (`server.tls`): an HTTPS listener with TLS ≥ 1.2 (or 1.3), and the certificate
 * swapped without a restart when its files change. Certificates are generated in the test
 * with openssl (test/kit/certs.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { captureLogger, fakeAuth, fakeEnforcer, startUpstream, waitFor, type RecordingUpstream } from './kit.ts';
import { createCa, type IssuedCert, type TestCa } from '../kit/certs.ts';
import { httpsRequest } from '../kit/https.ts';

let dir: string;
let ca: TestCa;
let first: IssuedCert;
let second: IssuedCert;
let up: RecordingUpstream;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'promfence-tls-'));
  ca = createCa(join(dir, 'ca'), 'Server CA');
  first = ca.issue('first', { cn: 'first.localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'] });
  second = ca.issue('second', { cn: 'second.localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'] });
  up = await startUpstream();
});

after(async () => {
  await up?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A gateway whose TLS files are `<name>.pem`/`<name>.key` in the test dir (copies of `cert`). */
async function gateway(name: string, cert: IssuedCert, tls = '') {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  copyFileSync(cert.certPath, certFile);
  copyFileSync(cert.keyPath, keyFile);
  const cap = captureLogger('debug');
  const config = parseConfig(`
server:
  listen: "127.0.0.1:0"
  tls: {cert_file: ${name}.pem, key_file: ${name}.key, reload_interval: 50ms${tls}}
upstream: {url: "${up.url}"}
promql: {syntax: prometheus3}
auth: {bearer_tokens: [{subject: alice, token: unused-here}]}
access: {subjects: {alice: [team-fruit]}}
`, { baseDir: dir, env: {} });
  const gw = await startServer(config, { logger: cap.logger, authenticate: fakeAuth, enforcer: fakeEnforcer() });
  return { gw, certFile, keyFile, lines: cap.lines };
}

const query = (gw: RunningServer, extra: Parameters<typeof httpsRequest>[1] extends infer O ? Partial<O> : never = {}) =>
  httpsRequest(`${gw.url}/api/v1/query?query=up`, { ca: ca.cert, headers: { authorization: 'Bearer alice-token' }, ...extra });

describe('server.tls', () => {
  it('serves HTTPS: https:// URL, the configured certificate, the gateway behind it', async () => {
    const { gw } = await gateway('serve', first);
    try {
      assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const a = await query(gw);
      assert.equal(a.status, 200);
      assert.equal(a.serverCert.subject.CN, 'first.localhost');
      const health = await query(gw, { headers: {} });
      assert.equal(health.status, 401, 'authentication still applies');
    } finally {
      await gw.close();
    }
  });

  it('refuses TLS below 1.2 by default, and below 1.3 with min_version: "1.3"', async () => {
    const { gw } = await gateway('v12', first);
    const strict = await gateway('v13', first, ', min_version: "1.3"');
    try {
      await assert.rejects(query(gw, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
      assert.equal((await query(gw, { maxVersion: 'TLSv1.2' })).status, 200);
      await assert.rejects(query(strict.gw, { maxVersion: 'TLSv1.2' }));
      assert.equal((await query(strict.gw, { minVersion: 'TLSv1.3' })).status, 200);
    } finally {
      await gw.close();
      await strict.gw.close();
    }
  });

  it('a new certificate is served without a restart; an open connection keeps working', async () => {
    const { gw, certFile, keyFile, lines } = await gateway('swap', first);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await query(gw, { agent });
      assert.equal(before.serverCert.subject.CN, 'first.localhost');
      copyFileSync(second.certPath, certFile);
      copyFileSync(second.keyPath, keyFile);
      await waitFor(() => lines.some((l) => l['msg'] === 'tls certificate reloaded'), 10_000);
      const fresh = await query(gw);
      assert.equal(fresh.serverCert.subject.CN, 'second.localhost');
      const reused = await query(gw, { agent });
      assert.equal(reused.status, 200, 'the keep-alive connection opened before the swap still serves');
      assert.equal(reused.serverCert.subject.CN, 'first.localhost');
    } finally {
      agent.destroy();
      await gw.close();
    }
  });

  it('a certificate written before its key is not installed; the old one serves until the pair matches', async () => {
    const { gw, certFile, keyFile, lines } = await gateway('halfway', first);
    try {
      copyFileSync(second.certPath, certFile); // key not yet replaced: mismatched pair
      await waitFor(() => lines.some((l) => l['msg'] === 'tls files changed but cannot be loaded; the previous certificate stays in use'), 10_000);
      assert.equal((await query(gw)).serverCert.subject.CN, 'first.localhost');
      copyFileSync(second.keyPath, keyFile);
      await waitFor(() => lines.some((l) => l['msg'] === 'tls certificate reloaded'), 10_000);
      assert.equal((await query(gw)).serverCert.subject.CN, 'second.localhost');
    } finally {
      await gw.close();
    }
  });
});
