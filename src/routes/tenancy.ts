/**
 * The tenant header of header modes (`enforce.mode: header | label+header`), completing the
 * planner's step 4 (design.md, "Header mode"):
 *
 * - `X-Scope-OrgID` (Cortex/Mimir): the tenants joined by `|` (Mimir's tenant federation);
 * - `THANOS-TENANT` (Thanos): exactly one tenant. A caller left with several must narrow in
 *   `header` mode (403); in `label+header` mode the header is omitted (the label scopes);
 * - an unrestricted (`"*"`) caller gets `enforce.all_tenants` (the explicit list) or is refused
 *   (403): neither backend has a wildcard tenant.
 */
import type { TenantSet } from '../access/tenants.ts';
import { HttpError } from '../http/errors.ts';
import { tenantHeaderValue } from '../upstream/headers.ts';

/** Tenant headers that carry exactly one tenant (lower-case names). */
export const SINGLE_TENANT_HEADERS: ReadonlySet<string> = new Set(['thanos-tenant']);

/** What {@link tenancyHeaders} reads from the configuration. */
export interface TenancyOptions {
  readonly mode: 'label' | 'header' | 'label+header';
  /** `enforce.header`. */
  readonly header: string;
  /** `enforce.all_tenants`: what `"*"` means in the header; undefined = refused. */
  readonly allTenants?: readonly string[] | undefined;
  /** `enforce.select_param`, for messages. */
  readonly selectParam: string;
}

/**
 * The tenancy headers of one request (lower-case names).
 *
 * @param tenants the request's tenants after narrowing and endpoint scopes
 * @param tenantScoped false for routes that read no tenant data (buildinfo): the header is then
 *   sent when it can be, and omitted instead of refused
 * @throws HttpError `forbidden_tenant` (403) as described in the module comment, or for a tenant
 *   ID outside Mimir's charset
 */
export function tenancyHeaders(tenants: TenantSet, tenantScoped: boolean, o: TenancyOptions): Record<string, string> {
  if (o.mode === 'label') return {};
  const name = o.header.toLowerCase();
  try {
    let set = tenants;
    if (set.kind === 'all' && o.allTenants !== undefined) set = { kind: 'list', tenants: [...o.allTenants].sort() };
    if (set.kind === 'all') {
      throw new HttpError('forbidden_tenant', `unrestricted access (*) cannot be expressed in the ${o.header} header (header mode needs explicit tenant IDs); set enforce.all_tenants, or narrow the request, e.g. ?${o.selectParam}=team-a`);
    }
    if (SINGLE_TENANT_HEADERS.has(name) && set.tenants.length > 1) {
      if (o.mode === 'label+header') return {};
      throw new HttpError('forbidden_tenant', `the ${o.header} header takes one tenant and this request has ${set.tenants.length} (${set.tenants.join(', ')}); narrow it to one, e.g. ?${o.selectParam}=${set.tenants[0] as string}`);
    }
    return { [name]: tenantHeaderValue(set, o.header) };
  } catch (err) {
    if (!tenantScoped) return {};
    throw err;
  }
}
