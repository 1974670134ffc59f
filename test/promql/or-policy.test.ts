/**
 * The engine under an access policy of several OR-ed matcher sets (issue #12), table-driven:
 * `{in, out}` or `{in, code}`. Policy P (unless a row says otherwise):
 * `{tenant="a"}` OR `{tenant="b", job="api"}`, so `A` = `tenant="a"`, `B` = `tenant="b", job="api"`.
 * What these rewrites mean on a real Prometheus is tested against an oracle in
 * test/realprom/label-policy.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { explainPolicy, type AccessPolicy } from '../../src/access/index.ts';
import {
  applyPolicyEach, DEFAULT_MAX_ENFORCED_BYTES, Enforcer, enforceQuery, enforceSeriesSelector, prepareQuery, prepareSeriesSelector, PromQLError,
  type PromQLErrorCode,
} from '../../src/enforce/index.ts';

const P = explainPolicy({ label: 'tenant', tenants: ['a'], selectors: ['{tenant="b", job="api"}'] });
const P3 = explainPolicy({ label: 'tenant', tenants: [], selectors: ['{tenant="a"}', '{tenant="b", job="api"}', '{tenant="c", env!="dev"}'] });

interface Row {
  readonly in: string;
  readonly out?: string;
  readonly code?: PromQLErrorCode;
  readonly msg?: RegExp;
  readonly policy?: AccessPolicy;
  readonly reject?: boolean;
}

const A = 'tenant="a"';
const B = 'tenant="b", job="api"';

const ROWS: readonly Row[] = [
  // instant vector selectors: (v{P1} or v{P2})
  { in: 'up', out: `(up{${A}} or up{${B}})` },
  { in: 'up{code="500"} offset 5m @ 100', out: `(up{code="500", ${A}} offset 5m @ 100.000 or up{code="500", ${B}} offset 5m @ 100.000)` },
  { in: 'sum by (job) (up)', out: `sum by (job) ((up{${A}} or up{${B}}))` },
  { in: 'a + on(x) group_left b', out: `(a{${A}} or a{${B}}) + on(x) group_left() (b{${A}} or b{${B}})` },
  { in: 'topk(scalar(x), y)', out: `topk(scalar((x{${A}} or x{${B}})), (y{${A}} or y{${B}}))` },
  { in: '-up', out: `-(up{${A}} or up{${B}})` },
  { in: 'max_over_time(up[1h:5m])', out: `max_over_time((up{${A}} or up{${B}})[1h:5m])` },
  { in: 'up', policy: P3, out: `((up{${A}} or up{tenant="c", env!="dev"}) or up{${B}})` },
  // user equality matchers that contradict a set leave that side out (it selects nothing)
  { in: 'up{job="web"}', out: `up{job="web", ${A}}` },
  { in: 'up{tenant="b"}', out: `up{tenant="b", ${B}}` },
  { in: 'up{tenant="c", job="x"}', policy: P3, out: 'up{tenant="c", job="x", tenant="c", env!="dev"}' },
  { in: 'up{tenant="z"}', code: 'forbidden_tenant' },
  { in: 'up{tenant="z"}', reject: false, out: `up{tenant="z", ${A}}` },
  // range vector selectors: distributed at the enclosing call, scalar parameters on each side
  { in: 'rate(x[5m])', out: `(rate(x{${A}}[5m]) or rate(x{${B}}[5m]))` },
  { in: 'sum(rate(x[5m] offset 1h))', out: `sum((rate(x{${A}}[5m] offset 1h) or rate(x{${B}}[5m] offset 1h)))` },
  { in: 'rate((x[5m]))', out: `(rate((x{${A}}[5m])) or rate((x{${B}}[5m])))` },
  { in: 'quantile_over_time(0.9, x[5m])', out: `(quantile_over_time(0.9, x{${A}}[5m]) or quantile_over_time(0.9, x{${B}}[5m]))` },
  { in: 'predict_linear(x[5m], scalar(y))', out: `(predict_linear(x{${A}}[5m], scalar((y{${A}} or y{${B}}))) or predict_linear(x{${B}}[5m], scalar((y{${A}} or y{${B}}))))` },
  { in: 'rate(x{job="web"}[5m])', out: `rate(x{job="web", ${A}}[5m])` },
  // timestamp() of a direct selector reads sample timestamps: distributed too
  { in: 'timestamp(up)', out: `(timestamp(up{${A}}) or timestamp(up{${B}}))` },
  { in: 'timestamp((up))', out: `(timestamp((up{${A}})) or timestamp((up{${B}})))` },
  { in: 'timestamp(sum(up))', out: `timestamp(sum((up{${A}} or up{${B}})))` },
  // absent(): one absent per side, AND-ed, absent-safe matchers (no label the user did not write)
  { in: 'absent(up)', out: '(absent(up{tenant=~"a"}) and absent(up{tenant=~"b", job=~"api"}))' },
  { in: 'absent(up{job="api"})', out: '(absent(up{job="api", tenant=~"a"}) and absent(up{job="api", tenant=~"b"}))' },
  { in: 'absent(up{job="web"})', out: 'absent(up{job="web", tenant=~"a"})' },
  { in: 'absent(up{tenant="b"})', out: 'absent(up{tenant="b", job=~"api"})' },
  { in: 'absent(up{tenant="b", job="web"})', out: 'label_replace(label_replace(vector(1), "tenant", "b", "", ""), "job", "web", "", "")' },
  { in: 'absent(up{tenant="b", job="$1"})', out: 'label_replace(label_replace(vector(1), "tenant", "b", "", ""), "job", "$$1", "", "")' },
  { in: 'absent_over_time(up{job="api"}[5m])', out: '(absent_over_time(up{job="api", tenant=~"a"}[5m]) and absent_over_time(up{job="api", tenant=~"b"}[5m]))' },
  { in: 'absent((up{job="web"}))', out: 'absent((up{job="web", tenant=~"a"}))' },
  { in: 'absent(sum(up))', out: `absent(sum((up{${A}} or up{${B}})))` },
  { in: 'absent(up{tenant="z"})', reject: false, out: 'label_replace(vector(1), "tenant", "z", "", "")' },
  // what cannot be restricted to an OR of sets is refused, naming the construct
  { in: 'x[5m]', code: 'unsupported_policy', msg: /^range vector selector outside a function call \(x\[5m\]\)/ },
  { in: '(x[5m] offset 1m)', code: 'unsupported_policy', msg: /^range vector selector outside a function call/ },
];

describe('OR policy: enforcement table', () => {
  for (const r of ROWS) {
    const policy = r.policy ?? P;
    const run = () => enforceQuery(r.in, { policy, syntax: 'prometheus3', rejectForeignTenant: r.reject ?? true });
    if (r.code !== undefined) {
      it(`${r.in} is refused: ${r.code}`, () => {
        assert.throws(run, (e: unknown) => {
          assert.ok(e instanceof PromQLError, String(e));
          assert.equal(e.code, r.code);
          if (r.msg) assert.match(e.message, r.msg);
          return true;
        });
      });
    } else {
      it(`${r.in} → ${r.out}`, () => assert.equal(run(), r.out));
    }
  }
});

describe('OR policy: match[] is the cross product', () => {
  const each = (s: string, policy = P) => applyPolicyEach(prepareSeriesSelector(s, { syntax: 'prometheus3' }), policy);
  it('one selector per set; contradicted sets left out, one kept when all are', () => {
    assert.deepEqual(each('up'), [`up{${A}}`, `up{${B}}`]);
    assert.deepEqual(each('{job="web"}'), [`{job="web", ${A}}`]);
    assert.deepEqual(each('up{tenant="b", job="web"}'), [`up{tenant="b", job="web", ${A}}`]);
    assert.throws(() => each('up{tenant="z"}', P3), (e: unknown) => e instanceof PromQLError && e.code === 'forbidden_tenant');
  });
  it('applyPolicy refuses a selector under several sets (it would print an or-expression)', () => {
    assert.throws(() => enforceSeriesSelector('up', { policy: P, syntax: 'prometheus3' }), (e: unknown) => e instanceof PromQLError && e.code === 'internal_error');
  });
  it('the cached enforcer answers the same, and caches', () => {
    const enf = new Enforcer();
    const prepared = enf.prepare('selector', 'up', { syntax: 'prometheus3' });
    assert.deepEqual(enf.applyEach(prepared, P), [`up{${A}}`, `up{${B}}`]);
    assert.deepEqual(enf.applyEach(prepared, P), [`up{${A}}`, `up{${B}}`]);
    assert.ok(enf.stats.hits >= 1);
  });
});

describe('OR policy: the enforced size is bounded (promql.max_enforced_bytes)', () => {
  it(`default ${DEFAULT_MAX_ENFORCED_BYTES} bytes`, () => assert.equal(DEFAULT_MAX_ENFORCED_BYTES, 262144));
  it('a print over the cap is query_too_large, naming the cap and the number of selectors', () => {
    const q = Array.from({ length: 40 }, (_, i) => `metric_${i}`).join(' + ');
    assert.ok(enforceQuery(q, { policy: P, syntax: 'prometheus3' }).length > 2000);
    assert.throws(() => enforceQuery(q, { policy: P, syntax: 'prometheus3', maxEnforcedBytes: 2000 }), (e: unknown) =>
      e instanceof PromQLError && e.code === 'query_too_large' && /max_enforced_bytes.*2 label selectors/.test(e.message));
  });
  it('nested scalar parameters multiply the print (k^depth) and are refused before it is expanded', () => {
    const many = explainPolicy({ label: 'tenant', tenants: [], selectors: Array.from({ length: 16 }, (_, i) => `{tenant="t${i}", job="j${i}"}`) });
    let q = 'x';
    for (let i = 0; i < 4; i++) q = `predict_linear(y[5m], scalar(${q}))`;
    // 16^4 copies of x once printed (megabytes): the rewritten tree shares them, and its size is
    // measured without expanding it ("would be"), not after printing ("is").
    const prepared = prepareQuery(q, { syntax: 'prometheus3' });
    assert.throws(() => new Enforcer({ maxEntries: 0 }).apply(prepared, many), (e: unknown) =>
      e instanceof PromQLError && e.code === 'query_too_large' && /would be larger than 262144 bytes/.test(e.message));
  });
  it('a tenant-only policy is bounded too', () => {
    const q = Array.from({ length: 200 }, () => 'up').join(' + ');
    const one = explainPolicy({ label: 'tenant', tenants: ['a-rather-long-tenant-name'], selectors: [] });
    assert.throws(() => enforceQuery(q, { policy: one, syntax: 'prometheus3', maxEnforcedBytes: 4096 }), (e: unknown) => e instanceof PromQLError && e.code === 'query_too_large');
  });
});
