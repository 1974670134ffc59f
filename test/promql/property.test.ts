/**
 * Property tests (fast-check) over generated typed trees and generated/mutated PromQL text:
 *
 * 1. the canonical print round-trips: `parse(print(t))` equals `canonicalize(t)` and
 *    `print(parse(print(t))) === print(t)` (both dialects where expressible);
 * 2. enforcement keeps every user matcher and adds the tenant matcher to every selector of
 *    the output (checked by parsing the output and walking it);
 * 3. nothing but PromQLError escapes, whatever the input (random text, mutated queries).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Call, Expr, LabelMatcher } from '../../src/promql/ast.ts';
import { exprEqual, mapSelectors, walk } from '../../src/promql/ast.ts';
import { parseExpr } from '../../src/promql/parse.ts';
import { canonicalize, printCanonical, printExpr } from '../../src/promql/print.ts';
import { anyString, exprArbitrary, identifier } from './generators.ts';
import { ALL_TENANTS, tenantList, tenantPolicy, type TenantSet } from '../../src/access/index.ts';
import { enforceQuery, PromQLError, type EnforceOptions } from '../../src/enforce/index.ts';
import { topts } from '../kit/policy.ts';

const NUM_RUNS = Number(process.env.PROMFENCE_FC_RUNS ?? 300);

describe('property: the canonical print round-trips', () => {
  it('prometheus3: parse(print(t)) equals canonicalize(t); print is a fixed point', () => {
    fc.assert(fc.property(exprArbitrary(true), (t) => {
      const canon = canonicalize(t);
      const text = printExpr(canon, 'prometheus3');
      const again = parseExpr(text, { syntax: 'prometheus3', maxQueryBytes: 1 << 22 });
      assert.ok(exprEqual(again, canon), `tree changed for ${text}`);
      assert.equal(printExpr(again, 'prometheus3'), text);
      assert.equal(printCanonical(t, 'prometheus3'), text);
    }), { numRuns: NUM_RUNS });
  });
  it('prometheus2 (no quoted names): the same', () => {
    fc.assert(fc.property(exprArbitrary(false).filter((t) => {
      let ok = true;
      walk(t, (n) => { if (n.kind === 'VectorSelector' && n.matchers.some((m) => !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name))) ok = false; });
      return ok;
    }), (t) => {
      const text = printCanonical(t, 'prometheus2');
      const again = parseExpr(text, { syntax: 'prometheus2', maxQueryBytes: 1 << 22 });
      assert.equal(printExpr(again, 'prometheus2'), text);
    }), { numRuns: NUM_RUNS });
  });
});

/** Rebuilds `e` bottom-up with every call passed through `f`. */
function mapCalls(e: Expr, f: (c: Call) => Expr): Expr {
  const go = (x: Expr): Expr => mapCalls(x, f);
  switch (e.kind) {
    case 'NumberLiteral': case 'StringLiteral': case 'VectorSelector': case 'MatrixSelector': return e;
    case 'Subquery': case 'Unary': case 'Paren': return { ...e, expr: go(e.expr) };
    case 'Aggregation': return { ...e, param: e.param === undefined ? undefined : go(e.param), expr: go(e.expr) };
    case 'Binary': return { ...e, lhs: go(e.lhs), rhs: go(e.rhs) };
    case 'Call': return f({ ...e, args: e.args.map(go) });
  }
}

/** `vector(1)` with the labels absent() gives a selector: those exactly one equality matcher names. */
function constantOf(ms: readonly LabelMatcher[]): Expr {
  let e: Expr = { kind: 'Call', func: 'vector', args: [{ kind: 'NumberLiteral', value: 1, lexeme: '1' }] };
  for (const x of ms) {
    if (x.name === '__name__' || x.op !== '=' || x.value === '' || ms.filter((y) => y.name === x.name).length !== 1) continue;
    const str = (v: string): Expr => ({ kind: 'StringLiteral', value: v });
    e = { kind: 'Call', func: 'label_replace', args: [e, str(x.name), str(x.value.replaceAll('$', '$$$$')), str(''), str('')] };
  }
  return e;
}

const escapeRe = (t: string): string => t.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

function tenantMatcherOf(label: string, tenants: TenantSet): LabelMatcher {
  assert.ok(tenants.kind === 'list');
  return tenants.tenants.length === 1
    ? { name: label, op: '=', value: tenants.tenants[0] as string }
    : { name: label, op: '=~', value: tenants.tenants.map(escapeRe).join('|') };
}

// Tenant values are well-formed strings (a lone surrogate cannot be printed in UTF-8; the
// config and narrowing only admit Mimir's charset anyway), otherwise anything, U+FFFD included.
const tenantSets = fc.array(fc.oneof(identifier, anyString.filter((s) => s !== '' && s !== '*' && !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))), fc.constant('\uFFFD')), { minLength: 1, maxLength: 3 });

describe('property: every selector of every enforced output carries the tenant matcher', () => {
  it('enforced output = input with the matcher appended to every selector (user matchers kept; absent() arguments get its label-free form)', () => {
    let enforcedCount = 0;
    fc.assert(fc.property(exprArbitrary(true), tenantSets, fc.boolean(), (t, tenantIds, reject) => {
      const tenants = tenantList(tenantIds);
      const opts: EnforceOptions = topts({ label: 'tenant', tenants, syntax: 'prometheus3', rejectForeignTenant: reject, maxQueryBytes: 1 << 22 });
      const input = printCanonical(t, 'prometheus3');
      let out: string;
      try {
        out = enforceQuery(input, opts);
      } catch (err) {
        assert.ok(err instanceof PromQLError, String(err));
        assert.ok(['empty_selector', 'unsupported_function', 'unsupported_syntax', 'forbidden_tenant'].includes(err.code), `${err.code}: ${err.message} for ${input}`);
        return;
      }
      enforcedCount++;
      const m = tenantMatcherOf('tenant', tenants);
      const granted = new Set(tenants.kind === 'list' ? tenants.tenants : []);
      // absent(): no equality matcher that would become a result label; none at all where the
      // user's own granted tenant="x" already scopes the selector.
      const absentForm = (vs: { matchers: readonly LabelMatcher[] }): LabelMatcher[] => {
        const eq = vs.matchers.find((u) => u.name === 'tenant' && u.op === '=');
        if (eq !== undefined && granted.has(eq.value)) return [];
        return [m.op === '=' ? { name: 'tenant', op: '=~', value: escapeRe(m.value) } : m];
      };
      const tree = parseExpr(out, { syntax: 'prometheus3', maxQueryBytes: 1 << 22 });
      // absent(x) / absent_over_time(x[r]), x through parentheses (Prometheus removes them):
      // the absent form; with foreign tenants allowed and the user's tenant="x" not granted, no
      // series can match, and the answer is vector(1) with the argument's labels.
      const done = new WeakSet<object>();
      const absentCalls = mapCalls(canonicalize(parseExpr(input, { syntax: 'prometheus3', maxQueryBytes: 1 << 22 })), (c) => {
        if ((c.func !== 'absent' && c.func !== 'absent_over_time') || c.args.length !== 1) return c;
        let arg = c.args[0] as Expr;
        const parens: number[] = [];
        while (arg.kind === 'Paren') {
          parens.push(0);
          arg = arg.expr;
        }
        if (arg.kind !== 'VectorSelector' && arg.kind !== 'MatrixSelector') return c;
        const vs = arg.kind === 'MatrixSelector' ? arg.selector : arg;
        if (vs.matchers.some((u) => u.name === 'tenant' && u.op === '=' && !granted.has(u.value))) return constantOf(vs.matchers);
        const scoped = { ...vs, matchers: [...vs.matchers, ...absentForm(vs)] };
        done.add(scoped);
        let e: Expr = arg.kind === 'MatrixSelector' ? { ...arg, selector: scoped } : scoped;
        for (const _ of parens) e = { kind: 'Paren', expr: e };
        return { ...c, args: [e] };
      });
      const expected = mapSelectors(absentCalls, (vs) => (done.has(vs) ? vs : { ...vs, matchers: [...vs.matchers, m] }));
      assert.ok(exprEqual(tree, expected), `enforced output differs from the expected rewrite in ${out}`);
      walk(tree, (n) => {
        if (n.kind !== 'VectorSelector') return;
        const scoped = n.matchers.some((x) => x.name === 'tenant' && ((x.op === m.op && x.value === m.value) || (x.op === '=~' && x.value === escapeRe(m.value)) || (x.op === '=' && granted.has(x.value))));
        assert.ok(scoped, `selector without the tenant matcher in ${out}`);
      });
    }), { numRuns: NUM_RUNS });
    assert.ok(enforcedCount > NUM_RUNS / 10, `too few accepted samples (${enforcedCount})`);
  });
});

const ALLOWED_CODES = new Set(['parse_error', 'empty_selector', 'forbidden_tenant', 'unsupported_function', 'unsupported_syntax', 'query_too_large']);

function onlyPromQLError(q: string, opts: EnforceOptions): void {
  try {
    const out = enforceQuery(q, opts);
    assert.equal(typeof out, 'string');
  } catch (err) {
    assert.ok(err instanceof PromQLError, `non-PromQLError escaped for ${JSON.stringify(q)}: ${String(err)}`);
    assert.ok(ALLOWED_CODES.has(err.code), `${err.code} for ${JSON.stringify(q)}: ${err.message}`);
  }
}

const SEEDS = [
  'sum by (job) (rate(http_requests_total{job="api"}[5m]))', 'a + b offset 5m', '-1^2', 'topk(scalar(x), y)',
  'foo{a="b", c=~"d|e"} @ start()', 'min_over_time(rate(x[1m])[5m:1m] offset 1h)', 'x # c\n + y', '"s\\n" ', 'holt_winters(x[5m], 1, 1)',
];
const TOKENS = ['(', ')', '{', '}', '[', ']', ':', ',', '"', "'", '`', '\\', '#', '\r', '\n', ' ', '-', '+', '^', '@', 'offset', 'by', 'on', 'bool', '5m', '0x', '1e9', '=~', '!', '=', '\u00a0', '\uFFFD', '\uD800', 'é'];

describe('property: only PromQLError escapes', () => {
  const opts: EnforceOptions = topts({ label: 'tenant', tenants: tenantList(['a']), syntax: 'prometheus3' });
  it('random strings', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })), (q) => onlyPromQLError(q, opts)), { numRuns: NUM_RUNS * 3 });
  });
  it('token soup', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS, 'foo', 'sum', 'rate', '1'), { maxLength: 30 }), (parts) => {
      onlyPromQLError(parts.join(''), opts);
      onlyPromQLError(parts.join(''), { ...opts, syntax: 'prometheus2', policy: tenantPolicy('tenant', ALL_TENANTS) });
    }), { numRuns: NUM_RUNS * 3 });
  });
  it('mutated real queries', () => {
    fc.assert(fc.property(fc.constantFrom(...SEEDS), fc.nat(), fc.constantFrom(...TOKENS), fc.boolean(), (seed, pos, tok, del) => {
      const i = pos % (seed.length + 1);
      const q = del ? seed.slice(0, i) + seed.slice(i + 1) : seed.slice(0, i) + tok + seed.slice(i);
      onlyPromQLError(q, opts);
    }), { numRuns: NUM_RUNS * 3 });
  });
});
