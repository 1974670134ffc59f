/**
 * Graceful shutdown of a `promfence serve` process: on SIGTERM readiness turns 503 first (the
 * internal listener keeps answering during the drain), the public listener stops accepting,
 * a slow in-flight request completes, then the process exits 0. A drain longer than
 * `server.shutdown_timeout` is cut and the process still exits 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor, type RecordingUpstream } from '../http/kit.ts';
import { spawnPromfence } from '../kit/promfence-process.ts';
import { configDir, get, opsYaml, startHoldingUpstream, type HoldingUpstream } from './kit.ts';

const TOKEN = 'alice-real-token';
let holding: HoldingUpstream;
let up: RecordingUpstream;

before(async () => {
  holding = await startHoldingUpstream();
  up = holding.upstream;
});
after(async () => {
  holding.release();
  await up.close();
});

const slowRequests = () => up.requests.filter((r) => r.query.includes('slow')).length;

describe('SIGTERM', () => {
  it('readiness 503 first, no new connections, the slow in-flight request completes, exit 0', async () => {
    const cfg = configDir(opsYaml(up.url, { alice: { token: TOKEN, tenants: ['team-fruit'] } }, { serverExtra: 'shutdown_timeout: 60s' }));
    const p = await spawnPromfence(cfg.path, { expectInternal: true });
    try {
      await waitFor(() => p.lines.some((l) => l['msg'] === 'ready'), 20_000);
      const before = slowRequests();
      const inflight = get(`${p.url}/api/v1/query?query=slow`, TOKEN);
      await waitFor(() => slowRequests() === before + 1, 20_000);

      p.signal('SIGTERM');
      await p.waitForLine((l) => l['msg'] === 'shutting down');
      const ready = await get(`${p.internalUrl}/-/ready`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body['code'], 'not_ready');
      assert.match(String(ready.body['error']), /shutting down/);
      await assert.rejects(fetch(`${p.url}/-/healthy`), 'the public listener no longer accepts');

      holding.release();
      const res = await inflight;
      assert.equal(res.status, 200);
      assert.match(res.text, /"success"/);
      assert.equal(await p.exited, 0);
      assert.ok(p.lines.some((l) => l['msg'] === 'stopped'));
    } finally {
      await p.stop();
      cfg.remove();
    }
  });

  it('a request still running after server.shutdown_timeout is cut; the process exits 0', async () => {
    const cfg = configDir(opsYaml(up.url, { alice: { token: TOKEN, tenants: ['team-fruit'] } }, { serverExtra: 'shutdown_timeout: 500ms' }));
    const p = await spawnPromfence(cfg.path, { expectInternal: true });
    try {
      const before = slowRequests();
      const inflight = fetch(`${p.url}/api/v1/query?query=slow`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.text()).then(() => 'completed', () => 'cut');
      await waitFor(() => slowRequests() === before + 1, 20_000);
      p.signal('SIGTERM');
      assert.equal(await p.exited, 0);
      assert.equal(await inflight, 'cut');
    } finally {
      holding.release();
      await p.stop();
      cfg.remove();
    }
  });
});
