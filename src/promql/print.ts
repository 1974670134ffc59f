/**
 * The canonical printer: typed tree → PromQL text in a "boring" subset on which lezer and the
 * Go parser (Prometheus 2.42 and 3.x) agree. Rules (promql-enforcement.md, "The canonical
 * printer"):
 *
 * - no comments, single spaces, lower-case keywords;
 * - explicit parentheses around every binary/unary operand that is itself binary/unary
 *   (added to the tree by {@link canonicalize}, so the printed text parses back to the very
 *   same tree); never parentheses around a selector that carries `[range]`, `offset` or `@`;
 * - strings double-quoted with Go-compatible escapes (./lexemes.ts `quoteGoString`);
 * - label names bare when `[a-zA-Z_][a-zA-Z0-9_]*`, else quoted (prometheus3 only);
 * - metric names bare when `[a-zA-Z_:][a-zA-Z0-9_:]*` and not a keyword of either grammar,
 *   else `{__name__="…"}` (accepted by every version);
 * - durations in Go's canonical unit form (`1h30m`), numbers in shortest round-trip form
 *   (so `0755` prints as `493`: no octal/hex/underscore spelling reaches the upstream),
 *   `@` timestamps as seconds with 3 decimals (Go's own printer does the same).
 *
 * {@link printCanonical} self-checks every output: the text is parsed again with the same
 * dialect and must give a structurally equal tree, else `internal_error`.
 */
import type { AtModifier, Expr, LabelMatcher, VectorMatching, VectorSelector } from './ast.ts';
import { assertNever, exprEqual } from './ast.ts';
import { PromQLError } from './errors.ts';
import { RESERVED_WORDS, type Dialect } from './functions.ts';
import { formatDuration, formatNumber, quoteGoString } from './lexemes.ts';
import { MAX_NESTING_DEPTH, parseExpr } from './parse.ts';

/** Base wall-clock budget of the self-check parse in ms (plus 1 ms per 1000 characters). */
const SELF_CHECK_BUDGET_MS = 1000;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function isOperator(e: Expr): boolean {
  return e.kind === 'Binary' || e.kind === 'Unary';
}

function isNegativeNumber(e: Expr): boolean {
  return e.kind === 'NumberLiteral' && (e.value < 0 || Object.is(e.value, -0));
}

function paren(e: Expr): Expr {
  return { kind: 'Paren', expr: e };
}

/**
 * Returns a tree that means the same as `expr` and that the printer can print unambiguously:
 * binary/unary operands of binary/unary expressions and binary/unary subquery bodies wrapped
 * in parentheses; a negative number on the left of `^` wrapped (`(-1) ^ 2`); a sign applied
 * to a number literal folded into it (as Go's parser does). Idempotent.
 *
 * @throws Error on an unknown node kind
 */
export function canonicalize(expr: Expr): Expr {
  switch (expr.kind) {
    case 'NumberLiteral':
    case 'StringLiteral':
    case 'VectorSelector':
    case 'MatrixSelector':
      return expr;
    case 'Subquery': {
      const inner = canonicalize(expr.expr);
      // `-1[5m:]` reads as `-(1[5m:])` (Go and promfence's parser): keep a negative literal in parentheses.
      return { ...expr, expr: isOperator(inner) || isNegativeNumber(inner) ? paren(inner) : inner };
    }
    case 'Call':
      return { ...expr, args: expr.args.map(canonicalize) };
    case 'Aggregation':
      return { ...expr, param: expr.param === undefined ? undefined : canonicalize(expr.param), expr: canonicalize(expr.expr) };
    case 'Paren':
      return { ...expr, expr: canonicalize(expr.expr) };
    case 'Unary': {
      const inner = canonicalize(expr.expr);
      if (inner.kind === 'NumberLiteral') {
        return { kind: 'NumberLiteral', value: expr.op === '-' ? -inner.value : inner.value, lexeme: expr.op + inner.lexeme };
      }
      return { ...expr, expr: isOperator(inner) ? paren(inner) : inner };
    }
    case 'Binary': {
      let lhs = canonicalize(expr.lhs);
      const rhs = canonicalize(expr.rhs);
      if (isOperator(lhs) || (expr.op === '^' && isNegativeNumber(lhs))) lhs = paren(lhs);
      return { ...expr, lhs, rhs: isOperator(rhs) ? paren(rhs) : rhs };
    }
    default:
      return assertNever(expr);
  }
}

function labelName(name: string, syntax: Dialect, grouping: boolean): string {
  // In grouping lists Go's lexer reads keywords as keywords (`inf`/`nan` as numbers, `step`,
  // `range` as preprocessors in 3.x): quote them where the dialect allows quoting.
  if (LABEL_NAME.test(name) && !(grouping && syntax === 'prometheus3' && RESERVED_WORDS.has(name.toLowerCase()))) return name;
  if (syntax === 'prometheus2') {
    throw new PromQLError('unsupported_syntax', `label name ${JSON.stringify(name)} needs Prometheus 3 quoting (configured syntax: prometheus2)`);
  }
  return quoteGoString(name);
}

function labelList(names: readonly string[], syntax: Dialect): string {
  return `(${names.map((n) => labelName(n, syntax, true)).join(', ')})`;
}

function matcher(m: LabelMatcher, syntax: Dialect): string {
  return `${labelName(m.name, syntax, false)}${m.op}${quoteGoString(m.value)}`;
}

function formatAt(at: AtModifier): string {
  if (at === 'start' || at === 'end') return `${at}()`;
  const ms = Math.round(at * 1000);
  const abs = Math.abs(ms);
  return `${ms < 0 ? '-' : ''}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}

function modifiers(offset: number | undefined, at: AtModifier | undefined): string {
  return (offset === undefined ? '' : ` offset ${formatDuration(offset)}`) + (at === undefined ? '' : ` @ ${formatAt(at)}`);
}

function selectorBody(vs: VectorSelector, syntax: Dialect): string {
  const ms = vs.matchers.map((m) => matcher(m, syntax));
  if (vs.name === undefined) return `{${ms.join(', ')}}`;
  if (METRIC_NAME.test(vs.name) && !RESERVED_WORDS.has(vs.name.toLowerCase())) {
    return ms.length === 0 ? vs.name : `${vs.name}{${ms.join(', ')}}`;
  }
  return `{${[`__name__=${quoteGoString(vs.name)}`, ...ms].join(', ')}}`;
}

function matching(m: VectorMatching, syntax: Dialect): string {
  let s = ` ${m.on ? 'on' : 'ignoring'}${labelList(m.labels, syntax)}`;
  if (m.card === 'many-to-one') s += ` group_left${labelList(m.include, syntax)}`;
  else if (m.card === 'one-to-many') s += ` group_right${labelList(m.include, syntax)}`;
  return s;
}

/**
 * Nesting depth of `expr` counted like the parser's builder counts it (one level per node,
 * the vector selector of a matrix selector included), stopping early once above `limit`.
 *
 * @throws Error on an unknown node kind
 */
export function nestingDepth(expr: Expr, limit: number): number {
  const children = (e: Expr): readonly Expr[] => {
    switch (e.kind) {
      case 'NumberLiteral':
      case 'StringLiteral':
      case 'VectorSelector':
        return [];
      case 'MatrixSelector':
        return [e.selector];
      case 'Subquery':
      case 'Unary':
      case 'Paren':
        return [e.expr];
      case 'Call':
        return e.args;
      case 'Aggregation':
        return e.param === undefined ? [e.expr] : [e.param, e.expr];
      case 'Binary':
        return [e.lhs, e.rhs];
      default:
        return assertNever(e);
    }
  };
  // Iterative, so that the check itself cannot overflow the stack.
  let max = 0;
  const stack: Array<[Expr, number]> = [[expr, 0]];
  while (stack.length > 0) {
    const [e, d] = stack.pop() as [Expr, number];
    if (d > max) max = d;
    if (max > limit) return max;
    for (const c of children(e)) stack.push([c, d + 1]);
  }
  return max;
}

/**
 * Prints `expr` as is (no canonicalisation, no self-check). Use {@link printCanonical}
 * for anything sent upstream.
 *
 * @throws PromQLError `unsupported_syntax` for a quoted-only name under prometheus2;
 *   Error on an unknown node kind
 */
export function printExpr(expr: Expr, syntax: Dialect): string {
  switch (expr.kind) {
    case 'NumberLiteral':
      return formatNumber(expr.value);
    case 'StringLiteral':
      return quoteGoString(expr.value);
    case 'VectorSelector':
      return selectorBody(expr, syntax) + modifiers(expr.offset, expr.at);
    case 'MatrixSelector':
      return `${selectorBody(expr.selector, syntax)}[${formatDuration(expr.range)}]${modifiers(expr.selector.offset, expr.selector.at)}`;
    case 'Subquery':
      return `${printExpr(expr.expr, syntax)}[${formatDuration(expr.range)}:${expr.step === undefined ? '' : formatDuration(expr.step)}]${modifiers(expr.offset, expr.at)}`;
    case 'Call':
      return `${expr.func}(${expr.args.map((a) => printExpr(a, syntax)).join(', ')})`;
    case 'Aggregation': {
      const g = expr.grouping === undefined ? '' : ` ${expr.grouping.without ? 'without' : 'by'} ${labelList(expr.grouping.labels, syntax)}`;
      const args = expr.param === undefined ? [expr.expr] : [expr.param, expr.expr];
      return `${expr.op}${g}${g === '' ? '' : ' '}(${args.map((a) => printExpr(a, syntax)).join(', ')})`;
    }
    case 'Binary': {
      const mods = (expr.bool ? ' bool' : '') + (expr.matching === undefined ? '' : matching(expr.matching, syntax));
      return `${printExpr(expr.lhs, syntax)} ${expr.op}${mods} ${printExpr(expr.rhs, syntax)}`;
    }
    case 'Unary':
      return `${expr.op}${printExpr(expr.expr, syntax)}`;
    case 'Paren':
      return `(${printExpr(expr.expr, syntax)})`;
    default:
      return assertNever(expr);
  }
}

/**
 * Canonicalises and prints `expr`, then self-checks: the text is parsed again (same
 * dialect, no size cap) and must give a tree structurally equal to the canonical one
 * (./ast.ts `exprEqual`). This is what promfence forwards upstream.
 *
 * @param expr a validated (and possibly enforced) tree
 * @param syntax upstream dialect
 * @param checkText called with the text before the self-check parse; what it throws
 *   propagates (the enforcer refuses an oversized print there, before parsing it)
 * @returns the canonical text
 * @throws PromQLError `internal_error` when the self-check fails or anything unexpected
 *   happens; `unsupported_syntax` for names the dialect cannot spell
 */
export function printCanonical(expr: Expr, syntax: Dialect, checkText?: (text: string) => void): string {
  let canon: Expr;
  let text: string;
  try {
    canon = canonicalize(expr);
    // Explicit parentheses deepen the tree (`a ^ a ^ … ^ a` nests one Paren per operator):
    // a print deeper than the parser accepts would fail the self-check as an internal error
    // (HTTP 500) on a user's input. Refuse it as such instead (red-team finding).
    if (nestingDepth(canon, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH) {
      throw new PromQLError('query_too_large', `query nests too deeply once printed for the upstream (over ${MAX_NESTING_DEPTH} levels with explicit parentheses); simplify it`);
    }
    text = printExpr(canon, syntax);
  } catch (err) {
    if (err instanceof PromQLError) throw err;
    throw new PromQLError('internal_error', 'the query could not be printed', { cause: err });
  }
  checkText?.(text);
  let again: Expr;
  try {
    // No size cap, and a parse-time budget that grows with the text: promfence's own print
    // parses in linear time (an enforced query can be much longer than the user's text), but
    // a print lezer cannot read (too deep) must not run its error recovery unbounded.
    again = parseExpr(text, { syntax, maxQueryBytes: Number.MAX_SAFE_INTEGER, parseBudgetMs: SELF_CHECK_BUDGET_MS + text.length / 1000, structureLimits: false });
  } catch (err) {
    throw new PromQLError('internal_error', 'self-check failed: the canonical print does not parse back', { cause: err });
  }
  if (!exprEqual(canon, again)) {
    throw new PromQLError('internal_error', 'self-check failed: the canonical print parses to a different tree');
  }
  return text;
}
