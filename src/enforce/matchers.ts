/**
 * An access policy applied to a bare list of label matchers (a Prometheus remote-read query,
 * `prompb.Query.matchers`): the same rules as a PromQL selector (./enforce.ts), without the
 * PromQL text around it.
 */
import { excludesTenant, literalAlternatives, type AccessPolicy, type LabelMatcher } from '../access/index.ts';
import { checkSelectorNotEmpty } from '../promql/validate.ts';
import { PromQLError } from '../promql/errors.ts';

/** Options of {@link enforceMatchers}. */
export interface MatcherPolicyOptions {
  /** `enforce.reject_foreign_tenant` (default true): a tenant matcher naming a tenant outside the policy is refused. */
  readonly rejectForeignTenant?: boolean;
}

/**
 * Checks a matcher list and adds the policy's matchers to it.
 *
 * 1. At least one matcher that does not match the empty string (Prometheus's rule for a
 *    selector; a remote-read query with no matchers at all fails it too): otherwise the added
 *    tenant matcher would turn "nothing" into "the whole tenant".
 * 2. With `rejectForeignTenant`: a matcher on the tenant label that names a tenant the policy
 *    excludes — `tenant="x"`, or `tenant=~"a|x"` (a literal alternation) with any such
 *    alternative — is refused rather than answered empty, like a PromQL `tenant="x"`
 *    (and so an ID cannot be probed through the upstream's index lookups).
 * 3. The policy's one matcher set is appended (the caller's matchers are kept: they can only
 *    narrow); unrestricted adds nothing; a policy of several OR-ed sets is refused.
 *
 * @param matchers the caller's matchers, as decoded
 * @param policy what the caller may read
 * @returns the matchers to send: the caller's, then the policy's
 * @throws PromQLError `empty_selector` (1), `forbidden_tenant` (2; `tenant` set),
 *   `unsupported_policy` (3: one query per selector would need merging decoded samples)
 */
export function enforceMatchers(matchers: readonly LabelMatcher[], policy: AccessPolicy, opts: MatcherPolicyOptions = {}): LabelMatcher[] {
  checkSelectorNotEmpty({ kind: 'VectorSelector', name: undefined, matchers, offset: undefined, at: undefined });
  if (opts.rejectForeignTenant ?? true) {
    for (const m of matchers) {
      if (m.name !== policy.label) continue;
      const named = m.op === '=' ? [m.value] : m.op === '=~' ? literalAlternatives(m.value) ?? [] : [];
      const foreign = named.find((v) => v !== '' && excludesTenant(policy, v));
      if (foreign !== undefined) {
        throw new PromQLError('forbidden_tenant', `tenant ${JSON.stringify(foreign)} is not granted`, { tenant: foreign });
      }
    }
  }
  const sets = policy.selectors;
  if (sets === undefined) return [...matchers];
  if (sets.length !== 1) {
    throw new PromQLError('unsupported_policy', 'this access policy is an OR of several label selectors, which remote read cannot apply (the answers would have to be decoded and merged); ask an operator to grant tenants instead');
  }
  return [...matchers, ...(sets[0] as readonly LabelMatcher[])];
}
