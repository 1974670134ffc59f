/**
 * Endpoint scopes: a request that arrives on a per-team endpoint — the path prefix
 * `/tenants/<id>/…` or a `server.listeners[]` port bound to a tenant set — reads only the
 * tenants of that endpoint that its grant holds (README, "Per-team endpoints").
 */
import { AccessError } from './errors.ts';
import type { HeaderPolicyEntry } from './label-policy.ts';
import type { AccessPolicy } from './policy.ts';
import type { Principal } from './principal.ts';
import { narrowTenants, resolvePolicy, type Grants } from './resolve.ts';
import { quoteForMessage } from './tenant-id.ts';
import { tenantList, type TenantSet } from './tenants.ts';

/** The tenants one endpoint serves, and where that came from (for messages). */
export interface TenantScope {
  /** Explicit tenant IDs (never `"*"`), non-empty. */
  readonly tenants: readonly string[];
  /** Where the scope comes from, completing "tenant(s) … of …": `the request path /tenants/team-fruit`, `listener 0.0.0.0:9201`. */
  readonly source: string;
}

/**
 * Intersects a grant with one endpoint scope: an unrestricted grant becomes the scope's
 * tenants; a list keeps the tenants the scope names.
 *
 * @throws AccessError `forbidden_tenant` when nothing is left, e.g.
 *   `tenant "team-veggie" (the request path /tenants/team-veggie) is not granted to subject "alice"`
 */
export function scopeTenants(granted: TenantSet, scope: TenantScope, subject: string): TenantSet {
  if (granted.kind === 'all') return tenantList(scope.tenants);
  const allowed = new Set(granted.tenants);
  const kept = scope.tenants.filter((t) => allowed.has(t));
  if (kept.length === 0) {
    const message = scope.tenants.length === 1
      ? `tenant ${quoteForMessage(scope.tenants[0] as string)} (${scope.source}) is not granted to subject ${quoteForMessage(subject)}`
      : `none of the tenants ${scope.tenants.join(', ')} (${scope.source}) is granted to subject ${quoteForMessage(subject)}`;
    throw new AccessError('forbidden_tenant', message);
  }
  return tenantList(kept);
}

/**
 * The policy of a request on scoped endpoints: the caller's whole policy (grant, label
 * policies, a trusted `X-Prom-Label-Policy`), its tenants intersected with each scope in turn
 * ({@link scopeTenants}: 403 when nothing is left), then narrowed by the request's own
 * selection ({@link narrowTenants}: only a subset of what is left). The policy's matcher sets
 * keep only the tenants that remain.
 *
 * @param header the parsed `X-Prom-Label-Policy` entries of a trusted subject, if any
 * @throws AccessError `no_tenants`, `forbidden_tenant`, `invalid_parameter`
 */
export function resolveScopedPolicy(
  principal: Principal, grants: Grants, scopes: readonly TenantScope[], requested: readonly string[], label: string,
  header?: readonly HeaderPolicyEntry[],
): AccessPolicy {
  if (scopes.length === 0) return resolvePolicy(principal, grants, requested, label, header);
  let set = resolvePolicy(principal, grants, [], label, header).tenants;
  for (const scope of scopes) set = scopeTenants(set, scope, principal.subject);
  const kept = narrowTenants(set, requested, principal.subject);
  return resolvePolicy(principal, grants, kept.kind === 'list' ? kept.tenants : [], label, header);
}
