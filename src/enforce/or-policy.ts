/**
 * The rewrite of a PromQL tree for an access policy of one or more OR-ed matcher sets P1 … Pk,
 * with the meaning "evaluate the query on a Prometheus that holds only the series matching
 * P1 ∪ … ∪ Pk" (issue #12). For k = 1 it is the plain rewrite (every selector gets the set's
 * matchers) and prints exactly what the engine printed before OR policies existed.
 *
 * Rules (k ≥ 2; sides a user's own equality matchers contradict are left out, at least one kept):
 *
 * | construct | rewrite |
 * |---|---|
 * | instant vector selector `v` | `(v{P1} or v{P2} …)` |
 * | range vector selector as a function argument `f(…, v[r], …)` (through parentheses) | `(f(…, v{P1}[r], …) or f(…, v{P2}[r], …))`; the other arguments (scalar parameters) are rewritten once and appear on each side |
 * | `timestamp(v)` (Prometheus reads the sample timestamps of a direct selector) | `(timestamp(v{P1}) or timestamp(v{P2}))` |
 * | `absent(v)`, `absent_over_time(v[r])` (through parentheses, which Prometheus removes) | `(absent(v{P1'}) and absent(v{P2'}))` with absent-safe matchers (below); `vector(1)` carrying the argument's labels when every side is contradicted |
 * | range vector selector anywhere else (`x[5m]` as the whole query) | refused: `unsupported_policy` |
 *
 * Why `or` is exact: `or` keeps every left sample and adds right samples whose labels, *without
 * the metric name*, match no left sample. Policy selectors never name a metric
 * (src/access/label-policy.ts), so whether a series matches Pi depends only on its labels
 * without the name: two series with the same labels-without-name are on exactly the same
 * sides, and a right sample dropped by `or` is either the same series (already on the left) or
 * one that is on the left too. Per-series functions (rate, *_over_time, timestamp …) keep that
 * property, so their sides unite the same way, and a duplicate label set that makes
 * Prometheus fail on the whole data fails the side that holds it too.
 *
 * `absent()`/`absent_over_time()` build their result's labels from their argument's matchers
 * (Prometheus promql/functions.go `createLabelsForAbsentFunction`: each label with exactly one
 * matcher, an equality, is copied; every other matcher drops its label). Absent-safe matchers of
 * a side: a policy matcher the user's equality on the same label implies is left out; one the
 * user's equality contradicts empties the side; others are added as regex forms (`l="v"` →
 * `l=~"v"`), which never add a label. Every side then has the labels of the user's selector, so
 * `and` pairs them, and the conjunction is 1 exactly when the argument is empty on every side.
 *
 * Framework-free.
 */
import type { Binary, Call, Expr, LabelMatcher, MatrixSelector, VectorSelector } from '../promql/ast.ts';
import { assertNever } from '../promql/ast.ts';
import { PromQLError } from '../promql/errors.ts';
import { printExpr } from '../promql/print.ts';
import { escapeRegex } from '../promql/regex.ts';
import { matcherMatches } from '../access/admits.ts';
import type { MatcherSet } from '../access/policy.ts';

/** Called once for every vector selector of the user's query before it is rewritten (the foreign-tenant check). */
export type SelectorCheck = (vs: VectorSelector) => void;

/** `absent()` and `absent_over_time()` build their result's labels from their argument's matchers. */
const ABSENT_FUNCTIONS: ReadonlySet<string> = new Set(['absent', 'absent_over_time']);

/** Whether the user's equality matchers of `vs` contradict `set` (no series of `vs` can match it). */
function contradicts(vs: VectorSelector, set: MatcherSet): boolean {
  return set.some((m) => vs.matchers.some((u) => u.op === '=' && u.name === m.name && !matcherMatches(m, u.value)));
}

function withMatchers(vs: VectorSelector, added: readonly LabelMatcher[]): VectorSelector {
  return added.length === 0 ? vs : { ...vs, matchers: [...vs.matchers, ...added] };
}

/** The sets that apply to `vs`: those its equality matchers do not contradict; the first set when all are. */
function sidesFor(vs: VectorSelector, sets: readonly MatcherSet[]): readonly MatcherSet[] {
  if (sets.length === 1) return sets;
  const kept = sets.filter((s) => !contradicts(vs, s));
  return kept.length > 0 ? kept : sets.slice(0, 1);
}

/** `expr` with `set` added to the one selector it is or holds (through parentheses and a range). */
function withSet(expr: Expr, set: MatcherSet): Expr {
  switch (expr.kind) {
    case 'Paren': return { ...expr, expr: withSet(expr.expr, set) };
    case 'MatrixSelector': return { ...expr, selector: withMatchers(expr.selector, set) };
    case 'VectorSelector': return withMatchers(expr, set);
    default: throw new PromQLError('internal_error', 'withSet on a node that is not a selector');
  }
}

/** `expr` (a selector, a range selector, through parentheses) with its vector selector replaced by `vs`. */
function replaceSelector(expr: Expr, vs: VectorSelector): Expr {
  switch (expr.kind) {
    case 'Paren': return { ...expr, expr: replaceSelector(expr.expr, vs) };
    case 'MatrixSelector': return { ...expr, selector: vs };
    case 'VectorSelector': return vs;
    default: throw new PromQLError('internal_error', 'replaceSelector on a node that is not a selector');
  }
}

/** The selector a node is, through parentheses (and a range when `range`); undefined otherwise. */
function selectorIn(expr: Expr, kind: 'VectorSelector' | 'MatrixSelector'): VectorSelector | undefined {
  let e = expr;
  while (e.kind === 'Paren') e = e.expr;
  if (e.kind !== kind) return undefined;
  return e.kind === 'MatrixSelector' ? e.selector : e.kind === 'VectorSelector' ? e : undefined;
}

function balanced(op: 'or' | 'and', items: readonly Expr[]): Expr {
  if (items.length === 1) return items[0] as Expr;
  const mid = Math.ceil(items.length / 2);
  const node: Binary = { kind: 'Binary', op, lhs: balanced(op, items.slice(0, mid)), rhs: balanced(op, items.slice(mid)), bool: false, matching: undefined };
  return node;
}

/** One item as is; several joined by `op` (a balanced tree, so depth grows with log k) in parentheses. */
function combine(op: 'or' | 'and', items: readonly Expr[]): Expr {
  return items.length === 1 ? (items[0] as Expr) : { kind: 'Paren', expr: balanced(op, items) };
}

/**
 * The absent-safe form of `vs` for one set (see the module comment), or `undefined` when the
 * user's equality matchers contradict the set (the side is empty).
 */
export function absentSide(vs: VectorSelector, set: MatcherSet): VectorSelector | undefined {
  const out: LabelMatcher[] = [];
  for (const m of set) {
    const eqs = vs.matchers.filter((u) => u.name === m.name && u.op === '=');
    if (eqs.length > 0) {
      if (eqs.some((u) => !matcherMatches(m, u.value))) return undefined;
      continue;
    }
    out.push(m.op === '=' ? { name: m.name, op: '=~', value: escapeRegex(m.value) } : m);
  }
  return withMatchers(vs, out);
}

/**
 * The labels `absent(vs)` answers with: each label (not `__name__`) that exactly one matcher
 * names, an equality with a non-empty value (Prometheus 2.42 and 3.x agree on this).
 */
export function absentLabels(vs: VectorSelector): Array<[string, string]> {
  const count = new Map<string, number>();
  for (const m of vs.matchers) count.set(m.name, (count.get(m.name) ?? 0) + 1);
  return vs.matchers
    .filter((m) => m.name !== '__name__' && m.op === '=' && m.value !== '' && count.get(m.name) === 1)
    .map((m) => [m.name, m.value]);
}

/**
 * `vector(1)` carrying `labels`, built with `label_replace(…, "l", "v", "", "")` (the empty
 * source label matches the empty regex, so the replacement always applies; `$` is escaped as
 * `$$`): what `absent(v)` answers, at every step, when no series can match `v`.
 */
function constantAbsent(labels: ReadonlyArray<[string, string]>): Expr {
  let e: Expr = { kind: 'Call', func: 'vector', args: [{ kind: 'NumberLiteral', value: 1, lexeme: '1' }] };
  for (const [name, value] of labels) {
    const str = (v: string): Expr => ({ kind: 'StringLiteral', value: v });
    e = { kind: 'Call', func: 'label_replace', args: [e, str(name), str(value.replaceAll('$', '$$$$')), str(''), str('')] };
  }
  return e;
}

function rangeOutsideCall(m: MatrixSelector): PromQLError {
  let shown: string;
  try {
    shown = printExpr(m, 'prometheus3');
  } catch {
    shown = 'a range selector';
  }
  return new PromQLError('unsupported_policy',
    `range vector selector outside a function call (${shown.length > 80 ? shown.slice(0, 80) + '…' : shown}): a range vector cannot be restricted to an access policy of several label selectors; ` +
    'wrap it in a function (last_over_time, rate, …), or ask for a policy of one selector');
}

/**
 * Rewrites `expr` for the OR of `sets` (see the module comment).
 *
 * @param expr a validated tree
 * @param sets the policy's matcher sets (at least one)
 * @param check called with every user selector before it is rewritten (may throw)
 * @returns the rewritten tree; subtrees may be shared between sides (a DAG): measure it with
 *   {@link printedBytesAtLeast} before printing
 * @throws PromQLError `unsupported_policy` (a range selector outside a function call, k ≥ 2)
 */
export function rewriteForSets(expr: Expr, sets: readonly MatcherSet[], check: SelectorCheck): Expr {
  const k = sets.length;
  const go = (e: Expr): Expr => {
    switch (e.kind) {
      case 'NumberLiteral':
      case 'StringLiteral':
        return e;
      case 'VectorSelector': {
        check(e);
        return combine('or', sidesFor(e, sets).map((s) => withMatchers(e, s)));
      }
      case 'MatrixSelector':
        check(e.selector);
        if (k > 1) throw rangeOutsideCall(e);
        return { ...e, selector: withMatchers(e.selector, sets[0] as MatcherSet) };
      case 'Subquery':
      case 'Unary':
      case 'Paren':
        return { ...e, expr: go(e.expr) };
      case 'Aggregation':
        return { ...e, param: e.param === undefined ? undefined : go(e.param), expr: go(e.expr) };
      case 'Binary':
        return { ...e, lhs: go(e.lhs), rhs: go(e.rhs) };
      case 'Call':
        return call(e);
      default:
        return assertNever(e);
    }
  };

  const call = (e: Call): Expr => {
    const [first] = e.args;
    // Prometheus removes the parentheses around function arguments before it evaluates them
    // (promql/engine.go, `unwrapParenExpr(&e.Args[i])`): `absent((x))` is `absent(x)`.
    const absentOf = ABSENT_FUNCTIONS.has(e.func) && e.args.length === 1 && first !== undefined
      ? selectorIn(first, 'VectorSelector') ?? selectorIn(first, 'MatrixSelector') : undefined;
    if (absentOf !== undefined) {
      const arg = first as Expr;
      check(absentOf);
      const sides = sets.map((s) => absentSide(absentOf, s)).filter((s): s is VectorSelector => s !== undefined);
      if (sides.length === 0) return constantAbsent(absentLabels(absentOf));
      return combine('and', sides.map((s): Expr => ({ ...e, args: [replaceSelector(arg, s)] })));
    }
    // timestamp() of a direct selector (through parentheses) reads sample timestamps
    // (promql/engine.go special-cases it); of any other expression, the evaluation time.
    const direct = e.func === 'timestamp' && e.args.length === 1 && first !== undefined ? selectorIn(first, 'VectorSelector') : undefined;
    const at = direct !== undefined ? 0 : e.args.findIndex((a) => selectorIn(a, 'MatrixSelector') !== undefined);
    if (at < 0) return { ...e, args: e.args.map(go) };
    const arg = e.args[at] as Expr;
    const vs = (selectorIn(arg, 'VectorSelector') ?? selectorIn(arg, 'MatrixSelector')) as VectorSelector;
    check(vs);
    const others = e.args.map((a, i) => (i === at ? a : go(a)));
    return combine('or', sidesFor(vs, sets).map((s) => ({ ...e, args: others.map((a, i) => (i === at ? withSet(arg, s) : a)) })));
  };

  return go(expr);
}

/** Calls `visit` once per distinct node object of a tree that may share subtrees. */
function visitOnce(expr: Expr, visit: (e: Expr) => void): void {
  const seen = new Set<Expr>();
  const stack: Expr[] = [expr];
  while (stack.length > 0) {
    const e = stack.pop() as Expr;
    if (seen.has(e)) continue;
    seen.add(e);
    visit(e);
    switch (e.kind) {
      case 'NumberLiteral':
      case 'StringLiteral':
      case 'VectorSelector':
        break;
      case 'MatrixSelector':
        stack.push(e.selector);
        break;
      case 'Subquery':
      case 'Unary':
      case 'Paren':
        stack.push(e.expr);
        break;
      case 'Call':
        stack.push(...e.args);
        break;
      case 'Aggregation':
        if (e.param !== undefined) stack.push(e.param);
        stack.push(e.expr);
        break;
      case 'Binary':
        stack.push(e.lhs, e.rhs);
        break;
      default:
        assertNever(e);
    }
  }
}

/** Whether `vs` carries `m`, its absent-safe regex form, or a user equality matcher that implies it. */
function implies(vs: VectorSelector, m: LabelMatcher): boolean {
  return vs.matchers.some((x) => x.name === m.name && (
    (x.op === m.op && x.value === m.value)
    || (x.op === '=' && matcherMatches(m, x.value))
    || (m.op === '=' && x.op === '=~' && x.value === escapeRegex(m.value))));
}

/**
 * Defence in depth: every vector selector of the rewritten tree must carry (or imply) every
 * matcher of at least one set.
 *
 * @throws PromQLError `internal_error` when one does not
 */
export function assertEnforced(e: Expr, sets: readonly MatcherSet[]): void {
  visitOnce(e, (n) => {
    if (n.kind === 'VectorSelector' && !sets.some((set) => set.every((m) => implies(n, m)))) {
      throw new PromQLError('internal_error', 'a selector escaped enforcement');
    }
  });
}

/**
 * A lower bound of the UTF-8 length of the canonical print of `expr`, computed once per
 * distinct node (a rewritten tree shares subtrees between sides, and its print can be
 * exponentially larger than the tree). Strings and names count one byte per UTF-16 unit
 * (never more than their UTF-8 bytes); spaces, commas and added parentheses are not counted.
 */
export function printedBytesAtLeast(expr: Expr): number {
  const memo = new Map<Expr, number>();
  const size = (e: Expr): number => {
    const hit = memo.get(e);
    if (hit !== undefined) return hit;
    let n: number;
    switch (e.kind) {
      case 'NumberLiteral': n = 1; break;
      case 'StringLiteral': n = e.value.length + 2; break;
      case 'VectorSelector':
        n = (e.name?.length ?? 0) + e.matchers.reduce((a, m) => a + m.name.length + m.op.length + m.value.length + 2, 0);
        break;
      case 'MatrixSelector': n = size(e.selector) + 4; break;
      case 'Subquery': n = size(e.expr) + 5; break;
      case 'Unary': n = size(e.expr) + 1; break;
      case 'Paren': n = size(e.expr) + 2; break;
      case 'Call': n = e.func.length + 2 + e.args.reduce((a, x) => a + size(x), 0); break;
      case 'Aggregation': n = e.op.length + 2 + (e.param === undefined ? 0 : size(e.param)) + size(e.expr); break;
      case 'Binary': n = size(e.lhs) + size(e.rhs) + e.op.length; break;
      default: return assertNever(e);
    }
    memo.set(e, n);
    return n;
  };
  return size(expr);
}

/**
 * The `match[]` selectors of one user selector under the sets: `vs` with each set's matchers
 * (the cross product of one user `match[]` with the policy), leaving out sets the user's
 * equality matchers contradict (one kept when all are).
 */
export function selectorForEachSet(vs: VectorSelector, sets: readonly MatcherSet[]): VectorSelector[] {
  return sidesFor(vs, sets).map((s) => withMatchers(vs, s));
}
