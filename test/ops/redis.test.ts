/**
 * Limits shared through a real Redis (Debian's redis-server, started here): two `promfence
 * serve` processes share one token bucket and one in-flight limit per subject; with Redis
 * down, `limits.redis.on_error: allow` lets requests through (counted and logged) and `deny`
 * answers 503 `limiter_unavailable`; when Redis is back the limits apply again. The Redis
 * password never reaches a log line (the suite-wide log scan checks it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cannedResponder, startUpstream, waitFor, type RecordingUpstream } from '../http/kit.ts';
import { spawnPromfence, type PromfenceProcess } from '../kit/promfence-process.ts';
import { findFreePort } from '../kit/prometheus.ts';
import { startRedis, type RunningRedis } from '../kit/redis.ts';
import { configDir, get, opsYaml, runFromYaml, scrape, valueOf } from './kit.ts';

const PASSWORD = 'redis-secret-pw';
const ALICE = 'rl-alice-token';
const BOB = 'rl-bob-token';
const OPS = 'ops-token';

let up: RecordingUpstream;
let redis: RunningRedis;
let a: PromfenceProcess;
let b: PromfenceProcess;
let cfg: ReturnType<typeof configDir>;
const held: Array<() => void> = [];

function yaml(redisUrl: string, onError: 'allow' | 'deny', extra = ''): string {
  return opsYaml(up.url, { alice: { token: ALICE, tenants: ['team-fruit'] }, bob: { token: BOB, tenants: ['team-veggie'] }, ops: { token: OPS, tenants: ['*'] } }, {
    extra: [
      'limits:',
      '  rate: { requests_per_second: 0.01, burst: 3 }',
      '  max_inflight_per_subject: 1',
      '  store: redis',
      `  redis: { url: ${JSON.stringify(redisUrl)}, on_error: ${onError}, timeout: 500ms }`,
      extra,
    ].join('\n'),
  });
}

before(async () => {
  up = await startUpstream((req, res, rec) => {
    if (rec.query.includes('slow')) held.push(() => cannedResponder(req, res, rec));
    else cannedResponder(req, res, rec);
  });
  redis = await startRedis({ password: PASSWORD });
  cfg = configDir(yaml(redis.url, 'allow'));
  [a, b] = await Promise.all([spawnPromfence(cfg.path, { expectInternal: true }), spawnPromfence(cfg.path, { expectInternal: true })]);
  await Promise.all([a, b].map((p) => p.waitForLine((l) => l['msg'] === 'limiter store connected')));
});
after(async () => {
  for (const h of held.splice(0)) h();
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
  await up.close();
  cfg?.remove();
});

const query = (p: PromfenceProcess, token: string, q = 'up') => get(`${p.url}/api/v1/query?query=${q}`, token);

describe('two promfence processes, one Redis', () => {
  it('share the token bucket of a subject: the burst of 3 is spent across both, then 429 with Retry-After on either', async () => {
    assert.equal((await query(a, ALICE)).status, 200);
    assert.equal((await query(b, ALICE)).status, 200);
    assert.equal((await query(a, ALICE)).status, 200);
    for (const p of [b, a]) {
      const r = await query(p, ALICE);
      assert.equal(r.status, 429);
      assert.equal(r.body['code'], 'rate_limited');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    assert.equal((await query(b, BOB)).status, 200, 'another subject has its own bucket');
    const { metrics } = await scrape(b.internalUrl!);
    assert.equal(valueOf(metrics, 'promfence_rate_limited_total', { subject: 'alice' }), 1);
  });

  it('share the in-flight limit: a request held on one process makes the other answer 429', async () => {
    const slow = query(a, OPS, 'slow');
    await waitFor(() => held.length === 1, 20_000);
    const r = await query(b, OPS);
    assert.equal(r.status, 429);
    assert.match(String(r.body['error']), /in flight/);
    held.splice(0)[0]!();
    assert.equal((await slow).status, 200);
    // The lease is released asynchronously (ZREM) right after the response.
    const end = Date.now() + 10_000;
    while ((await query(b, OPS)).status !== 200) {
      if (Date.now() > end) throw new Error('the in-flight slot was not released (hang guard)');
      await new Promise((res) => setTimeout(res, 50));
    }
  });

  it('Redis down: on_error allow lets requests through, counted and logged; Redis back: limits apply again', async () => {
    const port = redis.port;
    await redis.stop();
    assert.equal((await query(a, ALICE)).status, 200);
    assert.equal((await query(a, ALICE)).status, 200);
    const { metrics } = await scrape(a.internalUrl!);
    assert.ok(valueOf(metrics, 'promfence_limiter_errors_total', { action: 'allowed' }) >= 2);
    await a.waitForLine((l) => l['msg'] === 'limiter store error' || l['msg'] === 'limiter store unavailable');

    redis = await startRedis({ password: PASSWORD, port });
    const end = Date.now() + 20_000;
    let limited = false;
    while (!limited) {
      if (Date.now() > end) throw new Error('limits did not apply again after Redis came back (hang guard)');
      limited = (await query(a, ALICE)).status === 429;
      if (!limited) await new Promise((res) => setTimeout(res, 100));
    }
  });
});

describe('on_error: deny', () => {
  it('Redis unreachable → 503 limiter_unavailable, nothing forwarded', async () => {
    const dead = await findFreePort();
    const gw = await runFromYaml(yaml(`redis://:${PASSWORD}@127.0.0.1:${dead}`, 'deny'));
    try {
      const before = up.requests.filter((r) => r.path === '/api/v1/query').length;
      const r = await get(`${gw.server.url}/api/v1/query?query=up`, ALICE);
      assert.equal(r.status, 503);
      assert.equal(r.body['code'], 'limiter_unavailable');
      assert.equal(r.body['errorType'], 'unavailable');
      assert.equal(up.requests.filter((x) => x.path === '/api/v1/query').length, before);
      const { metrics } = await scrape(gw.internal!.url);
      assert.equal(valueOf(metrics, 'promfence_limiter_errors_total', { action: 'denied' }), 1);
    } finally {
      await gw.shutdown();
    }
  });
});
