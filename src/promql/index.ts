/**
 * Public surface of the PromQL engine (framework-free): typed tree, parser, validator,
 * canonical printer, errors. The tenant enforcer built on it lives in src/enforce.
 */
export type {
  AggregateOp, Aggregation, AtModifier, Binary, BinaryOp, Call, Expr, Grouping, LabelMatcher, MatchCard, MatchOp,
  MatrixSelector, NumberLiteral, Paren, StringLiteral, Subquery, Unary, VectorMatching, VectorSelector,
} from './ast.ts';
export { effectiveMatchers, exprEqual, mapSelectors, walk } from './ast.ts';
export { PromQLError, type PromQLErrorCode, type TextPosition } from './errors.ts';
export { type Dialect } from './functions.ts';
export { checkRequestTokens, checkStructure, MAX_REQUEST_TOKENS, MAX_SIGNED_POWERS, MAX_STRUCTURAL_DEPTH, MAX_TOKENS, scanStructure, type Structure, type StructureLimits } from './limits.ts';
export { DEFAULT_MAX_QUERY_BYTES, DEFAULT_PARSE_BUDGET_MS, MAX_NESTING_DEPTH, ParseBudgetError, parseExpr, parseSeriesSelector, positionAt, type ParseOptions } from './parse.ts';
export { canonicalize, printCanonical, printExpr } from './print.ts';
export { escapeRegex, re2Nullable, regexMatchesEmpty } from './regex.ts';
export { checkSelectorNotEmpty, matcherMatchesEmpty, validateExpr } from './validate.ts';
