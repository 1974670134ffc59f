/**
 * Limits, in process against a recording upstream: points per series and range of range
 * queries, tenants per request, per-subject token bucket and in-flight limit, per-tenant
 * bucket (memory store), CORS, and the slow-client head timeout. Every refusal is asserted
 * together with what the upstream did NOT receive.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { RunningGateway } from '../../src/runtime.ts';
import { cannedResponder, parseRawResponses, rawRequest, startUpstream, waitFor, type RecordingUpstream } from '../http/kit.ts';
import { get, opsYaml, runFromYaml, scrape, valueOf, type OpsUser } from './kit.ts';

const USERS: Record<string, OpsUser> = {
  alice: { token: 'rl-alice-token', tenants: ['team-fruit'] },
  bob: { token: 'rl-bob-token', tenants: ['team-veggie'] },
  tom: { token: 'tom-real-token', tenants: ['team-fruit', 'team-veggie'] },
};
const token = (u: string) => USERS[u]!.token;
/** What the upstream received, less the readiness probe's buildinfo requests. */
const forwarded = () => up.requests.filter((r) => r.path !== '/api/v1/status/buildinfo');

let up: RecordingUpstream;
const running: RunningGateway[] = [];

before(async () => {
  up = await startUpstream();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.shutdown()));
  up.responder = cannedResponder;
  up.requests.length = 0;
});
after(async () => {
  await up.close();
});

async function gateway(opts: { extra?: string; serverExtra?: string }): Promise<RunningGateway> {
  const gw = await runFromYaml(opsYaml(up.url, USERS, opts));
  running.push(gw);
  return gw;
}

function range(start: string, end: string, step: string): string {
  return `/api/v1/query_range?query=up&start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}&step=${encodeURIComponent(step)}`;
}

describe('range queries: limits.max_points and limits.max_range', () => {
  it('11,000 points per series pass, one more is 400 too_many_points (Prometheus rule), nothing forwarded', async () => {
    const gw = await gateway({});
    assert.equal((await get(gw.server.url + range('0', '110000', '10'), token('alice'))).status, 200);
    assert.equal((await get(gw.server.url + range('1970-01-01T00:00:00Z', '1970-01-02T06:33:20Z', '10s'), token('alice'))).status, 200);
    assert.equal(forwarded().length, 2);
    const r = await get(gw.server.url + range('0', '110010', '10'), token('alice'));
    assert.equal(r.status, 400);
    assert.equal(r.body['code'], 'too_many_points');
    assert.equal(r.body['errorType'], 'bad_data');
    assert.match(String(r.body['error']), /exceeded maximum resolution of 11,000 points per timeseries/);
    assert.equal(forwarded().length, 2);
  });

  it('max_points and max_range from the configuration; bad start/end/step are 400 invalid_parameter', async () => {
    const gw = await gateway({ extra: 'limits:\n  max_points: 100\n  max_range: 1h' });
    assert.equal((await get(gw.server.url + range('0', '1000', '10'), token('alice'))).status, 200);
    assert.equal((await get(gw.server.url + range('0', '1010', '10'), token('alice'))).body['code'], 'too_many_points');
    assert.equal((await get(gw.server.url + range('0', '3600', '60'), token('alice'))).status, 200);
    const long = await get(gw.server.url + range('0', '3660', '60'), token('alice'));
    assert.equal(long.body['code'], 'range_too_long');
    assert.match(String(long.body['error']), /limits\.max_range/);
    for (const [s, e, st, param] of [['x', '1', '1', 'start'], ['0', 'y', '1', 'end'], ['0', '10', 'z', 'step'], ['0', '10', '0', 'step'], ['10', '0', '1', 'end']]) {
      const r = await get(gw.server.url + range(s!, e!, st!), token('alice'));
      assert.equal(r.body['code'], 'invalid_parameter', `${s} ${e} ${st}`);
      assert.match(String(r.body['error']), new RegExp(`"${param}"`));
    }
    assert.equal(forwarded().length, 2);
  });
});

// Red-team finding: count_over_time(up[2h:1ms]) (7.2 million steps per series) passed every
// limit and cost seconds of upstream CPU per request.
describe('limits.max_subquery_points', () => {
  const q = (query: string) => `/api/v1/query?query=${encodeURIComponent(query)}`;
  const rangeOf = (query: string, start: string, end: string, step: string) => `/api/v1/query_range?query=${encodeURIComponent(query)}&start=${start}&end=${end}&step=${step}`;

  it('default 100,000 steps per series: [2h:1ms] is 400 too_many_points, nothing forwarded; everyday subqueries pass', async () => {
    const gw = await gateway({});
    const r = await get(gw.server.url + q('count_over_time(up[2h:1ms])'), token('alice'));
    assert.equal(r.status, 400);
    assert.equal(r.body['code'], 'too_many_points');
    assert.match(String(r.body['error']), /^a subquery evaluates 7,200,000 steps per series \(7200s at a 0\.001s step\), more than limits\.max_subquery_points \(100,000\); use a larger subquery step, a shorter range or fewer subqueries$/);
    assert.equal(forwarded().length, 0);
    for (const ok of ['max_over_time(rate(x[5m])[30d:1m])', 'rate(x[5m:1s])', 'max_over_time(x[1d:])']) {
      assert.equal((await get(gw.server.url + q(ok), token('alice'))).status, 200, ok);
    }
    assert.equal(forwarded().length, 3);
  });

  it('counts the range of the query and of enclosing subqueries (Prometheus widens the inner evaluation by them)', async () => {
    const gw = await gateway({ extra: 'limits:\n  max_subquery_points: 1000' });
    // 1000 steps of 1s alone; inside [1h:1m] it is evaluated over 1h + 1000s.
    assert.equal((await get(gw.server.url + q('max_over_time(x[1000s:1s])'), token('alice'))).status, 200);
    const nested = await get(gw.server.url + q('max_over_time(max_over_time(x[1000s:1s])[1h:1m])'), token('alice'));
    assert.equal(nested.body['code'], 'too_many_points');
    assert.match(String(nested.body['error']), /^the query's 2 subqueries evaluate 4,660 steps per series together \(the largest 4,600: 4600s at a 1s step\)/);
    // A range query of 600 s widens it too: (600 + 500) / 1 > 1000.
    assert.equal((await get(gw.server.url + rangeOf('max_over_time(x[500s:1s])', '0', '400', '10'), token('alice'))).status, 200);
    const wide = await get(gw.server.url + rangeOf('max_over_time(x[500s:1s])', '0', '600', '10'), token('alice'));
    assert.equal(wide.body['code'], 'too_many_points', JSON.stringify(wide));
    assert.match(String(wide.body['error']), /1,100 steps per series \(1100s with the query range at a 1s step\)/);
    // The same again: a cached validation keeps the subquery spans.
    assert.equal((await get(gw.server.url + rangeOf('max_over_time(x[500s:1s])', '0', '600', '10'), token('alice'))).body['code'], 'too_many_points');
    assert.equal(forwarded().length, 2);
  });

  it('bounds the sum over the subqueries of a query: many subqueries each under the limit are refused together', async () => {
    const gw = await gateway({ extra: 'limits:\n  max_subquery_points: 1000' });
    const one = 'max_over_time(x[600s:1s])';
    assert.equal((await get(gw.server.url + q(one), token('alice'))).status, 200);
    const two = await get(gw.server.url + q(`${one} + ${one}`), token('alice'));
    assert.equal(two.body['code'], 'too_many_points', JSON.stringify(two));
    assert.match(String(two.body['error']), /^the query's 2 subqueries evaluate 1,200 steps per series together \(the largest 600: 600s at a 1s step\)/);
    assert.equal(forwarded().length, 1);
  });

  it('0 turns the check off', async () => {
    const gw = await gateway({ extra: 'limits:\n  max_subquery_points: 0' });
    assert.equal((await get(gw.server.url + q('count_over_time(up[2h:1ms])'), token('alice'))).status, 200);
  });
});

describe('limits.max_tenants', () => {
  it('a caller reading more tenants than allowed at once gets 400 too_many_tenants and can narrow', async () => {
    const gw = await gateway({ extra: 'limits:\n  max_tenants: 1' });
    const r = await get(`${gw.server.url}/api/v1/query?query=up`, token('tom'));
    assert.equal(r.status, 400);
    assert.equal(r.body['code'], 'too_many_tenants');
    assert.match(String(r.body['error']), /\?tenant=<tenant> or the X-Promfence-Tenant header/);
    assert.equal(forwarded().length, 0);
    assert.equal((await get(`${gw.server.url}/api/v1/query?query=up&tenant=team-veggie`, token('tom'))).status, 200);
    assert.equal((await get(`${gw.server.url}/api/v1/query?query=up`, token('alice'))).status, 200);
  });
});

describe('rate and concurrency limits (memory store)', () => {
  it('token bucket per subject: the burst passes, then 429 rate_limited with Retry-After; other subjects are not affected', async () => {
    const gw = await gateway({ extra: 'limits:\n  rate: { requests_per_second: 0.01, burst: 2 }' });
    const q = `${gw.server.url}/api/v1/query?query=up`;
    assert.equal((await get(q, token('alice'))).status, 200);
    assert.equal((await get(q, token('alice'))).status, 200);
    const r = await get(q, token('alice'));
    assert.equal(r.status, 429);
    assert.equal(r.body['code'], 'rate_limited');
    assert.equal(r.body['errorType'], 'too_many_requests');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 100, String(retry));
    assert.equal((await get(q, token('bob'))).status, 200);
    assert.equal(forwarded().length, 3);
    const { metrics } = await scrape(gw.internal!.url);
    assert.equal(valueOf(metrics, 'promfence_rate_limited_total', { subject: 'alice' }), 1);
    assert.equal(valueOf(metrics, 'promfence_requests_total', { code: '429', decision: 'refused' }), 1);
  });

  it('token bucket per tenant: subjects reading the same tenant share it', async () => {
    const gw = await gateway({ extra: 'limits:\n  tenant_rate: { requests_per_second: 0.01, burst: 1 }' });
    assert.equal((await get(`${gw.server.url}/api/v1/query?query=up`, token('alice'))).status, 200);
    const r = await get(`${gw.server.url}/api/v1/query?query=up&tenant=team-fruit`, token('tom'));
    assert.equal(r.status, 429);
    assert.match(String(r.body['error']), /tenant "team-fruit"/);
    assert.equal((await get(`${gw.server.url}/api/v1/query?query=up&tenant=team-veggie`, token('tom'))).status, 200);
    assert.equal(forwarded().length, 2);
  });

  it('max_inflight_per_subject: a second concurrent request is 429 at once; the slot is free again after the first ends', async () => {
    const gw = await gateway({ extra: 'limits:\n  max_inflight_per_subject: 1' });
    let release: (() => void) | undefined;
    up.responder = (_req, res, rec) => {
      const answer = () => cannedResponder(_req, res, rec);
      if (rec.query.includes('slow')) release = answer;
      else answer();
    };
    const first = get(`${gw.server.url}/api/v1/query?query=slow`, token('alice'));
    await waitFor(() => release !== undefined, 10_000);
    const second = await get(`${gw.server.url}/api/v1/query?query=up`, token('alice'));
    assert.equal(second.status, 429);
    assert.equal(second.body['code'], 'rate_limited');
    assert.match(String(second.body['error']), /already has 1 requests in flight/);
    assert.equal(second.headers.get('retry-after'), '1');
    assert.equal((await get(`${gw.server.url}/api/v1/query?query=up`, token('bob'))).status, 200);
    release!();
    assert.equal((await first).status, 200);
    assert.equal((await get(`${gw.server.url}/api/v1/query?query=up`, token('alice'))).status, 200);
    assert.equal(forwarded().filter((r) => r.query.includes('up')).length, 2);
  });
});

describe('CORS and slow clients', () => {
  it('an allowed origin gets Access-Control-Allow-Origin; others none; a preflight needs no credentials', async () => {
    const gw = await gateway({ serverExtra: 'cors: { allowed_origins: ["https://grafana.example.com"] }' });
    const ok = await get(`${gw.server.url}/api/v1/query?query=up`, token('alice'), { Origin: 'https://grafana.example.com' });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://grafana.example.com');
    assert.match(String(ok.headers.get('access-control-expose-headers')), /X-Request-Id/);
    const other = await get(`${gw.server.url}/api/v1/query?query=up`, token('alice'), { Origin: 'https://evil.example.com' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(`${gw.server.url}/api/v1/query`, { method: 'OPTIONS', headers: { Origin: 'https://grafana.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' } });
    assert.equal(pre.status, 204);
    assert.match(String(pre.headers.get('access-control-allow-headers')), /Authorization/);
    assert.equal(forwarded().length, 2);
  });

  it('without allowed origins no CORS header is ever sent', async () => {
    const gw = await gateway({});
    const r = await get(`${gw.server.url}/api/v1/query?query=up`, token('alice'), { Origin: 'https://grafana.example.com' });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  it('a client that does not finish its request head within server.headers_timeout gets 408 request_timeout', async () => {
    const gw = await gateway({ serverExtra: 'headers_timeout: 1s\nrequest_timeout: 2s' });
    const raw = await rawRequest(gw.server.url, `GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token('alice')}\r\n`);
    const [res] = parseRawResponses(raw);
    assert.equal(res?.status, 408);
    assert.equal((JSON.parse(res!.body) as { code: string }).code, 'request_timeout');
    assert.equal(forwarded().length, 0);
  });
});
