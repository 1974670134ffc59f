/**
 * Label policies sent to Mimir / Grafana Enterprise Metrics (issue #12): in a header mode with
 * `enforce.label_policy_header: true`, the caller's policy travels as `X-Prom-Label-Policy`
 * next to `X-Scope-OrgID`, in the format Mimir parses (grafana/mimir pkg/labelaccess:
 * `<tenant>:<URL-escaped selector>` entries, comma-separated; entries of one tenant are
 * OR-ed; a tenant without an entry is not restricted). The upstream enforces it; promfence
 * does not rewrite the query.
 */
import type { AccessPolicy } from '../access/policy.ts';
import { literalAlternatives } from '../access/policy.ts';
import type { VectorSelector } from '../promql/ast.ts';
import { printCanonical } from '../promql/print.ts';
import { encodeComponent } from '../http/percent.ts';
import { HttpError } from '../http/errors.ts';

/** The header's name as sent. */
export const LABEL_POLICY_HEADER_NAME = 'X-Prom-Label-Policy';

/**
 * The `X-Prom-Label-Policy` value of a policy: for every tenant of the policy, one entry per
 * matcher set naming it, holding the set's other matchers — none for a tenant that some set
 * admits without other matchers (the whole tenant is visible, which Mimir spells as no entry).
 * Entries are ordered by tenant. Selectors are printed canonically (Prometheus 3 syntax) and escaped with every character
 * but `A-Z a-z 0-9 - _ . ~` as `%XX` (Go's `url.PathUnescape` decodes them; `,` is always
 * escaped, so entries split unambiguously).
 *
 * @param policy the request's policy (a list of tenants; never unrestricted in header modes)
 * @returns the header value, or undefined when no tenant is restricted
 * @throws HttpError `internal_error` for a set without a tenant matcher (policies are built
 *   with one; fail closed)
 * @example labelPolicyHeaderValue(policyOf('{tenant="a", job="api"}'))  // → 'a:%7Bjob%3D%22api%22%7D'
 */
export function labelPolicyHeaderValue(policy: AccessPolicy): string | undefined {
  const sets = policy.selectors;
  if (sets === undefined) return undefined;
  const byTenant = new Map<string, string[] | 'all'>();
  for (const set of sets) {
    const own = set.filter((m) => m.name === policy.label);
    const tm = own[0];
    const tenants = own.length !== 1 || tm === undefined ? undefined : tm.op === '=' ? [tm.value] : tm.op === '=~' ? literalAlternatives(tm.value) : undefined;
    if (tenants === undefined) throw new HttpError('internal_error', 'a label policy set without one tenant matcher cannot be sent to Mimir');
    const rest = set.filter((m) => m.name !== policy.label);
    for (const t of tenants) {
      const cur = byTenant.get(t) ?? [];
      if (cur === 'all') continue;
      if (rest.length === 0) {
        byTenant.set(t, 'all');
        continue;
      }
      const vs: VectorSelector = { kind: 'VectorSelector', name: undefined, matchers: rest, offset: undefined, at: undefined };
      cur.push(`${t}:${encodeComponent(printCanonical(vs, 'prometheus3'))}`);
      byTenant.set(t, cur);
    }
  }
  const entries = [...byTenant.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flatMap(([, v]) => (v === 'all' ? [] : v));
  return entries.length === 0 ? undefined : entries.join(',');
}
