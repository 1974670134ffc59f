/**
 * Differential oracle (issue #11): two real Prometheus 2.42 servers over the same generated
 * data — one holding every tenant's series and the untenanted platform series, behind
 * promfence; one holding ONLY the series of tenant set S (the oracle). For a caller granted
 * S, every answer promfence gives must equal the oracle's answer to the ORIGINAL query, or
 * both must reject. One documented, intended difference is counted apart: a query that names
 * only foreign tenants is refused by promfence (403 `forbidden_tenant`) where the oracle
 * answers with nothing (an empty vector or matrix, or an `absent()` series) — nothing of a
 * foreign tenant is in that answer either way.
 *
 * Queries (≥ 200): realistic dashboard shapes over every metric family, plus tricky ones
 * (tenant matchers and regexes, `__name__` regexes, `label_replace` onto the tenant label,
 * `absent`, `or vector()`, `on()` joins, subqueries, `@`, `offset`). Each runs as an instant
 * query at three times and as a range query, by GET and by POST; label names, label values,
 * series and federate are compared the same way. S = one tenant, then two. The counts are
 * printed as diagnostics and quoted in docs/security.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/server.ts';
import { normalizeAnswer, sameValuesIgnoringSeries, type AnswerData } from '../kit/compare.ts';
import { startGateway } from '../kit/gateway.ts';
import { mapPool, promPost, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

const STEP = 15;
const END = Math.floor(Date.now() / 1000 / STEP) * STEP;
const HOURS = 3;

const COUNTERS = ['http_requests_total', 'fruit_harvested_total', 'veggie_harvested_total', 'node_cpu_seconds_total', 'container_cpu_usage_seconds_total', 'process_cpu_seconds_total', 'node_network_receive_bytes_total', 'http_request_duration_seconds_count'];
const GAUGES = ['up', 'fruit_basket_items', 'node_load1', 'node_memory_MemTotal_bytes', 'kube_pod_info', 'container_memory_working_set_bytes', 'process_resident_memory_bytes', 'node_filesystem_avail_bytes'];

const TEMPLATES_ANY = [
  (m: string) => m,
  (m: string) => `count(${m})`,
  (m: string) => `count by (tenant) (${m})`,
  (m: string) => `group by (job, tenant) (${m})`,
  (m: string) => `${m} offset 30m`,
  (m: string) => `count(${m}) or vector(0)`,
  (m: string) => `absent(${m})`,
  (m: string) => `${m}{tenant=~".+"}`,
  (m: string) => `${m}{tenant!="team-fruit"}`,
  (m: string) => `label_replace(${m}, "tenant", "forged", "", "")`,
  (m: string) => `max_over_time(${m}[10m])`,
];
const TEMPLATES_COUNTER = [
  (m: string) => `sum by (job) (rate(${m}[5m]))`,
  (m: string) => `increase(${m}[1h])`,
  (m: string) => `sum(rate(${m}[5m])) - sum(rate(${m}[5m] offset 1h))`,
];
const TEMPLATES_GAUGE = [
  (m: string) => `avg by (job) (${m})`,
  (m: string) => `${m} > 0`,
  (m: string) => `quantile_over_time(0.9, ${m}[30m])`,
];

const TRICKY = [
  '{__name__=~".+"}',
  'count({__name__=~".+"})',
  'count by (__name__) ({__name__=~".+"})',
  'count by (tenant) ({__name__=~".+"})',
  'group by (tenant, job) ({job=~".+"})',
  'topk(3, count by (__name__, tenant) ({__name__=~".+"}))',
  '{__name__=~"node_.*"}',
  '{__name__=~"veggie_.*|fruit_.*"}',
  'up{tenant="team-veggie"}',
  'up{tenant="team-fruit"}',
  'up{tenant=~"team-veggie"}',
  'up{tenant=~"team-veggie|team-platform"}',
  'up{tenant=~"team-fruit|team-veggie"}',
  'up{tenant=~"team-v.*"}',
  'up{tenant=~"(?i)TEAM-VEGGIE"}',
  'up{tenant=~".*"}',
  'up{tenant!~"team-fruit"}',
  'up{tenant=""}',
  'up{tenant!=""}',
  'absent(up{tenant="team-veggie"})',
  'absent(up{job="market"})',
  'absent(nonexistent_metric)',
  'absent_over_time(up{job="missing"}[5m])',
  'count(up) or vector(1)',
  'vector(1)',
  '1 + 1',
  'time()',
  'scalar(count(up))',
  'scalar(count(up)) * fruit_basket_items',
  'topk(scalar(count(veggie_harvested_total)), fruit_basket_items)',
  'quantile(scalar(count(up)) / 100, fruit_basket_items)',
  'sum(up) by (tenant) / on() group_left sum(up)',
  'up * on(instance) group_left(nodename) node_load1',
  'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
  'up and on() vector(1)',
  'up unless on(job) up{job="shop"}',
  'count(up) by (job) > bool 1',
  'label_replace(up{job="market"}, "tenant", "team-fruit", "", "")',
  'label_replace(up, "tenant", "$1", "job", "(.*)")',
  'label_join(up, "tenant", "-", "job", "instance")',
  'sort_desc(sum by (tenant) (rate(http_requests_total[5m])))',
  'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))',
  'histogram_quantile(0.5, sum by (le, tenant) (rate(http_request_duration_seconds_bucket[10m])))',
  'max_over_time(rate(http_requests_total[5m])[30m:1m])',
  'min_over_time(sum by (instance) (rate(http_requests_total[5m]))[1h:5m] offset 10m)',
  'fruit_basket_items @ end()',
  'sum(fruit_basket_items @ start())',
  'rate(http_requests_total[5m] @ end() offset 1h)',
  'count_values("v", up)',
  'count_values("tenant", up)',
  'holt_winters(fruit_basket_items[30m], 0.5, 0.5)',
  'predict_linear(node_filesystem_avail_bytes[30m], 3600)',
  'changes(kube_pod_status_phase[1h])',
  'sum by (namespace, pod) (container_memory_working_set_bytes) / on(namespace, pod) group_left sum by (namespace, pod) (kube_pod_container_resource_limits)',
  'count(count by (tenant, __name__) ({__name__=~"http_.*"})) by (tenant)',
  '(up == 1) or (fruit_basket_items > 1000)',
  '-up',
  'up ^ 2 - up',
  'timestamp(up) - time()',
  '# comment\ncount(up)',
  'count(\n  up # trailing comment\n)',
  'sum without (instance) (http_requests_total{code=~"5.."})',
  'rate(http_requests_total{method!="GET", code!~"2.."}[5m])',
  'deriv(fruit_basket_items[15m])',
  'resets(http_requests_total[1h])',
  'last_over_time(kube_pod_info[10m])',
  'group(up) by (job)',
  'count(up offset 2h)',
  'count(up offset -1m)',
  'sum_over_time(up[1h:])',
  'count({tenant="team-fruit", __name__=~"fruit_.*|veggie_.*"})',
  'count({__name__="up", tenant=~"team-fruit|team-veggie|team-platform"})',
];

const QUERIES: readonly string[] = [
  ...[...COUNTERS, ...GAUGES].flatMap((m) => TEMPLATES_ANY.map((t) => t(m))),
  ...COUNTERS.flatMap((m) => TEMPLATES_COUNTER.map((t) => t(m))),
  ...GAUGES.flatMap((m) => TEMPLATES_GAUGE.map((t) => t(m))),
  ...TRICKY,
];

const MATCHERS = ['up', '{__name__=~".+"}', '{job=~".+"}', '{tenant="team-veggie"}', '{__name__=~"fruit_.*|veggie_.*"}', 'http_requests_total{code="500"}', '{tenant=~".*", job="node"}'];
const LABELS = ['tenant', 'job', '__name__', 'instance', 'veggie', 'mode'];

interface Answer {
  status: number;
  kind: 'ok' | 'error';
  data: unknown;
  code?: string;
}

function isEmptyData(data: unknown): boolean {
  const d = data as AnswerData | undefined;
  if (d === undefined) return false;
  if (d.resultType === 'vector' || d.resultType === 'matrix') {
    const r = d.result as Array<{ value?: [number, string]; values?: Array<[number, string]> }>;
    // Empty, or absent()'s single series of 1s (its labels are the query's own matchers).
    const ones = (s: (typeof r)[number]) => (s.value ? s.value[1] === '1' : (s.values ?? []).every(([, v]) => v === '1'));
    return r.length === 0 || (r.length === 1 && ones(r[0] as (typeof r)[number]));
  }
  return false;
}

async function gatewayCall(gw: RunningServer, token: string, method: 'GET' | 'POST', path: string, params: Array<[string, string]>): Promise<Answer> {
  const qs = new URLSearchParams(params).toString();
  const res = await fetch(method === 'GET' ? `${gw.url}${path}?${qs}` : `${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(method === 'POST' ? { body: qs } : {}),
  });
  const text = await res.text();
  if (path === '/federate' && res.ok) return { status: res.status, kind: 'ok', data: federateLines(text) };
  const body = JSON.parse(text) as { status: string; data?: unknown; code?: string };
  return { status: res.status, kind: body.status === 'success' ? 'ok' : 'error', data: body.data, ...(body.code ? { code: body.code } : {}) };
}

async function oracleCall(prom: RunningPrometheus, path: string, params: Array<[string, string]>): Promise<Answer> {
  if (path === '/federate' || path.startsWith('/api/v1/label/')) {
    const res = await fetch(`${prom.url}${path}?${new URLSearchParams(params).toString()}`);
    if (path !== '/federate') {
      const body = JSON.parse(await res.text()) as { status: string; data?: unknown };
      return { status: res.status, kind: body.status === 'success' ? 'ok' : 'error', data: body.data };
    }
    const text = await res.text();
    return { status: res.status, kind: res.ok ? 'ok' : 'error', data: res.ok ? federateLines(text) : text };
  }
  const grouped: Record<string, string[]> = {};
  for (const [k, v] of params) (grouped[k] ??= []).push(v);
  const r = await promPost(prom.url, path, grouped);
  return { status: r.httpStatus, kind: r.body.status === 'success' ? 'ok' : 'error', data: r.body.data };
}

/** Federation text as a sorted list of sample lines (comments dropped). */
function federateLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).sort();
}

function normalize(path: string, data: unknown): unknown {
  if (Array.isArray(data)) {
    // labels, label values, federate lines: order-free; series: objects sorted by JSON.
    return data.map((x) => (typeof x === 'string' ? x : JSON.stringify(Object.fromEntries(Object.entries(x as Record<string, string>).sort())))).sort();
  }
  if (path.startsWith('/api/v1/query')) return normalizeAnswer(data as AnswerData);
  return data;
}

type Verdict = 'same' | 'both_reject' | 'forbidden_empty';

function judge(path: string, query: string, gw: Answer, oracle: Answer): Verdict {
  if (gw.kind === 'error' && oracle.kind === 'error') return 'both_reject';
  if (gw.kind === 'error' && gw.code === 'forbidden_tenant' && oracle.kind === 'ok' && (isEmptyData(oracle.data) || (Array.isArray(oracle.data) && oracle.data.length === 0))) return 'forbidden_empty';
  assert.equal(gw.kind, oracle.kind, `${path} ${JSON.stringify(query)}: promfence ${gw.kind} (${gw.status} ${gw.code ?? ''}) vs oracle ${oracle.kind} (${oracle.status})`);
  const a = normalize(path, gw.data);
  const b = normalize(path, oracle.data);
  if (/\b(topk|bottomk)\b/.test(query) && path.startsWith('/api/v1/query') && sameValuesIgnoringSeries(a as AnswerData, b as AnswerData)) return 'same';
  assert.deepEqual(a, b, `${path} ${JSON.stringify(query)}: answers differ`);
  return 'same';
}

let full: RunningPrometheus;
let gw: RunningServer;

before(async () => {
  full = await startPrometheus({ end: END, hours: HOURS });
  gw = await startGateway(full.url, {
    alice: { token: 'fruit-token', tenants: ['team-fruit'] },
    tom: { token: 'tomato-token', tenants: ['team-fruit', 'team-veggie'] },
  });
});
after(async () => {
  await gw?.close();
  await full?.stop();
});

for (const [subject, token, tenants] of [['alice', 'fruit-token', ['team-fruit']], ['tom', 'tomato-token', ['team-fruit', 'team-veggie']]] as const) {
  describe(`oracle: ${subject} (${tenants.join(', ')}) through promfence = a Prometheus holding only ${tenants.join(' and ')}`, { timeout: 600_000 }, () => {
    let oracle: RunningPrometheus;
    before(async () => {
      oracle = await startPrometheus({ end: END, hours: HOURS, tenants });
    });
    after(async () => {
      await oracle?.stop();
    });

    it(`${QUERIES.length} queries: instant at three times and range, GET and POST`, async (t) => {
      assert.ok(QUERIES.length >= 200, `only ${QUERIES.length} queries`);
      const forms: Array<[string, Array<[string, string]>]> = [
        ['/api/v1/query', [['time', String(END)]]],
        ['/api/v1/query', [['time', String(END - 1800)]]],
        ['/api/v1/query', [['time', String(END - HOURS * 3600 + 600)]]],
        ['/api/v1/query_range', [['start', String(END - 3600)], ['end', String(END)], ['step', '60']]],
      ];
      const counts: Record<Verdict, number> = { same: 0, both_reject: 0, forbidden_empty: 0 };
      const rejected = new Set<string>();
      const jobs = QUERIES.flatMap((q) => forms.flatMap(([path, extra]) => (['GET', 'POST'] as const).map((m) => ({ q, path, extra, m }))));
      await mapPool(jobs, 4, async ({ q, path, extra, m }) => {
        const params: Array<[string, string]> = [['query', q], ...extra];
        const [a, b] = await Promise.all([gatewayCall(gw, token, m, path, params), oracleCall(oracle, path, params)]);
        const v = judge(path, q, a, b);
        counts[v]++;
        if (v !== 'same') rejected.add(`${v}: ${q}`);
      });
      t.diagnostic(`${subject}: ${jobs.length} comparisons of ${QUERIES.length} queries — ${counts.same} identical, ${counts.both_reject} rejected by both, ${counts.forbidden_empty} refused by promfence (foreign tenant) where the oracle answered empty`);
      t.diagnostic(`${subject}: not identical: ${JSON.stringify([...rejected].sort())}`);
      assert.equal(counts.same + counts.both_reject + counts.forbidden_empty, jobs.length);
      assert.ok(counts.same > jobs.length * 0.8);
    });

    it('label names, label values, series and federate, GET and POST', async (t) => {
      const jobs: Array<{ path: string; params: Array<[string, string]>; methods: ReadonlyArray<'GET' | 'POST'>; what: string }> = [];
      jobs.push({ path: '/api/v1/labels', params: [], methods: ['GET', 'POST'], what: 'labels' });
      for (const m of MATCHERS) {
        jobs.push({ path: '/api/v1/labels', params: [['match[]', m]], methods: ['GET', 'POST'], what: `labels ${m}` });
        jobs.push({ path: '/api/v1/series', params: [['match[]', m]], methods: ['GET', 'POST'], what: `series ${m}` });
        jobs.push({ path: '/federate', params: [['match[]', m]], methods: ['GET'], what: `federate ${m}` });
        for (const l of LABELS) jobs.push({ path: `/api/v1/label/${l}/values`, params: [['match[]', m]], methods: ['GET'], what: `values ${l} ${m}` });
      }
      for (const l of LABELS) jobs.push({ path: `/api/v1/label/${l}/values`, params: [], methods: ['GET'], what: `values ${l}` });
      jobs.push({ path: '/api/v1/series', params: [['match[]', 'up'], ['match[]', 'fruit_basket_items']], methods: ['GET', 'POST'], what: 'series, two match[]' });
      const counts: Record<Verdict, number> = { same: 0, both_reject: 0, forbidden_empty: 0 };
      let n = 0;
      await mapPool(jobs.flatMap((j) => j.methods.map((m) => ({ ...j, m }))), 4, async (j) => {
        // The oracle holds only S: an un-scoped labels/values call is its whole answer.
        const [a, b] = await Promise.all([gatewayCall(gw, token, j.m, j.path, j.params), oracleCall(oracle, j.path, j.params)]);
        counts[judge(j.path, j.what, a, b)]++;
        n++;
      });
      t.diagnostic(`${subject}: ${n} metadata comparisons — ${counts.same} identical, ${counts.both_reject} rejected by both, ${counts.forbidden_empty} refused by promfence where the oracle answered empty`);
      assert.ok(counts.same > n * 0.8);
    });
  });
}
