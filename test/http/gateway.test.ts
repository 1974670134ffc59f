/**
 * End-to-end tests of the HTTP layer: a real Express app (createApp) in front of a
 * recording upstream. Each test asserts what the upstream received AND what it did not.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { createApp } from '../../src/app.ts';
import type { Config } from '../../src/config/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { CANNED, captureLogger, plainRequest, fakeAuth, fakeEnforcer, pairs, startUpstream, testConfig, waitFor, type EngineCall, type RecordingUpstream } from './kit.ts';

const ALICE = 'Bearer alice-token';
const TOM = 'Bearer tom-token';
const OPS = 'Bearer ops-token';

let up: RecordingUpstream;
let calls: EngineCall[];

function app(patch?: (c: Config) => void, extra: Parameters<typeof createApp>[1] = {}) {
  calls = [];
  return createApp(testConfig(up.url, patch), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls), ...extra }).handler;
}

function assertEnvelope(res: request.Response, status: number, code: string) {
  assert.equal(res.status, status, `status ${res.status} body ${res.text}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  assert.equal(body.status, 'error');
  assert.equal(body.code, code, res.text);
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.errorType, 'string');
  return body;
}

before(async () => {
  up = await startUpstream();
});
after(async () => {
  await up.close();
});
beforeEach(() => {
  up.requests.length = 0;
});

describe('forwarding what was enforced, and nothing else', () => {
  it('GET query: rebuilt query string with the enforced query; client credentials and tenancy headers stripped', async () => {
    const res = await request(app())
      .get('/api/v1/query?query=up&time=4&tenant=team-fruit&extra_label=tenant%3Dteam-veggie&extra_filters%5B%5D=%7Btenant%3D%22x%22%7D&dedup=true')
      .set('Authorization', ALICE)
      .set('Cookie', 'session=secret')
      .set('X-Scope-OrgID', 'team-veggie')
      .set('THANOS-TENANT', 'team-veggie')
      .set('X-Prom-Label-Policy', 'x')
      .set('X-Promfence-Tenant', 'team-fruit')
      .set('X-Forwarded-For', '1.2.3.4')
      .set('Connection', 'keep-alive, X-Secret')
      .set('X-Secret', 'hop')
      .set('User-Agent', 'Grafana/11.0.0')
      .set('Accept', 'application/json');
    assert.equal(res.status, 200);
    assert.equal(res.text, CANNED);
    assert.equal(up.requests.length, 1);
    const r = up.requests[0]!;
    assert.equal(r.method, 'GET');
    assert.equal(r.path, '/api/v1/query');
    assert.deepEqual(pairs(r.query), [['query', 'E[team-fruit](up)'], ['time', '4'], ['dedup', 'true']]);
    for (const h of ['authorization', 'cookie', 'x-scope-orgid', 'thanos-tenant', 'x-prom-label-policy', 'x-promfence-tenant', 'x-forwarded-for', 'x-secret']) {
      assert.equal(r.headers[h], undefined, `upstream must not receive ${h}`);
    }
    assert.equal(r.headers['user-agent'], 'Grafana/11.0.0');
    assert.equal(r.headers.accept, 'application/json');
    assert.equal(r.headers['x-request-id'], res.headers['x-request-id']);
    assert.equal(r.body, '');
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.equal(r.headers['content-type'], undefined);
    // Exactly the allow-listed client headers plus promfence's own.
    assert.deepEqual(Object.keys(r.headers).sort(), ['accept', 'accept-encoding', 'connection', 'host', 'user-agent', 'x-request-id']);
    assert.equal(r.headers.host, new URL(up.url).host);
  });

  it('POST query (Grafana style: form body + custom params in the URL): everything in the rebuilt body, URL query empty', async () => {
    const res = await request(app())
      .post('/api/v1/query?dedup=true&partial_response=false')
      .set('Authorization', TOM)
      .type('form')
      .send('query=sum(rate(x%5B5m%5D))&time=4');
    assert.equal(res.status, 200);
    const r = up.requests[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/api/v1/query');
    assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.deepEqual(pairs(r.body), [
      ['query', 'E[team-fruit,team-veggie](sum(rate(x[5m])))'],
      ['time', '4'],
      ['dedup', 'true'],
      ['partial_response', 'false'],
    ]);
    assert.ok(!r.body.includes(';'));
  });

  it('POST with Expect: 100-continue still gets the rebuilt headers and body', async () => {
    const body = 'query=up';
    const res = await plainRequest(app(), {
      method: 'POST',
      path: '/api/v1/query',
      headers: { Authorization: ALICE, Expect: '100-continue', 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length },
      body,
    });
    assert.equal(res.status, 200, res.text);
    const r = up.requests[0]!;
    assert.equal(r.headers.authorization, undefined);
    assert.equal(r.headers.expect, undefined);
    assert.deepEqual(pairs(r.body), [['query', 'E[team-fruit](up)']]);
  });

  it('sets the configured upstream credential, never the client one', async () => {
    const res = await request(app((c) => (c.upstreams.prometheus.bearer_token = 'upstream-secret'))).get('/api/v1/query?query=up').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.equal(up.requests[0]!.headers.authorization, 'Bearer upstream-secret');
  });

  it('keeps the upstream path prefix', async () => {
    const res = await request(app((c) => (c.upstreams.prometheus.url = up.url + '/prometheus/'))).get('/api/v1/query_range?query=up&start=1&end=2&step=15').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.equal(up.requests[0]!.path, '/prometheus/api/v1/query_range');
  });

  it('unknown parameters are forwarded re-encoded, in Go r.Form order (body first)', async () => {
    const res = await request(app())
      .post('/api/v1/query_range?engine=x&replicaLabels%5B%5D=r1')
      .set('Authorization', ALICE)
      .type('form')
      .send('query=up&start=1&end=2&step=0.5&replicaLabels[]=r2&weird=a+b%21');
    assert.equal(res.status, 200);
    assert.deepEqual(pairs(up.requests[0]!.body), [
      ['query', 'E[team-fruit](up)'],
      ['start', '1'],
      ['end', '2'],
      ['step', '0.5'],
      ['replicaLabels[]', 'r2'],
      ['weird', 'a b!'],
      ['engine', 'x'],
      ['replicaLabels[]', 'r1'],
    ]);
  });

  it('format_query forwards the enforced query', async () => {
    const res = await request(app()).post('/api/v1/format_query').set('Authorization', ALICE).type('form').send('query=foo');
    assert.equal(res.status, 200);
    assert.deepEqual(pairs(up.requests[0]!.body), [['query', 'E[team-fruit](foo)']]);
  });

  it('query_exemplars enforces its query', async () => {
    const res = await request(app()).get('/api/v1/query_exemplars?query=foo&start=1&end=2').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['query', 'E[team-fruit](foo)'], ['start', '1'], ['end', '2']]);
  });

  it('buildinfo is forwarded without enforcement', async () => {
    const res = await request(app()).get('/api/v1/status/buildinfo').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.equal(up.requests[0]!.url, '/api/v1/status/buildinfo');
    assert.equal(calls.length, 0);
  });
});

describe('match[] endpoints', () => {
  it('match[] split across URL and body: every value enforced, none forwarded raw', async () => {
    const res = await request(app())
      .post('/api/v1/series?match[]=url_sel')
      .set('Authorization', TOM)
      .type('form')
      .send('match%5B%5D=body_sel&start=1');
    assert.equal(res.status, 200);
    assert.deepEqual(pairs(up.requests[0]!.body), [
      ['match[]', 'S[team-fruit,team-veggie](body_sel)'],
      ['start', '1'],
      ['match[]', 'S[team-fruit,team-veggie](url_sel)'],
    ]);
    assert.deepEqual(calls.map((c) => c.input), ['body_sel', 'url_sel']);
  });

  it('limits.max_match_params counts URL and body together (kit config: 3)', async () => {
    const ok = await request(app()).post('/api/v1/series?match[]=a&match[]=b').set('Authorization', TOM).type('form').send('match%5B%5D=c');
    assert.equal(ok.status, 200);
    up.requests.length = 0;
    const res = await request(app()).post('/api/v1/series?match[]=a&match[]=b').set('Authorization', TOM).type('form').send('match%5B%5D=c&match%5B%5D=d');
    const body = assertEnvelope(res, 400, 'invalid_parameter');
    assert.match(String(body.error), /4 values, more than limits\.max_match_params \(3\)/);
    assert.equal(up.requests.length, 0, 'upstream must receive nothing');
  });

  it('labels without match[]: the tenant selector is added', async () => {
    const res = await request(app()).get('/api/v1/labels?start=1').set('Authorization', TOM);
    assert.equal(res.status, 200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['start', '1'], ['match[]', '{tenant=~"team-fruit|team-veggie"}']]);
  });

  it('labels without match[] for all tenants: nothing added', async () => {
    const res = await request(app()).get('/api/v1/labels').set('Authorization', OPS);
    assert.equal(res.status, 200);
    assert.equal(up.requests[0]!.url, '/api/v1/labels');
  });

  it('series requires match[] (400 like Prometheus, nothing forwarded)', async () => {
    for (const send of [() => request(app()).get('/api/v1/series?start=1'), () => request(app()).post('/api/v1/series').type('form').send('start=1')]) {
      const res = await send().set('Authorization', ALICE);
      assert.match(String(assertEnvelope(res, 400, 'invalid_parameter').error), /no match\[\] parameter provided/);
    }
    assert.equal(up.requests.length, 0);
  });

  it('federate without match[]: the tenant selector is added; nothing for all tenants', async () => {
    await request(app()).get('/federate').set('Authorization', TOM).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['match[]', '{tenant=~"team-fruit|team-veggie"}']]);
    await request(app()).get('/federate').set('Authorization', OPS).expect(200);
    assert.equal(up.requests[1]!.url, '/federate');
  });

  it('federate enforces every match[]', async () => {
    const res = await request(app()).get('/federate?match[]=a&match[]=b').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['match[]', 'S[team-fruit](a)'], ['match[]', 'S[team-fruit](b)']]);
  });

  it('label values: U__ names, percent-encoded names are re-encoded; added selector', async () => {
    let res = await request(app()).get('/api/v1/label/U__http_2e_status/values').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.equal(up.requests[0]!.path, '/api/v1/label/U__http_2e_status/values');
    assert.deepEqual(pairs(up.requests[0]!.query), [['match[]', '{tenant="team-fruit"}']]);
    res = await request(app()).get('/api/v1/label/%6Aob/values?match[]=up').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.equal(up.requests[1]!.path, '/api/v1/label/job/values');
    res = await request(app()).get('/api/v1/label/http.status%20code/values').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.equal(up.requests[2]!.path, '/api/v1/label/http.status%20code/values');
  });

  it('a query param on a match[] route and match[] on a query route are dropped, never forwarded unenforced', async () => {
    await request(app()).get('/api/v1/labels?query=secret&match[]=x').set('Authorization', ALICE).expect(200);
    await request(app()).get('/api/v1/query?query=up&match[]=secret').set('Authorization', ALICE).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['match[]', 'S[team-fruit](x)']]);
    assert.deepEqual(pairs(up.requests[1]!.query), [['query', 'E[team-fruit](up)']]);
  });
});

describe('parameter refusals (nothing reaches the upstream)', () => {
  const cases: Array<[string, () => request.Test, number, string]> = [
    ['query in URL and body', () => request(app()).post('/api/v1/query?query=mine').set('Authorization', ALICE).type('form').send('query=theirs'), 400, 'duplicate_parameter'],
    ['query twice in the URL', () => request(app()).get('/api/v1/query?query=a&query=b').set('Authorization', ALICE), 400, 'duplicate_parameter'],
    ['time in URL and body', () => request(app()).post('/api/v1/query?time=1').set('Authorization', ALICE).type('form').send('query=up&time=2'), 400, 'duplicate_parameter'],
    ['step twice (encoded name)', () => request(app()).get('/api/v1/query_range?query=up&step=1&st%65p=2').set('Authorization', ALICE), 400, 'duplicate_parameter'],
    ['; in the query string', () => request(app()).get('/api/v1/query?query=up;x=1').set('Authorization', ALICE), 400, 'invalid_parameter'],
    ['; in the body', () => request(app()).post('/api/v1/query').set('Authorization', ALICE).type('form').send('query=up;query=other'), 400, 'invalid_parameter'],
    ['invalid percent-encoding', () => request(app()).get('/api/v1/query?query=%zz').set('Authorization', ALICE), 400, 'invalid_parameter'],
    ['non-UTF-8 bytes', () => request(app()).get('/api/v1/query?query=%ff').set('Authorization', ALICE), 400, 'invalid_parameter'],
    ['missing query', () => request(app()).get('/api/v1/query?time=1').set('Authorization', ALICE), 400, 'invalid_parameter'],
    ['empty query', () => request(app()).post('/api/v1/query').set('Authorization', ALICE).type('form').send('query='), 400, 'invalid_parameter'],
    ['access_token in the body', () => request(app()).post('/api/v1/query').set('Authorization', ALICE).type('form').send('query=up&access_token=x'), 400, 'credentials_in_url'],
    ['multipart body', () => request(app()).post('/api/v1/query').set('Authorization', ALICE).field('query', 'up'), 415, 'unsupported_media_type'],
    ['JSON body', () => request(app()).post('/api/v1/query').set('Authorization', ALICE).set('Content-Type', 'application/json').send('{"query":"up"}'), 415, 'unsupported_media_type'],
    ['gzip-encoded form', () => request(app()).post('/api/v1/query').set('Authorization', ALICE).set('Content-Encoding', 'gzip').type('form').send('query=up'), 415, 'unsupported_media_type'],
    ['form with a foreign charset', () => request(app()).post('/api/v1/query').set('Authorization', ALICE).set('Content-Type', 'application/x-www-form-urlencoded; charset=iso-8859-1').send('query=up'), 415, 'unsupported_media_type'],
    ['GET with a body', () => request(app()).get('/api/v1/query?query=up').set('Authorization', ALICE).type('form').send('query=other'), 415, 'unsupported_media_type'],
    ['oversized body', () => request(app()).post('/api/v1/query').set('Authorization', ALICE).type('form').send('query=' + 'a'.repeat(5000)), 413, 'body_too_large'],
    ['PromQL parse error', () => request(app()).get('/api/v1/query?query=a!!').set('Authorization', ALICE), 400, 'parse_error'],
    ['engine internal error', () => request(app()).get('/api/v1/query?query=BOOM').set('Authorization', ALICE), 500, 'internal_error'],
    ['engine crash', () => request(app()).get('/api/v1/query?query=CRASH').set('Authorization', ALICE), 500, 'internal_error'],
    ['foreign tenant matcher', () => request(app()).get('/api/v1/series?match[]=FOREIGN').set('Authorization', ALICE), 403, 'forbidden_tenant'],
  ];
  for (const [name, send, status, code] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const res = await send();
      const body = assertEnvelope(res, status, code);
      assert.equal(up.requests.length, 0, 'upstream must receive nothing');
      assert.ok(!String(body.error).includes('secret'), 'no internals in messages');
      assert.ok(res.headers['x-request-id']);
    });
  }

  it('body without Content-Type → 415 unsupported_media_type', async () => {
    const res = await plainRequest(app(), { method: 'POST', path: '/api/v1/query', headers: { Authorization: ALICE, 'Content-Length': 8 }, body: 'query=up' });
    assert.equal(res.status, 415);
    assert.equal(JSON.parse(res.text).code, 'unsupported_media_type');
    assert.equal(up.requests.length, 0);
  });

  it('duplicate_parameter names the parameter', async () => {
    const res = await request(app()).post('/api/v1/query?query=mine').set('Authorization', ALICE).type('form').send('query=theirs');
    const body = assertEnvelope(res, 400, 'duplicate_parameter');
    assert.match(String(body.error), /"query".*URL and form body/);
  });

  it('parse errors read like Prometheus: invalid parameter "query": …', async () => {
    const res = await request(app()).get('/api/v1/query?query=a!!').set('Authorization', ALICE);
    assert.match(String(assertEnvelope(res, 400, 'parse_error').error), /^invalid parameter "query": 1:1: parse error/);
  });

  it('oversized chunked body → 413', async () => {
    const req = request(app()).post('/api/v1/query').set('Authorization', ALICE).type('form');
    req.write('query=');
    for (let i = 0; i < 10; i++) req.write('a'.repeat(1000));
    const res = await req;
    assertEnvelope(res, 413, 'body_too_large');
    assert.equal(up.requests.length, 0);
  });

  it('POST with no Content-Type and an empty body is accepted (parameters from the URL)', async () => {
    const res = await request(app()).post('/api/v1/query?query=up').set('Authorization', ALICE);
    assert.equal(res.status, 200);
    assert.deepEqual(pairs(up.requests[0]!.body), [['query', 'E[team-fruit](up)']]);
    assert.equal(up.requests[0]!.url, '/api/v1/query');
  });

  it('form with charset=UTF-8 is accepted', async () => {
    const res = await request(app()).post('/api/v1/query').set('Authorization', ALICE).set('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8').send('query=caf%C3%A9');
    assert.equal(res.status, 200);
    assert.deepEqual(pairs(up.requests[0]!.body), [['query', 'E[team-fruit](café)']]);
  });
});

describe('routing', () => {
  it('405 with Allow', async () => {
    let res = await request(app()).delete('/api/v1/query').set('Authorization', ALICE);
    assertEnvelope(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow, 'GET, POST');
    res = await request(app()).post('/api/v1/label/job/values').set('Authorization', ALICE).type('form').send('match[]=up');
    assertEnvelope(res, 405, 'method_not_allowed');
    assert.equal(res.headers.allow, 'GET');
    res = await request(app()).post('/federate').set('Authorization', ALICE);
    assertEnvelope(res, 405, 'method_not_allowed');
    assert.equal(up.requests.length, 0);
  });

  // Endpoints refused as policy (403 forbidden_endpoint) are tested in read-api.test.ts.
  for (const path of ['/api/v1/nope', '/api/v1/querys', '/prometheus/api/v1/query', '/tenants', '/tenants/team-fruit', '/api/v1/write2']) {
    it(`unknown route ${path} → 404 envelope`, async () => {
      const res = await request(app()).get(path).set('Authorization', ALICE);
      assertEnvelope(res, 404, 'unknown_route');
      assert.equal(up.requests.length, 0);
    });
  }

  it('unauthenticated: 401 before routing (even for unknown paths), probes answer without credentials', async () => {
    for (const path of ['/api/v1/query?query=up', '/api/v1/rules', '/nope']) {
      const res = await request(app()).get(path);
      assertEnvelope(res, 401, 'unauthenticated');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
    for (const [path, text] of [['/-/healthy', 'promfence is Healthy.\n'], ['/-/ready', 'promfence is Ready.\n']] as const) {
      const res = await request(app()).get(path);
      assert.equal(res.status, 200);
      assert.equal(res.text, text);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
    }
    assert.equal(up.requests.length, 0);
  });
});

describe('tenants', () => {
  it('narrowing by parameter (URL or body) and header; the narrowing input is not forwarded', async () => {
    await request(app()).post('/api/v1/query').set('Authorization', TOM).type('form').send('query=up&tenant=team-veggie').expect(200);
    await request(app()).get('/api/v1/query?query=up').set('Authorization', TOM).set('X-Promfence-Tenant', 'team-fruit').expect(200);
    assert.deepEqual(pairs(up.requests[0]!.body), [['query', 'E[team-veggie](up)']]);
    assert.deepEqual(pairs(up.requests[1]!.query), [['query', 'E[team-fruit](up)']]);
    assert.equal(up.requests[1]!.headers['x-promfence-tenant'], undefined);
  });

  it('narrowing outside the grant → 403; no grant → 403', async () => {
    assertEnvelope(await request(app()).get('/api/v1/query?query=up&tenant=team-veggie').set('Authorization', ALICE), 403, 'forbidden_tenant');
    assertEnvelope(await request(app()).get('/api/v1/query?query=up').set('Authorization', ALICE).set('X-Promfence-Tenant', 'team-fruit, team-veggie'), 403, 'forbidden_tenant');
    assertEnvelope(await request(app()).get('/api/v1/query?query=up').set('Authorization', 'Bearer nobody-token'), 403, 'no_tenants');
    assert.equal(up.requests.length, 0);
  });

  it('a malformed query is 400 before the tenant policy 403 (design order of checks)', async () => {
    assertEnvelope(await request(app()).get('/api/v1/query?query=a!!&tenant=team-veggie').set('Authorization', ALICE), 400, 'parse_error');
    assertEnvelope(await request(app()).get('/api/v1/query?query=a!!').set('Authorization', 'Bearer nobody-token'), 400, 'parse_error');
  });

  it('unrestricted requests are logged at info', async () => {
    const { logger, lines } = captureLogger();
    calls = [];
    const a = createApp(testConfig(up.url), { logger, authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
    await request(a).get('/api/v1/query?query=up').set('Authorization', OPS).expect(200);
    assert.deepEqual(pairs(up.requests[0]!.query), [['query', 'E[*](up)']]);
    await waitFor(() => lines.some((l) => l.msg === 'request'));
    const un = lines.find((l) => l.msg === 'unrestricted request');
    assert.ok(un);
    assert.equal(un.level, 'info');
    assert.equal(un.subject, 'ops');
  });
});

describe('header mode', () => {
  const headerMode = (mode: 'header' | 'label+header') => (c: Config) => {
    c.enforce.mode = mode;
  };

  it('sets X-Scope-OrgID a|b, strips the client one, validates with all tenants for the label part', async () => {
    const res = await request(app(headerMode('header'))).get('/api/v1/query?query=up').set('Authorization', TOM).set('X-Scope-OrgID', 'evil|team-fruit');
    assert.equal(res.status, 200);
    const r = up.requests[0]!;
    assert.equal(r.headers['x-scope-orgid'], 'team-fruit|team-veggie');
    assert.equal(r.rawHeaders.filter((h) => h.toLowerCase() === 'x-scope-orgid').length, 1);
    assert.deepEqual(pairs(r.query), [['query', 'E[*](up)']]);
  });

  it('label+header does both', async () => {
    await request(app(headerMode('label+header'))).get('/api/v1/labels').set('Authorization', ALICE).expect(200);
    const r = up.requests[0]!;
    assert.equal(r.headers['x-scope-orgid'], 'team-fruit');
    assert.deepEqual(pairs(r.query), [['match[]', '{tenant="team-fruit"}']]);
  });

  it('a custom tenant header name', async () => {
    await request(app((c) => {
      c.enforce.mode = 'header';
      c.enforce.header = 'THANOS-TENANT';
    })).get('/api/v1/query?query=up').set('Authorization', ALICE).set('THANOS-TENANT', 'team-veggie').expect(200);
    assert.equal(up.requests[0]!.headers['thanos-tenant'], 'team-fruit');
    assert.equal(up.requests[0]!.headers['x-scope-orgid'], undefined);
  });

  it('all tenants cannot be expressed: 403, unless narrowed', async () => {
    const res = await request(app(headerMode('header'))).get('/api/v1/query?query=up').set('Authorization', OPS);
    assert.match(String(assertEnvelope(res, 403, 'forbidden_tenant').error), /header mode needs explicit tenant IDs/);
    assert.equal(up.requests.length, 0);
    await request(app(headerMode('header'))).get('/api/v1/query?query=up&tenant=a&tenant=b').set('Authorization', OPS).expect(200);
    assert.equal(up.requests[0]!.headers['x-scope-orgid'], 'a|b');
  });

  it('tenant IDs outside Mimir charset are refused', async () => {
    const res = await request(app(headerMode('header'))).get('/api/v1/query?query=up').set('Authorization', 'Bearer weird-token');
    assertEnvelope(res, 403, 'forbidden_tenant');
    assert.equal(up.requests.length, 0);
  });

  it('buildinfo for all tenants in header mode goes without a tenant header', async () => {
    await request(app(headerMode('header'))).get('/api/v1/status/buildinfo').set('Authorization', OPS).expect(200);
    assert.equal(up.requests[0]!.headers['x-scope-orgid'], undefined);
  });
});

describe('upstream answers and failures', () => {
  it('upstream 422 JSON passes through unchanged', async () => {
    const body = '{"status":"error","errorType":"execution","error":"query processing would load too many samples"}';
    up.responder = (_req, res) => {
      res.writeHead(422, { 'Content-Type': 'application/json', 'X-Upstream': 'yes' });
      res.end(body);
    };
    try {
      const res = await request(app()).get('/api/v1/query?query=up').set('Authorization', ALICE);
      assert.equal(res.status, 422);
      assert.equal(res.text, body);
      assert.equal(res.headers['x-upstream'], 'yes');
      assert.match(String(res.headers['content-type']), /^application\/json/);
    } finally {
      up.responder = (await import('./kit.ts')).cannedResponder;
    }
  });

  it('upstream down → 502 upstream_unavailable envelope', async () => {
    // Port 1 (tcpmux) on loopback: nothing listens there, so the connection is refused. (A
    // closed ephemeral port could be reused by another test's server in the meantime.)
    const url = 'http://127.0.0.1:1';
    calls = [];
    const a = createApp(testConfig(url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
    const res = await request(a).get('/api/v1/query?query=up').set('Authorization', ALICE);
    assertEnvelope(res, 502, 'upstream_unavailable');
  });

  it('upstream slow → 504 upstream_timeout envelope, upstream request aborted', async () => {
    const slow = await startUpstream(() => {
      /* never answers */
    });
    try {
      calls = [];
      const a = createApp(testConfig(slow.url, (c) => (c.upstreams.prometheus.timeout_ms = 200)), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
      const t0 = Date.now();
      const res = await request(a).get('/api/v1/query?query=up').set('Authorization', ALICE);
      assertEnvelope(res, 504, 'upstream_timeout');
      assert.ok(Date.now() - t0 < 3000);
      await waitFor(() => slow.aborted === 1);
    } finally {
      await slow.close();
    }
  });

  it('upstream resets the connection → 502', async () => {
    const reset = await startUpstream((req) => req.socket.destroy());
    try {
      calls = [];
      const a = createApp(testConfig(reset.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
      assertEnvelope(await request(a).get('/api/v1/query?query=up').set('Authorization', ALICE), 502, 'upstream_unavailable');
    } finally {
      await reset.close();
    }
  });

  it('upstream dies mid-answer: the client connection is cut, not left hanging', async () => {
    const dying = await startUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
      res.write('{"status":"succ');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    try {
      calls = [];
      const a = createApp(testConfig(dying.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
      const t0 = Date.now();
      await assert.rejects(request(a).get('/api/v1/query?query=up').set('Authorization', ALICE).timeout(3000));
      assert.ok(Date.now() - t0 < 2500, 'must not wait for a timeout');
    } finally {
      await dying.close();
    }
  });

  it('streams a large response', async () => {
    const big = 'x'.repeat(1 << 20);
    const streaming = await startUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write(big.slice(0, 1000));
      setTimeout(() => res.end(big.slice(1000)), 20);
    });
    try {
      calls = [];
      const a = createApp(testConfig(streaming.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
      const res = await request(a).get('/federate?match[]=up').set('Authorization', ALICE);
      assert.equal(res.status, 200);
      assert.equal(res.text.length, big.length);
    } finally {
      await streaming.close();
    }
  });
});

describe('request id and access log', () => {
  it('keeps a sane incoming X-Request-Id, replaces a bad one', async () => {
    let res = await request(app()).get('/api/v1/query?query=up').set('Authorization', ALICE).set('X-Request-Id', 'abc-123.X_y');
    assert.equal(res.headers['x-request-id'], 'abc-123.X_y');
    assert.equal(up.requests[0]!.headers['x-request-id'], 'abc-123.X_y');
    res = await request(app()).get('/api/v1/query?query=up').set('Authorization', ALICE).set('X-Request-Id', 'bad id\\');
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    res = await request(app()).get('/nope').set('X-Request-Id', 'a'.repeat(129));
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('one access line per request, with subject, tenants, route, status, code; no secrets', async () => {
    const { logger, lines } = captureLogger();
    calls = [];
    const a = createApp(testConfig(up.url, (c) => (c.upstreams.prometheus.bearer_token = 'upstream-secret')), { logger, authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
    await request(a).get('/api/v1/query?query=secret_metric').set('Authorization', TOM).set('X-Request-Id', 'r1').expect(200);
    await request(a).get('/api/v1/query?query=a!!').set('Authorization', ALICE).set('X-Request-Id', 'r2').expect(400);
    await request(a).get('/api/v1/query').set('X-Request-Id', 'r3').expect(401);
    await waitFor(() => lines.filter((l) => l.msg === 'request').length === 3);
    const access = lines.filter((l) => l.msg === 'request');
    const r1 = access.find((l) => l.request_id === 'r1')!;
    assert.equal(r1.subject, 'tom');
    assert.equal(r1.tenants, 'team-fruit,team-veggie');
    assert.equal(r1.route, 'query');
    assert.equal(r1.method, 'GET');
    assert.equal(r1.status, 200);
    assert.equal(typeof r1.duration_ms, 'number');
    assert.equal(r1.code, undefined);
    const r2 = access.find((l) => l.request_id === 'r2')!;
    assert.equal(r2.status, 400);
    assert.equal(r2.code, 'parse_error');
    const r3 = access.find((l) => l.request_id === 'r3')!;
    assert.equal(r3.status, 401);
    assert.equal(r3.code, 'unauthenticated');
    assert.equal(r3.subject, undefined);
    const all = JSON.stringify(lines);
    for (const secret of ['tom-token', 'alice-token', 'upstream-secret', 'secret_metric']) assert.ok(!all.includes(secret), `log leaks ${secret}`);
  });
});

describe('client disconnect', () => {
  it('aborts the upstream request', async () => {
    const hang = await startUpstream(() => {
      /* never answers */
    });
    try {
      calls = [];
      const a = createApp(testConfig(hang.url), { logger: silentLogger(), authenticate: fakeAuth, enforcer: fakeEnforcer(calls) }).handler;
      const http = await import('node:http');
      const server = http.createServer(a).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const { port } = server.address() as { port: number };
      const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/query?query=up', headers: { Authorization: ALICE } });
      req.on('error', () => {});
      await waitFor(() => hang.requests.length === 1);
      req.destroy();
      await waitFor(() => hang.aborted === 1);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    } finally {
      await hang.close();
    }
  });
});
