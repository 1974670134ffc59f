/**
 * Semantic equivalence on a real Prometheus 2.42: over data that holds ONLY the series of
 * tenant set S (one tenant, then two), enforcing a query for S must not change its answer:
 * promfence must answer as a Prometheus holding only the caller's tenants would. Each query is
 * evaluated as an instant query (at the last sample) and a range query (last hour, step
 * 60 s), original vs enforced, and the JSON `data` must be identical once series are sorted
 * by their labels.
 *
 * That includes `absent()` / `absent_over_time()`: when nothing matches they return one
 * series whose labels are the selector's equality matchers, so the injected tenant matcher
 * must not add a `tenant` label (it is written as a regex there), and a user's own
 * `tenant="x"` must keep it. Queries marked `absent` must return a series (the absent path
 * was exercised).
 *
 * topk()/bottomk() choose among equal values by Go map iteration order, which differs from
 * run to run: their answers are compared by values (same values at the same timestamps) when
 * the series differ.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enforceQuery } from '../../src/enforce/index.ts';
import { tenantList } from '../../src/access/index.ts';
import { topts } from '../kit/policy.ts';
import { normalizeAnswer, sameValuesIgnoringSeries, type AnswerData, type AnswerSeries } from '../kit/compare.ts';
import { promPost, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

interface Case {
  readonly q: string;
  /** absent()/absent_over_time() of nothing: the answer must hold a series. */
  readonly absent?: boolean;
}

/** Queries; `${END}` is replaced by the data's last sample time (unix s). */
const CASES: readonly Case[] = [
  { q: 'fruit_harvested_total' },
  { q: 'rate(http_requests_total[5m])' },
  { q: 'sum by (code) (rate(http_requests_total[5m]))' },
  { q: 'sum without (instance, method) (rate(http_requests_total[5m]))' },
  { q: 'sum(sum_over_time(up[10m])) by (job)' },
  { q: 'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))' },
  { q: 'histogram_quantile(0.5, sum by (le, instance) (rate(http_request_duration_seconds_bucket{job="shop"}[10m])))' },
  { q: 'topk(3, sum by (fruit, farm) (rate(fruit_harvested_total[5m])))' },
  { q: 'bottomk(2, fruit_basket_items)' },
  { q: 'topk(scalar(count(up)), fruit_basket_items)' },
  { q: 'quantile(0.75, fruit_basket_items)' },
  { q: 'stddev(rate(http_requests_total[5m]))' },
  { q: 'count by (job) (up)' },
  { q: 'count(count by (instance) (http_requests_total))' },
  { q: 'group by (fruit) (fruit_harvested_total)' },
  { q: 'count_values("value", up)' },
  { q: 'sort_desc(sum by (fruit) (increase(fruit_harvested_total[1h])))' },
  { q: 'rate(http_requests_total[5m] offset 30m)' },
  { q: 'sum(rate(http_requests_total[5m])) - sum(rate(http_requests_total[5m] offset 1h))' },
  { q: 'fruit_harvested_total - fruit_harvested_total offset 1h' },
  { q: 'max_over_time(rate(http_requests_total[5m])[30m:1m])' },
  { q: 'min_over_time(sum by (instance) (rate(http_requests_total[5m]))[1h:5m] offset 10m)' },
  { q: 'fruit_harvested_total @ ${END}' },
  { q: 'sum by (fruit) (rate(fruit_harvested_total[5m] @ ${END} offset 1h))' },
  { q: 'sum(fruit_basket_items @ end())' },
  { q: 'fruit_basket_items @ start()' },
  { q: 'sum by (instance) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (instance) (rate(http_requests_total[5m]))' },
  { q: 'http_requests_total / on(instance) group_left sum by (instance) (http_requests_total)' },
  { q: 'sum by (instance) (http_requests_total) * on(instance) group_right() http_requests_total' },
  { q: 'rate(http_requests_total{code="500"}[5m]) / ignoring(code) rate(http_requests_total{code="200"}[5m])' },
  { q: 'up and on(instance) rate(http_requests_total{code="500"}[5m]) > 0' },
  { q: 'fruit_basket_items or fruit_harvested_total' },
  { q: 'rate(http_requests_total[5m]) unless on(code) http_requests_total{code="404"}' },
  { q: 'fruit_basket_items > bool 50' },
  { q: 'fruit_basket_items > 45' },
  { q: '-fruit_basket_items' },
  { q: 'fruit_basket_items % 7 + 2 ^ 3' },
  { q: 'label_replace(up, "host", "$1", "instance", "(.*):.*")' },
  { q: 'label_join(up, "id", "/", "job", "instance")' },
  { q: 'irate(http_requests_total[2m])' },
  { q: 'delta(fruit_basket_items[15m])' },
  { q: 'deriv(fruit_basket_items[15m])' },
  { q: 'predict_linear(fruit_basket_items[30m], 3600)' },
  { q: 'changes(fruit_basket_items[30m])' },
  { q: 'resets(http_requests_total[1h])' },
  { q: 'holt_winters(fruit_basket_items[30m], 0.5, 0.5)' },
  { q: 'clamp_max(fruit_basket_items, 60)' },
  { q: 'timestamp(up)' },
  { q: 'time() - timestamp(up)' },
  { q: 'scalar(sum(up)) * fruit_basket_items' },
  { q: 'sum(up) + vector(1)' },
  { q: 'sum(http_request_duration_seconds_sum) / sum(http_request_duration_seconds_count)' },
  { q: 'rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])' },
  { q: '{__name__=~"fruit_.*"}' },
  { q: '{__name__="up", job="shop"}' },
  { q: 'http_requests_total{method!="GET", code!~"2.."}' },
  { q: 'max by (instance) (max_over_time(up[1h]))' },
  { q: 'last_over_time(fruit_basket_items[10m])' },
  { q: 'quantile_over_time(0.9, fruit_basket_items[30m])' },
  { q: '# a comment\nsum(up)' },
  { q: 'absent(up)' },
  { q: 'absent(up{job="missing"})', absent: true },
  { q: 'absent_over_time(nonexistent_metric{job="x"}[5m])', absent: true },
  { q: 'absent(nonexistent_metric)', absent: true },
  { q: 'absent(nonexistent_metric{tenant="team-fruit", job="x"})', absent: true },
  { q: 'absent_over_time(up{tenant="team-fruit", job="missing"}[5m] offset 1m)', absent: true },
  { q: 'absent(nonexistent_metric{tenant!="team-veggie"})', absent: true },
  { q: 'absent(nonexistent_metric) or absent(up{job="missing"})', absent: true },
];

type Data = AnswerData;
type Series = AnswerSeries;

for (const ids of [['team-fruit'], ['team-fruit', 'team-veggie']]) {
  describe(`enforcement keeps answers on data holding only ${ids.join(' and ')} (Prometheus 2.42)`, () => {
    let prom: RunningPrometheus;
    before(async () => {
      prom = await startPrometheus({ tenants: ids });
    });
    after(async () => {
      await prom?.stop();
    });

    test('at least 40 cases', () => {
      assert.ok(CASES.length >= 40, `only ${CASES.length} cases`);
    });

    const opts = topts({ label: 'tenant', tenants: tenantList(ids), syntax: 'prometheus2' });
    const scoped = ids.length === 1 ? /tenant=~?"team-fruit"|^[^{]*$/ : /tenant=~"team-fruit\|team-veggie"|tenant="team-fruit"|^[^{]*$/;
    for (const c of CASES) {
      test(`${c.q.replace(/\n/g, '\\n')}`, async () => {
        const query = c.q.replaceAll('${END}', String(prom.dataEnd));
        const enforced = enforceQuery(query, opts);
        assert.match(enforced, scoped, 'enforced text should carry the tenant matcher');
        const forms: Array<[string, Record<string, string>]> = [
          ['/api/v1/query', { time: String(prom.dataEnd) }],
          ['/api/v1/query_range', { start: String(prom.dataEnd - 3600), end: String(prom.dataEnd), step: '60' }],
        ];
        for (const [path, params] of forms) {
          const [orig, enf] = await Promise.all([
            promPost(prom.url, path, { query, ...params }),
            promPost(prom.url, path, { query: enforced, ...params }),
          ]);
          assert.equal(orig.body.status, 'success', `original failed on ${path}: ${orig.body.error}`);
          assert.equal(enf.body.status, 'success', `enforced ${JSON.stringify(enforced)} failed on ${path}: ${enf.body.error}`);
          const a = normalizeAnswer(orig.body.data as Data);
          const b = normalizeAnswer(enf.body.data as Data);
          if (c.absent) assert.ok(((enf.body.data as Data).result as Series[]).length > 0, `${path}: absent answer should hold a series`);
          // topk/bottomk pick among equal values by Go map order: equal values suffice there.
          if (/\b(topk|bottomk)\b/.test(query) && sameValuesIgnoringSeries(a, b)) continue;
          assert.deepEqual(b, a, `${path}: answers differ for ${JSON.stringify(query)} → ${JSON.stringify(enforced)}`);
        }
      });
    }
  });
}
