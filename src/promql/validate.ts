/**
 * Policy checks on a parsed tree, before any tenant matcher is injected:
 *
 * - every vector selector has a metric name or a matcher that does not match the empty
 *   string (Prometheus's rule, parse.go checkAST; injecting first would turn an invalid
 *   `{}` into a scan of the whole tenant) → `empty_selector`;
 * - functions and aggregators on the dialect's whitelist (./functions.ts) → otherwise
 *   `unsupported_function` / `unsupported_syntax`; `info()` always refused.
 */
import type { Expr, LabelMatcher, VectorSelector } from './ast.ts';
import { walk } from './ast.ts';
import { PromQLError } from './errors.ts';
import { EXPERIMENTAL_FUNCTIONS, REFUSED_FUNCTIONS, STABLE_AGGREGATORS, STABLE_FUNCTIONS, type Dialect } from './functions.ts';
import { regexMatchesEmpty } from './regex.ts';

/**
 * Whether a matcher accepts the empty string (i.e. a series *without* that label).
 * Regex matchers are evaluated with {@link regexMatchesEmpty}; `undefined` (JavaScript cannot
 * compile the RE2 pattern) counts as "may match empty".
 */
export function matcherMatchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=': return m.value === '';
    case '!=': return m.value !== '';
    case '=~': return regexMatchesEmpty(m.value) !== false;
    case '!~': return regexMatchesEmpty(m.value) !== true;
  }
}

/**
 * Throws `empty_selector` unless `vs` has a metric name or at least one matcher that does
 * not match the empty string.
 */
export function checkSelectorNotEmpty(vs: VectorSelector): void {
  if (vs.name !== undefined) return;
  if (vs.matchers.some((m) => !matcherMatchesEmpty(m))) return;
  const unknown = vs.matchers.some((m) => (m.op === '=~' || m.op === '!~') && regexMatchesEmpty(m.value) === undefined);
  throw new PromQLError('empty_selector',
    'vector selector must contain at least one non-empty matcher (a metric name or a matcher that does not match the empty string)'
    + (unknown ? '; a regex that promfence cannot evaluate counts as possibly matching the empty string' : ''));
}

/**
 * Validates `expr` for `syntax`. Selectors are checked in document order; the first problem
 * is reported.
 *
 * @param expr a tree from ./parse.ts
 * @param syntax upstream dialect
 * @throws PromQLError `empty_selector`, `unsupported_function` (refused, experimental or
 *   unknown function; `info()`; `holt_winters` under prometheus3 names
 *   `double_exponential_smoothing`), `unsupported_syntax` (experimental aggregators)
 */
export function validateExpr(expr: Expr, syntax: Dialect): void {
  const functions = STABLE_FUNCTIONS[syntax];
  const refused = REFUSED_FUNCTIONS[syntax];
  const aggregators = STABLE_AGGREGATORS[syntax];
  walk(expr, (node) => {
    switch (node.kind) {
      case 'VectorSelector':
        checkSelectorNotEmpty(node);
        return;
      case 'Call': {
        const reason = refused.get(node.func);
        if (reason !== undefined) throw new PromQLError('unsupported_function', reason);
        if (!functions.has(node.func)) {
          const why = EXPERIMENTAL_FUNCTIONS.has(node.func)
            ? `function "${node.func}" is experimental and not enabled for the upstream`
            : `unknown function "${node.func}" for ${syntax} syntax`;
          throw new PromQLError('unsupported_function', why);
        }
        return;
      }
      case 'Aggregation':
        if (!aggregators.has(node.op)) {
          throw new PromQLError('unsupported_syntax', `${node.op}() is experimental and not enabled for the upstream`);
        }
        return;
      default:
    }
  });
}
