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
import { CASES } from '../kit/equivalence-cases.ts';

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
