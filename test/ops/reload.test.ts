/**
 * Hot reload with requests running: by `POST /-/reload` (internal listener) and by
 * `server.watch_config` in process, by SIGHUP against a real `promfence serve` process. A
 * valid configuration changes tokens and tenants for new requests; an invalid one is refused
 * with its reasons and the old one keeps serving; no request fails meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '../../src/runtime.ts';
import { cannedResponder, startUpstream, type RecordingUpstream } from '../http/kit.ts';
import { spawnPromfence, type PromfenceProcess } from '../kit/promfence-process.ts';
import { configDir, get, opsYaml, runFromFile, scrape, valueOf, type OpsUser } from './kit.ts';

const OLD = 'reload-alice-token';
const NEW = 'reload-new-token';
const OPS = 'ops-token';

function users(aliceToken: string, aliceTenants: string[]): Record<string, OpsUser> {
  return { alice: { token: aliceToken, tenants: aliceTenants }, ops: { token: OPS, tenants: ['team-ops'] } };
}

const INVALID_EXTRA = 'limits:\n  max_points: -1\n';

let up: RecordingUpstream;

before(async () => {
  // Every answer takes a little while, so requests are in flight while configurations swap.
  up = await startUpstream((req, res, rec) => setTimeout(() => cannedResponder(req, res, rec), 20));
});
after(async () => {
  await up.close();
});

/** Requests by `ops` in a loop (4 at a time) until stopped; every status is kept. */
function load(base: string): { stop(): Promise<number[]> } {
  const statuses: number[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const r = await fetch(`${base}/api/v1/query?query=up`, { headers: { Authorization: `Bearer ${OPS}` } });
      await r.text();
      statuses.push(r.status);
    }
  };
  const workers = [worker(), worker(), worker(), worker()];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return statuses;
    },
  };
}

/** The last enforced `alice_probe` query the upstream received. */
function lastQuery(): string | null {
  const rec = up.requests.filter((r) => r.path === '/api/v1/query' && r.query.includes('alice_probe')).at(-1);
  return new URLSearchParams(rec?.query ?? '').get('query');
}

describe('POST /-/reload and server.watch_config (in process)', () => {
  let gw: RunningGateway;
  let cfg: ReturnType<typeof configDir>;
  before(async () => {
    cfg = configDir(opsYaml(up.url, users(OLD, ['team-fruit'])));
    gw = await runFromFile(cfg.path);
  });
  after(async () => {
    await gw.shutdown();
    cfg.remove();
  });

  it('a valid configuration is swapped in, an invalid one refused with its reasons; zero failed requests meanwhile', async () => {
    const q = `${gw.server.url}/api/v1/query?query=alice_probe`;
    const running = load(gw.server.url);
    try {
      assert.equal((await get(q, OLD)).status, 200);
      assert.equal(lastQuery(), 'alice_probe{tenant="team-fruit"}');

      cfg.write(opsYaml(up.url, users(NEW, ['team-veggie'])));
      const ok = await fetch(`${gw.internal!.url}/-/reload`, { method: 'POST' });
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { status: 'success' });
      assert.equal((await get(q, OLD)).status, 401);
      assert.equal((await get(q, NEW)).status, 200);
      assert.equal(lastQuery(), 'alice_probe{tenant="team-veggie"}');

      cfg.write(opsYaml(up.url, users(OLD, ['team-fruit']), { extra: INVALID_EXTRA }));
      const bad = await fetch(`${gw.internal!.url}/-/reload`, { method: 'POST' });
      assert.equal(bad.status, 500);
      const body = (await bad.json()) as Record<string, unknown>;
      assert.equal(body['code'], 'reload_failed');
      assert.match(String(body['error']), /config: limits\.max_points: must be at least 1/);
      assert.match(String(body['error']), /previous one keeps running/);
      assert.equal((await get(q, NEW)).status, 200);
      assert.equal((await get(q, OLD)).status, 401);
      let { metrics } = await scrape(gw.internal!.url);
      assert.equal(valueOf(metrics, 'promfence_config_last_reload_successful'), 0);

      cfg.write('upstream: [not a mapping');
      assert.equal((await fetch(`${gw.internal!.url}/-/reload`, { method: 'PUT' })).status, 500);
      assert.equal((await get(q, NEW)).status, 200);

      cfg.write(opsYaml(up.url, users(OLD, ['team-fruit'])));
      assert.equal((await fetch(`${gw.internal!.url}/-/reload`, { method: 'POST' })).status, 200);
      ({ metrics } = await scrape(gw.internal!.url));
      assert.equal(valueOf(metrics, 'promfence_config_last_reload_successful'), 1);
      assert.equal((await get(q, OLD)).status, 200);
    } finally {
      const statuses = await running.stop();
      assert.ok(statuses.length >= 8, `load ran ${statuses.length} requests`);
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
    }
  });

  it('GET /-/reload is 405; the public listener has no /-/reload', async () => {
    const r = await fetch(`${gw.internal!.url}/-/reload`);
    assert.equal(r.status, 405);
    await r.text();
    const pub = await get(`${gw.server.url}/-/reload`, OPS, {});
    assert.equal(pub.body['code'], 'forbidden_endpoint');
  });

  it('server.watch_config: a change of the file is applied without a signal', async () => {
    cfg.write(opsYaml(up.url, users(OLD, ['team-fruit']), { serverExtra: 'watch_config: true' }));
    assert.equal((await fetch(`${gw.internal!.url}/-/reload`, { method: 'POST' })).status, 200);
    cfg.write(opsYaml(up.url, users(NEW, ['team-fruit']), { serverExtra: 'watch_config: true' }));
    const end = Date.now() + 20_000;
    while ((await get(`${gw.server.url}/api/v1/query?query=up`, NEW)).status !== 200) {
      if (Date.now() > end) throw new Error('the watched change was not applied (hang guard)');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await get(`${gw.server.url}/api/v1/query?query=up`, OLD)).status, 401);
  });
});

describe('limits change on reload', () => {
  it('a rate limit added by a reload applies to new requests at once', async () => {
    const cfg = configDir(opsYaml(up.url, users(OLD, ['team-fruit'])));
    const gw = await runFromFile(cfg.path);
    try {
      const q = `${gw.server.url}/api/v1/query?query=up`;
      for (let i = 0; i < 3; i++) assert.equal((await get(q, OLD)).status, 200);
      cfg.write(opsYaml(up.url, users(OLD, ['team-fruit']), { extra: 'limits:\n  rate: { requests_per_second: 0.01, burst: 1 }' }));
      assert.deepEqual(await gw.reload('test'), { ok: true });
      assert.equal((await get(q, OLD)).status, 200);
      assert.equal((await get(q, OLD)).status, 429);
      cfg.write(opsYaml(up.url, users(OLD, ['team-fruit'])));
      assert.deepEqual(await gw.reload('test'), { ok: true });
      assert.equal((await get(q, OLD)).status, 200);
    } finally {
      await gw.shutdown();
      cfg.remove();
    }
  });
});

describe('SIGHUP (a promfence serve process)', () => {
  let p: PromfenceProcess;
  let cfg: ReturnType<typeof configDir>;
  before(async () => {
    cfg = configDir(opsYaml(up.url, users(OLD, ['team-fruit'])));
    p = await spawnPromfence(cfg.path, { expectInternal: true });
  });
  after(async () => {
    await p.stop();
    cfg.remove();
  });

  it('valid: applied; invalid: logged with the reason, old configuration kept; zero failed requests meanwhile', async () => {
    const q = `${p.url}/api/v1/query?query=up`;
    const running = load(p.url);
    try {
      assert.equal((await get(q, OLD)).status, 200);

      cfg.write(opsYaml(up.url, users(NEW, ['team-fruit'])));
      p.signal('SIGHUP');
      await p.waitForLine((l) => l['msg'] === 'configuration reloaded' && l['source'] === 'SIGHUP');
      assert.equal((await get(q, NEW)).status, 200);
      assert.equal((await get(q, OLD)).status, 401);

      cfg.write(opsYaml(up.url, users(OLD, ['team-fruit']), { extra: INVALID_EXTRA }));
      p.signal('SIGHUP');
      const failed = await p.waitForLine((l) => String(l['msg']).startsWith('configuration reload failed'));
      assert.deepEqual(failed['errors'], ['config: limits.max_points: must be at least 1']);
      assert.equal(failed['level'], 'error');
      assert.equal((await get(q, NEW)).status, 200);
      assert.equal((await get(q, OLD)).status, 401);
      const { metrics } = await scrape(p.internalUrl!);
      assert.equal(valueOf(metrics, 'promfence_config_last_reload_successful'), 0);
      assert.ok(valueOf(metrics, 'process_cpu_seconds_total') > 0, 'default process metrics are exported');
    } finally {
      const statuses = await running.stop();
      assert.ok(statuses.length >= 8, `load ran ${statuses.length} requests`);
      assert.deepEqual(statuses.filter((s) => s !== 200), []);
    }
  });
});
