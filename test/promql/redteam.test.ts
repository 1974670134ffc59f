/**
 * Regression tests for the PromQL-engine red-team findings (regex empty-match DoS, lezer
 * parse-time DoS, enforcement-cache key collisions, over-deep canonical prints). Each test asserts the exact code or
 * output, and the time-bounded ones assert an upper bound far below the pre-fix cost.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALL_TENANTS, tenantKey, tenantList, type TenantSet } from '../../src/access/index.ts';
import { Enforcer, enforceQuery, enforceSeriesSelector, PromQLError } from '../../src/enforce/index.ts';
import { topts } from '../kit/policy.ts';
import { re2Nullable, regexMatchesEmpty } from '../../src/promql/regex.ts';
import { DEFAULT_PARSE_BUDGET_MS, ParseBudgetError, parseExpr } from '../../src/promql/parse.ts';
import { canonicalize, nestingDepth, printCanonical } from '../../src/promql/print.ts';

const fruit = topts({ label: 'tenant', tenants: tenantList(['team-fruit']), syntax: 'prometheus3' });

/**
 * Runs `f` and returns its value. The DoS regressions below assert outcomes only (timing is
 * for `npm run bench`, never for tests); their suites carry a generous `timeout`, so a
 * regression to exponential or quadratic time fails instead of hanging the run.
 */
function timed<T>(f: () => T): { value: T } {
  return { value: f() };
}

/** Suite option for the DoS regressions: fail (not hang) if the old blow-up comes back. */
const DOS_GUARD = { timeout: 60_000 };

function code(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof PromQLError, `expected PromQLError, got ${String(err)}`);
    return err.code;
  }
  return 'ok';
}

describe('red team: regex empty-match check never backtracks (was: exponential JavaScript test of "")', DOS_GUARD, () => {
  // Before the fix, `(?:|)` × 24 followed by `\b` took ~150 ms and every further group doubled
  // it: 40 groups blocked the event loop for hours.
  const evil = '(?:|)'.repeat(40) + '\\b';

  it('regexMatchesEmpty answers in linear time', () => {
    const { value } = timed(() => regexMatchesEmpty(evil));
    assert.equal(value, false);
    const huge = timed(() => regexMatchesEmpty('(?:|)'.repeat(5000) + '\\b'));
    assert.equal(huge.value, false);
  });

  it('a selector holding the pattern is enforced promptly (=~ and !~)', () => {
    const q = `{a=~${JSON.stringify(evil)}}`;
    const r = timed(() => enforceQuery(q, fruit));
    assert.equal(r.value, `{a=~${JSON.stringify(evil)}, tenant="team-fruit"}`);
    const neg = timed(() => code(() => enforceQuery(`{a!~${JSON.stringify(evil)}}`, fruit)));
    assert.equal(neg.value, 'empty_selector');
    const sel = timed(() => enforceSeriesSelector(q, fruit));
    assert.equal(sel.value, `{a=~${JSON.stringify(evil)}, tenant="team-fruit"}`);
  });

  const rows: Array<[string, boolean | undefined]> = [
    ['', true], ['a', false], ['a|', true], ['|a', true], ['a?', true], ['a+', false], ['a*?', true], ['a+?', false],
    ['a{0}', true], ['a{0,3}', true], ['a{2}', false], ['a{1,}', false], ['a{0,}', true], ['a{,2}', false], ['a{', false],
    ['(a|b)*', true], ['(a|b)+', false], ['(a|)', true], ['()', true], ['(?:)', true], ['(?i)', true], ['(?i)a', false],
    ['(?i:a)?', true], ['(?-s:a)', false], ['(?P<n>a?)', true], ['(?P<n>a)', false], ['(?<n>)', true],
    ['^', true], ['$', true], ['^$', true], ['\\A\\z', true], ['\\B', true], ['\\b', false], ['^\\b$', false], ['(?:\\b)*', true],
    ['.', false], ['.*', true], ['\\d', false], ['\\pL', false], ['\\p{Greek}*', true], ['\\PL?', true], ['\\x41', false],
    ['\\x{10FFFF}', false], ['\\x{41}{0}', true], ['[ab]', false], ['[^a]*', true], ['[]a]', false], ['[^]]', false],
    ['[[:alpha:]]', false], ['[[:alpha:]]*', true], ['[a\\]]', false], ['\\Q\\E', true], ['\\Qa\\E', false], ['\\Qa', false],
    ['\\Q(\\E?', true], ['\\.', false], ['😀', false], ['😀?', true],
    // Not RE2 (or not understood): unknown, which callers treat as "may match the empty string".
    ['(', undefined], ['a)', undefined], ['\\', undefined], ['*', undefined], ['a**', undefined], ['a*+', undefined],
    ['{2}', undefined], ['(?i)*', undefined], ['(?=a)', undefined], ['(?!a)', undefined], ['[a', undefined],
    ['\\p{Greek', undefined], ['(?P<n', undefined], ['|*', undefined],
  ];
  for (const [re, want] of rows) it(`re2Nullable(${JSON.stringify(re)}) = ${want}`, () => assert.equal(re2Nullable(re), want));

  it('agrees with an anchored JavaScript test on small patterns both understand, and decides most of them', () => {
    const tok = fc.constantFrom('a', 'b', '|', '(', ')', '(?:', '?', '*', '+', '{0,2}', '{1}', '\\b', '\\B', '^', '$', '[ab]', '[^a]', '.', '\\d', '\\x41', '(?P<x>');
    let compiled = 0;
    let decided = 0;
    fc.assert(fc.property(fc.array(tok, { minLength: 1, maxLength: 8 }), (parts) => {
      const re = parts.join('');
      const mine = re2Nullable(re);
      let js: boolean | undefined;
      try {
        js = new RegExp(`^(?:${re.replace(/\(\?P</g, '(?<')})$`, 'u').test('');
      } catch {
        js = undefined;
      }
      if (js !== undefined) {
        compiled++;
        if (mine !== undefined) decided++;
      }
      return mine === undefined || js === undefined || mine === js;
    }), { numRuns: 3000 });
    // "unknown" is always safe, so an implementation that never decides would pass the line
    // above: it must decide (nearly) every pattern JavaScript can compile.
    assert.ok(decided >= compiled * 0.9, `decided ${decided} of ${compiled} compilable patterns`);
  });

  it('stays linear on unclosed (?P< / (?= runs, [: runs and deep nesting (was: quadratic flag-group search)', () => {
    // ~180 KB each: before the fix the (?P / (?= shapes cost seconds (quadratic flag-group
    // search); the structural walk must neither go quadratic on [: nor overflow the stack.
    for (const re of [
      '(?P'.repeat(60000), '(?='.repeat(60000), '[' + '[:'.repeat(90000),
      '('.repeat(90000) + ')'.repeat(90000), '(?:'.repeat(60000) + ')'.repeat(60000),
    ]) {
      const r = timed(() => regexMatchesEmpty(re));
      assert.equal(r.value, undefined, re.slice(0, 12));
    }
    const q = `{a=~${JSON.stringify('(?P'.repeat(60000))}}`;
    const r = timed(() => code(() => enforceQuery(q, { ...fruit, maxQueryBytes: 400_000 })));
    assert.equal(r.value, 'empty_selector');
    assert.equal(re2Nullable('('.repeat(1000) + ')'.repeat(1000)), true);
    assert.equal(re2Nullable('('.repeat(1000) + 'a' + ')'.repeat(1000)), false);
    assert.equal(re2Nullable('('.repeat(1001) + ')'.repeat(1001)), undefined);
  });

  it('keeps the "unknown" classification of patterns JavaScript cannot read', () => {
    for (const re of ['\\pL', '[[:alpha:]]', '\\Qa\\E', '\\z', '(']) assert.equal(regexMatchesEmpty(re), undefined, re);
    assert.equal(code(() => enforceQuery('{a=~"\\\\pL"}', fruit)), 'empty_selector');
  });
});

describe('red team: lezer parse runs under a wall-clock budget (was: ~9 s for 30 KB of -1^-1^…)', DOS_GUARD, () => {
  const shapes: Array<[string, string]> = [
    ['signed power chain', Array(8000).fill('-1').join('^')],
    ['nested topk', 'topk(1,'.repeat(3000) + 'foo' + ')'.repeat(3000)],
  ];
  for (const [name, q] of shapes) {
    it(`${name} (${q.length} chars) is refused as query_too_large, fast`, () => {
      const r = timed(() => code(() => enforceQuery(q, fruit)));
      assert.equal(r.value, 'query_too_large');
    });
  }

  it('the message says why (the structural limits now refuse these shapes before lezer runs: test/promql/abuse.test.ts)', () => {
    assert.throws(() => parseExpr(Array(8000).fill('-1').join('^'), { syntax: 'prometheus3', structureLimits: false }),
      (err: unknown) => err instanceof ParseBudgetError && err.code === 'query_too_large'
        && err.message === `query is too complex to parse (over ${DEFAULT_PARSE_BUDGET_MS} ms); simplify or split it`);
  });

  it('parseBudgetMs is honoured, and large valid queries still parse', () => {
    assert.equal(code(() => parseExpr('foo + bar', { syntax: 'prometheus3', parseBudgetMs: -1 })), 'query_too_large');
    const big = 'foo{' + Array.from({ length: 3000 }, (_, i) => `a${i}="x"`).join(',') + '}';
    assert.ok(big.length < 32768);
    assert.ok(enforceQuery(big, fruit).endsWith('a2999="x", tenant="team-fruit"}'));
  });

  it('the cache does not keep a query_too_large refusal', () => {
    const cache = new Enforcer();
    assert.equal(code(() => cache.enforceQuery('x'.repeat(40000), { ...fruit, maxQueryBytes: 32768 })), 'query_too_large');
    assert.equal(cache.size, 0);
    assert.equal(code(() => cache.enforceQuery('foo{', fruit)), 'parse_error');
    assert.equal(cache.size, 1);
  });
});

describe('red team: enforcement-cache keys never collide across tenant sets', DOS_GUARD, () => {
  const opts = (tenants: TenantSet) => topts({ label: 'tenant', tenants, syntax: 'prometheus3' });

  it('["a","b"] and ["a\\u0000b"] get their own results (was: the second caller got tenant=~"a|b")', () => {
    const cache = new Enforcer();
    assert.equal(cache.enforceQuery('up', opts(tenantList(['a', 'b']))), 'up{tenant=~"a|b"}');
    assert.equal(cache.enforceQuery('up', opts(tenantList(['a\u0000b']))), 'up{tenant="a\\x00b"}');
    assert.equal(cache.enforceSeriesSelector('up', opts(tenantList(['a\u0000b']))), 'up{tenant="a\\x00b"}');
  });

  it('a hand-built list ["*"] is not the unrestricted set (was: it got the unscoped text)', () => {
    const cache = new Enforcer();
    assert.equal(cache.enforceQuery('up', opts(ALL_TENANTS)), 'up');
    assert.equal(cache.enforceQuery('up', opts({ kind: 'list', tenants: ['*'] })), 'up{tenant="*"}');
  });

  it('label and tenant text cannot bleed into each other', () => {
    const cache = new Enforcer();
    assert.equal(cache.enforceQuery('up', topts({ label: 'a', tenants: tenantList(['b\u0000c']), syntax: 'prometheus3' })), 'up{a="b\\x00c"}');
    assert.equal(cache.enforceQuery('up', topts({ label: 'a\u0000b', tenants: tenantList(['c']), syntax: 'prometheus3' })), 'up{"a\\x00b"="c"}');
  });

  it('tenantKey distinguishes every set', () => {
    const keys = [ALL_TENANTS, tenantList(['a', 'b']), tenantList(['a\u0000b']), { kind: 'list', tenants: ['*'] } as TenantSet, tenantList(['a,b'])]
      .map(tenantKey);
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(tenantKey(tenantList(['b', 'a'])), '["a","b"]');
    assert.equal(tenantKey(ALL_TENANTS), '*');
  });
});

describe('red team: a valid query whose canonical print nests too deeply is refused cleanly (was: 500 internal_error)', DOS_GUARD, () => {
  const msg = 'query nests too deeply once printed for the upstream (over 1000 levels with explicit parentheses); simplify it';
  // Since issue #11 the structural limits (src/promql/limits.ts) refuse these shapes before
  // lezer runs; the printer's own guard is exercised on trees built without those limits.
  const structural = 'query nests too deeply (brackets and operator chains deeper than 500); simplify or split it';
  const refused: Array<[string, string]> = [
    ['999 × foo ^', Array(999).fill('foo').join('^')],
    ['999 × 1 ^', Array(999).fill('1').join('^')],
    ['999 unary minus', '-'.repeat(999) + 'foo'],
    ['999 unary minus on a subquery', '-'.repeat(999) + 'foo[5m:]'],
    ['300 × a ^ -b', Array.from({ length: 300 }, (_, i) => (i % 2 ? 'b' : 'a')).join(' ^ -')],
  ];
  for (const [name, q] of refused) {
    it(`${name}: query_too_large with the reason`, () => {
      assert.throws(() => enforceQuery(q, fruit),
        (err: unknown) => err instanceof PromQLError && err.code === 'query_too_large' && err.message === structural);
    });
  }
  it('the printer refuses a tree that nests too deeply once printed (structure limits off)', () => {
    for (const q of ['-'.repeat(600) + 'foo', Array(600).fill('foo').join('^')]) {
      const tree = parseExpr(q, { syntax: 'prometheus3', structureLimits: false });
      assert.throws(() => printCanonical(tree, 'prometheus3'),
        (err: unknown) => err instanceof PromQLError && err.code === 'query_too_large' && err.message === msg);
    }
  });
  it('the same shapes below the limit are still enforced', () => {
    assert.ok(enforceQuery(Array(500).fill('foo').join('^'), fruit).startsWith('foo{tenant="team-fruit"} ^ (foo{tenant="team-fruit"} ^ ('));
    assert.equal(enforceQuery('-'.repeat(499) + 'foo', fruit), '-('.repeat(498) + '-foo{tenant="team-fruit"}' + ')'.repeat(498));
  });
  it('nestingDepth counts like the builder and stops early', () => {
    const e = parseExpr('a ^ b ^ c', { syntax: 'prometheus3' });
    assert.equal(nestingDepth(e, 100), 2);
    assert.equal(nestingDepth(canonicalize(e), 100), 3);
    assert.equal(nestingDepth(parseExpr('rate(x[5m])', { syntax: 'prometheus3' }), 100), 2);
    assert.equal(nestingDepth(parseExpr('-'.repeat(500) + 'x', { syntax: 'prometheus3' }), 10), 11);
  });
});
