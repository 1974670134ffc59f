/**
 * The tenant header of header modes (`enforce.mode: header | label+header`), completing the
 * planner's step 4 (README, "Cortex / Mimir (header mode)"):
 *
 * - `X-Scope-OrgID` (Cortex/Mimir): the tenants joined by `|` (Mimir's tenant federation);
 * - `THANOS-TENANT` (Thanos): exactly one tenant. A caller left with several must narrow in
 *   `header` mode (403); in `label+header` mode the header is omitted (the label scopes);
 * - an unrestricted (`"*"`) caller gets `enforce.all_tenants` (the explicit list) or is refused
 *   (403): neither backend has a wildcard tenant.
 *
 * And {@link headerResidualPolicy}: what `header` mode still enforces itself on the routes the
 * upstream does not fully scope by the header (rules, alerts, metadata, exemplars).
 */
import { matcherAdmits } from '../access/admits.ts';
import { policyKey, unrestrictedPolicy, type AccessPolicy, type MatcherSet } from '../access/policy.ts';
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

/** Tenant headers under which the upstream scopes every answer by tenant (Cortex/Mimir), lower-case. */
export const TENANT_SCOPING_HEADERS: ReadonlySet<string> = new Set(['x-scope-orgid']);

/**
 * What promfence must still enforce itself in `enforce.mode: header` on a route whose answers
 * the upstream scopes by tenant at most (`Route.headerScope: 'tenant'`: rules, alerts,
 * metadata, exemplars):
 *
 * - under `X-Scope-OrgID` (Cortex/Mimir scope each of these per tenant, but GEM applies label
 *   policies to neither its ruler nor metadata): the policy's label restrictions without the
 *   tenant matcher, for the request's one tenant; unrestricted when that tenant is granted
 *   whole. Series, rules and alerts in a Mimir tenant carry no tenant label, so the tenant
 *   matcher itself would hide everything;
 * - under any other header (`THANOS-TENANT`: Thanos Query scopes only the query, series and
 *   label APIs, thanos-io/thanos#8140): the whole policy, as in `label+header` mode.
 *
 * @param policy the request's policy (after narrowing)
 * @param header `enforce.header`
 * @returns the policy to rewrite the route's PromQL and filter its answer with
 * @throws HttpError `unsupported_policy` (400) under `X-Scope-OrgID` when label restrictions
 *   apply and the request has several tenants (the answer cannot say which tenant a rule is of)
 */
export function headerResidualPolicy(policy: AccessPolicy, header: string): AccessPolicy {
  if (!TENANT_SCOPING_HEADERS.has(header.toLowerCase())) return policy;
  const selectors = policy.selectors;
  if (selectors === undefined || policy.tenants.kind === 'all') return unrestrictedPolicy(policy.label);
  const restricts = selectors.some((set) => set.some((m) => m.name !== policy.label));
  if (!restricts) return unrestrictedPolicy(policy.label);
  if (policy.tenants.tenants.length !== 1) {
    throw new HttpError('unsupported_policy', `this access policy restricts labels besides tenants, and the rules, alerts, metadata and exemplars of several tenants (${policy.tenants.tenants.join(', ')}) cannot be told apart in one answer; narrow the request to one tenant, e.g. ?tenant=${policy.tenants.tenants[0] as string}`);
  }
  const tenant = policy.tenants.tenants[0] as string;
  const residual: MatcherSet[] = [];
  for (const set of selectors) {
    if (!set.every((m) => m.name !== policy.label || matcherAdmits(m, tenant))) continue;
    const rest = set.filter((m) => m.name !== policy.label);
    if (rest.length === 0) return unrestrictedPolicy(policy.label);
    residual.push(Object.freeze(rest));
  }
  if (residual.length === 0) {
    throw new HttpError('forbidden_tenant', `tenant ${tenant} is not granted to this caller`);
  }
  const frozen = Object.freeze(residual);
  return Object.freeze({ label: policy.label, tenants: policy.tenants, selectors: frozen, key: policyKey({ label: policy.label, selectors: frozen }) });
}
