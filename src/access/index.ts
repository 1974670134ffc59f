/**
 * The access domain (framework-free): who the caller is ({@link Principal}), what it may read
 * ({@link AccessPolicy}), tenant IDs and tenant sets, resolution and narrowing, coded errors.
 * Imports only the PromQL engine's matcher type and regex escaping (src/promql).
 */
export { AccessError, type AccessErrorCode } from './errors.ts';
export { principal, type AuthMethod, type Principal } from './principal.ts';
export {
  describePolicy, excludesTenant, literalAlternatives, matcherAccepts, policyKey, tenantMatcher, tenantPolicy, unrestrictedPolicy,
  type AccessPolicy, type LabelMatcher, type MatcherSet, type MatchOp,
} from './policy.ts';
export {
  matcherAdmits, matcherMatches, pinnedValues, policyAdmits, policyCovers, regexProblem, setAdmits,
  type LabelSet, type Labels,
} from './admits.ts';
export { resolveScopedPolicy, scopeTenants, type TenantScope } from './scope.ts';
export {
  combinePolicy, explainPolicy, MAX_POLICY_SELECTOR_BYTES, parseMatcherSet, parsePolicySelector, resolveAccessPolicy,
  type HeaderPolicyEntry, type LabelPolicies,
} from './label-policy.ts';
export { grantedTenants, narrowTenants, parseTenantHeader, resolvePolicy, type Grants } from './resolve.ts';
export { ALL_TENANTS_WILDCARD, MAX_TENANT_ID_BYTES, quoteForMessage, tenantIdProblem } from './tenant-id.ts';
export { ALL_TENANTS, describeTenants, tenantKey, tenantList, type TenantSet } from './tenants.ts';
