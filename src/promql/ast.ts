/**
 * The typed PromQL syntax tree of promfence: a closed discriminated union (`kind`), built by
 * ./parse.ts from lezer's concrete tree, checked by ./validate.ts, rewritten by src/enforce
 * and printed by ./print.ts. Nodes are plain immutable objects; rewriting builds new nodes.
 *
 * Shapes follow Prometheus's Go AST (prometheus/prometheus promql/parser/ast.go), with the
 * differences documented per node. Units: durations in integer milliseconds, `@` timestamps
 * in seconds (rounded to whole milliseconds, as Go's `timestamp.FromFloatSeconds` does).
 */

/** Label matcher operators. */
export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One label matcher: `name op "value"`; `value` is the decoded string. */
export interface LabelMatcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
}

/** `@` modifier: seconds since the epoch (multiple of 0.001), or `start()` / `end()`. */
export type AtModifier = number | 'start' | 'end';

/** A number literal. `lexeme` is the validated source spelling (informational; the printer formats `value`). */
export interface NumberLiteral {
  readonly kind: 'NumberLiteral';
  readonly value: number;
  readonly lexeme: string;
}

/** A string literal; `value` is decoded with Go's `strconv.Unquote` rules. */
export interface StringLiteral {
  readonly kind: 'StringLiteral';
  readonly value: string;
}

/**
 * An instant vector selector. `name` is the metric name written outside the braces
 * (`foo{...}`); a `{"foo"}` or `{__name__="foo"}` form is kept as a matcher on `__name__`
 * (Go does the same: only a name outside the braces sets `Name`).
 */
export interface VectorSelector {
  readonly kind: 'VectorSelector';
  readonly name: string | undefined;
  readonly matchers: readonly LabelMatcher[];
  /** Offset in ms (may be negative); undefined when no `offset` was written. */
  readonly offset: number | undefined;
  readonly at: AtModifier | undefined;
}

/** `selector[range]`. Like Go, `offset`/`@` of a range selector live on its vector selector. */
export interface MatrixSelector {
  readonly kind: 'MatrixSelector';
  readonly selector: VectorSelector;
  /** Range in ms, > 0. */
  readonly range: number;
}

/** `expr[range:step]` with optional `offset`/`@` of the subquery itself. */
export interface Subquery {
  readonly kind: 'Subquery';
  readonly expr: Expr;
  /** Range in ms, > 0. */
  readonly range: number;
  /** Step in ms, > 0; undefined = the evaluation's default step (`[5m:]`). */
  readonly step: number | undefined;
  readonly offset: number | undefined;
  readonly at: AtModifier | undefined;
}

/** A function call; `func` is the name as written (checked against the dialect's table). */
export interface Call {
  readonly kind: 'Call';
  readonly func: string;
  readonly args: readonly Expr[];
}

/** Aggregation operators (lower case). */
export type AggregateOp =
  | 'sum' | 'avg' | 'count' | 'min' | 'max' | 'group' | 'stddev' | 'stdvar'
  | 'topk' | 'bottomk' | 'count_values' | 'quantile' | 'limitk' | 'limit_ratio';

/** `by (...)` / `without (...)` of an aggregation. */
export interface Grouping {
  readonly without: boolean;
  readonly labels: readonly string[];
}

/** An aggregation; `param` is set exactly for topk/bottomk/quantile/count_values/limitk/limit_ratio. */
export interface Aggregation {
  readonly kind: 'Aggregation';
  readonly op: AggregateOp;
  readonly param: Expr | undefined;
  readonly expr: Expr;
  readonly grouping: Grouping | undefined;
}

/** Binary operators (lower case for the keyword ones). */
export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%' | '^' | 'atan2'
  | '==' | '!=' | '>' | '<' | '>=' | '<='
  | 'and' | 'or' | 'unless';

/** Cardinality set by `group_left` / `group_right`. */
export type MatchCard = 'one-to-one' | 'many-to-one' | 'one-to-many';

/** `on(...)` / `ignoring(...)` with optional `group_left(...)` / `group_right(...)`. */
export interface VectorMatching {
  readonly card: MatchCard;
  readonly on: boolean;
  readonly labels: readonly string[];
  /** Labels of `group_left(...)`/`group_right(...)`; empty otherwise. */
  readonly include: readonly string[];
}

/** A binary expression; `matching` is undefined when no `on`/`ignoring` clause was written. */
export interface Binary {
  readonly kind: 'Binary';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  readonly bool: boolean;
  readonly matching: VectorMatching | undefined;
}

/** Unary `-`/`+`. As in Go, a sign applied directly to a number literal is folded into it. */
export interface Unary {
  readonly kind: 'Unary';
  readonly op: '-' | '+';
  readonly expr: Expr;
}

/** Parentheses, kept as written (Go keeps `ParenExpr` too; they matter for modifier placement). */
export interface Paren {
  readonly kind: 'Paren';
  readonly expr: Expr;
}

/** Every PromQL expression node. */
export type Expr =
  | NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | Subquery
  | Call | Aggregation | Binary | Unary | Paren;

/** Aggregators that take a parameter as their first argument (Go: `IsAggregatorWithParam`). */
export const AGGREGATORS_WITH_PARAM: ReadonlySet<AggregateOp> = new Set<AggregateOp>([
  'topk', 'bottomk', 'count_values', 'quantile', 'limitk', 'limit_ratio',
]);

/** Comparison operators (the only ones that accept `bool`). */
export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);

/**
 * Thrown by {@link assertNever} when a switch meets a node kind it does not know. Callers
 * convert it to `PromQLError('internal_error')` (fail closed).
 */
export function assertNever(x: never): never {
  throw new Error(`unknown PromQL node: ${JSON.stringify((x as { kind?: unknown })?.kind)}`);
}

/**
 * Calls `visit` on every node of `expr` in pre-order, including the vector selector inside a
 * matrix selector and aggregation parameters. One exhaustive switch: an unknown kind throws.
 *
 * @param expr root node
 * @param visit called once per node
 * @throws Error on an unknown node kind
 */
export function walk(expr: Expr, visit: (node: Expr) => void): void {
  visit(expr);
  for (const c of children(expr)) walk(c, visit);
}

/**
 * The direct children of `expr`, in source order: the vector selector of a matrix selector,
 * the inner expression of a subquery, unary or parentheses, call arguments, an aggregation's
 * parameter then expression, a binary operation's operands.
 *
 * @throws Error on an unknown node kind
 */
export function children(expr: Expr): readonly Expr[] {
  switch (expr.kind) {
    case 'NumberLiteral':
    case 'StringLiteral':
    case 'VectorSelector':
      return [];
    case 'MatrixSelector':
      return [expr.selector];
    case 'Subquery':
    case 'Unary':
    case 'Paren':
      return [expr.expr];
    case 'Call':
      return expr.args;
    case 'Aggregation':
      return expr.param === undefined ? [expr.expr] : [expr.param, expr.expr];
    case 'Binary':
      return [expr.lhs, expr.rhs];
    default:
      return assertNever(expr);
  }
}

/**
 * Rebuilds `expr` bottom-up, replacing every vector selector (including those inside matrix
 * selectors, subqueries, calls, aggregation parameters and binary operands) by
 * `fn(selector, call)`, where `call` is the function name when the selector, or the matrix
 * selector holding it, is a direct argument of a function call (`absent(up)`,
 * `rate(x[5m])`), and `undefined` everywhere else (inside parentheses, operators,
 * aggregations, subqueries).
 *
 * @throws Error on an unknown node kind
 */
export function mapSelectors(expr: Expr, fn: (vs: VectorSelector, call: string | undefined) => VectorSelector): Expr {
  return mapIn(expr, fn, undefined);
}

function mapIn(expr: Expr, fn: (vs: VectorSelector, call: string | undefined) => VectorSelector, call: string | undefined): Expr {
  switch (expr.kind) {
    case 'NumberLiteral':
    case 'StringLiteral':
      return expr;
    case 'VectorSelector':
      return fn(expr, call);
    case 'MatrixSelector':
      return { ...expr, selector: fn(expr.selector, call) };
    case 'Subquery':
      return { ...expr, expr: mapIn(expr.expr, fn, undefined) };
    case 'Unary':
      return { ...expr, expr: mapIn(expr.expr, fn, undefined) };
    case 'Paren':
      return { ...expr, expr: mapIn(expr.expr, fn, undefined) };
    case 'Call':
      return { ...expr, args: expr.args.map((a) => mapIn(a, fn, expr.func)) };
    case 'Aggregation':
      return {
        ...expr,
        param: expr.param === undefined ? undefined : mapIn(expr.param, fn, undefined),
        expr: mapIn(expr.expr, fn, undefined),
      };
    case 'Binary':
      return { ...expr, lhs: mapIn(expr.lhs, fn, undefined), rhs: mapIn(expr.rhs, fn, undefined) };
    default:
      return assertNever(expr);
  }
}

/**
 * The matchers of a selector with its outside-the-braces name as a leading `__name__="name"`
 * matcher: the form in which `foo{a="b"}` and `{__name__="foo",a="b"}` are equal.
 */
export function effectiveMatchers(vs: VectorSelector): readonly LabelMatcher[] {
  return vs.name === undefined ? vs.matchers : [{ name: '__name__', op: '=', value: vs.name }, ...vs.matchers];
}

function sameNumber(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameMatchers(a: readonly LabelMatcher[], b: readonly LabelMatcher[]): boolean {
  return a.length === b.length && a.every((m, i) => {
    const n = b[i];
    return n !== undefined && m.name === n.name && m.op === n.op && m.value === n.value;
  });
}

/**
 * Structural equality of two trees, ignoring number lexemes (values compared with
 * `Object.is`, NaN equal to NaN) and treating a selector's outside name as its leading
 * `__name__` matcher (see {@link effectiveMatchers}). Used by the printer's self-check.
 *
 * @throws Error on an unknown node kind
 */
export function exprEqual(a: Expr, b: Expr): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'NumberLiteral':
      return sameNumber(a.value, (b as NumberLiteral).value);
    case 'StringLiteral':
      return a.value === (b as StringLiteral).value;
    case 'VectorSelector': {
      const v = b as VectorSelector;
      return sameMatchers(effectiveMatchers(a), effectiveMatchers(v)) && a.offset === v.offset && a.at === v.at;
    }
    case 'MatrixSelector': {
      const m = b as MatrixSelector;
      return a.range === m.range && exprEqual(a.selector, m.selector);
    }
    case 'Subquery': {
      const s = b as Subquery;
      return a.range === s.range && a.step === s.step && a.offset === s.offset && a.at === s.at && exprEqual(a.expr, s.expr);
    }
    case 'Call': {
      const c = b as Call;
      return a.func === c.func && a.args.length === c.args.length && a.args.every((x, i) => exprEqual(x, c.args[i] as Expr));
    }
    case 'Aggregation': {
      const g = b as Aggregation;
      if (a.op !== g.op) return false;
      if ((a.param === undefined) !== (g.param === undefined)) return false;
      if (a.param !== undefined && !exprEqual(a.param, g.param as Expr)) return false;
      if ((a.grouping === undefined) !== (g.grouping === undefined)) return false;
      if (a.grouping !== undefined && g.grouping !== undefined
        && (a.grouping.without !== g.grouping.without || !sameList(a.grouping.labels, g.grouping.labels))) return false;
      return exprEqual(a.expr, g.expr);
    }
    case 'Binary': {
      const o = b as Binary;
      if (a.op !== o.op || a.bool !== o.bool) return false;
      if ((a.matching === undefined) !== (o.matching === undefined)) return false;
      if (a.matching !== undefined && o.matching !== undefined) {
        const x = a.matching;
        const y = o.matching;
        if (x.card !== y.card || x.on !== y.on || !sameList(x.labels, y.labels) || !sameList(x.include, y.include)) return false;
      }
      return exprEqual(a.lhs, o.lhs) && exprEqual(a.rhs, o.rhs);
    }
    case 'Unary':
      return a.op === (b as Unary).op && exprEqual(a.expr, (b as Unary).expr);
    case 'Paren':
      return exprEqual(a.expr, (b as Paren).expr);
    default:
      return assertNever(a);
  }
}
