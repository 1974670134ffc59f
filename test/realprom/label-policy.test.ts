/**
 * Label policies against a real Prometheus 2.42 oracle (issue #12).
 *
 * The oracle is a Prometheus whose TSDB holds exactly the series an access policy of four
 * OR-ed selectors admits, backfilled from the same data generator (scripts/generate-data.ts),
 * filtered by a predicate written by hand here (not promfence's matcher code). promfence's
 * rewrite of each query for that policy, run on the all-tenant Prometheus, must answer
 * exactly as the original query on the oracle — instant (at the last sample) and range (last
 * hour, step 60 s; for real-world texts only those whose instant answer holds data) — or be refused with `unsupported_policy`; refusals are counted by
 * construct and must be the expected ones. Queries: the engine's equivalence table, this
 * file's own table (absent, timestamp, scalar parameters, subqueries), and every text of the
 * real-world corpus that Prometheus 2.42 accepts. Then `match[]`: series, label names and
 * label values.
 *
 * topk()/bottomk() choose among equal values by Go map order: compared by values when the
 * series differ.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { explainPolicy, policyAdmits } from '../../src/access/index.ts';
import { applyPolicyEach, enforceQuery, policySelectors, prepareSeriesSelector, PromQLError } from '../../src/enforce/index.ts';
import { generateOpenMetrics } from '../../scripts/generate-data.ts';
import { CASES } from '../kit/equivalence-cases.ts';
import { loadRealWorldQueries } from '../kit/corpus.ts';
import { normalizeAnswer, sameAnswerApprox, sameValuesIgnoringSeries, type AnswerData } from '../kit/compare.ts';
import { mapPool, promPost, startPrometheus, type PromResponse, type RunningPrometheus } from '../kit/prometheus.ts';
import { startGateway } from '../kit/gateway.ts';
import type { RunningServer } from '../../src/server.ts';

/** The policy under test, as configuration would list it. */
export const POLICY_SELECTORS = [
  '{tenant="team-fruit", job="shop"}',
  '{tenant="team-veggie", replica="a"}',
  '{tenant="team-fruit", job="farm", fruit!="cherry"}',
  '{tenant="team-fruit", job=~"kube.*", pod!="pod-2"}',
  '{tenant="team-fruit", job="node", mode!="iowait"}',
];

/** The same policy written by hand: which generated series the oracle holds. */
export function oracleAdmits(l: Readonly<Record<string, string>>): boolean {
  return (l['tenant'] === 'team-fruit' && l['job'] === 'shop')
    || (l['tenant'] === 'team-veggie' && l['replica'] === 'a')
    || (l['tenant'] === 'team-fruit' && l['job'] === 'farm' && l['fruit'] !== 'cherry')
    || (l['tenant'] === 'team-fruit' && (l['job'] ?? '').startsWith('kube') && l['pod'] !== 'pod-2')
    || (l['tenant'] === 'team-fruit' && l['job'] === 'node' && l['mode'] !== 'iowait');
}

const policy = explainPolicy({ label: 'tenant', tenants: [], selectors: POLICY_SELECTORS });

/** Queries of this issue's own table; `${END}` is the last sample time. */
const POLICY_CASES: readonly string[] = [
  'up',
  '{job="shop"}',
  '{__name__=~"http_.+", code="200"}',
  'http_requests_total{tenant="team-veggie"}',
  'absent(up{job="farm"})',
  'absent(up{job="market", replica="b"})',
  'absent(up{job="market", replica="a"})',
  'absent(fruit_basket_items{fruit="cherry"})',
  'absent(fruit_basket_items{fruit="apple"})',
  'absent(nonexistent{tenant="team-fruit", job="x$1"})',
  'absent_over_time(fruit_basket_items{fruit="cherry"}[10m])',
  'absent_over_time(up{job="shop"}[10m])',
  'absent((up{job="farm"}))',
  'absent(sum(up{job="farm"}))',
  'timestamp(up)',
  'timestamp((http_requests_total{code="500"}))',
  'timestamp(sum(up))',
  'quantile_over_time(scalar(count(up)) / 10, http_requests_total[10m])',
  'predict_linear(fruit_basket_items[30m], scalar(max(up)) * 600)',
  'max_over_time(sum by (tenant) (rate(http_requests_total[5m]))[30m:1m])',
  'rate(http_requests_total[5m] offset 10m) - rate(http_requests_total[5m] @ ${END})',
  'last_over_time({job=~"shop|farm"}[10m])',
  'count_over_time({tenant=~"team-.*"}[5m])',
  'sum by (replica) (rate(http_requests_total[5m]))',
  'label_replace(rate(http_requests_total[5m]), "x", "$1", "code", "(.).*")',
  'count by (pod) (container_memory_working_set_bytes)',
  'container_memory_working_set_bytes * on(pod) group_left(node) kube_pod_info',
  'sum(fruit_basket_items) / count(fruit_basket_items)',
  'changes(up[1h]) + resets(http_requests_total[1h])',
  'vector(1) and on() up{job="market"}',
  'sort_desc(topk(2, rate(http_requests_total[5m])))',
  'http_requests_total[5m]',
];

/** Refusals these tables must produce: query → construct (the start of the message). */
const EXPECTED_REFUSALS: ReadonlyMap<string, string> = new Map([
  ['http_requests_total[5m]', 'range vector selector outside a function call'],
]);

let all: RunningPrometheus;
let oracle: RunningPrometheus;
before(async () => {
  all = await startPrometheus();
  oracle = await startPrometheus({ end: all.dataEnd, filter: { key: 'label-policy-A', admits: oracleAdmits } });
});
after(async () => {
  await Promise.all([all?.stop(), oracle?.stop()]);
});

type Outcome = { enforced: string } | { construct: string; message: string };

function enforce(query: string): Outcome {
  try {
    return { enforced: enforceQuery(query, { policy, syntax: 'prometheus2' }) };
  } catch (err) {
    if (err instanceof PromQLError && err.code === 'unsupported_policy') {
      return { construct: (/^[^(:]+/.exec(err.message)?.[0] ?? err.message).trim(), message: err.message };
    }
    throw new Error(`${JSON.stringify(query)} was refused with ${String(err)}`, { cause: err });
  }
}

/** The difference between an oracle answer and promfence's, or undefined when they agree. */
function differ(query: string, o: PromResponse, p: PromResponse): string | undefined {
  if (o.body.status !== p.body.status) return `oracle ${o.body.status} (${o.body.error ?? ''}), promfence ${p.body.status} (${p.body.error ?? ''})`;
  if (o.body.status !== 'success') return o.body.errorType === p.body.errorType ? undefined : `errors differ: ${o.body.error} / ${p.body.error}`;
  const a = normalizeAnswer(o.body.data as AnswerData);
  const b = normalizeAnswer(p.body.data as AnswerData);
  if (sameAnswerApprox(a, b)) return undefined;
  if (/\b(topk|bottomk)\b/i.test(query) && sameValuesIgnoringSeries(a, b)) return undefined;
  return `oracle ${JSON.stringify(a).slice(0, 300)}\n    promfence ${JSON.stringify(b).slice(0, 300)}`;
}

interface Report {
  compared: number;
  nonEmpty: number;
  refused: Map<string, number>;
  diffs: string[];
}

/**
 * Runs every query on the oracle and, enforced, on the all-tenant Prometheus: instant, then
 * range — for every query when `range` is `all`, only for those whose instant answer on the
 * oracle holds data when it is `non-empty` (most real-world texts name metrics or labels the
 * generated data does not have; their empty ranges would only cost time).
 */
async function differential(queries: readonly string[], range: 'all' | 'non-empty'): Promise<Report> {
  const report: Report = { compared: 0, nonEmpty: 0, refused: new Map(), diffs: [] };
  const work: Array<{ query: string; enforced: string }> = [];
  for (const q of queries) {
    const query = q.replaceAll('${END}', String(all.dataEnd));
    const r = enforce(query);
    if ('construct' in r) report.refused.set(r.construct, (report.refused.get(r.construct) ?? 0) + 1);
    else work.push({ query, enforced: r.enforced });
  }
  const forms: Array<[string, Record<string, string>]> = [
    ['/api/v1/query', { time: String(all.dataEnd) }],
    ['/api/v1/query_range', { start: String(all.dataEnd - 3600), end: String(all.dataEnd), step: '60' }],
  ];
  await mapPool(work, 6, async (w) => {
    for (const [path, params] of forms) {
      const [o, p] = await Promise.all([promPost(oracle.url, path, { query: w.query, ...params }), promPost(all.url, path, { query: w.enforced, ...params })]);
      report.compared++;
      const r = (o.body.data as AnswerData | undefined)?.result;
      const nonEmpty = o.body.status === 'success' && (!Array.isArray(r) || r.length > 0);
      if (nonEmpty) report.nonEmpty++;
      const d = differ(w.query, o, p);
      if (d !== undefined) report.diffs.push(`${path} ${JSON.stringify(w.query)}\n  → ${JSON.stringify(w.enforced)}\n    ${d}`);
      if (range === 'non-empty' && !nonEmpty) break;
    }
  });
  return report;
}

const counts = (m: ReadonlyMap<string, number>): string => [...m].map(([c, n]) => `${n}× ${c}`).join('; ') || 'none';

describe('label policy of five selectors: promfence on all tenants answers as a Prometheus holding only the policy\'s series', () => {
  test('the oracle predicate and policyAdmits agree on every generated series; the oracle holds part of each tenant', () => {
    const seen: Array<Record<string, string>> = [];
    generateOpenMetrics({ end: 1_700_000_000, hours: 0.01, stepSeconds: 15, filter: (l) => (seen.push({ ...l }), true) });
    const admitted = seen.filter((l) => oracleAdmits(l));
    for (const l of seen) assert.equal(policyAdmits(policy, l), oracleAdmits(l), JSON.stringify(l));
    assert.ok(admitted.length > 20 && admitted.length < seen.length - 20, `${admitted.length} of ${seen.length} series admitted`);
    assert.deepEqual(new Set(admitted.map((l) => l['tenant'])), new Set(['team-fruit', 'team-veggie']));
  });

  test('the policy is five sets, printed as written (tenant first)', () => {
    assert.deepEqual(policySelectors(policy), [
      '{tenant="team-fruit", job="shop"}',
      '{tenant="team-veggie", replica="a"}',
      '{tenant="team-fruit", fruit!="cherry", job="farm"}',
      '{tenant="team-fruit", job="node", mode!="iowait"}',
      '{tenant="team-fruit", job=~"kube.*", pod!="pod-2"}',
    ]);
  });

  test('engine tables: the equivalence table and this issue\'s table, instant and range', { timeout: 300_000 }, async () => {
    const queries = [...CASES.map((c) => c.q), ...POLICY_CASES];
    const report = await differential(queries, 'all');
    const refusals = [...EXPECTED_REFUSALS.values()];
    console.log(`label policy, engine tables: ${queries.length} queries, ${report.compared} answers compared (${report.nonEmpty} non-empty), refused: ${counts(report.refused)}, ${report.diffs.length} differ`);
    assert.deepEqual([...report.refused.keys()].sort(), [...new Set(refusals)].sort());
    assert.ok(report.nonEmpty > report.compared / 2, 'most answers should hold data');
    assert.equal(report.diffs.length, 0, report.diffs.slice(0, 8).join('\n'));
  });

  test('real-world corpus: every text Prometheus 2.42 accepts, instant; range for those with data', { timeout: 600_000 }, async () => {
    const queries = loadRealWorldQueries().filter((r) => r.prometheus_2_42 === 'accepts').map((r) => r.query);
    const report = await differential(queries, 'non-empty');
    console.log(`label policy, real-world corpus: ${queries.length} texts, ${report.compared} answers compared (${report.nonEmpty} non-empty), refused: ${counts(report.refused)}, ${report.diffs.length} differ`);
    for (const construct of report.refused.keys()) assert.match(construct, /^range vector selector outside a function call/);
    assert.equal(report.diffs.length, 0, report.diffs.slice(0, 8).join('\n'));
  });
});

describe('timestamp() between samples (Prometheus 2.42 oracle)', () => {
  test('sample timestamps, not evaluation times: timestamp() of a selector is distributed, not applied to an or', async () => {
    // 7 s after a sample: a direct selector's timestamp() is the sample's time, an or-expression's the evaluation time.
    const time = String(all.dataEnd - 7);
    for (const query of ['timestamp(up)', 'timestamp((fruit_basket_items))', 'max(timestamp(http_requests_total{code="200"}))']) {
      const enforced = enforceQuery(query, { policy, syntax: 'prometheus2' });
      const [o, p] = await Promise.all([promPost(oracle.url, '/api/v1/query', { query, time }), promPost(all.url, '/api/v1/query', { query: enforced, time })]);
      assert.equal(differ(query, o, p), undefined, `${query} → ${enforced}`);
      const r = (o.body.data as AnswerData).result as Array<{ value: [number, string] }>;
      assert.ok(r.length > 0 && r.every((s) => Number(s.value[1]) !== Number(time)), 'the oracle answers sample timestamps');
    }
  });
});

const SELECTORS = ['{__name__!=""}', 'up', 'http_requests_total{code=~"5.."}', '{job="shop"}', '{tenant="team-veggie"}', 'fruit_basket_items{fruit="cherry"}', '{__name__=~"kube_.+"}'];

async function getJson(base: string, path: string, params: Record<string, string | readonly string[]>): Promise<unknown> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of typeof v === 'string' ? [v] : v) q.append(k, x);
  const res = await fetch(`${base}${path}?${q.toString()}`);
  const body = (await res.json()) as { status: string; data: unknown; error?: string };
  assert.equal(body.status, 'success', `${path} ${q.toString()}: ${body.error}`);
  return body.data;
}

const sortSeries = (s: unknown): string[] => (s as Array<Record<string, string>>).map((x) => JSON.stringify(Object.entries(x).sort())).sort();

describe('label policy on match[] endpoints (Prometheus 2.42 oracle)', () => {
  test('series: each match[] × each policy selector unions to the oracle\'s series', async () => {
    const window = { start: String(all.dataEnd - 3600), end: String(all.dataEnd) };
    for (const sel of SELECTORS) {
      const enforced = applyPolicyEach(prepareSeriesSelector(sel, { syntax: 'prometheus2' }), policy);
      const [o, p] = await Promise.all([getJson(oracle.url, '/api/v1/series', { 'match[]': sel, ...window }), getJson(all.url, '/api/v1/series', { 'match[]': enforced, ...window })]);
      assert.deepEqual(sortSeries(p), sortSeries(o), `${sel} → ${enforced.join(' ; ')}`);
    }
  });

  test('label names and values: no match[] → one per policy selector; with match[] → the cross product', async () => {
    const added = policySelectors(policy);
    assert.deepEqual(await getJson(all.url, '/api/v1/labels', { 'match[]': added }), await getJson(oracle.url, '/api/v1/labels', {}));
    for (const name of ['tenant', 'job', 'fruit', 'replica', 'pod', '__name__']) {
      assert.deepEqual(await getJson(all.url, `/api/v1/label/${name}/values`, { 'match[]': added }), await getJson(oracle.url, `/api/v1/label/${name}/values`, {}), name);
    }
    const sel = '{__name__=~"http_.+|up"}';
    const enforced = applyPolicyEach(prepareSeriesSelector(sel, { syntax: 'prometheus2' }), policy);
    assert.deepEqual(await getJson(all.url, '/api/v1/label/instance/values', { 'match[]': enforced }), await getJson(oracle.url, '/api/v1/label/instance/values', { 'match[]': sel }));
  });
});

describe('X-Prom-Label-Policy through promfence (Prometheus 2.42 oracle)', () => {
  // The same five selectors as Grafana would send them: "<tenant>:<escaped selector without the tenant>".
  const header = POLICY_SELECTORS.map((s) => {
    const [, tenant, rest] = /^\{tenant="([^"]+)", (.*)\}$/.exec(s) as RegExpExecArray;
    return `${tenant}:${encodeURIComponent(`{${rest}}`)}`;
  }).join(',');
  const QUERIES = ['up', 'sum by (tenant, job) (rate(http_requests_total[5m]))', 'absent(up{job="farm"})', 'count by (__name__) ({tenant=~".+"})', 'timestamp(fruit_basket_items)'];
  let gw: RunningServer;
  before(async () => {
    gw = await startGateway(all.url, {
      grafana: { token: 'grafana-secret', tenants: ['team-fruit', 'team-veggie'] },
      bob: { token: 'bob-secret', tenants: ['team-veggie'] },
    }, '  trust_label_policy_header: ["grafana"]');
  });
  after(async () => {
    await gw?.close();
  });

  const ask = (token: string, query: string, withHeader: boolean): Promise<PromResponse> =>
    promPost(gw.url, '/api/v1/query', { query, time: String(all.dataEnd) }, { authorization: `Bearer ${token}`, ...(withHeader ? { 'x-prom-label-policy': header } : {}) });

  test('from the trusted subject: answers as the oracle holding only the header\'s series', async () => {
    for (const query of QUERIES) {
      const [o, p] = await Promise.all([promPost(oracle.url, '/api/v1/query', { query, time: String(all.dataEnd) }), ask('grafana-secret', query, true)]);
      assert.equal(differ(query, o, p), undefined, query);
    }
  });

  test('from an untrusted subject: stripped, no effect (its own tenant, as without the header)', async () => {
    for (const query of QUERIES) {
      const [without, withH] = await Promise.all([ask('bob-secret', query, false), ask('bob-secret', query, true)]);
      assert.equal(differ(query, without, withH), undefined, query);
      for (const s of ((withH.body.data as AnswerData).result as Array<{ metric: Record<string, string> }>)) {
        assert.ok(s.metric['tenant'] === undefined || s.metric['tenant'] === 'team-veggie', JSON.stringify(s.metric));
      }
    }
    const series = await ask('bob-secret', 'count(up)', true);
    const oracleCount = await promPost(oracle.url, '/api/v1/query', { query: 'count(up)', time: String(all.dataEnd) });
    assert.notDeepEqual(series.body.data, oracleCount.body.data, 'the untrusted answer must not be the header policy\'s');
  });
});
