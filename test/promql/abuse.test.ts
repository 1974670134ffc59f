/**
 * Issue #11 (abuse resistance), engine side: long `or` chains accepted, structural limits
 * before the parser, no error recovery on long garbage, bounded enforced size, remembered
 * parse-budget refusals, and regex matchers naming only foreign tenants refused.
 *
 * Outcomes only: timing belongs to `npm run bench`; the suite timeout turns a blow-up into a
 * failure instead of a hang.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tenantList } from '../../src/access/index.ts';
import { Enforcer, enforceQuery, enforceSeriesSelector, PromQLError, type EnforceOptions } from '../../src/enforce/index.ts';
import { DEFAULT_MAX_ENFORCED_BYTES } from '../../src/enforce/enforce.ts';
import {
  checkRequestTokens, MAX_REQUEST_TOKENS, MAX_SIGNED_POWERS, MAX_STRUCTURAL_DEPTH, MAX_TOKENS, scanStructure,
} from '../../src/promql/limits.ts';
import { ParseBudgetError, parseExpr, RECOVERY_MAX_CHARS } from '../../src/promql/parse.ts';
import { loadRealWorldQueries } from '../kit/corpus.ts';
import { topts } from '../kit/policy.ts';

const GUARD = { timeout: 60_000 };
const fruit = topts({ label: 'tenant', tenants: tenantList(['team-fruit']), syntax: 'prometheus3' });
const tom = topts({ label: 'tenant', tenants: tenantList(['team-fruit', 'team-veggie']), syntax: 'prometheus3' });

function refusal(f: () => unknown): PromQLError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof PromQLError, `expected PromQLError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected a refusal');
}

const chain = (n: number) => Array.from({ length: n }, (_, i) => `count(x${i})`).join(' or ');

describe('long left-associative chains (Prometheus accepts them; lezer force-reduced after ~290 terms)', GUARD, () => {
  for (const n of [290, 400, 500]) {
    it(`${n} × count(x) or …: accepted, every selector scoped`, () => {
      const out = enforceQuery(chain(n), fruit);
      assert.equal(out.split('{tenant="team-fruit"}').length - 1, n);
      assert.ok(out.startsWith('('.repeat(n - 2) + 'count(x0{tenant="team-fruit"}) or count(x1{tenant="team-fruit"})'), out.slice(0, 200));
    });
  }
  it('the same chain as match[] text is refused like any non-selector (no crash)', () => {
    assert.equal(refusal(() => enforceSeriesSelector(chain(400), fruit)).code, 'parse_error');
  });
  it('a chain deeper than the structural limit is refused before parsing, with the reason', () => {
    const err = refusal(() => enforceQuery(chain(MAX_STRUCTURAL_DEPTH + 2), fruit));
    assert.equal(err.code, 'query_too_large');
    assert.match(err.message, /nests too deeply \(brackets and operator chains deeper than 500\)/);
  });
  it('long chains of every operator kind parse the same way', () => {
    for (const op of ['+', '-', '*', '/', '%', 'and', 'unless', '==', '>', 'atan2']) {
      const q = Array.from({ length: 350 }, (_, i) => `m${i}`).join(` ${op} `);
      assert.ok(enforceQuery(q, fruit).endsWith(`${op} m349{tenant="team-fruit"}`), op);
    }
  });
});

describe('structural limits before the parser', GUARD, () => {
  it('the real-world corpus is far inside every limit', () => {
    let tokens = 0;
    let depth = 0;
    for (const { query } of loadRealWorldQueries()) {
      const s = scanStructure(query);
      tokens = Math.max(tokens, s.tokens);
      depth = Math.max(depth, s.depth);
      assert.equal(s.signedPowers, 0, query);
    }
    assert.ok(tokens < MAX_TOKENS / 8, `max tokens ${tokens}`);
    assert.ok(depth < MAX_STRUCTURAL_DEPTH / 10, `max depth ${depth}`);
  });

  it('counts tokens, depth and signed powers as documented', () => {
    assert.deepEqual(scanStructure('sum by (job) (rate(x{a="b"}[5m]))'), { tokens: 19, depth: 3, signedPowers: 0 });
    assert.deepEqual(scanStructure('a + b * c'), { tokens: 5, depth: 2, signedPowers: 0 });
    assert.deepEqual(scanStructure('(a + b) * c'), { tokens: 7, depth: 2, signedPowers: 0 });
    assert.deepEqual(scanStructure('-1 ^ 2 + (-1) ^ 2'), { tokens: 11, depth: 5, signedPowers: 1 });
    // Strings and comments are one token or none, whatever they hold.
    assert.deepEqual(scanStructure('x{a="(((\\"((("} # ((((\n'), { tokens: 6, depth: 1, signedPowers: 0 });
    assert.deepEqual(scanStructure('`(((`'), { tokens: 1, depth: 0, signedPowers: 0 });
  });

  it(`more than ${MAX_TOKENS} tokens: query_too_large before parsing`, () => {
    const q = 'foo{' + Array.from({ length: 4100 }, (_, i) => `a${i}="x"`).join(',') + '}';
    const err = refusal(() => parseExpr(q, { syntax: 'prometheus3', maxQueryBytes: 1 << 20 }));
    assert.equal(err.code, 'query_too_large');
    assert.equal(err.message, `query has more than ${MAX_TOKENS} tokens; simplify or split it`);
    // 3000 matchers (12,002 tokens, 29 KB) are still a valid query.
    assert.ok(enforceQuery('foo{' + Array.from({ length: 3000 }, (_, i) => `a${i}="x"`).join(',') + '}', fruit).endsWith('tenant="team-fruit"}'));
  });

  it(`more than ${MAX_SIGNED_POWERS} signed numbers before ^: query_too_large (lezer is quadratic there)`, () => {
    const q = Array(MAX_SIGNED_POWERS + 2).fill('-1').join('^');
    const err = refusal(() => parseExpr(q, { syntax: 'prometheus3' }));
    assert.equal(err.code, 'query_too_large');
    assert.match(err.message, /signed numbers directly before "\^"/);
    assert.ok(enforceQuery(Array(MAX_SIGNED_POWERS + 1).fill('-1').join('^'), fruit).length > 0);
    assert.ok(enforceQuery(Array(400).fill('(-1)').join('^'), fruit).length > 0);
  });

  it('nesting of brackets counts like operators', () => {
    const deep = (n: number) => 'topk(1,'.repeat(n) + 'foo' + ')'.repeat(n);
    assert.ok(enforceQuery(deep(MAX_STRUCTURAL_DEPTH), fruit).includes('foo{tenant="team-fruit"}'));
    assert.equal(refusal(() => enforceQuery(deep(MAX_STRUCTURAL_DEPTH + 1), fruit)).code, 'query_too_large');
  });

  it('the request total adds every match[] up', () => {
    const big = 'foo{' + Array.from({ length: 2000 }, (_, i) => `a${i}="x"`).join(',') + '}'; // 8,002 tokens
    checkRequestTokens([big, big, big, big]);
    const err = refusal(() => checkRequestTokens([big, big, big, big, big]));
    assert.equal(err.code, 'query_too_large');
    assert.equal(err.message, `the PromQL selectors of this request have more than ${MAX_REQUEST_TOKENS} tokens together; split the request`);
  });
});

describe('long invalid text gets no error recovery', GUARD, () => {
  it('16,000 juxtaposed numbers (~30 µs per token to recover) are a parse_error at the first bad token', () => {
    const q = '1 '.repeat(16000);
    const err = refusal(() => parseExpr(q, { syntax: 'prometheus3' }));
    assert.equal(err.code, 'parse_error', err.message);
    assert.equal(err.message, 'unexpected "1" (line 1, column 3)');
  });
  it('short invalid text keeps the message of the recovering parse', () => {
    assert.equal(refusal(() => parseExpr('foo{', { syntax: 'prometheus3' })).message, 'unexpected end of input (line 1, column 5)');
  });
  it('unexpected end of long input', () => {
    const q = 'sum(' + 'a + '.repeat(400);
    assert.ok(q.length > RECOVERY_MAX_CHARS);
    assert.match(refusal(() => parseExpr(q, { syntax: 'prometheus3' })).message, /^unexpected end of input \(line 1, column \d+\)$/);
  });
  it('holt_winters in a long query still parses for prometheus2 (found lexically)', () => {
    const q = 'holt_winters(x[5m], 0.5, 0.5) + ' + Array.from({ length: 100 }, (_, i) => `metric_${i}`).join(' + ') + ' + holt_winters (y[5m], 0.1, 0.9)';
    assert.ok(q.length > RECOVERY_MAX_CHARS);
    const p2 = topts({ label: 'tenant', tenants: tenantList(['team-fruit']), syntax: 'prometheus2' });
    const out = enforceQuery(q, p2);
    assert.ok(out.includes('holt_winters(x{tenant="team-fruit"}[5m], 0.5, 0.5)'), out.slice(0, 120));
    assert.ok(out.endsWith('holt_winters(y{tenant="team-fruit"}[5m], 0.1, 0.9)'), out.slice(-120));
    // In a string it stays text; as a label name it is a label.
    const q2 = `x{holt_winters="holt_winters("} + ${'z + '.repeat(300)}z`;
    assert.ok(enforceQuery(q2, p2).startsWith('(((('));
  });
});

describe('the enforced size is bounded (selectors × policy matchers)', GUARD, () => {
  const many = (n: number): EnforceOptions => topts({ label: 'tenant', tenants: tenantList(Array.from({ length: n }, (_, i) => `team-${String(i).padStart(4, '0')}`)), syntax: 'prometheus3' });
  it('a wide grant times many selectors is refused before printing', () => {
    const opts = many(400); // ~4 KB of tenant regex per selector
    const q = Array.from({ length: 80 }, (_, i) => `m${i}`).join(' + ');
    const err = refusal(() => enforceQuery(q, opts));
    assert.equal(err.code, 'query_too_large');
    assert.match(err.message, /^the enforced query would be larger than 262144 bytes \(promql.max_enforced_bytes\)/);
    const ok = enforceQuery(Array.from({ length: 40 }, (_, i) => `m${i}`).join(' + '), opts);
    assert.ok(ok.length < DEFAULT_MAX_ENFORCED_BYTES);
  });
  it('unrestricted adds nothing and is not limited by it', () => {
    const all = topts({ label: 'tenant', tenants: { kind: 'all' }, syntax: 'prometheus3' });
    assert.ok(enforceQuery(Array.from({ length: 400 }, (_, i) => `m${i}`).join(' + '), all).length > 0);
  });
});

describe('parse-budget refusals are remembered briefly, by hash', GUARD, () => {
  let t = 0;
  let calls = 0;
  const slow = () => {
    calls++;
    throw new ParseBudgetError(250);
  };
  const enforcer = () => new Enforcer({ now: () => t, slowRefusalTtlMs: 30_000, steps: { prepareQuery: slow, prepareSeriesSelector: slow } });

  it('a second request within the TTL is refused without parsing; after it, parsed again', () => {
    const e = enforcer();
    t = 1000;
    calls = 0;
    for (let i = 0; i < 3; i++) assert.equal(refusal(() => e.enforceQuery('x', fruit)).code, 'query_too_large');
    assert.equal(calls, 1);
    assert.equal(e.slowRefusalHits, 2);
    t = 30_999;
    refusal(() => e.enforceQuery('x', fruit));
    assert.equal(calls, 1);
    t = 31_001;
    refusal(() => e.enforceQuery('x', fruit));
    assert.equal(calls, 2);
  });
  it('also with the cache disabled, and per text and kind', () => {
    const e = new Enforcer({ maxEntries: 0, now: () => t, steps: { prepareQuery: slow, prepareSeriesSelector: slow } });
    calls = 0;
    refusal(() => e.enforceQuery('x', fruit));
    refusal(() => e.enforceQuery('x', fruit));
    assert.equal(calls, 1);
    refusal(() => e.enforceQuery('y', fruit));
    refusal(() => e.enforceSeriesSelector('x', fruit));
    assert.equal(calls, 3);
    assert.equal(e.slowRefusals, 3);
  });
  it('cheap refusals are not remembered apart (they are cached or recomputed)', () => {
    const e = new Enforcer();
    refusal(() => e.enforceQuery('foo{', fruit));
    refusal(() => e.enforceQuery(Array(40).fill('-1').join('^'), fruit));
    assert.equal(e.slowRefusals, 0);
  });
});

describe('regex matchers on the tenant label that name only foreign tenants are refused like equality ones', () => {
  const refused: Array<[string, EnforceOptions, string, string]> = [
    ['one foreign ID', fruit, 'up{tenant=~"team-veggie"}', 'team-veggie'],
    ['an alternation of foreign IDs', fruit, 'sum(rate(x{tenant=~"team-veggie|team-platform"}[5m]))', 'team-veggie'],
    ['in an aggregation parameter', fruit, 'topk(scalar(y{tenant=~"team-veggie"}), x)', 'team-veggie'],
    ['for a two-tenant grant', tom, 'up{tenant=~"team-platform|secret"}', 'team-platform'],
    ['an escaped literal', fruit, 'up{tenant=~"team\\\\.veggie"}', 'team.veggie'],
    ['in a match[] selector', fruit, '{__name__="up", tenant=~"team-veggie"}', 'team-veggie'],
  ];
  for (const [name, opts, q, tenant] of refused) {
    it(`${name}: forbidden_tenant naming ${tenant}`, () => {
      const err = refusal(() => enforceQuery(q, opts));
      assert.equal(err.code, 'forbidden_tenant', err.message);
      assert.equal(err.tenant, tenant);
    });
  }
  const kept: Array<[string, EnforceOptions, string, string]> = [
    ['one granted alternative', fruit, 'up{tenant=~"team-fruit|team-veggie"}', 'up{tenant=~"team-fruit|team-veggie", tenant="team-fruit"}'],
    ['a real regex (scoped by the added matcher)', fruit, 'up{tenant=~"team-v.*"}', 'up{tenant=~"team-v.*", tenant="team-fruit"}'],
    ['a negative regex', fruit, 'up{tenant!~"team-veggie"}', 'up{tenant!~"team-veggie", tenant="team-fruit"}'],
    ['another label', fruit, 'up{team=~"team-veggie"}', 'up{team=~"team-veggie", tenant="team-fruit"}'],
    ['a granted tenant of two', tom, 'up{tenant=~"team-veggie"}', 'up{tenant=~"team-veggie", tenant=~"team-fruit|team-veggie"}'],
  ];
  for (const [name, opts, q, out] of kept) {
    it(`${name}: enforced`, () => assert.equal(enforceQuery(q, opts), out));
  }
  it('unrestricted callers and reject_foreign_tenant: false are not refused', () => {
    assert.equal(enforceQuery('up{tenant=~"team-veggie"}', topts({ label: 'tenant', tenants: { kind: 'all' }, syntax: 'prometheus3' })), 'up{tenant=~"team-veggie"}');
    assert.equal(enforceQuery('up{tenant=~"team-veggie"}', { ...fruit, rejectForeignTenant: false }), 'up{tenant=~"team-veggie", tenant="team-fruit"}');
  });
  it('through the cache, on a miss and on a hit', () => {
    const e = new Enforcer();
    for (let i = 0; i < 2; i++) assert.equal(refusal(() => e.enforceQuery('up{tenant=~"team-veggie"}', fruit)).tenant, 'team-veggie');
  });
});
