/**
 * PromQL text → typed tree (./ast.ts), on top of `@prometheus-io/lezer-promql` (the grammar
 * of Prometheus's own UI). lezer is a recogniser with error recovery, not a validator, and
 * it disagrees with the Go parser in measured ways (design notes: promql-enforcement.md,
 * "What lezer does differently"). This builder closes those gaps, failing closed:
 *
 * - any lezer error node → `parse_error`; any exception while parsing/walking → PromQLError;
 * - postfix modifiers (`offset`, `@`, `[range]`, `[range:step]`) are re-associated onto the
 *   rightmost operand of a binary/unary expression, as Go's precedence does
 *   (generated_parser.y: `%nonassoc OFFSET`, `%right LEFT_BRACKET` above every operator), so
 *   `a + b offset 5m` is `a + (b offset 5m)`;
 * - a signed number token on the left of `^` is split (`-1^2` is `-(1^2)` in Go: unary
 *   operators have `MUL` precedence), and a sign applied to a number literal is folded into
 *   it (generated_parser.y `unary_expr`);
 * - a `#` comment holding `\r` is refused (Go ends comments at `\r`, lezer only at `\n`);
 * - strings, numbers and durations are decoded with Go's rules (./lexemes.ts);
 * - modifier placement follows Go's parse.go (`addOffset`, `setTimestamp`, matrix rule);
 * - `holt_winters`, unknown to lezer, is parsed through a same-length stand-in name.
 */
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode, Tree } from '@lezer/common';
import type {
  AggregateOp, AtModifier, BinaryOp, Expr, Grouping, LabelMatcher, MatchCard, MatchOp, NumberLiteral,
  VectorMatching, VectorSelector,
} from './ast.ts';
import { AGGREGATORS_WITH_PARAM, COMPARISON_OPS } from './ast.ts';
import { PromQLError, type TextPosition } from './errors.ts';
import { checkStructure } from './limits.ts';
import {
  LexemeError, durationNsToMs, goDurationSeconds, isDurationLexeme, parseGoDurationNs, parseGoNumber,
  secondsToDurationMs, unquoteGoString,
} from './lexemes.ts';
import type { Dialect } from './functions.ts';

/** Default cap on the query text, in UTF-8 bytes. */
export const DEFAULT_MAX_QUERY_BYTES = 32768;

/** Deepest tree the builder accepts (nesting levels); deeper input is refused, never a crash. */
export const MAX_NESTING_DEPTH = 1000;

/**
 * Wall-clock budget of one lezer parse, in ms. lezer's error recovery is superlinear on some
 * shapes (`-1^-1^…^-1`, 30 KB: ~9 s; `topk(1,topk(1,…`: ~1 s) and every such input is refused
 * anyway; a normal 32 KB query parses in < 30 ms. Exceeding it → `query_too_large`.
 */
export const DEFAULT_PARSE_BUDGET_MS = 250;

/** Options of {@link parseExpr}. */
export interface ParseOptions {
  /** Upstream dialect: gates UTF-8 quoted names (`prometheus3` only). */
  readonly syntax: Dialect;
  /** Cap on the text in UTF-8 bytes, checked before parsing. Default {@link DEFAULT_MAX_QUERY_BYTES}. */
  readonly maxQueryBytes?: number;
  /** Wall-clock budget of each lezer parse in ms. Default {@link DEFAULT_PARSE_BUDGET_MS}. */
  readonly parseBudgetMs?: number;
  /**
   * Check the structural limits of ./limits.ts (tokens, depth, signed powers) before lezer
   * runs. Default true; the printer's self-check turns it off for promfence's own print (whose
   * source text passed the check, and whose added matchers add tokens).
   */
  readonly structureLimits?: boolean;
}

/**
 * Thrown when lezer exceeds its wall-clock budget (code `query_too_large`). A distinct class
 * because this refusal cost the whole budget: the enforcer remembers it briefly by a hash of
 * the text (src/enforce/engine.ts), while cheap refusals (size, structure) are not stored.
 */
export class ParseBudgetError extends PromQLError {
  constructor(budgetMs: number) {
    super('query_too_large', `query is too complex to parse (over ${budgetMs} ms); simplify or split it`);
    this.name = 'ParseBudgetError';
  }
}

/**
 * lezer's parse with error recovery, advanced step by step under a wall-clock budget (fail
 * closed, never hang). Used only for texts of at most {@link RECOVERY_MAX_CHARS} that the
 * strict parse refused, for the position of the first error node in the message.
 */
function lezerParse(source: string, budgetMs: number): Tree {
  const deadline = performance.now() + budgetMs;
  const partial = parser.startParse(source);
  for (;;) {
    const tree = partial.advance();
    if (tree !== null) return tree;
    if (performance.now() > deadline) throw new ParseBudgetError(budgetMs);
  }
}

/**
 * lezer's `strict` flag of the one grammar instance, set only for the duration of a strict
 * parse (synchronous, so nothing else parses meanwhile). Not `parser.configure({ strict:
 * true })`: that copy of the parser object made every parse ~40% slower (its properties are
 * read in lezer's innermost loops; measured with `npm run bench:enforce`).
 */
const strictFlag = parser as unknown as { strict: boolean };

/**
 * lezer's parse without error recovery, under a wall-clock budget: the tree when the text
 * parses, else the position where it stopped. On valid text both modes build the very same
 * tree (recovery starts only where every parse stack failed, which is exactly where strict
 * mode throws); on garbage, recovery costs 10–30 µs per token (`1 1 1 …`, `"a" "a" …`) while
 * strict mode stops at the first error.
 *
 * Long left-associative chains: after 300 reductions of one production that start at the
 * same position and span 2000+ characters, `@lezer/lr` (1.4.12, `Parse.advance`,
 * `Rec.MaxLeftAssociativeReductionCount`) force-reduces its stack so that it never builds a
 * tree too deep for its own recursive tree building — which turns a valid chain of ~290
 * `count(x) or …` terms (accepted by Prometheus) into a parse error. promfence bounds that
 * depth itself before lezer runs (./limits.ts: at most `MAX_STRUCTURAL_DEPTH` levels of
 * operators and brackets, far below the ~2,500-level chains that overflow lezer's tree
 * building), so the counter of that heuristic is reset before every step. Nothing else of
 * the parse changes: every check of the builder still runs. If a future @lezer/lr renames
 * the field, the reset does nothing and long chains are refused again (fail closed;
 * test/promql/abuse.test.ts notices). The recovering parse needs no reset: its texts are
 * shorter than the 2000 characters the heuristic looks at.
 */
function lezerParseStrict(source: string, budgetMs: number): Tree | number {
  const deadline = performance.now() + budgetMs;
  const partial = parser.startParse(source);
  const internals = partial as unknown as { bigReductionCount?: unknown };
  const was = strictFlag.strict;
  strictFlag.strict = true;
  try {
    for (let step = 1; ; step++) {
      if (typeof internals.bigReductionCount === 'number') internals.bigReductionCount = 0;
      let tree: Tree | null;
      try {
        tree = partial.advance();
      } catch (err) {
        if (err instanceof SyntaxError) return partial.parsedPos;
        throw err;
      }
      if (tree !== null) return tree;
      // The clock after the first step and every 16th (a step is microseconds; reading it each time cost ~3 % of a
      // cold enforcement, issue #10).
      if ((step & 15) === 1 && performance.now() > deadline) throw new ParseBudgetError(budgetMs);
    }
  } finally {
    strictFlag.strict = was;
  }
}

/**
 * Texts up to this many UTF-16 units that do not parse get lezer's error recovery, for the
 * position of its first error node in the message (the messages the golden digests of
 * test/fixtures/golden hold); longer ones are refused at the point where the strict parse
 * stopped, so that garbage costs no recovery (issue #11). ~1 KB of the costliest garbage
 * recovers in ~15 ms.
 */
export const RECOVERY_MAX_CHARS = 1024;

/**
 * 1-based line and column (in code points) and 0-based UTF-16 offset of `offset` in `text`.
 */
export function positionAt(text: string, offset: number): TextPosition {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < clamped; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = [...text.slice(lineStart, clamped)].length + 1;
  return { line, column, offset: clamped };
}

/** UTF-8 length of `s` in bytes (lone surrogates count 3, like U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const HOLT_WINTERS = 'holt_winters';
// Same length (12), a function lezer knows, so every position in the tree stays exact.
const HOLT_WINTERS_STAND_IN = 'day_of_month';

const BINARY_OPS: Readonly<Record<string, BinaryOp>> = {
  Pow: '^', Mul: '*', Div: '/', Mod: '%', Atan2: 'atan2', Add: '+', Sub: '-',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=', And: 'and', Or: 'or', Unless: 'unless',
};

const MATCH_OPS: Readonly<Record<string, MatchOp>> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

// float64(math.MaxInt64) is exactly 2^63.
const INT64_MAX_F = 2 ** 63;

/** Rounds half away from zero, like Go's math.Round. */
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

class Builder {
  readonly text: string;
  readonly syntax: Dialect;
  readonly holtWinters: ReadonlySet<number>;
  /** Stand-in positions actually mapped back; any other use of a stand-in fails closed. */
  readonly holtWintersUsed = new Set<number>();

  constructor(text: string, syntax: Dialect, holtWinters: ReadonlySet<number>) {
    this.text = text;
    this.syntax = syntax;
    this.holtWinters = holtWinters;
  }

  fail(code: PromQLError['code'], message: string, at: number | SyntaxNode, cause?: unknown): never {
    const offset = typeof at === 'number' ? at : at.from;
    const position = positionAt(this.text, offset);
    throw new PromQLError(code, `${message} (line ${position.line}, column ${position.column})`, { position, cause });
  }

  src(n: SyntaxNode): string {
    return this.text.slice(n.from, n.to);
  }

  /** The identifier text, with a `holt_winters` stand-in mapped back by exact position. */
  mapHoltWinters(n: SyntaxNode): string {
    if (this.holtWinters.has(n.from) && n.to - n.from === HOLT_WINTERS.length) {
      this.holtWintersUsed.add(n.from);
      return HOLT_WINTERS;
    }
    return this.src(n);
  }

  /** Named children, comments skipped (Go's lexer drops comments too). */
  kids(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c !== null; c = c.nextSibling) {
      if (c.name !== 'LineComment') out.push(c);
    }
    return out;
  }

  lexeme<T>(node: SyntaxNode, f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof LexemeError) this.fail(err.code, err.message, node, err);
      throw err;
    }
  }

  string(node: SyntaxNode): string {
    return this.lexeme(node, () => unquoteGoString(this.src(node)));
  }

  quotedName(node: SyntaxNode, what: string): string {
    if (this.syntax === 'prometheus2') {
      this.fail('unsupported_syntax', `quoted ${what} names need Prometheus 3 (configured syntax: prometheus2)`, node);
    }
    const v = this.string(node);
    if (v === '') this.fail('parse_error', `empty ${what} name`, node);
    return v;
  }

  /** The unsigned token of a (possibly signed) number node: its last whitespace-free run. */
  numberToken(node: SyntaxNode): { sign: '+' | '-' | undefined; token: string } {
    const t = this.src(node);
    const sign = t[0] === '-' || t[0] === '+' ? (t[0] as '+' | '-') : undefined;
    const m = /(\S+)$/.exec(t);
    const token = m?.[1] ?? '';
    return { sign, token: sign !== undefined && token === t ? token.slice(1) : token };
  }

  /** Seconds value of an unsigned number-or-duration token (Go: number_duration_literal). */
  tokenSeconds(node: SyntaxNode, token: string): number {
    return this.lexeme(node, () => (isDurationLexeme(token) ? goDurationSeconds(parseGoDurationNs(token)) : parseGoNumber(token)));
  }

  number(node: SyntaxNode, dropSign = false): NumberLiteral {
    const { sign, token } = this.numberToken(node);
    const v = this.tokenSeconds(node, token);
    const useSign = dropSign ? undefined : sign;
    return { kind: 'NumberLiteral', value: useSign === '-' ? -v : v, lexeme: (useSign ?? '') + token };
  }

  /** A range/step duration: one number or duration literal, nothing else (duration expressions are experimental). */
  duration(node: SyntaxNode): number {
    const k = this.kids(node);
    const lit = k[0];
    if (k.length !== 1 || lit === undefined || lit.name !== 'NumberDurationLiteralInDurationContext') {
      this.fail('unsupported_syntax', 'duration expressions are experimental and not supported; use a literal such as 5m', node);
    }
    return this.durationLiteral(lit);
  }

  durationLiteral(lit: SyntaxNode): number {
    const token = this.src(lit);
    if (/^(?:inf|nan)$/i.test(token)) this.fail('parse_error', `invalid duration ${JSON.stringify(token)}`, lit);
    return this.lexeme(lit, () => (isDurationLexeme(token)
      ? durationNsToMs(parseGoDurationNs(token))
      : secondsToDurationMs(parseGoNumber(token))));
  }

  offset(node: SyntaxNode): number {
    const k = this.kids(node);
    const first = k[0];
    if (k.length === 1 && first?.name === 'NumberDurationLiteralInDurationContext') return this.durationLiteral(first);
    const inner = k[1];
    if (k.length === 2 && first?.name === 'UnaryOp' && this.src(first) === '-' && inner?.name === 'OffsetDurationExpr') {
      const ik = this.kids(inner);
      const lit = ik[0];
      if (ik.length === 1 && lit?.name === 'NumberDurationLiteralInDurationContext') {
        const ms = this.durationLiteral(lit);
        return ms === 0 ? 0 : -ms;
      }
    }
    return this.fail('unsupported_syntax', 'offset must be a literal duration, optionally negative (duration expressions are experimental)', node);
  }

  at(node: SyntaxNode): AtModifier {
    if (node.name === 'AtModifierPreprocessors') {
      const w = this.src(node).toLowerCase();
      if (w === 'start' || w === 'end') return w;
      return this.fail('parse_error', 'expected start() or end()', node);
    }
    if (node.name !== 'NumberDurationLiteral') return this.fail('parse_error', 'expected a timestamp after @', node);
    const { sign, token } = this.numberToken(node);
    const v0 = this.tokenSeconds(node, token);
    const ts = sign === '-' ? -v0 : v0;
    // parse.go setTimestamp: Inf, NaN and values beyond int64 are out of bounds.
    if (!Number.isFinite(ts) || ts >= INT64_MAX_F || ts <= -INT64_MAX_F) {
      this.fail('parse_error', `timestamp out of bounds for @ modifier: ${this.src(node)}`, node);
    }
    const ms = goRound(ts * 1000); // timestamp.FromFloatSeconds
    if (!Number.isSafeInteger(ms)) this.fail('unsupported_syntax', '@ timestamp too large', node);
    return ms / 1000 === 0 ? 0 : ms / 1000;
  }

  labelList(node: SyntaxNode): string[] {
    const out: string[] = [];
    for (const c of this.kids(node)) {
      if (c.name === 'LabelName') out.push(this.src(c));
      else if (c.name === 'QuotedLabelName') out.push(this.quotedName(c.firstChild ?? c, 'label'));
      else this.fail('parse_error', `unexpected ${JSON.stringify(this.src(c))} in grouping labels`, c);
    }
    return out;
  }

  selector(node: SyntaxNode): VectorSelector {
    let name: string | undefined;
    const matchers: LabelMatcher[] = [];
    for (const c of this.kids(node)) {
      if (c.name === 'Identifier') {
        name = this.mapHoltWinters(c);
      } else if (c.name === 'LabelMatchers') {
        for (const m of this.kids(c)) matchers.push(this.matcher(m));
      } else {
        this.fail('internal_error', `unexpected node ${c.name} in a vector selector`, c);
      }
    }
    if (name !== undefined && matchers.some((m) => m.name === '__name__')) {
      // parse.go checkAST: a name outside the braces and __name__ inside is an error.
      this.fail('parse_error', 'metric name must not be set twice', node);
    }
    return { kind: 'VectorSelector', name, matchers, offset: undefined, at: undefined };
  }

  matcher(m: SyntaxNode): LabelMatcher {
    const k = this.kids(m);
    if (m.name === 'QuotedLabelName') {
      return { name: '__name__', op: '=', value: this.quotedName(k[0] ?? m, 'metric') };
    }
    const [nameNode, opNode, valueNode] = k;
    if (k.length !== 3 || nameNode === undefined || opNode === undefined || valueNode === undefined) {
      return this.fail('parse_error', 'malformed label matcher', m);
    }
    let name: string;
    if (m.name === 'UnquotedLabelMatcher' && nameNode.name === 'LabelName') name = this.src(nameNode);
    else if (m.name === 'QuotedLabelMatcher' && nameNode.name === 'QuotedLabelName') name = this.quotedName(nameNode.firstChild ?? nameNode, 'label');
    else return this.fail('parse_error', 'malformed label matcher', m);
    const op = MATCH_OPS[opNode.firstChild?.name ?? ''];
    if (op === undefined) return this.fail('parse_error', 'unknown label matching operator', opNode);
    if (valueNode.name !== 'StringLiteral') return this.fail('parse_error', 'expected a string in label matching', valueNode);
    return { name, op, value: this.string(valueNode) };
  }

  // --- postfix modifiers: re-associated onto the nearest operand, as Go binds them ---

  /**
   * Go binds a postfix modifier to the nearest operand: through binary and unary
   * expressions down to the rightmost operand (`a + b offset 5m` is `a + (b offset 5m)`,
   * `-x[5m]` is `-(x[5m])`); lezer binds it to the whole expression. Rebuilds the path
   * to that operand and applies `leaf` to it.
   */
  onNearestOperand(e: Expr, leaf: (operand: Expr) => Expr): Expr {
    if (e.kind === 'Binary') return { ...e, rhs: this.onNearestOperand(e.rhs, leaf) };
    if (e.kind === 'Unary') return { ...e, expr: this.onNearestOperand(e.expr, leaf) };
    return leaf(e);
  }

  applyRange(e: Expr, range: number, node: SyntaxNode): Expr {
    return this.onNearestOperand(e, (x) => {
      if (x.kind !== 'VectorSelector') return this.fail('parse_error', 'ranges only allowed for vector selectors', node);
      if (x.offset !== undefined) this.fail('parse_error', 'no offset modifiers allowed before range', node);
      if (x.at !== undefined) this.fail('parse_error', 'no @ modifiers allowed before range', node);
      return { kind: 'MatrixSelector', selector: x, range };
    });
  }

  applySubquery(e: Expr, range: number, step: number | undefined): Expr {
    const leaf = (x: Expr): Expr => {
      if (x.kind === 'NumberLiteral') {
        // lezer lexes `-1` as one token; in Go the sign is a unary operator that binds less
        // tightly than `[`: `-1[5m:]` is `-(1[5m:])`. The lexeme keeps the written signs.
        const sign = x.lexeme[0];
        if (sign === '-' || sign === '+') {
          const inner: NumberLiteral = { kind: 'NumberLiteral', value: sign === '-' ? -x.value : x.value, lexeme: x.lexeme.slice(1) };
          return { kind: 'Unary', op: sign, expr: leaf(inner) };
        }
      }
      return { kind: 'Subquery', expr: x, range, step, offset: undefined, at: undefined };
    };
    return this.onNearestOperand(e, leaf);
  }

  applyOffset(e: Expr, ms: number, node: SyntaxNode): Expr {
    return this.onNearestOperand(e, (x) => {
      const twice = () => this.fail('parse_error', 'offset may not be set multiple times', node);
      switch (x.kind) {
        case 'VectorSelector':
          if (x.offset !== undefined) twice();
          return { ...x, offset: ms };
        case 'MatrixSelector':
          if (x.selector.offset !== undefined) twice();
          return { ...x, selector: { ...x.selector, offset: ms } };
        case 'Subquery':
          if (x.offset !== undefined) twice();
          return { ...x, offset: ms };
        default:
          return this.fail('parse_error', 'offset modifier must be preceded by an instant vector selector or range vector selector or a subquery', node);
      }
    });
  }

  applyAt(e: Expr, at: AtModifier, node: SyntaxNode): Expr {
    return this.onNearestOperand(e, (x) => {
      const twice = () => this.fail('parse_error', '@ <timestamp> may not be set multiple times', node);
      switch (x.kind) {
        case 'VectorSelector':
          if (x.at !== undefined) twice();
          return { ...x, at };
        case 'MatrixSelector':
          if (x.selector.at !== undefined) twice();
          return { ...x, selector: { ...x.selector, at } };
        case 'Subquery':
          if (x.at !== undefined) twice();
          return { ...x, at };
        default:
          return this.fail('parse_error', '@ modifier must be preceded by an instant vector selector or range vector selector or a subquery', node);
      }
    });
  }

  args(body: SyntaxNode, depth: number): Expr[] {
    return this.kids(body).map((c) => this.expr(c, depth + 1));
  }

  expr(node: SyntaxNode, depth: number): Expr {
    if (depth > MAX_NESTING_DEPTH) this.fail('parse_error', `query nesting deeper than ${MAX_NESTING_DEPTH} levels`, node);
    const k = this.kids(node);
    switch (node.name) {
      case 'NumberDurationLiteral':
        return this.number(node);
      case 'StringLiteral':
        return { kind: 'StringLiteral', value: this.string(node) };
      case 'VectorSelector':
        return this.selector(node);
      case 'ParenExpr': {
        if (k.length !== 1 || k[0] === undefined) return this.fail('parse_error', 'malformed parentheses', node);
        return { kind: 'Paren', expr: this.expr(k[0], depth + 1) };
      }
      case 'MatrixSelector': {
        const [inner, dur] = k;
        if (k.length !== 2 || inner === undefined || dur?.name !== 'DurationExpr') return this.fail('parse_error', 'malformed range selector', node);
        const range = this.duration(dur);
        if (range <= 0) this.fail('parse_error', 'duration must be greater than 0', dur);
        return this.applyRange(this.expr(inner, depth + 1), range, dur);
      }
      case 'SubqueryExpr': {
        const [inner, r, s] = k;
        if (k.length < 2 || k.length > 3 || inner === undefined || r?.name !== 'DurationExpr' || (s !== undefined && s.name !== 'DurationExpr')) {
          return this.fail('parse_error', 'malformed subquery', node);
        }
        const range = this.duration(r);
        if (range <= 0) this.fail('parse_error', 'duration must be greater than 0', r);
        const step = s === undefined ? undefined : this.duration(s);
        if (step !== undefined && step <= 0) this.fail('unsupported_syntax', 'subquery step must be greater than 0 (omit it for the default step)', s as SyntaxNode);
        return this.applySubquery(this.expr(inner, depth + 1), range, step);
      }
      case 'OffsetExpr': {
        const [inner, kw, dur] = k;
        if (k.length !== 3 || inner === undefined || kw?.name !== 'Offset' || dur?.name !== 'OffsetDurationExpr') return this.fail('parse_error', 'malformed offset', node);
        return this.applyOffset(this.expr(inner, depth + 1), this.offset(dur), kw);
      }
      case 'StepInvariantExpr': {
        const [inner, kw, ts] = k;
        if (k.length !== 3 || inner === undefined || kw?.name !== 'At' || ts === undefined) return this.fail('parse_error', 'malformed @ modifier', node);
        return this.applyAt(this.expr(inner, depth + 1), this.at(ts), kw);
      }
      case 'AnchoredExpr':
      case 'SmoothedExpr':
        return this.fail('unsupported_syntax', 'the anchored/smoothed modifiers are experimental and not supported', node);
      case 'UnaryExpr': {
        const [opNode, inner] = k;
        if (k.length !== 2 || opNode?.name !== 'UnaryOp' || inner === undefined) return this.fail('parse_error', 'malformed unary expression', node);
        const op = this.src(opNode) === '-' ? '-' : '+';
        const e = this.expr(inner, depth + 1);
        if (e.kind === 'NumberLiteral') {
          // generated_parser.y unary_expr: a sign on a number literal is folded into it.
          return { kind: 'NumberLiteral', value: op === '-' ? -e.value : e.value, lexeme: op + e.lexeme };
        }
        return { kind: 'Unary', op, expr: e };
      }
      case 'BinaryExpr':
        return this.binary(node, k, depth);
      case 'FunctionCall': {
        const [id, body] = k;
        if (k.length !== 2 || id?.name !== 'FunctionIdentifier' || body?.name !== 'FunctionCallBody') return this.fail('parse_error', 'malformed function call', node);
        const func = this.mapHoltWinters(id);
        return { kind: 'Call', func, args: this.args(body, depth) };
      }
      case 'AggregateExpr':
        return this.aggregation(node, k, depth);
      default:
        return this.fail('internal_error', `unknown PromQL node ${node.name}`, node);
    }
  }

  binary(node: SyntaxNode, k: SyntaxNode[], depth: number): Expr {
    const lhsNode = k[0];
    const opNode = k[1];
    const rhsNode = k[k.length - 1];
    if (k.length < 3 || lhsNode === undefined || opNode === undefined || rhsNode === undefined) return this.fail('parse_error', 'malformed binary expression', node);
    const op = BINARY_OPS[opNode.name];
    if (op === undefined) return this.fail('unsupported_syntax', `operator ${JSON.stringify(this.src(opNode))} is not supported`, opNode);
    let bool = false;
    let matching: VectorMatching | undefined;
    for (const m of k.slice(2, -1)) {
      if (m.name === 'BoolModifier') bool = true;
      else if (m.name === 'MatchingModifierClause') matching = this.matching(m);
      else if (m.name === 'FillModifier') this.fail('unsupported_syntax', 'fill modifiers are experimental and not supported', m);
      else this.fail('parse_error', `unexpected ${JSON.stringify(this.src(m))} in binary expression`, m);
    }
    // Structural checks of Go's checkAST (parse.go) that need no types; type checks are left
    // to the upstream, which rejects them on promfence's canonical print.
    if (bool && !COMPARISON_OPS.has(op)) this.fail('parse_error', 'bool modifier can only be used on comparison operators', opNode);
    if (matching !== undefined && (op === 'and' || op === 'or' || op === 'unless') && matching.card !== 'one-to-one') {
      this.fail('parse_error', `no grouping allowed for "${op}" operation`, opNode);
    }
    if (matching !== undefined && matching.on) {
      const both = matching.labels.find((l) => matching?.include.includes(l));
      if (both !== undefined) this.fail('parse_error', `label ${JSON.stringify(both)} must not occur in ON and GROUP clause at once`, opNode);
    }
    const rhs = this.expr(rhsNode, depth + 1);
    if (op === '^' && lhsNode.name === 'NumberDurationLiteral') {
      const { sign } = this.numberToken(lhsNode);
      if (sign !== undefined) {
        // lezer lexes `-1` as one token; Go applies the sign after `^` (unary has MUL precedence).
        return { kind: 'Unary', op: sign, expr: { kind: 'Binary', op, lhs: this.number(lhsNode, true), rhs, bool, matching } };
      }
    }
    return { kind: 'Binary', op, lhs: this.expr(lhsNode, depth + 1), rhs, bool, matching };
  }

  matching(m: SyntaxNode): VectorMatching {
    const k = this.kids(m);
    const [kw, labels, group, include] = k;
    if (kw === undefined || (kw.name !== 'On' && kw.name !== 'Ignoring') || labels?.name !== 'GroupingLabels') {
      return this.fail('parse_error', 'malformed on/ignoring clause', m);
    }
    let card: MatchCard = 'one-to-one';
    if (group !== undefined) {
      if (group.name === 'GroupLeft') card = 'many-to-one';
      else if (group.name === 'GroupRight') card = 'one-to-many';
      else this.fail('parse_error', 'malformed group modifier', group);
    }
    if (include !== undefined && include.name !== 'GroupingLabels') this.fail('parse_error', 'malformed group modifier labels', include);
    if (k.length > 4) this.fail('parse_error', 'malformed on/ignoring clause', m);
    return { card, on: kw.name === 'On', labels: this.labelList(labels), include: include === undefined ? [] : this.labelList(include) };
  }

  aggregation(node: SyntaxNode, k: SyntaxNode[], depth: number): Expr {
    let op: AggregateOp | undefined;
    let grouping: Grouping | undefined;
    let body: SyntaxNode | undefined;
    for (const c of k) {
      if (c.name === 'AggregateOp') op = this.src(c).toLowerCase() as AggregateOp;
      else if (c.name === 'AggregateModifier') {
        const [kw, labels] = this.kids(c);
        if (kw === undefined || labels?.name !== 'GroupingLabels' || (kw.name !== 'By' && kw.name !== 'Without')) this.fail('parse_error', 'malformed by/without clause', c);
        if (grouping !== undefined) this.fail('parse_error', 'by/without may only be given once', c);
        grouping = { without: kw.name === 'Without', labels: this.labelList(labels) };
      } else if (c.name === 'FunctionCallBody') body = c;
      else this.fail('parse_error', 'malformed aggregation', c);
    }
    if (op === undefined || body === undefined) return this.fail('parse_error', 'malformed aggregation', node);
    const args = this.args(body, depth);
    const want = AGGREGATORS_WITH_PARAM.has(op) ? 2 : 1;
    if (args.length === 0) this.fail('parse_error', 'no arguments for aggregate expression provided', node);
    if (args.length !== want) this.fail('parse_error', `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`, node);
    return want === 2
      ? { kind: 'Aggregation', op, param: args[0], expr: args[1] as Expr, grouping }
      : { kind: 'Aggregation', op, param: undefined, expr: args[0] as Expr, grouping };
  }
}

interface Scan {
  error: SyntaxNode | undefined;
  holtWinters: number[];
}

function scan(tree: Tree, text: string): Scan {
  const out: Scan = { error: undefined, holtWinters: [] };
  const cursor = tree.cursor();
  for (;;) {
    if (cursor.type.isError) {
      if (out.error === undefined) out.error = cursor.node;
    } else if (cursor.name === 'LineComment') {
      if (text.slice(cursor.from, cursor.to).includes('\r')) {
        throw new PromQLError('parse_error',
          'a # comment contains a carriage return: Prometheus ends comments at \\r, so the rest of the line would be read differently (refused)',
          { position: positionAt(text, cursor.from) });
      }
    } else if (cursor.name === 'Identifier' && cursor.to - cursor.from === HOLT_WINTERS.length && text.slice(cursor.from, cursor.to) === HOLT_WINTERS) {
      out.holtWinters.push(cursor.from);
    }
    if (cursor.firstChild()) continue;
    while (!cursor.nextSibling()) {
      if (!cursor.parent()) return out;
    }
  }
}

/**
 * lezer's function list is Prometheus 3's: the exact identifier ranges of `holt_winters` are
 * replaced by a same-length function name it knows, and the builder maps those positions back.
 */
function withStandIns(source: string, positions: readonly number[]): string {
  let replaced = '';
  let last = 0;
  for (const from of positions) {
    replaced += source.slice(last, from) + HOLT_WINTERS_STAND_IN;
    last = from + HOLT_WINTERS.length;
  }
  return replaced + source.slice(last);
}

function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3a;
}

/**
 * Offsets of `holt_winters` identifiers followed (after spaces) by `(`, outside strings and
 * comments: one linear pass. Used for long texts, which get no error-recovering parse.
 */
function holtWintersCalls(text: string): number[] {
  const out: number[] = [];
  const n = text.length;
  for (let i = 0; i < n;) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x27 || c === 0x60) {
      i++;
      while (i < n && text.charCodeAt(i) !== c) i += text.charCodeAt(i) === 0x5c && c !== 0x60 ? 2 : 1;
      i++;
    } else if (c === 0x23) {
      while (i < n && text.charCodeAt(i) !== 0x0a) i++;
    } else if (isNameChar(c)) {
      const start = i;
      while (i < n && isNameChar(text.charCodeAt(i))) i++;
      if (i - start === HOLT_WINTERS.length && text.startsWith(HOLT_WINTERS, start)) {
        let j = i;
        while (j < n && /\s/.test(text[j] as string)) j++;
        if (text.charCodeAt(j) === 0x28) out.push(start);
      }
    } else {
      i++;
    }
  }
  return out;
}

/** A `parse_error` at an offset where the strict parse stopped (long texts). */
function syntaxErrorAt(text: string, offset: number): PromQLError {
  const position = positionAt(text, offset);
  const near = /^\s*(\S{1,20})/.exec(text.slice(offset, offset + 64))?.[1];
  const what = near === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(near)}`;
  return new PromQLError('parse_error', `${what} (line ${position.line}, column ${position.column})`, { position });
}

function syntaxError(text: string, node: SyntaxNode): PromQLError {
  const position = positionAt(text, node.from);
  const near = text.slice(node.from, Math.min(node.to, node.from + 20));
  const what = node.from >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(near === '' ? text.slice(node.from, node.from + 1) : near)}`;
  return new PromQLError('parse_error', `${what} (line ${position.line}, column ${position.column})`, { position });
}

/**
 * Parses a PromQL expression into the typed tree. Does not apply policy checks (see
 * ./validate.ts) and does no type checking (left to the upstream, which receives only
 * promfence's canonical print).
 *
 * @param text the query as received (UTF-16 string; must be decoded from UTF-8 strictly)
 * @param options dialect and size cap ({@link ParseOptions})
 * @returns the root node
 * @throws PromQLError `query_too_large` (before parsing: size, or the structural limits of
 *   ./limits.ts; or when lezer exceeds `parseBudgetMs`: {@link ParseBudgetError}),
 *   `parse_error` (with position),
 *   `unsupported_syntax` (experimental or dialect-gated syntax), `internal_error` (any
 *   unexpected exception: fail closed)
 * @example parseExpr('sum by (job) (rate(http_requests_total[5m]))', { syntax: 'prometheus3' })
 */
export function parseExpr(text: string, options: ParseOptions): Expr {
  const max = options.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES;
  // Cheap bound first: a UTF-16 string has at most 3 UTF-8 bytes per code unit.
  if (text.length > max || (text.length * 3 > max && utf8Length(text) > max)) {
    throw new PromQLError('query_too_large', `query is larger than ${max} bytes`);
  }
  if (options.structureLimits !== false) checkStructure(text);
  try {
    let source = text;
    const budget = options.parseBudgetMs ?? DEFAULT_PARSE_BUDGET_MS;
    const holtWinters = new Set<number>();
    let tree: Tree;
    const strict = lezerParseStrict(source, budget);
    if (typeof strict !== 'number') {
      tree = strict;
      const s = scan(tree, source);
      if (s.error !== undefined) throw syntaxError(text, s.error);
    } else if (text.length <= RECOVERY_MAX_CHARS) {
      tree = lezerParse(source, budget);
      let s = scan(tree, source);
      if (s.error !== undefined && s.holtWinters.length > 0) {
        for (const from of s.holtWinters) holtWinters.add(from);
        source = withStandIns(source, s.holtWinters);
        tree = lezerParse(source, budget);
        s = scan(tree, source);
      }
      if (s.error !== undefined) throw syntaxError(text, s.error);
    } else {
      // Long text: no error recovery. A holt_winters call is found lexically instead.
      const calls = holtWintersCalls(text);
      if (calls.length === 0) throw syntaxErrorAt(text, strict);
      for (const from of calls) holtWinters.add(from);
      source = withStandIns(source, calls);
      const again = lezerParseStrict(source, budget);
      if (typeof again === 'number') throw syntaxErrorAt(text, again);
      tree = again;
      const s = scan(tree, source);
      if (s.error !== undefined) throw syntaxError(text, s.error);
    }
    const b = new Builder(source, options.syntax, holtWinters);
    const top = b.kids(tree.topNode);
    const root = top[0];
    if (top.length === 0 || root === undefined) throw new PromQLError('parse_error', 'no expression found in input');
    if (top.length !== 1) throw syntaxError(text, top[1] as SyntaxNode);
    const expr = b.expr(root, 0);
    if (b.holtWintersUsed.size !== holtWinters.size) {
      // A stand-in ended up somewhere else than a function or metric name: never let the
      // substituted text through.
      throw new PromQLError('parse_error', 'holt_winters is only supported as a function or metric name');
    }
    return expr;
  } catch (err) {
    if (err instanceof PromQLError) {
      // Messages from the builder quote positions of `source`, which has the same length.
      throw err;
    }
    throw new PromQLError('internal_error', 'the query could not be processed (parser failure)', { cause: err });
  }
}

/**
 * Parses one series selector (`match[]` of the series/labels/federate endpoints): a single
 * vector selector without `offset`/`@`, like Go's `ParseMetricSelector`.
 *
 * @throws PromQLError `parse_error` when the text is not exactly one vector selector, plus
 *   every error of {@link parseExpr}
 */
export function parseSeriesSelector(text: string, options: ParseOptions): VectorSelector {
  const e = parseExpr(text, options);
  if (e.kind !== 'VectorSelector' || e.offset !== undefined || e.at !== undefined) {
    throw new PromQLError('parse_error', 'a match[] value must be a single series selector such as up{job="api"} (no functions, operators, ranges, offset or @)');
  }
  return e;
}
