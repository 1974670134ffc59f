/**
 * Health and readiness: `/-/ready` is 503 `not_ready` (JSON envelope) while the upstream does
 * not answer its buildinfo probe and 200 once it does again, on both listeners, without
 * credentials; `/-/healthy` stays 200. The readiness rule itself is tested with a fake clock.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createReadiness } from '../../src/observability/readiness.ts';
import type { RunningGateway } from '../../src/runtime.ts';
import { waitFor } from '../http/kit.ts';
import { get, opsYaml, runFromYaml } from './kit.ts';

const BUILDINFO = '{"status":"success","data":{"version":"2.42.0"}}';

function startFakeUpstream(port = 0): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(BUILDINFO);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function stopServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

let upstream: http.Server;
let port: number;
let gw: RunningGateway;

before(async () => {
  upstream = await startFakeUpstream();
  port = (upstream.address() as AddressInfo).port;
  gw = await runFromYaml(opsYaml(`http://127.0.0.1:${port}`, { alice: { token: 'alice-real-token', tenants: ['team-fruit'] } }));
});
after(async () => {
  await gw.shutdown();
  await stopServer(upstream);
});

async function readyStatus(base: string): Promise<number> {
  return (await get(`${base}/-/ready`)).status;
}

async function eventually(fn: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not reached (hang guard)');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('readiness follows the upstream', () => {
  it('200 on both listeners while the upstream answers; 503 not_ready when it is down; 200 when it is back', async () => {
    const listeners = [gw.server.url, gw.internal!.url];
    await eventually(async () => (await readyStatus(listeners[0]!)) === 200);
    for (const base of listeners) {
      const r = await get(`${base}/-/ready`);
      assert.equal(r.status, 200);
      assert.equal(r.text, 'promfence is Ready.\n');
    }

    await stopServer(upstream);
    await eventually(async () => (await readyStatus(listeners[0]!)) === 503);
    for (const base of listeners) {
      const r = await get(`${base}/-/ready`);
      assert.equal(r.status, 503);
      assert.equal(r.body['status'], 'error');
      assert.equal(r.body['errorType'], 'unavailable');
      assert.equal(r.body['code'], 'not_ready');
      assert.match(String(r.body['error']), /buildinfo probe failed/);
      assert.equal((await get(`${base}/-/healthy`)).status, 200);
    }

    upstream = await startFakeUpstream(port);
    await eventually(async () => (await readyStatus(listeners[0]!)) === 200);
    assert.equal(await readyStatus(listeners[1]!), 200);
  });
});

describe('readiness rule (fake clock)', () => {
  it('503 before the first answer, 200 after a success, stale after 3 intervals, 503 on failure and when shutting down', async () => {
    let now = 1_000_000;
    let fail = false;
    let calls = 0;
    const r = createReadiness({
      intervalMs: 1000,
      now: () => now,
      probe: () => {
        calls++;
        return fail ? Promise.reject(new Error('connection refused')) : Promise.resolve();
      },
    });
    try {
      assert.equal(r.state().ready, false);
      await waitFor(() => calls >= 1);
      await r.probeNow();
      assert.deepEqual(r.state(), { ready: true });
      now += 3000;
      assert.deepEqual(r.state(), { ready: true });
      now += 1;
      assert.deepEqual(r.state(), { ready: false, reason: 'the upstream buildinfo probe has not answered recently' });
      await r.probeNow();
      assert.deepEqual(r.state(), { ready: true });
      fail = true;
      await r.probeNow();
      assert.deepEqual(r.state(), { ready: false, reason: 'the upstream buildinfo probe failed: connection refused' });
      fail = false;
      await r.probeNow();
      r.shuttingDown();
      assert.deepEqual(r.state(), { ready: false, reason: 'shutting down' });
    } finally {
      r.stop();
    }
  });
});
