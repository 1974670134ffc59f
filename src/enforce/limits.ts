/**
 * Cheap checks of enforcement-specific cost (issue #11), kept apart from ./enforce.ts:
 *
 * - {@link foreignTenant}: a user matcher on the tenant label that can only match tenants
 *   outside the grant — `tenant="x"`, or a regex that is a literal alternation of such IDs
 *   (`tenant=~"x|y"`) — names a foreign tenant. Refused (403 `forbidden_tenant`) instead of
 *   answered empty: an empty answer that takes as long as the upstream's index lookup of that
 *   tenant is an existence oracle (docs/security.md), and a refusal costs no upstream work.
 * (The size of the enforced print — selectors × policy matchers — is bounded before it is
 * expanded by `printBounded` in ./enforce.ts, `promql.max_enforced_bytes`.)
 *
 * Framework-free.
 */
import type { LabelMatcher } from '../promql/ast.ts';
import { excludesTenant, literalAlternatives, type AccessPolicy } from '../access/policy.ts';

/**
 * The foreign tenant a user matcher names, if it can only match tenants the policy excludes:
 * `label="x"` with `x` excluded, or `label=~"x|y"` whose pattern is a literal alternation
 * (src/access/policy.ts `literalAlternatives`: RE2-escaped literals joined by `|`, what
 * promfence itself builds) of excluded IDs only. Any other regex (`team-.*`, `(?i)x`) and the
 * negative operators name nothing: the added tenant matcher scopes their answer.
 *
 * @returns the first foreign tenant named, or undefined
 * @example foreignTenant(policyOf(['team-fruit']), { name: 'tenant', op: '=~', value: 'team-veggie|team-platform' }) // → 'team-veggie'
 */
export function foreignTenant(policy: AccessPolicy, m: LabelMatcher): string | undefined {
  if (m.name !== policy.label) return undefined;
  if (m.op === '=') return excludesTenant(policy, m.value) ? m.value : undefined;
  if (m.op !== '=~') return undefined;
  const alternatives = literalAlternatives(m.value);
  if (alternatives === undefined || alternatives.length === 0) return undefined;
  return alternatives.every((t) => excludesTenant(policy, t)) ? alternatives[0] : undefined;
}
