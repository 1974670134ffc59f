/**
 * {@link planRequest}: the pure heart of the gateway. Given a matched route, the request's
 * parameters and the authenticated principal, it goes
 *
 *   parameters → validate (parse PromQL: 400) → policy (grant, narrowing: 403) →
 *   enforce (apply the policy to every PromQL parameter) → tenancy headers → route.plan()
 *
 * and throws its refusal at once, as a coded error (HttpError, AccessError or PromQLError;
 * src/http/error-handler.ts maps each to one envelope). Nothing here does I/O: the upstream
 * dialect is resolved by the caller beforehand.
 */
import { resolvePolicy, parseTenantHeader, unrestrictedPolicy, type AccessPolicy, type Grants, type Principal } from '../access/index.ts';
import type { Enforcer, Prepared, Syntax } from '../enforce/index.ts';
import { policySelectors } from '../enforce/index.ts';
import { HttpError } from '../http/errors.ts';
import { checkRequestTokens } from '../promql/limits.ts';
import { toHttpError } from '../http/error-handler.ts';
import type { RequestParams } from '../http/params.ts';
import { tenantHeaderValue } from '../upstream/headers.ts';
import type { ForwardPlan, Method, RouteMatch } from './types.ts';

/**
 * Parameters never forwarded: tenancy controls of other proxies and credentials
 * (threat-model.md invariant 5), and Thanos's `storeMatch[]`, selectors that Thanos Query
 * evaluates against its stores' labels and that promfence does not enforce (dropping it only
 * widens the set of stores asked; every series selector stays enforced).
 */
export const STRIPPED_PARAMS: readonly string[] = ['extra_label', 'extra_label[]', 'extra_filters', 'extra_filters[]', 'access_token', 'storeMatch[]', 'storeMatch'];

/** The configuration the planner reads (a projection of `config.enforce`, `promql`, `limits`). */
export interface PlanOptions {
  /** `enforce.label`. */
  readonly label: string;
  /** `enforce.mode`. */
  readonly mode: 'label' | 'header' | 'label+header';
  /** `enforce.header` (tenant header of header modes). */
  readonly header: string;
  /** `enforce.select_param` (narrowing parameter). */
  readonly selectParam: string;
  /** `enforce.select_header` (narrowing header), for messages. */
  readonly selectHeader: string;
  /** `enforce.reject_foreign_tenant`. */
  readonly rejectForeignTenant: boolean;
  /** `promql.max_query_bytes`. */
  readonly maxQueryBytes: number;
  /** `limits.max_match_params`. */
  readonly maxMatchParams: number;
}

/** The collaborators of {@link planRequest}. */
export interface PlanDeps {
  /** The cached enforcer (tests may pass a fake with the same two steps). */
  readonly enforcer: Pick<Enforcer, 'prepare' | 'apply'>;
  /** `config.access`. */
  readonly grants: Grants;
  /** Planner options. */
  readonly options: PlanOptions;
}

/** One request as the planner sees it. */
export interface PlanRequest {
  readonly match: RouteMatch;
  readonly method: Method;
  readonly params: RequestParams;
  readonly principal: Principal;
  /** The narrowing header's raw value, when sent. */
  readonly narrowingHeader: string | undefined;
  /** The upstream dialect (ignored by routes without PromQL). */
  readonly syntax: Syntax;
}

/** What the planner decided. */
export interface PlannedRequest {
  readonly forward: ForwardPlan;
  /** The policy the request runs with (after narrowing). */
  readonly policy: AccessPolicy;
  /** The enforced texts sent upstream (audit log). */
  readonly enforced: { readonly query?: string; readonly match?: readonly string[] };
}

/** Runs an engine step for one parameter, turning its refusal into the parameter's HttpError. */
function step<T>(param: string, subject: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toHttpError(err, param, subject);
  }
}

/**
 * Plans one request (see the module comment for the order of checks).
 *
 * - PromQL routes: `query` is required (400 `invalid_parameter`, `invalid parameter "query": …`
 *   like Prometheus), enforced, and replaced by its canonical enforced text.
 * - `match[]` routes: every `match[]` (URL and body) enforced; more than
 *   `limits.max_match_params` is 400, so are more than 32768 tokens of them together
 *   (src/promql/limits.ts `MAX_REQUEST_TOKENS`); none given → the policy's selectors are added (nothing
 *   when unrestricted); `series` requires one (400, like Prometheus).
 * - A PromQL-bearing parameter the route does not enforce (`query` on a `match[]` route,
 *   `match[]` on a PromQL route) is dropped: Prometheus ignores it there, and nothing
 *   unenforced is forwarded. The narrowing parameter and {@link STRIPPED_PARAMS} are dropped;
 *   other parameters are forwarded in order, re-encoded.
 * - Modes: `label` rewrites with the policy; `header` validates and prints canonically with
 *   the unrestricted policy and sets `enforce.header` to `a|b`; `label+header` does both.
 *   Header modes refuse `*` and IDs outside Mimir's charset (403) on tenant-scoped routes.
 *
 * @throws HttpError (400 parameters and PromQL, 403 tenancy, 500 internal), already mapped
 */
export function planRequest(req: PlanRequest, deps: PlanDeps): PlannedRequest {
  const { options: o, enforcer } = deps;
  const { route } = req.match;
  const subject = req.principal.subject;
  const prepareOpts = { syntax: req.syntax, maxQueryBytes: o.maxQueryBytes };

  // 1. Parameters and validation (400), before any policy is looked at.
  let query: Prepared | undefined;
  let selectors: Prepared[] = [];
  if (route.promql === 'query') {
    const text = req.params.first('query');
    if (text === undefined || text === '') throw new HttpError('invalid_parameter', 'invalid parameter "query": the query parameter is required and cannot be empty');
    query = step('query', subject, () => enforcer.prepare('query', text, prepareOpts));
  } else if (route.promql === 'match' || route.promql === 'match_required') {
    const texts = req.params.all('match[]');
    if (texts.length > o.maxMatchParams) {
      throw new HttpError('invalid_parameter', `invalid parameter "match[]": ${texts.length} values, more than limits.max_match_params (${o.maxMatchParams}); split the request`);
    }
    if (texts.length === 0 && route.promql === 'match_required') {
      throw new HttpError('invalid_parameter', 'invalid parameter "match[]": no match[] parameter provided');
    }
    if (texts.length > 1) step('match[]', subject, () => checkRequestTokens(texts));
    selectors = texts.map((t) => step('match[]', subject, () => enforcer.prepare('selector', t, prepareOpts)));
  }

  // 2. Policy (403): the grant, narrowed by the parameter and the header.
  const requested = req.params.all(o.selectParam);
  let policy: AccessPolicy;
  try {
    if (req.narrowingHeader !== undefined) requested.push(...parseTenantHeader(req.narrowingHeader, o.selectHeader));
    policy = resolvePolicy(req.principal, deps.grants, requested, o.label);
  } catch (err) {
    throw toHttpError(err);
  }

  // 3. Enforcement: label modes rewrite with the policy; header mode only prints canonically.
  const enginePolicy = o.mode === 'header' ? unrestrictedPolicy(o.label) : policy;
  const applyOpts = { rejectForeignTenant: o.rejectForeignTenant };
  const stripped = new Set([o.selectParam, ...STRIPPED_PARAMS]);
  const out: Array<readonly [string, string]> = [];
  let enforcedQuery: string | undefined;
  let enforcedMatch: string[] | undefined;
  if (query !== undefined) {
    const prepared = query;
    enforcedQuery = step('query', subject, () => enforcer.apply(prepared, enginePolicy, applyOpts));
    for (const p of req.params.pairs) {
      if (p.name === 'query') out.push(['query', enforcedQuery]);
      else if (p.name !== 'match[]' && !stripped.has(p.name)) out.push([p.name, p.value]);
    }
  } else if (route.promql !== 'none') {
    enforcedMatch = selectors.map((s) => step('match[]', subject, () => enforcer.apply(s, enginePolicy, applyOpts)));
    let i = 0;
    for (const p of req.params.pairs) {
      if (p.name === 'match[]') out.push(['match[]', enforcedMatch[i++] as string]);
      else if (p.name !== 'query' && !stripped.has(p.name)) out.push([p.name, p.value]);
    }
    if (selectors.length === 0) {
      const added = step('match[]', subject, () => policySelectors(enginePolicy));
      for (const s of added) out.push(['match[]', s]);
      enforcedMatch = added;
    }
  } else {
    for (const p of req.params.pairs) {
      if (p.name !== 'query' && p.name !== 'match[]' && !stripped.has(p.name)) out.push([p.name, p.value]);
    }
  }

  // 4. Tenancy headers of header modes.
  const tenancyHeaders: Record<string, string> = {};
  if (o.mode !== 'label') {
    let value: string | undefined;
    if (route.tenantScoped) value = tenantHeaderValue(policy.tenants, o.header);
    else if (policy.tenants.kind === 'list') value = optional(() => tenantHeaderValue(policy.tenants, o.header));
    if (value !== undefined) tenancyHeaders[o.header.toLowerCase()] = value;
  }

  const forward: ForwardPlan = { ...route.plan({ method: req.method, path: req.match.path, params: out, policy, tenancyHeaders }), response: route.response };
  return {
    forward,
    policy,
    enforced: { ...(enforcedQuery === undefined ? {} : { query: enforcedQuery }), ...(enforcedMatch === undefined ? {} : { match: enforcedMatch }) },
  };
}

function optional<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
