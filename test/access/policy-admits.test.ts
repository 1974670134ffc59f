/** policyAdmits / matcherMatches / regexProblem (src/access/admits.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  matcherAdmits, matcherMatches, pinnedValues, policyAdmits, policyCovers, regexProblem, tenantList, tenantPolicy, unrestrictedPolicy,
  type AccessPolicy, type LabelMatcher, type MatchOp,
} from '../../src/access/index.ts';

const m = (name: string, op: MatchOp, value: string): LabelMatcher => ({ name, op, value });
const policy = (...sets: LabelMatcher[][]): AccessPolicy => ({ label: 'tenant', tenants: { kind: 'list', tenants: ['x'] }, selectors: sets, key: JSON.stringify(sets) });

describe('policyAdmits', () => {
  const fruit = tenantPolicy('tenant', tenantList(['team-fruit']));
  const both = tenantPolicy('tenant', tenantList(['team-fruit', 'team.veggie']));
  it('a single-tenant grant admits exactly its tenant', () => {
    assert.equal(policyAdmits(fruit, { tenant: 'team-fruit', severity: 'page' }), true);
    assert.equal(policyAdmits(fruit, { tenant: 'team-veggie' }), false);
    assert.equal(policyAdmits(fruit, { tenant: 'team-fruitX' }), false);
  });
  it('objects without the tenant label (or without labels) are visible only to unrestricted callers', () => {
    for (const labels of [{}, undefined, null, 'x', ['tenant'], { job: 'a' }]) {
      assert.equal(policyAdmits(fruit, labels), false, JSON.stringify(labels));
      assert.equal(policyAdmits(unrestrictedPolicy('tenant'), labels), true);
    }
  });
  it('several tenants: escaped alternation matches literally (a dot is not a wildcard)', () => {
    assert.equal(policyAdmits(both, { tenant: 'team.veggie' }), true);
    assert.equal(policyAdmits(both, { tenant: 'team-veggie' }), false);
    assert.equal(policyAdmits(both, { tenant: 'team-fruit' }), true);
  });
  it('a non-string label value fails the matcher', () => {
    assert.equal(policyAdmits(fruit, { tenant: ['team-fruit'] }), false);
    assert.equal(policyAdmits(fruit, { tenant: 1 }), false);
  });
  it('matcher sets are OR-ed, matchers inside one set AND-ed', () => {
    const p = policy([m('tenant', '=', 'b'), m('job', '=', 'api')], [m('tenant', '=', 'a')]);
    assert.equal(policyAdmits(p, { tenant: 'a' }), true);
    assert.equal(policyAdmits(p, { tenant: 'b', job: 'api' }), true);
    assert.equal(policyAdmits(p, { tenant: 'b', job: 'web' }), false);
    assert.equal(policyAdmits(p, { tenant: 'b' }), false);
  });
  it('a regex RE2 does not compile admits nothing (fail closed), also negated', () => {
    assert.equal(policyAdmits(policy([m('tenant', '=~', 'a(')]), { tenant: 'a(' }), false);
    assert.equal(policyAdmits(policy([m('tenant', '!~', 'a(')]), { tenant: 'b' }), false);
    assert.equal(policyAdmits(policy([m('tenant', '=~', 'a'), m('job', '!~', 'x**')]), { tenant: 'a', job: 'y' }), false);
  });
  it('RE2 syntax JavaScript reads differently is decided as Go decides it', () => {
    assert.equal(policyAdmits(policy([m('tenant', '=~', '(?i)A')]), { tenant: 'a' }), true);
    assert.equal(policyAdmits(policy([m('tenant', '=~', 'a'), m('job', '!~', '\\s')]), { tenant: 'a', job: 'x' }), true);
  });
  it('a missing label has the empty value (Prometheus semantics)', () => {
    assert.equal(policyAdmits(policy([m('tenant', '=', 'a'), m('job', '!=', 'api')]), { tenant: 'a' }), true);
    assert.equal(policyAdmits(policy([m('tenant', '=', 'a'), m('job', '=~', 'api|')]), { tenant: 'a' }), true);
    assert.equal(policyAdmits(policy([m('tenant', '=', 'a'), m('job', '=~', 'api.*')]), { tenant: 'a' }), false);
  });
});

describe('matcherMatches: RE2 semantics (re2js), anchored, dot matches newline (Prometheus 3)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['team-.*', 'team-fruit', true],
    ['team-.*', 'xteam-fruit', false], // anchored
    ['a|b', 'ab', false],
    ['(a|b)c', 'bc', true],
    ['(?:a|b)c', 'ac', true],
    ['.', '\r', true],
    ['.', '\n', true], // Prometheus 3 compiles "^(?s:re)$"
    ['.', '\u2028', true],
    ['[^a]', '\n', true],
    ['[]a]', ']', true],
    ['[a-c]{2}', 'bc', true],
    ['x{2,}', 'xxx', true],
    ['a{,2}', 'a{,2}', true], // RE2: not a repetition, a literal
    ['\\d+', '42', true],
    ['\\d+', '٤٢', false], // ASCII digits only in RE2
    ['\\w+', 'é', false],
    ['a.b', 'a.b', true],
    ['a\\.b', 'axb', false],
    ['é+', 'éé', true],
    ['😀', '😀', true],
    ['a/b', 'a/b', true],
    ['x*?', 'xx', true],
    // Go syntax that JavaScript reads differently or not at all.
    ['(?i)a', 'A', true],
    ['(?P<n>a)', 'a', true],
    ['\\s', ' ', true],
    ['\\s', '\u00a0', false], // RE2's \s is ASCII whitespace only
    ['\\bA', 'A', true],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\pL', 'a', true],
    ['[[:alpha:]]', 'a', true],
    // Linear time whatever the shape (no backtracking).
    ['(a+)+b', 'a'.repeat(5000), false],
    ['(a|aa)*', 'aa', true],
    ['.*.*.*.*x', 'x', true],
    ['a.'.repeat(300), 'a', false],
  ];
  for (const [re, value, want] of cases) {
    it(`${JSON.stringify(re)} on ${JSON.stringify(value.slice(0, 20))} → ${String(want)}`, () => {
      assert.equal(matcherMatches(m('l', '=~', re), value), want);
      assert.equal(matcherMatches(m('l', '!~', re), value), !want);
    });
  }
  for (const bad of ['a**', '(', '[a', '\\', 'x{2,1}']) {
    it(`${JSON.stringify(bad)} does not compile: matcherMatches throws, regexProblem says why, matcherAdmits is false`, () => {
      assert.throws(() => matcherMatches(m('l', '=~', bad), 'a'));
      assert.equal(typeof regexProblem(bad), 'string');
      assert.equal(matcherAdmits(m('l', '=~', bad), 'a'), false);
      assert.equal(matcherAdmits(m('l', '!~', bad), 'a'), false);
    });
  }
  it('literal alternations and long values are exact', () => {
    const long = 'x'.repeat(10_000);
    assert.equal(matcherMatches(m('l', '=~', `a|${long}`), long), true);
    assert.equal(matcherMatches(m('l', '=~', 'x+'), long), true);
    assert.equal(matcherMatches(m('l', '=~', 'x+'), long + 'y'), false);
  });
  it('= and != are exact', () => {
    assert.equal(matcherMatches(m('l', '=', 'a'), 'a'), true);
    assert.equal(matcherMatches(m('l', '=', 'a'), 'A'), false);
    assert.equal(matcherMatches(m('l', '!=', 'a'), ''), true);
  });
  it('regexProblem: undefined for a valid pattern', () => {
    assert.equal(regexProblem('a|b.c'), undefined);
  });
});

describe('matcherAdmits, pinnedValues, policyCovers (the API of the Alertmanager filters)', () => {
  const fruit = tenantPolicy('tenant', tenantList(['team-fruit']));
  const tomato = tenantPolicy('tenant', tenantList(['team-fruit', 'team-veggie']));
  it('matcherAdmits is matcherMatches with a pattern that does not compile = not admitted', () => {
    assert.equal(matcherAdmits(m('l', '=~', 'a.*'), 'ab'), true);
    assert.equal(matcherAdmits(m('l', '=~', '(?i)a'), 'A'), true);
    assert.equal(matcherAdmits(m('l', '=~', 'a('), 'a'), false);
    assert.equal(matcherAdmits(m('l', '!~', 'a('), 'b'), false);
  });
  it('pinnedValues: equality and literal alternations only', () => {
    assert.deepEqual(pinnedValues(m('t', '=', 'a')), ['a']);
    assert.deepEqual(pinnedValues(m('t', '=~', 'a|b\\.c')), ['a', 'b.c']);
    assert.equal(pinnedValues(m('t', '=~', 'a.*')), undefined);
    assert.equal(pinnedValues(m('t', '!=', 'a')), undefined);
  });
  it('policyCovers: every policy label pinned to admitted values', () => {
    assert.equal(policyCovers(fruit, [m('tenant', '=', 'team-fruit'), m('alertname', '=', 'X')]), true);
    assert.equal(policyCovers(fruit, [m('tenant', '=~', 'team-fruit|team-veggie')]), false);
    assert.equal(policyCovers(tomato, [m('tenant', '=~', 'team-fruit|team-veggie')]), true);
    assert.equal(policyCovers(fruit, [m('tenant', '!=', 'team-veggie')]), false);
    assert.equal(policyCovers(fruit, [m('tenant', '=~', 'team-fruit|')]), false);
    assert.equal(policyCovers(unrestrictedPolicy('tenant'), []), true);
  });
});
