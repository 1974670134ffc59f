/**
 * Label policies in the access domain (issue #12): policy selectors, normalisation of OR-ed
 * sets (merging, dropping covered tenants), resolution from grants, label policies, a trusted
 * `X-Prom-Label-Policy` and narrowing; `policyAdmits`; the header's parser and its emission to
 * Mimir.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AccessError, combinePolicy, explainPolicy, parsePolicySelector, policyAdmits, principal, resolvePolicy, tenantList, tenantPolicy,
  type Grants, type MatcherSet,
} from '../../src/access/index.ts';
import { policySelectors } from '../../src/enforce/index.ts';
import { HttpError } from '../../src/http/errors.ts';
import { parseLabelPolicyHeader } from '../../src/routes/label-policy-header.ts';
import { labelPolicyHeaderValue } from '../../src/upstream/label-policy-header.ts';

const set = (text: string): MatcherSet => {
  const r = parsePolicySelector(text, 'tenant');
  if ('problem' in r) throw new Error(r.problem);
  return r.set;
};
const rec = <V>(o: Record<string, V>): Record<string, V> => Object.assign(Object.create(null) as Record<string, V>, o);
const grants: Grants = {
  subjects: rec({ lisa: ['team-fruit'], grafana: ['team-fruit', 'team-veggie'], ops: ['*'] }),
  groups: rec({}),
  label_policies: {
    subjects: rec({ lisa: [set('{tenant="team-veggie", job="api"}')], pat: [set('{tenant="team-meat", env="prod"}')], grafana: [set('{tenant="team-meat", job="x"}')] }),
    groups: rec({ 'prod-readers': [set('{tenant="team-platform", env="prod", secret!="true"}')] }),
  },
};
const who = (subject: string, groups: string[] = []) => principal(subject, 'bearer_tokens', { groups });
const printed = (p: ReturnType<typeof resolvePolicy>): string[] => policySelectors(p);

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AccessError || e instanceof HttpError, String(e));
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('policy selectors', () => {
  it('tenant matcher first, alternations sorted; other matchers as written', () => {
    assert.deepEqual(set('{job="api", tenant=~"b|a"}'), [{ name: 'tenant', op: '=~', value: 'a|b' }, { name: 'job', op: '=', value: 'api' }]);
  });
  const bad: Array<[string, RegExp]> = [
    ['{job="api"}', /no matcher on the tenant label/],
    ['{tenant="a", tenant="b"}', /more than one matcher on the tenant label/],
    ['{tenant=~"a.*"}', /must name tenants/],
    ['{tenant!="a", job="x"}', /must name tenants/],
    ['{tenant="a|b"}', /tenant "a\|b", which contains "\|"/],
    ['up{tenant="a"}', /names a metric/],
    ['{__name__="up", tenant="a"}', /names a metric/],
    ['{job=~".*"}', /matches the empty string/],
    ['{tenant="a", x=~"("}', /invalid regex for x/],
    ['{tenant="a"', /not a valid selector/],
    ['sum(up)', /not a valid selector/],
  ];
  for (const [text, problem] of bad) {
    it(`refuses ${text}`, () => {
      const r = parsePolicySelector(text, 'tenant');
      assert.ok('problem' in r, `accepted ${text}`);
      assert.match(r.problem, problem);
    });
  }
});

describe('combining OR-ed sets', () => {
  it('a tenant-only policy is exactly tenantPolicy\'s (same sets, same cache key)', () => {
    const t = tenantList(['b', 'a']);
    assert.deepEqual(combinePolicy('tenant', t, []), tenantPolicy('tenant', t));
    const merged = combinePolicy('tenant', tenantList(['a']), [set('{tenant="b"}')]);
    assert.deepEqual(merged.selectors, tenantPolicy('tenant', t).selectors);
    assert.equal(merged.key, tenantPolicy('tenant', t).key);
  });
  it('sets that differ only in their tenants merge into one alternation', () => {
    assert.deepEqual(printed(combinePolicy('tenant', undefined, [set('{tenant="b", job="x"}'), set('{job="x", tenant="a"}')])), ['{tenant=~"a|b", job="x"}']);
  });
  it('tenants a wider set admits are dropped from narrower sets', () => {
    assert.deepEqual(printed(combinePolicy('tenant', tenantList(['a']), [set('{tenant="a", job="x"}')])), ['{tenant="a"}']);
    assert.deepEqual(printed(combinePolicy('tenant', tenantList(['a']), [set('{tenant=~"a|b", job="x"}')])), ['{tenant="a"}', '{tenant="b", job="x"}']);
    assert.deepEqual(printed(combinePolicy('tenant', undefined, [set('{tenant="a", job="x", env="p"}'), set('{tenant="a", job="x"}')])), ['{tenant="a", job="x"}']);
  });
  it('"*" is unrestricted whatever else', () => {
    assert.equal(combinePolicy('tenant', { kind: 'all' }, [set('{tenant="a", job="x"}')]).selectors, undefined);
  });
  it('explainPolicy: tenants and selector texts; errors name the selector', () => {
    assert.deepEqual(printed(explainPolicy({ label: 'tenant', tenants: ['team-fruit'], selectors: ['{tenant="team-veggie", job="api"}'] })), ['{tenant="team-fruit"}', '{tenant="team-veggie", job="api"}']);
    throwsCode(() => explainPolicy({ label: 'tenant', tenants: [], selectors: ['{job="api"}'] }), 'invalid_parameter', /selector "\{job=\\"api\\"\}" has no matcher on the tenant label/);
    throwsCode(() => explainPolicy({ label: 'tenant', tenants: [], selectors: [] }), 'no_tenants');
  });
});

describe('resolving a request\'s policy', () => {
  it('grant OR label policies of the subject and its groups', () => {
    const p = resolvePolicy(who('lisa', ['prod-readers']), grants, [], 'tenant');
    assert.deepEqual(printed(p), ['{tenant="team-fruit"}', '{tenant="team-veggie", job="api"}', '{tenant="team-platform", env="prod", secret!="true"}']);
    assert.deepEqual(p.tenants, tenantList(['team-fruit', 'team-platform', 'team-veggie']));
  });
  it('label policies alone grant (no no_tenants); nothing at all is no_tenants', () => {
    assert.deepEqual(printed(resolvePolicy(who('pat'), grants, [], 'tenant')), ['{tenant="team-meat", env="prod"}']);
    throwsCode(() => resolvePolicy(who('nobody'), grants, [], 'tenant'), 'no_tenants');
  });
  it('narrowing keeps only the sets of the tenants asked for; a tenant outside the policy is 403', () => {
    assert.deepEqual(printed(resolvePolicy(who('lisa'), grants, ['team-veggie'], 'tenant')), ['{tenant="team-veggie", job="api"}']);
    throwsCode(() => resolvePolicy(who('lisa'), grants, ['team-meat'], 'tenant'), 'forbidden_tenant', /tenant "team-meat" is not granted to subject "lisa"/);
  });
  it('a trusted header replaces the subject\'s sets, each entry intersected with them', () => {
    const header = [
      { tenant: 'team-fruit', matchers: [{ name: 'job', op: '=' as const, value: 'shop' }] },
      { tenant: 'team-meat', matchers: [{ name: 'env', op: '=' as const, value: 'dev' }] },
    ];
    assert.deepEqual(printed(resolvePolicy(who('grafana'), grants, [], 'tenant', header)), ['{tenant="team-fruit", job="shop"}', '{tenant="team-meat", env="dev", job="x"}']);
  });
  it('a header entry for a tenant the subject cannot read is 403; "*" subjects may name any tenant', () => {
    const entry = [{ tenant: 'team-other', matchers: [{ name: 'job', op: '=' as const, value: 'x' }] }];
    throwsCode(() => resolvePolicy(who('lisa'), grants, [], 'tenant', entry), 'forbidden_tenant', /X-Prom-Label-Policy/);
    assert.deepEqual(printed(resolvePolicy(who('ops'), grants, [], 'tenant', entry)), ['{tenant="team-other", job="x"}']);
  });
  it('without label policies and header: exactly the tenant policy (unrestricted stays unrestricted)', () => {
    assert.equal(resolvePolicy(who('ops'), grants, [], 'tenant').selectors, undefined);
    assert.deepEqual(resolvePolicy(who('ops'), grants, ['a'], 'tenant'), tenantPolicy('tenant', tenantList(['a'])));
  });
});

describe('policyAdmits', () => {
  const p = explainPolicy({ label: 'tenant', tenants: ['team-fruit'], selectors: ['{tenant="team-veggie", job=~"api|web-.+", secret!="true"}'] });
  const cases: Array<[Record<string, string>, boolean]> = [
    [{ tenant: 'team-fruit' }, true],
    [{ tenant: 'team-veggie', job: 'api' }, true],
    [{ tenant: 'team-veggie', job: 'web-1' }, true],
    [{ tenant: 'team-veggie', job: 'web-' }, false],
    [{ tenant: 'team-veggie', job: 'xapi' }, false],
    [{ tenant: 'team-veggie', job: 'api', secret: 'true' }, false],
    [{ tenant: 'team-veggie' }, false],
    [{ job: 'api' }, false],
    [{}, false],
  ];
  for (const [labels, want] of cases) it(`${JSON.stringify(labels)} → ${want}`, () => assert.equal(policyAdmits(p, labels), want));
  it('unrestricted admits everything; a regex is anchored and . matches a newline', () => {
    assert.equal(policyAdmits(combinePolicy('tenant', { kind: 'all' }, []), {}), true);
    const nl = explainPolicy({ label: 'tenant', tenants: [], selectors: ['{tenant="a", msg=~"a.b"}'] });
    assert.equal(policyAdmits(nl, { tenant: 'a', msg: 'a\nb' }), true);
    assert.equal(policyAdmits(nl, { tenant: 'a', msg: 'xa\nb' }), false);
  });
  it('reads own properties only', () => {
    const p2 = explainPolicy({ label: 'tenant', tenants: [], selectors: ['{tenant="a", constructor!~".+"}'] });
    assert.equal(policyAdmits(p2, { tenant: 'a' }), true);
  });
});

describe('X-Prom-Label-Policy: parsing (Mimir pkg/labelaccess format) and emission', () => {
  it('comma-separated and repeated values, optional whitespace, path-unescaped (+ stays +)', () => {
    const e = parseLabelPolicyHeader(['team-a:%7Bjob%3D%22a+b%22%7D , team-b:{env="prod"}', 'team-a:%7Bx%3D~%22y%7Cz%22%7D'], 'tenant');
    assert.deepEqual(e, [
      { tenant: 'team-a', matchers: [{ name: 'job', op: '=', value: 'a+b' }] },
      { tenant: 'team-b', matchers: [{ name: 'env', op: '=', value: 'prod' }] },
      { tenant: 'team-a', matchers: [{ name: 'x', op: '=~', value: 'y|z' }] },
    ]);
  });
  it('the selector may hold ":" (split at the first one)', () => {
    assert.deepEqual(parseLabelPolicyHeader(['t:%7Binstance%3D%22h:9100%22%7D'], 'tenant'), [{ tenant: 't', matchers: [{ name: 'instance', op: '=', value: 'h:9100' }] }]);
  });
  it('emission: one entry per restricted set and tenant, sorted by tenant, escaped; whole tenants have none', () => {
    const p = explainPolicy({ label: 'tenant', tenants: ['c'], selectors: ['{tenant=~"a|b", job="x,y"}', '{tenant="a", env="p"}', '{tenant="c", job="z"}'] });
    assert.equal(labelPolicyHeaderValue(p), 'a:%7Benv%3D%22p%22%7D,a:%7Bjob%3D%22x%2Cy%22%7D,b:%7Bjob%3D%22x%2Cy%22%7D');
    assert.equal(labelPolicyHeaderValue(tenantPolicy('tenant', tenantList(['a', 'b']))), undefined);
  });
  it('emission round-trips through the parser', () => {
    const p = explainPolicy({ label: 'tenant', tenants: [], selectors: ['{tenant="a", job=~"x|y", env!="dev"}', '{tenant="b", msg="a, \\"b\\""}'] });
    const back = parseLabelPolicyHeader([labelPolicyHeaderValue(p) as string], 'tenant');
    const again = resolvePolicy(who('ops'), grants, [], 'tenant', back);
    assert.deepEqual(printed(again), printed(p));
  });
});
