/**
 * The set of tenants one request may read.
 *
 * - `{ kind: 'all' }`: unrestricted (configured as `"*"`): no tenant matcher is added, but
 *   queries are still parsed, validated and printed canonically.
 * - `{ kind: 'list', tenants }`: one or more tenant IDs, de-duplicated and sorted
 *   (use {@link tenantList} to build one). Never empty: an empty grant is refused earlier
 *   with code `no_tenants`.
 */
export type TenantSet =
  | { readonly kind: 'all' }
  | { readonly kind: 'list'; readonly tenants: readonly string[] };

/** The unrestricted tenant set. */
export const ALL_TENANTS: TenantSet = Object.freeze({ kind: 'all' as const });

/**
 * Builds a list tenant set: values de-duplicated and sorted by code unit (stable key for
 * caches and for the `=~` alternation). A `"*"` among them makes the whole set unrestricted.
 *
 * @param tenants tenant IDs (non-empty strings)
 * @throws RangeError when `tenants` is empty or holds an empty string
 */
export function tenantList(tenants: Iterable<string>): TenantSet {
  const values = [...new Set(tenants)];
  if (values.length === 0) throw new RangeError('a tenant set needs at least one tenant');
  if (values.includes('*')) return ALL_TENANTS;
  if (values.some((t) => t.length === 0)) throw new RangeError('a tenant ID cannot be empty');
  values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.freeze({ kind: 'list' as const, tenants: Object.freeze(values) });
}

/**
 * A stable string key for a tenant set: `*`, or the IDs as a JSON array (never `*`, and no
 * two different lists share a key, whatever characters the IDs hold).
 */
export function tenantKey(set: TenantSet): string {
  return set.kind === 'all' ? '*' : JSON.stringify(set.tenants);
}

/** Human form for logs and messages: `*` or `a,b`. */
export function describeTenants(set: TenantSet): string {
  return set.kind === 'all' ? '*' : set.tenants.join(',');
}
