/**
 * The enforcer (framework-free): an access policy (src/access) applied to PromQL text
 * (src/promql). See ./enforce.ts for the two steps and ./engine.ts for the cached form the
 * gateway uses.
 */
export {
  applyPolicy, applyPolicyEach, DEFAULT_MAX_ENFORCED_BYTES, enforceQuery, enforceSeriesSelector, policySelectors, prepareQuery, prepareSeriesSelector,
  subquerySpans, type EnforceOptions, type PolicyOptions, type PrepareOptions, type Prepared, type SubquerySpan, type Syntax, type TextKind,
} from './enforce.ts';
export { DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRIES, Enforcer, type EnforcerOptions, type EnforcerStats } from './engine.ts';
export { PromQLError, type PromQLErrorCode, type TextPosition } from '../promql/errors.ts';
