/**
 * Benchmark of the PromQL enforcement engine (`npm run bench:enforce`).
 *
 * Query set: ≥100 real dashboard queries from the shared real-world corpus (node-exporter
 * full, kube-prometheus / kube-state-metrics, dotdc's Kubernetes views, Thanos' HTTP RED
 * dashboards) plus hand-written HTTP RED queries, all accepted by Prometheus 2.42.
 *
 * Measures per-call µs (median, p99, mean) of:
 * - baseline: `parser.parse(q)` of @prometheus-io/lezer-promql alone;
 * - cold: `enforceQuery(q, …)` (no cache: the whole parse → validate → inject → print →
 *   self-check pipeline on every call);
 * - miss: the first `Enforcer.enforceQuery` call per query on a fresh cache;
 * - warm: `Enforcer.enforceQuery(q, …)` after one priming call per query;
 * plus a cold pass over the whole real-world corpus, and ratios to the parse baseline.
 *
 * Env: BENCH_ROUNDS (default 30 for parse/cold, ×10 for warm).
 */
import { cpus } from 'node:os';
import { parser } from '@prometheus-io/lezer-promql';
import { explainPolicy, tenantList, tenantPolicy } from '../src/access/index.ts';
import { Enforcer, enforceQuery, type EnforceOptions } from '../src/enforce/index.ts';
import { loadRealWorldQueries, type RealWorldQuery } from '../test/kit/corpus.ts';

/** Hand-written HTTP RED (rate, errors, duration) dashboard queries. */
const RED_QUERIES = [
  'sum by (job) (rate(http_requests_total[5m]))',
  'sum by (job, code) (rate(http_requests_total{code=~"5.."}[5m])) / ignoring(code) group_left sum by (job) (rate(http_requests_total[5m]))',
  'histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))',
  'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{job="shop",method="GET"}[5m])))',
  'sum(rate(http_request_duration_seconds_sum[5m])) / sum(rate(http_request_duration_seconds_count[5m]))',
  'topk(10, sum by (handler) (rate(http_requests_total[1h])))',
  'sum by (instance) (rate(http_requests_total[5m] offset 1d))',
  '1 - (sum(rate(http_requests_total{code!~"5.."}[30d])) / sum(rate(http_requests_total[30d])))',
  'max_over_time(sum by (job) (rate(http_requests_total[5m]))[1h:1m])',
  'sum by (job) (rate(http_requests_total[5m])) > 0 and on(job) up == 1',
  'avg by (job) (up) * 100',
  'count by (code) (http_requests_total)',
];

/** Picks `n` queries spread evenly over the accepted texts whose source matches. */
function pick(rows: readonly RealWorldQuery[], source: RegExp, n: number): string[] {
  const pool = rows.filter((r) => r.prometheus_2_42 === 'accepts' && source.test(r.source)).map((r) => r.query);
  if (pool.length <= n) return pool;
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pool[Math.floor((i * pool.length) / n)] as string);
  return out;
}

function stats(samples: number[]): { median: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { median: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Times `fn(q)` for every query, `rounds` times; returns per-call µs. */
function measure(queries: readonly string[], rounds: number, fn: (q: string) => unknown): number[] {
  const out: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    for (const q of queries) {
      const t0 = process.hrtime.bigint();
      const res = fn(q);
      const t1 = process.hrtime.bigint();
      out.push(Number(t1 - t0) / 1000);
      if (res !== undefined) sink++;
    }
  }
  if (sink < 0) console.log(sink);
  return out;
}

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1).padStart(8) : '     n/a');

/** enforceQuery, with a refusal (a range selector outside a function under an OR policy) counted as done. */
function tryEnforce(q: string, opts: EnforceOptions): string {
  try {
    return enforceQuery(q, opts);
  } catch {
    return '';
  }
}

function main(): number {
  const rows = loadRealWorldQueries();
  const groups: Array<[string, string[]]> = [
    ['node-exporter (rfmoz node-exporter-full)', pick(rows, /^rfmoz\/grafana-dashboards:prometheus\/node-exporter-full\.json/, 40)],
    ['kube-prometheus dashboards (kube-state-metrics, cAdvisor, apiserver)', pick(rows, /^prometheus-operator\/kube-prometheus:manifests\/grafana-dashboardDefinitions\.yaml/, 30)],
    ['dotdc Kubernetes views', pick(rows, /^dotdc\/grafana-dashboards-kubernetes:dashboards\/k8s-views-/, 20)],
    ['Thanos dashboards (HTTP/gRPC RED)', pick(rows, /^thanos-io\/thanos:examples\/dashboards\//, 20)],
    ['hand-written HTTP RED', RED_QUERIES],
  ];
  const queries = [...new Set(groups.flatMap(([, qs]) => qs))];
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 30);
  const opts: EnforceOptions = { policy: tenantPolicy('tenant', tenantList(['team-fruit'])), syntax: 'prometheus2' };
  const opts2: EnforceOptions = { ...opts, policy: tenantPolicy('tenant', tenantList(['team-fruit', 'team-veggie'])) };
  // A label policy of three OR-ed selectors (issue #12): each selector of a query is printed three times.
  const opts3: EnforceOptions = { ...opts, policy: explainPolicy({ label: 'tenant', tenants: ['team-fruit'], selectors: ['{tenant="team-veggie", job="api"}', '{tenant="team-platform", env="prod", secret!="true"}'] }) };

  // Every benchmark query must enforce: a refusal would make the figures meaningless.
  const refused = queries.filter((q) => {
    try {
      enforceQuery(q, opts);
      return false;
    } catch {
      return true;
    }
  });

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`promfence enforce benchmark — ${queries.length} distinct queries, ${rounds} rounds (warm ×10)`);
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpu})`);
  for (const [name, qs] of groups) console.log(`  ${String(qs.length).padStart(3)}  ${name}`);
  if (refused.length > 0) {
    console.log(`\n${refused.length} benchmark queries are refused by enforceQuery; first: ${JSON.stringify(refused[0])}`);
    return 1;
  }

  // JIT warm-up (untimed): a long-running gateway meets new queries with warm code.
  for (let i = 0; i < 10; i++) {
    for (const q of queries) {
      parser.parse(q);
      enforceQuery(q, opts);
    }
  }

  const parse = stats(measure(queries, rounds, (q) => parser.parse(q)));
  const cold = stats(measure(queries, rounds, (q) => enforceQuery(q, opts)));
  const cold2 = stats(measure(queries, rounds, (q) => enforceQuery(q, opts2)));
  const cold3 = stats(measure(queries, rounds, (q) => tryEnforce(q, opts3)));
  // First call through a fresh cache (a miss: enforce + insert), fresh cache every round.
  const missSamples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const fresh = new Enforcer({ maxEntries: 10_000 });
    missSamples.push(...measure(queries, 1, (q) => fresh.enforceQuery(q, opts)));
  }
  const miss = stats(missSamples);
  const cache = new Enforcer({ maxEntries: 10_000 });
  for (const q of queries) cache.enforceQuery(q, opts);
  const warm = stats(measure(queries, rounds * 10, (q) => cache.enforceQuery(q, opts)));
  const corpus = rows.filter((r) => r.prometheus_2_42 === 'accepts').map((r) => r.query);
  const corpusOk = corpus.filter((q) => {
    try {
      enforceQuery(q, opts);
      return true;
    } catch {
      return false;
    }
  });
  const corpusParse = stats(measure(corpusOk, 3, (q) => parser.parse(q)));
  const corpusCold = stats(measure(corpusOk, 3, (q) => enforceQuery(q, opts)));

  console.log('\nper call, µs                        median      p99     mean   median ×parse');
  const line = (name: string, s: ReturnType<typeof stats> | undefined, base: ReturnType<typeof stats>) =>
    console.log(`${name.padEnd(34)}${f(s?.median ?? NaN)} ${f(s?.p99 ?? NaN)} ${f(s?.mean ?? NaN)}   ${s ? (s.median / base.median).toFixed(2).padStart(6) : '   n/a'}`);
  line('lezer parse (baseline)', parse, parse);
  line('enforceQuery cold, 1 tenant', cold, parse);
  line('enforceQuery cold, 2 tenants', cold2, parse);
  line('enforceQuery cold, 3 OR selectors', cold3, parse);
  line('Enforcer miss (1st call)', miss, parse);
  line('Enforcer warm, 1 tenant', warm, parse);
  console.log(`\nwhole real-world corpus (${corpusOk.length} texts, 3 rounds):`);
  line('lezer parse (baseline)', corpusParse, corpusParse);
  line('enforceQuery cold, 1 tenant', corpusCold, corpusParse);
  line('enforceQuery cold, 3 OR selectors', stats(measure(corpusOk, 3, (q) => tryEnforce(q, opts3))), corpusParse);

  console.log(`\ntargets: cold median ≤ 50 µs: ${cold.median <= 50 ? 'met' : 'NOT met'} (${cold.median.toFixed(1)}); ` +
    `warm median ≤ 5 µs: ${warm.median <= 5 ? 'met' : 'NOT met'} (${warm.median.toFixed(2)})`);
  return 0;
}

process.exitCode = main();
