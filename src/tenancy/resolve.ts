/**
 * Tenant resolution: which tenants an authenticated principal may read (from configuration
 * only, threat-model invariant 2), and per-request narrowing to a subset of that grant.
 * Pure functions; the HTTP layer wires them and logs unrestricted access.
 */
import type { Config } from '../config/types.ts';
import type { Principal } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { ALL_TENANTS, tenantList, type TenantSet } from '../enforce/tenants.ts';
import { ALL_TENANTS_WILDCARD, quoteForMessage, tenantIdProblem } from './tenant-id.ts';

/**
 * The tenants granted to `principal`: the union of `access.subjects[principal.subject]` and
 * `access.groups[g]` for each of its groups. Any `"*"` in that union makes the result
 * {@link ALL_TENANTS}. Lookups use own properties only (a subject named `constructor` or
 * `__proto__` never reads `Object.prototype`).
 *
 * @param principal the authenticated caller (subject and groups)
 * @param access `config.access` (subject → tenant IDs, group → tenant IDs)
 * @returns a non-empty tenant set
 * @throws HttpError `no_tenants` (403) when nothing is granted
 * @example grantedTenants({ subject: 'tom', groups: [], method: 'bearer' }, config.access)
 *   // → { kind: 'list', tenants: ['team-fruit', 'team-veggie'] }
 */
export function grantedTenants(principal: Principal, access: Config['access']): TenantSet {
  const tenants: string[] = [];
  const add = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const t of list) if (typeof t === 'string' && t.length > 0) tenants.push(t);
  };
  if (Object.hasOwn(access.subjects, principal.subject)) add(access.subjects[principal.subject]);
  for (const group of principal.groups) {
    if (Object.hasOwn(access.groups, group)) add(access.groups[group]);
  }
  if (tenants.length === 0) {
    throw new HttpError(
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
 * @throws HttpError `invalid_parameter` (400) for a syntactically invalid tenant ID;
 *   `forbidden_tenant` (403) for a tenant outside the grant, e.g.
 *   `tenant "team-veggie" is not granted to subject "alice"`
 */
export function narrowTenants(granted: TenantSet, requested: readonly string[], subject: string): TenantSet {
  if (requested.length === 0) return granted;
  for (const id of requested) {
    const problem = tenantIdProblem(id, true);
    if (problem !== undefined) {
      throw new HttpError('invalid_parameter', `invalid tenant ${quoteForMessage(id)}: it ${problem}`);
    }
  }
  if (granted.kind === 'all') return tenantList(requested);
  const allowed = new Set(granted.tenants);
  for (const id of requested) {
    if (id === ALL_TENANTS_WILDCARD) {
      throw new HttpError(
        'forbidden_tenant',
        `tenant "*" (all tenants) is not granted to subject ${quoteForMessage(subject)}; request one or more of: ${granted.tenants.join(', ')}`,
      );
    }
    if (!allowed.has(id)) {
      throw new HttpError('forbidden_tenant', `tenant ${quoteForMessage(id)} is not granted to subject ${quoteForMessage(subject)}`);
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
 * @throws HttpError `invalid_parameter` (400) when any item is empty
 * @example parseTenantHeader('team-a, team-b') // → ['team-a', 'team-b']
 */
export function parseTenantHeader(value: string, headerName = 'X-Promfence-Tenant'): string[] {
  const items = value.split(',').map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (items.some((s) => s.length === 0)) {
    throw new HttpError(
      'invalid_parameter',
      `invalid ${headerName} header ${quoteForMessage(value)}: empty tenant in the list; send a comma-separated list like "team-a,team-b"`,
    );
  }
  return items;
}
