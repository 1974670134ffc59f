/**
 * Grafana compatibility: the requests Grafana's Prometheus data source sends (clients.md,
 * "Grafana's Prometheus data source"), in its shapes, against a real scraping Prometheus 2.42
 * through promfence — Save & test, buildinfo detection, POST with custom parameters in the
 * URL, the metric browser and variable calls, the exemplar probe with millisecond
 * timestamps, the GET retry after a 405, rules loading, metadata for autocompletion — plus
 * the third-party `prometheus-query` client on a per-team data source URL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PrometheusDriver } from 'prometheus-query';
import type { RunningServer } from '../../src/server.ts';
import { startGateway } from '../kit/gateway.ts';
import { startLivePrometheus, type LivePrometheus } from '../kit/live-prometheus.ts';

let live: LivePrometheus;
let gw: RunningServer;
const ALICE = { authorization: 'Bearer fruit-token', 'user-agent': 'Grafana/11.3.0' };

before(async () => {
  live = await startLivePrometheus();
  gw = await startGateway(live.url, {
    alice: { token: 'fruit-token', tenants: ['team-fruit'] },
    tom: { password: 'tomato', tenants: ['team-fruit', 'team-veggie'] },
  });
});
after(async () => {
  await gw?.close();
  await live?.stop();
});

interface Answer { status: number; headers: Headers; body: { status: string; data: unknown; errorType?: string; code?: string } }

/** Grafana's POST: a form body with sorted keys; custom query parameters in the URL. */
async function post(path: string, form: Record<string, string | string[]>, urlParams = '', headers: Record<string, string> = ALICE): Promise<Answer> {
  const body = new URLSearchParams();
  for (const k of Object.keys(form).sort()) for (const v of ([] as string[]).concat(form[k]!)) body.append(k, v);
  const res = await fetch(`${gw.url}${path}${urlParams}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

async function get(path: string, headers: Record<string, string> = ALICE): Promise<Answer> {
  const res = await fetch(`${gw.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

const now = () => Math.floor(Date.now() / 1000);

describe('Grafana data source requests (alice, team-fruit)', () => {
  it('Save & test: POST query=1+1&time=4 answers the scalar [4,"2"]', async () => {
    const r = await post('/api/v1/query', { query: '1+1', time: '4' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { resultType: 'scalar', result: [4, '2'] });
  });

  it('backend detection: GET status/buildinfo answers a semver version', async () => {
    const r = await get('/api/v1/status/buildinfo');
    assert.equal(r.status, 200);
    assert.match(String((r.body.data as { version: string }).version), /^\d+\.\d+\.\d+/);
    // Alerting's Thanos probe: refused by default, as policy.
    assert.equal((await get('/api/v1/status/flags')).body.code, 'forbidden_endpoint');
  });

  it('range query by POST with custom parameters in the URL and float-second times', async () => {
    const t = now();
    const r = await post('/api/v1/query_range', { query: 'sum by (tenant) (shared_queue_depth)', start: String(t - 60), end: String(t), step: '0.5' }, '?dedup=true&partial_response=false');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const series = (r.body.data as { result: Array<{ metric: Record<string, string> }> }).result;
    assert.deepEqual(series.map((s) => s.metric['tenant']), ['team-fruit']);
  });

  it('metric browser: label names, __name__ values with limit, label values and series with match[]', async () => {
    const t = now();
    const names = await get(`/api/v1/label/__name__/values?start=${t - 3600}&end=${t}&limit=40000`);
    assert.deepEqual(names.body.data, ['ALERTS', 'ALERTS_FOR_STATE', 'fruit_apples_total', 'fruit_ripeness_seconds_bucket', 'fruit_ripeness_seconds_count', 'fruit_ripeness_seconds_sum', 'shared_queue_depth', 'tenant:fruit_apples:sum']);
    const labels = await post('/api/v1/labels', { start: String(t - 3600), end: String(t), limit: '40000', 'match[]': 'shared_queue_depth' });
    assert.ok((labels.body.data as string[]).includes('tenant'));
    const values = await get(`/api/v1/label/tenant/values?match[]=${encodeURIComponent('{__name__="shared_queue_depth"}')}&start=${t - 3600}&end=${t}`);
    assert.deepEqual(values.body.data, ['team-fruit']);
    const series = await post('/api/v1/series', { 'match[]': '{__name__!=""}', start: String(t - 3600), end: String(t) });
    const tenants = new Set((series.body.data as Array<Record<string, string>>).map((s) => s['tenant']));
    assert.deepEqual([...tenants], ['team-fruit']);
    const bare = await post('/api/v1/series', { 'match[]': 'up', start: String(t - 3600), end: String(t) });
    assert.deepEqual(bare.body.data, [], 'up carries no tenant label: visible only to unrestricted callers');
  });

  it('exemplars: the availability probe with millisecond times succeeds; exemplars are scoped', async () => {
    const t = now();
    const probe = await post('/api/v1/query_exemplars', { query: 'up', start: String((t - 60) * 1000), end: String(t * 1000) });
    assert.equal(probe.status, 200);
    assert.equal(probe.body.status, 'success');
    const own = await post('/api/v1/query_exemplars', { query: 'fruit_apples_total', start: String(t - 3600), end: String(t + 60) });
    const traces = (own.body.data as Array<{ exemplars: Array<{ labels: Record<string, string> }> }>).flatMap((s) => s.exemplars.map((e) => e.labels['trace_id']));
    assert.ok(traces.includes('fruit-trace'), JSON.stringify(own.body));
    const other = await post('/api/v1/query_exemplars', { query: '{__name__=~"fruit_apples_total|veggie_carrots_total"}', start: String(t - 3600), end: String(t + 60) });
    assert.equal(JSON.stringify(other.body).includes('veggie-trace'), false);
  });

  it('a POST answered 405 is retried as GET, with the same enforcement', async () => {
    const first = await post('/api/v1/label/tenant/values', {});
    assert.equal(first.status, 405);
    assert.equal(first.headers.get('allow'), 'GET');
    assert.equal(first.body.status, 'error');
    const retry = await get('/api/v1/label/tenant/values');
    assert.deepEqual(retry.body.data, ['team-fruit']);
    const meta = await post('/api/v1/metadata', {});
    assert.equal(meta.status, 405);
  });

  it('recording-rule expansion and the alert rule list: GET rules', async () => {
    const r = await get('/api/v1/rules');
    const rules = (r.body.data as { groups: Array<{ rules: Array<{ name: string; type: string }> }> }).groups.flatMap((g) => g.rules);
    assert.deepEqual(rules.map((x) => `${x.type}:${x.name}`).sort(), ['alerting:FruitStock', 'recording:tenant:fruit_apples:sum']);
  });

  it('autocompletion: GET metadata with a limit', async () => {
    const r = await get('/api/v1/metadata?limit=10000');
    assert.deepEqual(Object.keys(r.body.data as object).sort(), ['fruit_apples', 'fruit_ripeness_seconds', 'shared_queue_depth']);
  });

  it('query_result() variables and instant queries by POST with time', async () => {
    const r = await post('/api/v1/query', { query: 'count by (tenant) ({__name__=~".+"})', time: String(now()) });
    assert.deepEqual((r.body.data as { result: Array<{ metric: Record<string, string> }> }).result.map((x) => x.metric['tenant']), ['team-fruit']);
  });
});

describe('prometheus-query on per-team data source URLs (tom, basic auth)', () => {
  const driver = (team?: string) => new PrometheusDriver({ endpoint: team === undefined ? gw.url : `${gw.url}/tenants/${team}`, auth: { username: 'tom', password: 'tomato' }, preferPost: true });

  it('one data source per team, and one for both', async () => {
    for (const [team, want] of [['team-fruit', ['team-fruit']], ['team-veggie', ['team-veggie']], [undefined, ['team-fruit', 'team-veggie']]] as const) {
      const r = await driver(team).instantQuery('sum by (tenant) (shared_queue_depth)');
      assert.deepEqual(r.result.map((s: { metric: { labels: Record<string, string> } }) => s.metric.labels['tenant']).sort(), want);
      const alerts = await driver(team).alerts();
      assert.deepEqual([...new Set(alerts.map((a) => (a.labels as Record<string, string>)['tenant']))].sort(), want);
      const groups = await driver(team).rules();
      assert.ok(groups.length > 0);
      const meta = (await driver(team).metadata()) as Record<string, unknown>;
      assert.equal('platform_secret_build' in meta, false);
      assert.equal('fruit_apples' in meta, want.includes('team-fruit' as never));
    }
  });

  it('a team outside the grant is refused as a Prometheus error', async () => {
    const d = new PrometheusDriver({ endpoint: `${gw.url}/tenants/team-other`, auth: { username: 'tom', password: 'tomato' } });
    await assert.rejects(d.instantQuery('up'), (err: { httpStatus?: number; prometheus?: { code?: string } }) => {
      assert.equal(err.httpStatus, 403);
      assert.equal(err.prometheus?.code, 'forbidden_tenant');
      return true;
    });
  });
});
