/**
 * fast-check generators of typed PromQL trees, shared by the property tests. Trees stay
 * within what Go's parser accepts *structurally* (bool only on comparisons, no grouping on
 * set operators, no label both in on() and group_x(), no __name__ matcher next to a name);
 * types are not constrained (the upstream type-checks).
 */
import fc from 'fast-check';
import type {
  AggregateOp, AtModifier, BinaryOp, Expr, LabelMatcher, MatchCard, MatchOp, VectorMatching, VectorSelector,
} from '../../src/promql/ast.ts';
import { AGGREGATORS_WITH_PARAM, COMPARISON_OPS } from '../../src/promql/ast.ts';
import { MAX_DURATION_MS } from '../../src/promql/lexemes.ts';
import { STABLE_FUNCTIONS } from '../../src/promql/functions.ts';

const noLoneSurrogate = (s: string): boolean => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

export const anyString = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }).filter(noLoneSurrogate),
  fc.constantFrom('', '"', "'", '`', '\\', '\n', '\r', '#', '{', '}', '\u2028', '\u00a0', '\u0000', 'é', '😀', '.*', 'a|b'),
);
export const identifier = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,6}$/);
const metricName = fc.oneof(
  { weight: 5, arbitrary: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,6}$/) },
  { weight: 1, arbitrary: fc.constantFrom('sum', 'offset', 'by', 'Inf', 'nan', 'start', 'rate', 'holt_winters', 'bool', 'and', 'group_left') },
  { weight: 1, arbitrary: anyString.filter((s) => s !== '') },
);
const labelName = (utf8: boolean) => (utf8
  ? fc.oneof({ weight: 4, arbitrary: identifier }, { weight: 1, arbitrary: anyString.filter((s) => s !== '' && s !== '__name__') })
  : identifier).filter((s) => s !== '__name__');
const matchOp = fc.constantFrom<MatchOp>('=', '!=', '=~', '!~');
const matcher = (utf8: boolean): fc.Arbitrary<LabelMatcher> => fc.record({ name: labelName(utf8), op: matchOp, value: anyString });
const durationMs = fc.oneof(fc.integer({ min: 1, max: 100_000_000 }), fc.integer({ min: 1, max: MAX_DURATION_MS }));
const offsetMs = fc.option(fc.oneof(fc.integer({ min: -100_000_000, max: 100_000_000 }), fc.integer({ min: -MAX_DURATION_MS, max: MAX_DURATION_MS })), { nil: undefined });
const atMod: fc.Arbitrary<AtModifier | undefined> = fc.option(fc.oneof(
  fc.constantFrom<AtModifier>('start', 'end'),
  fc.integer({ min: -2_000_000_000_000, max: 2_000_000_000_000 }).map((ms) => (ms / 1000 === 0 ? 0 : ms / 1000)),
), { nil: undefined });
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 1, -1, Infinity, -Infinity, NaN, 0.5, 1e21, 5e-324));

const selector = (utf8: boolean): fc.Arbitrary<VectorSelector> => fc.record({
  name: fc.option(metricName, { nil: undefined }),
  matchers: fc.array(matcher(utf8), { maxLength: 3 }),
  offset: offsetMs,
  at: atMod,
}).map(({ name, matchers, offset, at }) => ({ kind: 'VectorSelector' as const, name, matchers, offset, at }));

const binaryOp = fc.constantFrom<BinaryOp>('+', '-', '*', '/', '%', '^', 'atan2', '==', '!=', '>', '<', '>=', '<=', 'and', 'or', 'unless');
const aggOp = fc.constantFrom<AggregateOp>('sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'count_values', 'quantile');

/** Trees; `utf8` allows quoted (non-identifier) label names. */
export function exprArbitrary(utf8: boolean): fc.Arbitrary<Expr> {
  const labels = fc.array(labelName(utf8), { maxLength: 3 });
  const functions = [...STABLE_FUNCTIONS.prometheus3];
  const { expr } = fc.letrec<{ expr: Expr }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 4, arbitrary: selector(utf8) },
      { weight: 2, arbitrary: number.map((value) => ({ kind: 'NumberLiteral' as const, value, lexeme: String(value) })) },
      { weight: 1, arbitrary: anyString.map((value) => ({ kind: 'StringLiteral' as const, value })) },
      {
        weight: 2,
        arbitrary: fc.record({ s: selector(utf8), range: durationMs }).map(({ s, range }) => ({ kind: 'MatrixSelector' as const, selector: s, range })),
      },
      {
        weight: 1,
        arbitrary: fc.record({ e: tie('expr'), range: durationMs, step: fc.option(durationMs, { nil: undefined }), offset: offsetMs, at: atMod })
          .map(({ e, range, step, offset, at }) => ({ kind: 'Subquery' as const, expr: e, range, step, offset, at })),
      },
      {
        weight: 2,
        arbitrary: fc.record({ func: fc.constantFrom(...functions), args: fc.array(tie('expr'), { maxLength: 3 }) })
          .map(({ func, args }) => ({ kind: 'Call' as const, func, args })),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          op: aggOp, param: tie('expr'), e: tie('expr'),
          grouping: fc.option(fc.record({ without: fc.boolean(), labels }), { nil: undefined }),
        }).map(({ op, param, e, grouping }) => ({ kind: 'Aggregation' as const, op, param: AGGREGATORS_WITH_PARAM.has(op) ? param : undefined, expr: e, grouping })),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          op: binaryOp, lhs: tie('expr'), rhs: tie('expr'), bool: fc.boolean(),
          matching: fc.option(fc.record({
            card: fc.constantFrom<MatchCard>('one-to-one', 'many-to-one', 'one-to-many'),
            on: fc.boolean(), labels, include: labels,
          }), { nil: undefined }),
        }).map(({ op, lhs, rhs, bool, matching }) => {
          // Keep to what Go's parser accepts structurally (bool only on comparisons, no
          // grouping for set operators, no label both in on() and group_x()).
          let m: VectorMatching | undefined = matching;
          if (m !== undefined) {
            const setOp = op === 'and' || op === 'or' || op === 'unless';
            const card = setOp ? 'one-to-one' : m.card;
            const include = card === 'one-to-one' ? [] : m.include.filter((l) => !(m as VectorMatching).on || !(m as VectorMatching).labels.includes(l));
            m = { ...m, card, include };
          }
          return { kind: 'Binary' as const, op, lhs, rhs, bool: bool && COMPARISON_OPS.has(op), matching: m };
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constantFrom<'-' | '+'>('-', '+'), e: tie('expr') }).map(({ op, e }) => ({ kind: 'Unary' as const, op, expr: e })) },
      { weight: 1, arbitrary: tie('expr').map((e) => ({ kind: 'Paren' as const, expr: e })) },
    ),
  }));
  return expr;
}

