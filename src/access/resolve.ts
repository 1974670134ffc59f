/**
 * Tenant resolution: which tenants an authenticated principal may read (from configuration
 * and its verified credential only, docs/security.md invariant 2), per-request narrowing to a
 * subset of that grant, and the resulting {@link AccessPolicy}. Pure functions.
 */
import { AccessError } from './errors.ts';
import { resolveAccessPolicy, type HeaderPolicyEntry, type LabelPolicies } from './label-policy.ts';
import { type AccessPolicy } from './policy.ts';
import type { Principal } from './principal.ts';
import { ALL_TENANTS_WILDCARD, quoteForMessage, tenantIdProblem } from './tenant-id.ts';
import { ALL_TENANTS, tenantList, type TenantSet } from './tenants.ts';

/**
 * The configured grants (`config.access`): subject → tenant IDs, group → tenant IDs; `"*"`
 * grants every tenant. Records should have a null prototype; lookups use own properties only.
 */
export interface Grants {
  readonly subjects: Readonly<Record<string, readonly string[]>>;
  readonly groups: Readonly<Record<string, readonly string[]>>;
  /** `access.label_policies`: matcher sets OR-ed with the tenant grant (./label-policy.ts). Optional. */
  readonly label_policies?: LabelPolicies | undefined;
}

/**
 * The tenants granted to `principal`: the union of the tenants its credential carries
 * (`principal.tenants`, e.g. a JWT claim), `grants.subjects[subject]` and `grants.groups[g]`
 * for each of its groups. Any `"*"` in that union makes the result {@link ALL_TENANTS}.
 * Lookups use own properties only (a subject named `constructor` or `__proto__` never reads
 * `Object.prototype`).
 *
 * @param principal the authenticated caller
 * @param grants `config.access`
 * @returns a non-empty tenant set
 * @throws AccessError `no_tenants` when nothing is granted
 * @example grantedTenants(principal('tom', 'bearer_tokens'), config.access)
 *   // → { kind: 'list', tenants: ['team-fruit', 'team-veggie'] }
 */
export function grantedTenants(principal: Principal, grants: Grants): TenantSet {
  const tenants: string[] = [];
  const add = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const t of list) if (typeof t === 'string' && t.length > 0) tenants.push(t);
  };
  add(principal.tenants);
  if (Object.hasOwn(grants.subjects, principal.subject)) add(grants.subjects[principal.subject]);
  for (const group of principal.groups) {
    if (Object.hasOwn(grants.groups, group)) add(grants.groups[group]);
  }
  if (tenants.length === 0) {
    throw new AccessError(
      'no_tenants',
      `subject ${quoteForMessage(principal.subject)} is authenticated but no tenants are granted to it; ` +
        'add it to access.subjects or one of its groups to access.groups',
    );
  }
  if (tenants.includes(ALL_TENANTS_WILDCARD)) return ALL_TENANTS;
  return tenantList(tenants);
}

/**
 * Narrows a granted set to the tenants a request asked for (`?tenant=a&tenant=b` or the
 * narrowing header). Narrowing can only select a subset: it never widens a grant.
 *
 * - `requested` empty → `granted`, unchanged.
 * - `granted` is ALL → any valid tenant may be requested; the result is exactly the requested
 *   list (`"*"` among them → ALL).
 * - `granted` is a list → every requested tenant must be in it; `"*"` is refused.
 *
 * @param granted the set from {@link grantedTenants}
 * @param requested tenant IDs as sent by the client (not trimmed here; see {@link parseTenantHeader})
 * @param subject the caller's subject, for the error message
 * @throws AccessError `invalid_parameter` for a syntactically invalid tenant ID;
 *   `forbidden_tenant` for a tenant outside the grant, e.g.
 *   `tenant "team-veggie" is not granted to subject "alice"`
 */
export function narrowTenants(granted: TenantSet, requested: readonly string[], subject: string): TenantSet {
  if (requested.length === 0) return granted;
  for (const id of requested) {
    const problem = tenantIdProblem(id, true);
    if (problem !== undefined) {
      throw new AccessError('invalid_parameter', `invalid tenant ${quoteForMessage(id)}: it ${problem}`);
    }
  }
  if (granted.kind === 'all') return tenantList(requested);
  const allowed = new Set(granted.tenants);
  for (const id of requested) {
    if (id === ALL_TENANTS_WILDCARD) {
      throw new AccessError(
        'forbidden_tenant',
        `tenant "*" (all tenants) is not granted to subject ${quoteForMessage(subject)}; request one or more of: ${granted.tenants.join(', ')}`,
      );
    }
    if (!allowed.has(id)) {
      throw new AccessError('forbidden_tenant', `tenant ${quoteForMessage(id)} is not granted to subject ${quoteForMessage(subject)}`);
    }
  }
  return tenantList(requested);
}

/**
 * Parses the narrowing header's value: a comma-separated list, items trimmed of spaces and
 * tabs. Empty items (`"a,,b"`, `""`, `" , "`) are refused so a typo never silently widens or
 * empties the selection. Tenant syntax is checked later by {@link narrowTenants}.
 *
 * @param value the raw header value (Node joins repeated headers with ", ", which parses the same)
 * @param headerName the header's name, for the error message (default `X-Promfence-Tenant`)
 * @returns the tenant IDs in order (duplicates kept; {@link narrowTenants} de-duplicates)
 * @throws AccessError `invalid_parameter` when any item is empty
 * @example parseTenantHeader('team-a, team-b') // → ['team-a', 'team-b']
 */
export function parseTenantHeader(value: string, headerName = 'X-Promfence-Tenant'): string[] {
  const items = value.split(',').map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (items.some((s) => s.length === 0)) {
    throw new AccessError(
      'invalid_parameter',
      `invalid ${headerName} header ${quoteForMessage(value)}: empty tenant in the list; send a comma-separated list like "team-a,team-b"`,
    );
  }
  return items;
}

/**
 * The access policy of one request: the principal's grant ({@link grantedTenants}) OR-ed with
 * its label policies (`grants.label_policies`), or the trusted `X-Prom-Label-Policy` entries
 * that replace them, narrowed to `requested` ({@link narrowTenants}); see
 * ./label-policy.ts `resolveAccessPolicy`. Without label policies and header it is the tenant
 * policy of the narrowed grant on `label`.
 *
 * @param principal the authenticated caller
 * @param grants `config.access`
 * @param requested narrowing tenant IDs (parameter values, then header items); empty = none
 * @param label the tenant label (`enforce.label`)
 * @param header parsed `X-Prom-Label-Policy` entries, only for a trusted subject that sent one
 * @throws AccessError `no_tenants`, `forbidden_tenant`, `invalid_parameter`
 */
export function resolvePolicy(principal: Principal, grants: Grants, requested: readonly string[], label: string, header?: readonly HeaderPolicyEntry[]): AccessPolicy {
  return resolveAccessPolicy(principal, grants, requested, label, header);
}
