/**
 * Configuration of label policies (issue #12): `access.label_policies`,
 * `access.trust_label_policy_header`, `enforce.label_policy_header`,
 * `promql.max_enforced_bytes`; errors name the key path and what to do.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { summarizeConfig } from '../../src/config/summary.ts';
import { policySelectors } from '../../src/enforce/index.ts';
import { combinePolicy } from '../../src/access/index.ts';

const head = `upstream: {url: "http://127.0.0.1:9090"}
auth:
  bearer_tokens:
    - {subject: lisa, token: lisa-secret}
    - {subject: grafana, token: grafana-secret, groups: [prod-readers]}
`;
const parse = (text: string) => parseConfig(text, { baseDir: process.cwd(), env: {} });
function issues(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.issues];
  }
  return assert.fail('expected a ConfigError');
}

describe('access.label_policies', () => {
  it('parses selectors per subject and group; summary shows them', () => {
    const c = parse(`${head}access:
  subjects: {lisa: [team-fruit], grafana: [team-fruit, team-veggie]}
  label_policies:
    subjects:
      lisa: ['{tenant="team-veggie", job="api"}']
    groups:
      prod-readers: ['{tenant="team-platform", env="prod", secret!="true"}']
  trust_label_policy_header: [grafana]
promql: {max_enforced_bytes: 100000}
`);
    assert.deepEqual(policySelectors(combinePolicy('tenant', undefined, c.access.label_policies.subjects['lisa'] ?? [])), ['{tenant="team-veggie", job="api"}']);
    assert.equal(c.access.label_policies.groups['prod-readers']?.length, 1);
    assert.deepEqual(c.access.trust_label_policy_header, ['grafana']);
    assert.equal(c.promql.max_enforced_bytes, 100000);
    const summary = summarizeConfig(c).join('\n');
    assert.match(summary, /lisa \(bearer\) -> team-fruit \+ label policy \{tenant="team-veggie", job="api"\}/);
    assert.match(summary, /grafana \(bearer; groups: prod-readers\) -> team-fruit, team-veggie \+ label policy \{tenant="team-platform", env="prod", secret!="true"\} \(X-Prom-Label-Policy trusted\)/);
    assert.doesNotMatch(summary, /no_tenants/);
  });

  it('a subject with only label policies is granted (no no_tenants warning)', () => {
    const c = parse(`${head}access:\n  subjects: {grafana: [a]}\n  label_policies: {subjects: {lisa: ['{tenant="a", job="x"}']}}\n`);
    assert.match(summarizeConfig(c).join('\n'), /lisa \(bearer\) -> label policy \{tenant="a", job="x"\}/);
  });

  const bad: Array<[string, string, string]> = [
    ['syntax', `label_policies: {subjects: {lisa: ['{tenant="a"']}}`, 'config: access.label_policies.subjects.lisa[0] is not a valid selector: unexpected end of input (line 1, column 12)'],
    ['metric name', `label_policies: {subjects: {lisa: ['up{tenant="a"}']}}`, 'config: access.label_policies.subjects.lisa[0] names a metric; a policy selector restricts labels only (write it without a metric name, like {tenant="a", job="api"})'],
    ['empty-matching', `label_policies: {groups: {g: ['{tenant="a"}', '{job=~".*"}']}}`, 'config: access.label_policies.groups.g[1] matches the empty string (every matcher also matches series without the label); add a matcher that needs a value, like tenant="a"'],
    ['no tenant matcher', `label_policies: {subjects: {lisa: ['{job="api"}']}}`, 'config: access.label_policies.subjects.lisa[0] has no matcher on the tenant label "tenant"; every policy selector names its tenants with exactly one tenant="a" or tenant=~"a|b"'],
    ['tenant regex', `label_policies: {subjects: {lisa: ['{tenant=~"team-.*"}']}}`, 'config: access.label_policies.subjects.lisa[0] has tenant=~"team-.*"; the tenant matcher must name tenants: tenant="a" or tenant=~"a|b" (literal IDs)'],
    ['empty list', `label_policies: {subjects: {lisa: []}}`, 'config: access.label_policies.subjects.lisa is empty; list at least one selector like \'{tenant="a", job="api"}\', or remove the entry'],
    ['unknown key', `label_policies: {subject: {}}`, 'config: access.label_policies: unknown key "subject" (did you mean "subjects"?); allowed keys: subjects, groups'],
  ];
  for (const [what, yaml, message] of bad) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(issues(`${head}access:\n  subjects: {grafana: [a]}\n  ${yaml}\n`), [message]);
    });
  }
});

describe('header modes and label policies', () => {
  const policies = `access:\n  subjects: {grafana: [a]}\n  label_policies: {subjects: {lisa: ['{tenant="a", job="x"}', '{tenant="b"}']}}\n`;
  it('header mode without label_policy_header refuses label restrictions and a trusted header, naming each', () => {
    assert.deepEqual(issues(`${head}enforce: {mode: header}\n${policies}  trust_label_policy_header: [grafana]\n`), [
      'config: access.label_policies.subjects.lisa[0] restricts labels besides the tenant, which enforce.mode: header cannot enforce; set enforce.label_policy_header: true (Mimir/GEM with label access control) or use enforce.mode label or label+header',
      'config: access.trust_label_policy_header: X-Prom-Label-Policy restricts labels, which enforce.mode: header cannot enforce; set enforce.label_policy_header: true or use enforce.mode label or label+header',
    ]);
  });
  it('header mode with label_policy_header needs X-Scope-OrgID: Thanos would not read the label policy', () => {
    assert.deepEqual(issues(`${head}enforce: {mode: header, header: THANOS-TENANT, label_policy_header: true}\n${policies}`), [
      'config: enforce.label_policy_header: in enforce.mode header it needs enforce.header X-Scope-OrgID (only Mimir/GEM read X-Prom-Label-Policy; behind THANOS-TENANT label restrictions would not be enforced); use enforce.mode label+header',
    ]);
    assert.equal(parse(`${head}enforce: {mode: label+header, header: THANOS-TENANT, label_policy_header: true}\n${policies}`).enforce.label_policy_header, true);
  });
  it('header mode with label_policy_header accepts them; label mode refuses label_policy_header', () => {
    assert.equal(parse(`${head}enforce: {mode: header, label_policy_header: true}\n${policies}`).enforce.label_policy_header, true);
    assert.deepEqual(issues(`${head}enforce: {label_policy_header: true}\n${policies}`), [
      'config: enforce.label_policy_header: needs enforce.mode header or label+header (it sends the label policy to Mimir/GEM next to the tenant header)',
    ]);
  });
  it('promql.max_enforced_bytes is at least 1024', () => {
    assert.deepEqual(issues(`${head}promql: {max_enforced_bytes: 10}\naccess: {subjects: {lisa: [a]}}\n`), ['config: promql.max_enforced_bytes: must be at least 1024']);
  });
});
