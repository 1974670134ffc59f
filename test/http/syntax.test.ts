/** `promql.syntax: auto` detection through the upstream's buildinfo (src/upstream/syntax.ts, src/upstream/probe.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { createUpstreamClient } from '../../src/upstream/client.ts';
import { fetchBuildInfo, type BuildInfo } from '../../src/upstream/probe.ts';
import { createSyntaxResolver, SYNTAX_RETRY_MS, syntaxForVersion } from '../../src/upstream/syntax.ts';
import { fakeAuth, fakeEnforcer, startUpstream, testConfig, type EngineCall } from './kit.ts';

/** A probe answering from a script of outcomes, counting calls. */
function scriptedProbe(answers: Array<() => BuildInfo | Promise<BuildInfo>>) {
  let calls = 0;
  const probe = async (): Promise<BuildInfo> => {
    calls++;
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  };
  return { probe, calls: () => calls };
}

describe('syntaxForVersion', () => {
  for (const [v, s] of [['3.1.0', 'prometheus3'], ['v3.0.0-rc.0', 'prometheus3'], ['10.0.0', 'prometheus3'], ['2.53.4', 'prometheus2'], ['0.37.2', 'prometheus2'], ['garbage', 'prometheus2'], [42, 'prometheus2']] as const) {
    it(`${String(v)} → ${s}`, () => assert.equal(syntaxForVersion(v), s));
  }
});

describe('createSyntaxResolver', () => {
  it('fixed syntax never probes', async () => {
    const p = scriptedProbe([]);
    const r = createSyntaxResolver('prometheus2', { probe: p.probe, logger: silentLogger() });
    assert.equal(await r(), 'prometheus2');
    assert.equal(p.calls(), 0);
  });

  it('auto: probes once, caches, shares concurrent probes', async () => {
    const p = scriptedProbe([() => ({ version: '3.2.1' })]);
    const r = createSyntaxResolver('auto', { probe: p.probe, logger: silentLogger() });
    assert.deepEqual(await Promise.all([r(), r(), r()]), ['prometheus3', 'prometheus3', 'prometheus3']);
    assert.equal(await r(), 'prometheus3');
    assert.equal(p.calls(), 1);
  });

  it('auto: failure → prometheus2, retried after 60 s', async () => {
    let now = 1_000_000;
    const p = scriptedProbe([() => { throw new Error('status 503'); }, () => { throw new TypeError('connect ECONNREFUSED'); }, () => ({ version: '3.0.0' })]);
    const r = createSyntaxResolver('auto', { probe: p.probe, logger: silentLogger(), now: () => now });
    assert.equal(await r(), 'prometheus2');
    assert.equal(await r(), 'prometheus2');
    assert.equal(p.calls(), 1);
    now += SYNTAX_RETRY_MS;
    assert.equal(await r(), 'prometheus2');
    assert.equal(p.calls(), 2);
    now += SYNTAX_RETRY_MS - 1;
    assert.equal(await r(), 'prometheus2');
    assert.equal(p.calls(), 2);
    now += 1;
    assert.equal(await r(), 'prometheus3');
    assert.equal(await r(), 'prometheus3');
    assert.equal(p.calls(), 3);
  });

  it('auto: a synchronous probe throw does not wedge the resolver', async () => {
    let now = 0;
    let calls = 0;
    const probe = ((): Promise<BuildInfo> => {
      calls++;
      if (calls === 1) throw new Error('sync');
      return Promise.resolve({ version: '3.0.0' });
    });
    const r = createSyntaxResolver('auto', { probe, logger: silentLogger(), now: () => now });
    assert.equal(await r(), 'prometheus2');
    now += SYNTAX_RETRY_MS;
    assert.equal(await r(), 'prometheus3');
  });
});

describe('fetchBuildInfo (through the upstream client)', () => {
  it('sends the upstream credential under the upstream prefix; reads data.version', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"success","data":{"version":"3.2.1"}}');
    });
    try {
      const client = createUpstreamClient({ name: 'prometheus', url: `${up.url}/prometheus`, timeoutMs: 5000, bearerToken: 'up-secret' });
      assert.deepEqual(await fetchBuildInfo(client, 'probe-1', 5000), { version: '3.2.1' });
      assert.equal(up.requests[0]!.path, '/prometheus/api/v1/status/buildinfo');
      assert.equal(up.requests[0]!.headers.authorization, 'Bearer up-secret');
      assert.equal(up.requests[0]!.headers['x-request-id'], 'probe-1');
      client.close();
    } finally {
      await up.close();
    }
  });
  it('a non-2xx or non-JSON answer is a failure', async () => {
    for (const [status, body] of [[503, '{"status":"error"}'], [200, 'not json']] as const) {
      const up = await startUpstream((_req, res) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(body);
      });
      try {
        const client = createUpstreamClient({ name: 'prometheus', url: up.url, timeoutMs: 5000, bearerToken: undefined });
        await assert.rejects(fetchBuildInfo(client, 'p', 5000));
        client.close();
      } finally {
        await up.close();
      }
    }
  });
});

describe('auto syntax in the gateway', () => {
  it('the enforcer receives the detected dialect; the real upstream answered buildinfo once', async () => {
    const up = await startUpstream((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(req.url === '/api/v1/status/buildinfo' ? '{"status":"success","data":{"version":"3.5.0"}}' : '{"status":"success","data":{}}');
    });
    try {
      const calls: EngineCall[] = [];
      const app = createApp(testConfig(up.url, (c) => (c.promql.syntax = 'auto')), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
      await request(app).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token').expect(200);
      await request(app).get('/api/v1/query?query=up').set('Authorization', 'Bearer alice-token').expect(200);
      assert.deepEqual(calls.map((c) => c.syntax), ['prometheus3', 'prometheus3']);
      assert.equal(up.requests.filter((r) => r.path === '/api/v1/status/buildinfo').length, 1);
    } finally {
      await up.close();
    }
  });
});
