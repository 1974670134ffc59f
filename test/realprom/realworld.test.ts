/**
 * Real-world corpus against a real Prometheus 2.42 (issue #2).
 *
 * Every text of `test/fixtures/corpus/realworld-queries.jsonl` that Prometheus 2.42 accepts is
 * enforced (syntax prometheus2, label `tenant`) for [team-fruit] and for
 * [team-fruit, team-veggie]. Refusals are allowed only for the texts listed in
 * {@link EXPECTED_REFUSALS} (the set must match exactly). Every enforced text is POSTed to
 * Prometheus 2.42 (over generated multi-tenant data, at the last sample time) and must
 * answer `status: success`; any result series carrying a `tenant` label must carry an
 * allowed one. The 20 texts Prometheus rejects must stay rejected, by promfence or by
 * Prometheus after promfence's canonical print.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enforceQuery } from '../../src/enforce/index.ts';
import { tenantList, type TenantSet } from '../../src/access/index.ts';
import { topts } from '../kit/policy.ts';
import { PromQLError } from '../../src/promql/errors.ts';
import { loadRealWorldQueries } from '../kit/corpus.ts';
import { normalizeAnswer, sameValuesIgnoringSeries, type AnswerData } from '../kit/compare.ts';
import { mapPool, promPost, startPrometheus, type RunningPrometheus } from '../kit/prometheus.ts';

/**
 * Texts Prometheus 2.42 accepts that promfence refuses by policy, with the code it must
 * give. Key: the exact query text. Keep this list explicit: a new refusal (or a listed one
 * no longer refused) fails the test.
 */
const EXPECTED_REFUSALS: ReadonlyMap<string, string> = new Map<string, string>([
  // (none so far)
]);

const rows = loadRealWorldQueries();
const accepts = rows.filter((r) => r.prometheus_2_42 === 'accepts');
const rejects = rows.filter((r) => r.prometheus_2_42 === 'rejects');

let prom: RunningPrometheus;
let fruitOnly: RunningPrometheus;
before(async () => {
  prom = await startPrometheus();
  // Same end time: team-fruit's series are then sample-for-sample the same in both.
  fruitOnly = await startPrometheus({ end: prom.dataEnd, tenants: ['team-fruit'] });
});
after(async () => {
  await Promise.all([prom?.stop(), fruitOnly?.stop()]);
});

type Data = AnswerData;

function tryEnforce(query: string, tenants: TenantSet): { enforced: string } | { code: string; message: string } {
  try {
    return { enforced: enforceQuery(query, topts({ label: 'tenant', tenants, syntax: 'prometheus2' })) };
  } catch (err) {
    if (err instanceof PromQLError) return { code: err.code, message: err.message };
    // Anything else escaping the engine is a bug: fail loudly with the query.
    throw new Error(`enforceQuery threw a non-PromQLError for ${JSON.stringify(query)}: ${String(err)}`, { cause: err });
  }
}

describe('real-world corpus on Prometheus 2.42', () => {
  test('corpus has the documented shape (4,943 accepts, 20 rejects)', () => {
    assert.equal(accepts.length, 4943);
    assert.equal(rejects.length, 20);
  });

  for (const ids of [['team-fruit'], ['team-fruit', 'team-veggie']]) {
    test(`every accepted text, enforced for [${ids.join(', ')}], is accepted by Prometheus 2.42`, { timeout: 600_000 }, async () => {
      const tenants = tenantList(ids);
      const enforced: Array<{ query: string; source: string; text: string }> = [];
      const refused = new Map<string, string>();
      const refusalCounts = new Map<string, number>();
      for (const r of accepts) {
        const res = tryEnforce(r.query, tenants);
        if ('enforced' in res) enforced.push({ query: r.query, source: r.source, text: res.enforced });
        else {
          refused.set(r.query, res.code);
          refusalCounts.set(res.code, (refusalCounts.get(res.code) ?? 0) + 1);
        }
      }

      const answers = await mapPool(enforced, 8, async (e) => {
        const res = await promPost(prom.url, '/api/v1/query', { query: e.text, time: String(prom.dataEnd) });
        return res.body;
      });
      const failures: string[] = [];
      const leaks: string[] = [];
      let accepted = 0;
      answers.forEach((body, i) => {
        const e = enforced[i]!;
        if (body.status === 'success') {
          accepted++;
          const data = body.data as { resultType: string; result: unknown };
          if (data.resultType === 'vector' || data.resultType === 'matrix') {
            for (const s of data.result as Array<{ metric: Record<string, string> }>) {
              const t = s.metric['tenant'];
              if (t !== undefined && !ids.includes(t)) leaks.push(`${JSON.stringify(e.query)} → ${JSON.stringify(e.text)} returned tenant=${t}`);
            }
          }
        } else {
          failures.push(`${e.source}\n  query:    ${JSON.stringify(e.query)}\n  enforced: ${JSON.stringify(e.text)}\n  → ${body.errorType}: ${body.error}`);
        }
      });

      const counts = [...refusalCounts].map(([c, n]) => `${c} ${n}`).join(', ');
      console.log(
        `realworld: ${enforced.length} enforced, ${refused.size} refused by policy${counts ? ` (${counts})` : ''}, ` +
          `${accepted} accepted by Prometheus 2.42 (tenants ${ids.join(',')})`,
      );

      const unexpected = [...refused].filter(([q, c]) => EXPECTED_REFUSALS.get(q) !== c);
      const missing = [...EXPECTED_REFUSALS].filter(([q]) => !refused.has(q));
      assert.deepEqual(
        { unexpected: unexpected.slice(0, 20), missing },
        { unexpected: [], missing: [] },
        `refusals differ from EXPECTED_REFUSALS (${unexpected.length} unexpected, ${missing.length} no longer refused)`,
      );
      assert.equal(failures.length, 0, `${failures.length} enforced texts were not accepted by Prometheus 2.42:\n${failures.slice(0, 15).join('\n')}`);
      assert.equal(leaks.length, 0, `results carried foreign tenants:\n${leaks.slice(0, 10).join('\n')}`);
      assert.equal(accepted + refused.size, accepts.length);
    });
  }

  test('differential: original on team-fruit-only data = enforced [team-fruit] on all tenants\' data', { timeout: 600_000 }, async () => {
    // Enforcement must make the multi-tenant TSDB look exactly like a TSDB holding only
    // team-fruit's series. absent()/absent_over_time() answers carry the added tenant
    // label by design (their labels come from the selector's equality matchers): for texts
    // using them the tenant label is dropped before comparing. topk/bottomk answers that
    // differ only in which of several equal-valued series was picked count as equal.
    const tenants = tenantList(['team-fruit']);
    const cases = accepts.flatMap((r) => {
      const res = tryEnforce(r.query, tenants);
      return 'enforced' in res ? [{ ...r, enforced: res.enforced }] : [];
    });
    const time = String(prom.dataEnd);
    const diffs: string[] = [];
    let nonEmpty = 0;
    await mapPool(cases, 8, async (c) => {
      const [orig, enf] = await Promise.all([
        promPost(fruitOnly.url, '/api/v1/query', { query: c.query, time }),
        promPost(prom.url, '/api/v1/query', { query: c.enforced, time }),
      ]);
      if (orig.body.status !== 'success' || enf.body.status !== 'success') {
        diffs.push(`${JSON.stringify(c.query)}: original ${orig.body.status} (${orig.body.error}), enforced ${enf.body.status} (${enf.body.error})`);
        return;
      }
      const absent = /absent/.test(c.query);
      const a = normalizeAnswer(orig.body.data as Data);
      const b = normalizeAnswer(enf.body.data as Data, absent ? 'tenant' : undefined);
      const r = a.result;
      if (!Array.isArray(r) || r.length > 0) nonEmpty++;
      try {
        assert.deepEqual(b, a);
      } catch {
        // topk/bottomk pick among equal values by Go map order: equal values suffice there.
        if (/\b(topk|bottomk)\b/i.test(c.query) && sameValuesIgnoringSeries(a, b)) return;
        diffs.push(`${JSON.stringify(c.query)} → ${JSON.stringify(c.enforced)}\n  original: ${JSON.stringify(a).slice(0, 300)}\n  enforced: ${JSON.stringify(b).slice(0, 300)}`);
      }
    });
    console.log(`realworld differential: ${cases.length} texts compared (${nonEmpty} with a non-empty answer on team-fruit data), ${diffs.length} differ`);
    assert.equal(diffs.length, 0, diffs.slice(0, 10).join('\n'));
  });

  test('the 20 texts Prometheus 2.42 rejects stay rejected (by promfence or by Prometheus after our print)', async () => {
    const tenants = tenantList(['team-fruit']);
    let byUs = 0;
    let byProm = 0;
    const turnedIntoAccepts: string[] = [];
    for (const r of rejects) {
      const res = tryEnforce(r.query, tenants);
      if (!('enforced' in res)) {
        byUs++;
        continue;
      }
      const body = (await promPost(prom.url, '/api/v1/query', { query: res.enforced, time: String(prom.dataEnd) })).body;
      if (body.status === 'success') turnedIntoAccepts.push(`${JSON.stringify(r.query)} → ${JSON.stringify(res.enforced)}`);
      else byProm++;
    }
    console.log(`realworld rejects: ${rejects.length} texts, ${byUs} rejected by promfence, ${byProm} by Prometheus 2.42 after enforcement, ${turnedIntoAccepts.length} turned into accepts`);
    assert.deepEqual(turnedIntoAccepts, [], 'promfence\'s canonical print made Prometheus accept texts it rejects');
  });
});
