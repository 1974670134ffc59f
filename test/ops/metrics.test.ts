/**
 * Metrics on the internal listener: exact values after a known request mix, read with a
 * Prometheus text parser (parse-prometheus-text-format) and linted by promtool 2.42; never
 * served on the public listener; label cardinality bounded by the configuration.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { principal, tenantList, tenantPolicy } from '../../src/access/index.ts';
import { newState } from '../../src/http/state.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import type { RunningGateway } from '../../src/runtime.ts';
import { VERSION } from '../../src/version.ts';
import { startUpstream, testConfig, type RecordingUpstream } from '../http/kit.ts';
import { requirePrometheus } from '../kit/prometheus.ts';
import { get, opsYaml, runFromYaml, scrape, startScrapingPrometheus, valueOf, type Metrics, type ScrapingPrometheus } from './kit.ts';

const ALICE = 'metrics-alice-token';
const TOM = 'tomato-token';

let up: RecordingUpstream;
let gw: RunningGateway;
let metrics: Metrics;
let text: string;
let prom: ScrapingPrometheus;

before(async () => {
  up = await startUpstream();
  gw = await runFromYaml(opsYaml(up.url, { alice: { token: ALICE, tenants: ['team-fruit'] }, tom: { token: TOM, tenants: ['team-fruit', 'team-veggie'] } }));
  const base = gw.server.url;
  const q = (query: string, extra = '') => `${base}/api/v1/query?query=${encodeURIComponent(query)}${extra}`;
  const mix: Array<[string, string | undefined, number]> = [
    [q('up'), ALICE, 200],
    [q('up'), ALICE, 200],
    [q('sum('), ALICE, 400],
    [q('up', '&tenant=team-veggie'), ALICE, 403],
    [q('up'), undefined, 401],
    [q('up'), 'wrong-token', 401],
    [`${base}/api/v1/nope`, ALICE, 404],
    [`${base}/metrics`, ALICE, 403],
    [`${base}/metrics`, undefined, 401],
    [`${base}/-/ready`, undefined, 200],
  ];
  await gw.readiness.probeNow();
  for (const [url, token, status] of mix) assert.equal((await get(url, token)).status, status, url);
  const r = await fetch(`${base}/api/v1/query_range`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOM}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'query=up&start=0&end=60&step=15',
  });
  assert.equal(r.status, 200);
  await r.text();
  ({ metrics, text } = await scrape(gw.internal!.url));
  // Histograms through a real Prometheus scraping the internal listener: wait until a scrape
  // after the mix landed (11 requests counted).
  prom = await startScrapingPrometheus([new URL(gw.internal!.url).host]);
  const end = Date.now() + 30_000;
  while ((await prom.query('sum(promfence_requests_total)'))[0]?.value !== 11) {
    if (Date.now() > end) throw new Error('Prometheus did not scrape the request mix');
    await new Promise((r) => setTimeout(r, 200));
  }
});
after(async () => {
  await prom?.stop();
  await gw.shutdown();
  await up.close();
});

describe('metrics after a known request mix', () => {
  it('promfence_requests_total by route, method, code and decision', () => {
    const n = (labels: Record<string, string>) => valueOf(metrics, 'promfence_requests_total', labels);
    assert.equal(n({ route: 'query', method: 'GET', code: '200', decision: 'allowed' }), 2);
    assert.equal(n({ route: 'query', code: '400', decision: 'refused' }), 1);
    assert.equal(n({ route: 'query', code: '403', decision: 'denied' }), 1);
    assert.equal(n({ route: 'none', code: '401', decision: 'denied' }), 3);
    assert.equal(n({ route: 'unknown', code: '404', decision: 'refused' }), 1);
    // /metrics on the public listener: refused by the endpoint policy (403, a denial).
    assert.equal(n({ code: '403', decision: 'denied' }), 2);
    assert.equal(n({ route: 'ready', code: '200', decision: 'allowed' }), 1);
    assert.equal(n({ route: 'query_range', method: 'POST', code: '200', decision: 'allowed' }), 1);
    assert.equal(n({}), 11);
  });

  it('durations (read by a Prometheus scraping /metrics): one observation per request, upstream ones per forwarded request', async () => {
    const one = async (q: string) => (await prom.query(q))[0]?.value;
    assert.equal(await one('promfence_request_duration_seconds_count{route="query"}'), 4);
    assert.equal(await one('promfence_request_duration_seconds_bucket{route="query",le="+Inf"}'), 4);
    assert.equal(await one('sum(promfence_request_duration_seconds_count)'), 11);
    assert.equal(await one('promfence_upstream_request_duration_seconds_count{route="query"}'), 2);
    assert.equal(await one('promfence_upstream_request_duration_seconds_count{route="query_range"}'), 1);
    assert.equal(await one('sum(promfence_upstream_request_duration_seconds_count)'), 3);
    assert.equal(await one('count(promfence_requests_total)'), 8);
  });

  it('refusals by code, auth failures by method and reason', () => {
    assert.equal(valueOf(metrics, 'promfence_enforcement_refusals_total', { code: 'parse_error' }), 1);
    assert.equal(valueOf(metrics, 'promfence_enforcement_refusals_total', { code: 'forbidden_tenant' }), 1);
    assert.equal(valueOf(metrics, 'promfence_enforcement_refusals_total', { code: 'unknown_route' }), 1);
    assert.equal(valueOf(metrics, 'promfence_enforcement_refusals_total', { code: 'forbidden_endpoint' }), 1);
    assert.equal(valueOf(metrics, 'promfence_enforcement_refusals_total', { code: 'unauthenticated' }), 3);
    assert.equal(valueOf(metrics, 'promfence_auth_failures_total', { method: 'none', reason: 'no_credentials' }), 2);
    assert.equal(valueOf(metrics, 'promfence_auth_failures_total', { method: 'bearer_tokens', reason: 'invalid_bearer_token' }), 1);
  });

  it('tenant requests, in-flight, cache, reload and build info', () => {
    assert.equal(valueOf(metrics, 'promfence_tenant_requests_total', { tenant: 'team-fruit' }), 3);
    assert.equal(valueOf(metrics, 'promfence_tenant_requests_total', { tenant: 'team-veggie' }), 1);
    assert.equal(valueOf(metrics, 'promfence_inflight_requests'), 0);
    // up (alice): prepare miss, apply miss; again: 2 hits; sum(: miss; narrowed to veggie:
    // prepare hit; query_range up (tom): prepare hit, apply miss.
    assert.equal(valueOf(metrics, 'promfence_enforcement_cache_hits_total'), 4);
    assert.equal(valueOf(metrics, 'promfence_enforcement_cache_misses_total'), 4);
    assert.equal(valueOf(metrics, 'promfence_config_last_reload_successful'), 1);
    assert.ok(valueOf(metrics, 'promfence_config_last_reload_success_timestamp_seconds') > 1.6e9);
    assert.equal(valueOf(metrics, 'promfence_build_info', { version: VERSION }), 1);
    assert.equal(valueOf(metrics, 'promfence_rate_limited_total'), 0);
  });

  it('labels are route names, never raw paths', () => {
    const routes = new Set(metrics.get('promfence_requests_total')!.samples.map((s) => s.labels['route']));
    assert.deepEqual([...routes].sort(), ['none', 'query', 'query_range', 'ready', 'unknown']);
    assert.ok(!text.includes('/api/v1/nope'));
  });

  it('promtool check metrics accepts the exposition', () => {
    const { promtool } = requirePrometheus();
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  });

  it('the internal listener serves no gateway route, and refuses other methods on /metrics', async () => {
    assert.equal((await get(`${gw.internal!.url}/api/v1/query?query=up`, ALICE)).body['code'], 'unknown_route');
    const r = await fetch(`${gw.internal!.url}/metrics`, { method: 'POST' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    await r.text();
  });
});

describe('label bounds', () => {
  it('tenants and subjects not named in the configuration are counted as other', async () => {
    const m = createMetrics('test', { defaultMetrics: false });
    m.configure(testConfig('http://127.0.0.1:1'));
    const finish = (subject: string, tenants: string[], errorCode?: string) => {
      const s = newState('id');
      s.principal = principal(subject, 'jwt', { tenants });
      s.route = 'query';
      s.policy = tenantPolicy('tenant', tenantList(tenants));
      if (errorCode !== undefined) s.errorCode = errorCode;
      m.hook({ state: s, method: 'GET', status: errorCode === undefined ? 200 : 429, aborted: false, durationMs: 1 });
    };
    finish('alice', ['team-fruit', 'from-a-jwt-claim']);
    finish('jwt-subject-1', ['claim-1'], 'rate_limited');
    finish('jwt-subject-2', ['claim-2'], 'rate_limited');
    finish('alice', ['team-fruit'], 'rate_limited');
    const { metrics: got } = await (async () => {
      const text2 = await m.registry.metrics();
      const { default: parse } = await import('parse-prometheus-text-format');
      const map: Metrics = new Map(parse(text2).map((f) => [f.name, { type: f.type, samples: f.metrics.map((x) => ({ labels: x.labels ?? {}, value: Number(x.value) })) }]));
      return { metrics: map };
    })();
    assert.equal(valueOf(got, 'promfence_tenant_requests_total', { tenant: 'team-fruit' }), 2);
    assert.equal(valueOf(got, 'promfence_tenant_requests_total', { tenant: 'other' }), 3);
    assert.equal(valueOf(got, 'promfence_rate_limited_total', { subject: 'other' }), 2);
    assert.equal(valueOf(got, 'promfence_rate_limited_total', { subject: 'alice' }), 1);
    assert.equal(got.get('promfence_tenant_requests_total')!.samples.length, 2);
  });
});
