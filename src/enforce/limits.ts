/**
 * Cheap checks of enforcement-specific cost (issue #11), kept apart from ./enforce.ts:
 *
 * - {@link foreignTenant}: a user matcher on the tenant label that can only match tenants
 *   outside the grant — `tenant="x"`, or a regex that is a literal alternation of such IDs
 *   (`tenant=~"x|y"`) — names a foreign tenant. Refused (403 `forbidden_tenant`) instead of
 *   answered empty: an empty answer that takes as long as the upstream's index lookup of that
 *   tenant is an existence oracle (docs/security.md), and a refusal costs no upstream work.
 * - {@link checkEnforcedSize}: the enforced print grows by one copy of the policy's matchers
 *   per selector; selectors × matcher size is bounded before anything is printed.
 *
 * Framework-free.
 */
import type { Expr, LabelMatcher } from '../promql/ast.ts';
import { walk } from '../promql/ast.ts';
import { PromQLError } from '../promql/errors.ts';
import { excludesTenant, literalAlternatives, type AccessPolicy, type MatcherSet } from '../access/policy.ts';

/** Largest enforced print, estimated in UTF-16 units before printing: 256 Ki. */
export const MAX_ENFORCED_CHARS = 256 * 1024;

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

/**
 * Refuses a tree whose enforced print would exceed {@link MAX_ENFORCED_CHARS}: the text's
 * length plus, per selector, the added matchers (`name`, operator, quoted value, separator).
 * The estimate ignores escaping (a few percent); it runs before the tree is rewritten.
 *
 * @param tree the parsed text
 * @param textLength length of the text as received (UTF-16 units)
 * @param set the matchers added to every selector (undefined: unrestricted, nothing added)
 * @throws PromQLError `query_too_large` with the numbers and what to do
 */
export function checkEnforcedSize(tree: Expr, textLength: number, set: MatcherSet | undefined): void {
  if (set === undefined) return;
  const perSelector = set.reduce((n, m) => n + m.name.length + m.value.length + 8, 0);
  let selectors = 0;
  walk(tree, (n) => {
    if (n.kind === 'VectorSelector') selectors++;
  });
  const estimate = textLength + selectors * perSelector;
  if (estimate > MAX_ENFORCED_CHARS) {
    throw new PromQLError('query_too_large',
      `the enforced query would be about ${Math.ceil(estimate / 1024)} KiB (${selectors} selectors, each given ${perSelector} bytes of tenant matchers; the limit is ${MAX_ENFORCED_CHARS / 1024} KiB): use fewer selectors, or narrow the request to fewer tenants`);
  }
}
