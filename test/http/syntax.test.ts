/** `promql.syntax: auto` detection through the upstream's buildinfo (src/upstream/syntax.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createSyntaxResolver, SYNTAX_RETRY_MS, syntaxForVersion } from '../../src/upstream/syntax.ts';
import { fakeAuth, fakeEnforcer, startUpstream, testConfig, type EngineCall } from './kit.ts';

function fakeFetch(answers: Array<() => Response>) {
  const seen: Array<{ url: string; auth: string | null }> = [];
  const f = (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), auth: new Headers(init?.headers).get('authorization') });
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as typeof fetch;
  return { f, seen };
}
const json = (version: string) => () => new Response(JSON.stringify({ status: 'success', data: { version } }), { headers: { 'Content-Type': 'application/json' } });

describe('syntaxForVersion', () => {
  for (const [v, s] of [['3.1.0', 'prometheus3'], ['v3.0.0-rc.0', 'prometheus3'], ['10.0.0', 'prometheus3'], ['2.53.4', 'prometheus2'], ['0.37.2', 'prometheus2'], ['garbage', 'prometheus2'], [42, 'prometheus2']] as const) {
    it(`${String(v)} → ${s}`, () => assert.equal(syntaxForVersion(v), s));
  }
});

describe('createSyntaxResolver', () => {
  it('fixed syntax never probes', async () => {
    const { f, seen } = fakeFetch([]);
    const r = createSyntaxResolver(testConfig('http://up:9090', (c) => (c.promql.syntax = 'prometheus2')), { fetch: f, logger: silentLogger() });
    assert.equal(await r(), 'prometheus2');
    assert.equal(seen.length, 0);
  });

  it('auto: probes once with the upstream credential (prefix kept), caches, shares concurrent probes', async () => {
    const { f, seen } = fakeFetch([json('3.2.1')]);
    const cfg = testConfig('http://up:9090/prometheus/', (c) => {
      c.promql.syntax = 'auto';
      c.upstream.bearer_token = 'up-secret';
    });
    const r = createSyntaxResolver(cfg, { fetch: f, logger: silentLogger() });
    assert.deepEqual(await Promise.all([r(), r(), r()]), ['prometheus3', 'prometheus3', 'prometheus3']);
    assert.equal(await r(), 'prometheus3');
    assert.deepEqual(seen, [{ url: 'http://up:9090/prometheus/api/v1/status/buildinfo', auth: 'Bearer up-secret' }]);
  });

  it('auto: failure → prometheus2, retried after 60 s', async () => {
    let now = 1_000_000;
    const { f, seen } = fakeFetch([() => new Response('nope', { status: 503 }), () => { throw new TypeError('fetch failed'); }, json('3.0.0')]);
    const r = createSyntaxResolver(testConfig('http://up:9090', (c) => (c.promql.syntax = 'auto')), { fetch: f, logger: silentLogger(), now: () => now });
    assert.equal(await r(), 'prometheus2');
    assert.equal(await r(), 'prometheus2');
    assert.equal(seen.length, 1);
    now += SYNTAX_RETRY_MS;
    assert.equal(await r(), 'prometheus2');
    assert.equal(seen.length, 2);
    now += SYNTAX_RETRY_MS - 1;
    assert.equal(await r(), 'prometheus2');
    assert.equal(seen.length, 2);
    now += 1;
    assert.equal(await r(), 'prometheus3');
    assert.equal(await r(), 'prometheus3');
    assert.equal(seen.length, 3);
  });

  it('auto: a synchronous fetch throw does not wedge the resolver', async () => {
    let now = 0;
    let calls = 0;
    const f = ((): Promise<Response> => {
      calls++;
      if (calls === 1) throw new Error('sync');
      return Promise.resolve(json('3.0.0')());
    }) as unknown as typeof fetch;
    const r = createSyntaxResolver(testConfig('http://up:9090', (c) => (c.promql.syntax = 'auto')), { fetch: f, logger: silentLogger(), now: () => now });
    assert.equal(await r(), 'prometheus2');
    now += SYNTAX_RETRY_MS;
    assert.equal(await r(), 'prometheus3');
  });
});

describe('auto syntax in the gateway', () => {
  it('the enforcer receives the detected dialect; the real upstream answered buildinfo', async () => {
    const up = await startUpstream((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(req.url === '/api/v1/status/buildinfo' ? '{"status":"success","data":{"version":"3.5.0"}}' : '{"status":"success","data":{}}');
    });
    try {
      const calls: EngineCall[] = [];
      const app = createApp(testConfig(up.url, (c) => (c.promql.syntax = 'auto')), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls) });
      await request(app).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token').expect(200);
      await request(app).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token').expect(200);
      assert.deepEqual(calls.map((c) => c.syntax), ['prometheus3', 'prometheus3']);
      assert.equal(up.requests.filter((r) => r.path === '/api/v1/status/buildinfo').length, 1);
    } finally {
      await up.close();
    }
  });
});
