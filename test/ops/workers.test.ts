/**
 * `server.workers` (issue #10): a real multi-worker `promfence serve` (node:cluster) in front
 * of a recording upstream. Requests are served by every worker, `/metrics` on the primary's
 * internal listener aggregates every worker's counters, SIGHUP reloads every worker, and
 * SIGTERM drains every worker (a slow in-flight request completes) and exits 0.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.ts';
import { workerCount } from '../../src/cluster.ts';
import { waitFor, type RecordingUpstream } from '../http/kit.ts';
import { spawnPromfence } from '../kit/promfence-process.ts';
import { configDir, get, opsYaml, scrape, valueOf, startHoldingUpstream, type HoldingUpstream } from './kit.ts';

const ALICE = 'alice-worker-token';
const BOB = 'bob-worker-token';
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

/** A GET on a new connection (the cluster hands connections to the workers in turn). */
function getOnNewConnection(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers: { Authorization: `Bearer ${token}`, Connection: 'close' } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    }).once('error', reject);
  });
}

/** A form POST on a new connection (a long query: the upstream's head stays small). */
function postOnNewConnection(url: string, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { Authorization: `Bearer ${token}`, Connection: 'close', 'Content-Type': 'application/x-www-form-urlencoded' } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}

describe('server.workers', () => {
  it('workerCount: auto is one per core, a number is kept, absent is 1', () => {
    assert.equal(workerCount('auto', 6), 6);
    assert.equal(workerCount(3, 6), 3);
    assert.equal(workerCount(undefined, 6), 1);
  });

  it('the schema takes a positive number or "auto" and refuses anything else', () => {
    const yaml = (w: string) => `server: {workers: ${w}}\nupstream: {url: "http://127.0.0.1:9090"}\nauth: {bearer_tokens: [{subject: a, token: "tok-0123456789"}]}\n`;
    assert.equal(parseConfig(yaml('auto'), { baseDir: process.cwd(), env: {} }).server.workers, 'auto');
    assert.equal(parseConfig(yaml('4'), { baseDir: process.cwd(), env: {} }).server.workers, 4);
    assert.equal(parseConfig('upstream: {url: "http://127.0.0.1:9090"}\nauth: {bearer_tokens: [{subject: a, token: "tok-0123456789"}]}\n', { baseDir: process.cwd(), env: {} }).server.workers, 1);
    for (const bad of ['0', 'many', '1.5', '65']) assert.throws(() => parseConfig(yaml(bad), { baseDir: process.cwd(), env: {} }), /server\.workers/, bad);
  });

  it('two workers: both serve, /metrics aggregates them, SIGHUP reloads each, SIGTERM drains each and exits 0', { timeout: 120_000 }, async () => {
    const users = { alice: { token: ALICE, tenants: ['team-fruit'] } };
    const cfg = configDir(opsYaml(up.url, users, { serverExtra: 'workers: 2\nshutdown_timeout: 60s' }));
    const p = await spawnPromfence(cfg.path, { expectInternal: true });
    try {
      await p.waitForLine((l) => l['msg'] === 'workers started');
      await waitFor(() => p.lines.filter((l) => l['msg'] === 'listening').length === 2, 20_000);
      const internal = p.internalUrl as string;
      for (let i = 0; i < 100; i++) {
        if ((await get(`${internal}/-/ready`)).status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await get(`${internal}/-/ready`)).status, 200, 'ready once every worker is');

      // Requests served: 20 connections, handed to the two workers in turn.
      const statuses = [];
      for (let i = 0; i < 20; i++) statuses.push(await getOnNewConnection(`${p.url}/api/v1/query?query=up`, ALICE));
      assert.deepEqual(statuses, Array(20).fill(200));
      // Aggregated: each worker counted its own share; the primary's /metrics is their sum.
      const { metrics } = await scrape(internal);
      assert.equal(valueOf(metrics, 'promfence_requests_total', { route: 'query', code: '200' }), 20);
      assert.equal(valueOf(metrics, 'promfence_workers'), 2);
      assert.equal(valueOf(metrics, 'promfence_build_info'), 1, 'build info is not summed over workers');

      // SIGHUP: bob is added; every worker reloads (one line each) and serves him.
      assert.equal(await getOnNewConnection(`${p.url}/api/v1/query?query=up`, BOB), 401);
      cfg.write(opsYaml(up.url, { ...users, bob: { token: BOB, tenants: ['team-veggie'] } }, { serverExtra: 'workers: 2\nshutdown_timeout: 60s' }));
      p.signal('SIGHUP');
      await p.waitForLine((l) => l['msg'] === 'configuration reloaded by every worker');
      // Each process batches its stdout (up to 100 ms): the workers' own lines may come after the primary's.
      await waitFor(() => p.lines.filter((l) => l['msg'] === 'configuration reloaded' && l['source'] === 'SIGHUP (primary)').length === 2, 5000);
      const bob = [];
      for (let i = 0; i < 6; i++) bob.push(await getOnNewConnection(`${p.url}/api/v1/query?query=up`, BOB));
      assert.deepEqual(bob, Array(6).fill(200));

      // SIGTERM: a slow request in flight completes, every worker stops, exit 0.
      const slow = getOnNewConnection(`${p.url}/api/v1/query?query=slow`, ALICE);
      await waitFor(() => holding.held() === 1, 20_000);
      p.signal('SIGTERM');
      await waitFor(() => p.lines.filter((l) => l['msg'] === 'shutting down').length === 2, 20_000);
      const ready = await get(`${internal}/-/ready`);
      assert.equal(ready.status, 503);
      holding.release();
      assert.equal(await slow, 200);
      assert.equal(await p.exited, 0);
      assert.equal(p.lines.filter((l) => l['msg'] === 'stopped').length, 3, 'two workers and the primary');
    } finally {
      await p.stop();
      cfg.remove();
    }
  });
  it('a worker that replaces a dead one runs the configuration the primary accepted, and a reload racing its start reaches it', { timeout: 120_000 }, async () => {
    const server = 'workers: 2\nshutdown_timeout: 60s';
    const alice = { alice: { token: ALICE, tenants: ['team-fruit'] } };
    const bob = { bob: { token: BOB, tenants: ['team-veggie'] } };
    const cfg = configDir(opsYaml(up.url, { ...alice, ...bob }, { serverExtra: server }));
    const p = await spawnPromfence(cfg.path, { expectInternal: true });
    const internal = p.internalUrl as string;
    const readyAgain = async () => {
      for (let i = 0; i < 300; i++) {
        if ((await get(`${internal}/-/ready`)).status === 200) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`not ready: ${(await get(`${internal}/-/ready`)).text}`);
    };
    const statuses = async (token: string) => {
      const out = [];
      for (let i = 0; i < 12; i++) out.push(await getOnNewConnection(`${p.url}/api/v1/query?query=up`, token));
      return out;
    };
    const listening = () => p.lines.filter((l) => l['msg'] === 'listening').length;
    try {
      await waitFor(() => listening() === 2, 20_000);
      await readyAgain();
      // The file revokes alice but is not reloaded: a worker started now runs what the
      // primary accepted (alice served by every worker), not the file as it is on disk.
      cfg.write(opsYaml(up.url, bob, { serverExtra: server }));
      const [first] = p.children();
      process.kill(first as number, 'SIGKILL');
      await waitFor(() => listening() === 3, 20_000);
      await readyAgain();
      assert.deepEqual(await statuses(ALICE), Array(12).fill(200));
      // A reload ~1.2 s after a worker died (its replacement is starting): once /-/ready is
      // 200 again, alice is refused by every worker.
      const [second] = p.children();
      process.kill(second as number, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 1200));
      const reload = await fetch(`${internal}/-/reload`, { method: 'POST' });
      assert.equal(reload.status, 200, await reload.text());
      await waitFor(() => listening() === 4, 20_000);
      await readyAgain();
      assert.deepEqual(await statuses(ALICE), Array(12).fill(401));
      assert.deepEqual(await statuses(BOB), Array(12).fill(200));
    } finally {
      await p.stop();
      cfg.remove();
    }
  });
  it('the log lines of two workers stay whole on one stdout pipe, also audit lines longer than the pipe holds', { timeout: 120_000 }, async () => {
    const cfg = configDir(opsYaml(up.url, { alice: { token: ALICE, tenants: ['team-fruit'] } }, { serverExtra: 'workers: 2' }));
    const p = await spawnPromfence(cfg.path, { expectInternal: true });
    try {
      await waitFor(() => p.lines.filter((l) => l['msg'] === 'listening').length === 2, 20_000);
      // 48 series requests on 8 connections at a time, each with 24 match[] of ~4 KB: the
      // audit line (original and enforced selectors) is ~200 KB, longer than a pipe holds
      // (64 KiB), so no single write() can carry it whole.
      const N = 48;
      const bodies = Array.from({ length: N }, (_, i) => Array.from({ length: 24 }, (_, j) => `match[]=${encodeURIComponent(`up{job="${String(i).padStart(3, '0')}-${j}-${'x'.repeat(4000)}"}`)}`).join('&'));
      let next = 0;
      const worker = async () => {
        while (next < N) {
          const body = bodies[next++] as string;
          assert.equal(await postOnNewConnection(`${p.url}/api/v1/series`, ALICE, body), 200);
        }
      };
      // A slow reader too: the pipe fills, and writes go in pieces.
      const resume = p.pauseOutput();
      setTimeout(resume, 1000);
      await Promise.all(Array.from({ length: 8 }, worker));
      resume();
      // (Garbled lines never make N audit lines: the assertions below say what went wrong.)
      await waitFor(() => p.lines.filter((l) => l['msg'] === 'audit').length >= N, 20_000).catch(() => undefined);
      assert.deepEqual(p.lines.filter((l) => 'raw' in l).map((l) => String(l['raw']).slice(0, 80)), [], 'every stdout line is one JSON object');
      const ids = p.lines.filter((l) => l['msg'] === 'audit').map((l) => String((l['match'] as string[])[0]).slice(8, 11));
      assert.equal(new Set(ids).size, N, 'one whole audit line per request');
    } finally {
      await p.stop();
      cfg.remove();
    }
  });
  it('a worker that asks for its configuration during a reload gets the outcome: once the reload answered 200, no worker accepts a revoked token', { timeout: 120_000 }, async () => {
    // A long readiness interval: a worker left on the old generation would keep it for 10 s
    // (its next report), not 100 ms.
    const yaml = (users: Record<string, { token: string; tenants: string[] }>) => opsYaml(up.url, users, { serverExtra: 'workers: 2\nshutdown_timeout: 60s' }).replace('ready_probe_interval: 100ms', 'ready_probe_interval: 10s');
    const alice = { alice: { token: ALICE, tenants: ['team-fruit'] } };
    const bob = { bob: { token: BOB, tenants: ['team-veggie'] } };
    const cfg = configDir(yaml({ ...alice, ...bob }));
    const p = await spawnPromfence(cfg.path, { expectInternal: true });
    const internal = p.internalUrl as string;
    const listening = () => p.lines.filter((l) => l['msg'] === 'listening').length;
    const [w1, w2] = p.children() as [number, number];
    try {
      await waitFor(() => listening() === 2, 20_000);
      // w1 stops answering (a busy worker: the reload waits for it); w2 dies and its
      // replacement starts, asking for its configuration while the reload runs.
      process.kill(w1, 'SIGSTOP');
      process.kill(w2, 'SIGKILL');
      cfg.write(yaml(bob));
      await new Promise((r) => setTimeout(r, 300));
      const reload = fetch(`${internal}/-/reload`, { method: 'POST' });
      await new Promise((r) => setTimeout(r, 2700));
      process.kill(w1, 'SIGCONT');
      const answer = await reload;
      assert.equal(answer.status, 200, await answer.text());
      await waitFor(() => listening() === 3, 20_000);
      const statuses = [];
      for (let i = 0; i < 12; i++) statuses.push(await getOnNewConnection(`${p.url}/api/v1/query?query=up`, ALICE));
      assert.deepEqual(statuses, Array(12).fill(401));
    } finally {
      try {
        process.kill(w1, 'SIGCONT');
      } catch {
        /* gone */
      }
      await p.stop();
      cfg.remove();
    }
  });

  it('a worker started later reads no secret file from disk: it runs the secrets the primary read for the current configuration', { timeout: 120_000 }, async () => {
    const base = opsYaml(up.url, { alice: { token: ALICE, tenants: ['team-fruit'] }, carol: { token: 'CAROL-FILE', tenants: ['team-fruit'] } }, { serverExtra: 'workers: 2' });
    const cfg = configDir(base.replace('token: "CAROL-FILE"', 'token_file: "carol.tok"'));
    writeFileSync(join(cfg.dir, 'carol.tok'), 'carol-token-one\n');
    const p = await spawnPromfence(cfg.path, { expectInternal: true });
    const listening = () => p.lines.filter((l) => l['msg'] === 'listening').length;
    try {
      await waitFor(() => listening() === 2, 20_000);
      // A new secret staged on disk, not reloaded; then a worker dies and is replaced.
      writeFileSync(join(cfg.dir, 'carol.tok'), 'carol-token-two\n');
      process.kill(p.children()[0] as number, 'SIGKILL');
      await waitFor(() => listening() === 3, 20_000);
      const one = [];
      const two = [];
      for (let i = 0; i < 8; i++) one.push(await getOnNewConnection(`${p.url}/api/v1/query?query=up`, 'carol-token-one'));
      for (let i = 0; i < 8; i++) two.push(await getOnNewConnection(`${p.url}/api/v1/query?query=up`, 'carol-token-two'));
      assert.deepEqual(one, Array(8).fill(200), 'the secret of the current configuration, on every worker');
      assert.deepEqual(two, Array(8).fill(401), 'the staged secret on none');
      // The cluster's /metrics has one family of dropped log lines (the primary's and its workers').
      const { text, metrics } = await scrape(p.internalUrl as string);
      assert.equal(text.split('\n').filter((l) => l === '# TYPE promfence_log_dropped_lines_total counter').length, 1);
      assert.equal(valueOf(metrics, 'promfence_log_dropped_lines_total'), 0);
    } finally {
      await p.stop();
      cfg.remove();
    }
  });
});
