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
import { parseTenantHeader, unrestrictedPolicy, type AccessPolicy, type Grants, type Principal } from '../access/index.ts';
import type { Enforcer, Prepared, Syntax } from '../enforce/index.ts';
import { policySelectors } from '../enforce/index.ts';
import { HttpError } from '../http/errors.ts';
import { checkRequestTokens } from '../promql/limits.ts';
import { toHttpError } from '../http/error-handler.ts';
import type { RequestParams } from '../http/params.ts';
import { checkRange, checkSubqueries, checkTenantCount, rangeWindowMs } from './limits.ts';
import { resolveScopedPolicy, type TenantScope } from '../access/scope.ts';
import { headerResidualPolicy, tenancyHeaders as tenancyHeadersOf } from './tenancy.ts';
import { knownParam, STORE_MATCH } from './params.ts';
import type { ForwardPlan, Method, Pairs, RouteMatch } from './types.ts';
import { LABEL_POLICY_HEADER_NAME, labelPolicyHeaderValue } from '../upstream/label-policy-header.ts';
import { parseLabelPolicyHeader } from './label-policy-header.ts';

/**
 * Parameters never forwarded: tenancy controls of other proxies and credentials
 * (docs/security.md invariant 5). (Thanos's `storeMatch[]` is not here: it is enforced like
 * `match[]` and forwarded enforced, see below.)
 */
export const STRIPPED_PARAMS: readonly string[] = ['extra_label', 'extra_label[]', 'extra_filters', 'extra_filters[]', 'access_token'];

/**
 * Parameters that ask the upstream for query timings, stripped unless `enforce.allow_stats`:
 * Prometheus's `stats` and Thanos's `analyze` (per-operator timings and each store's series
 * and chunk counts, and store addresses). Their timings tell whether a matcher hit another
 * tenant's series (docs/security.md, "What label injection cannot hide").
 */
export const TIMING_PARAMS: readonly string[] = ['stats', 'analyze'];

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
  /** `limits.max_points` (range queries). Default: no check. */
  readonly maxPoints?: number;
  /** `limits.max_subquery_points`; 0 or absent = no check. */
  readonly maxSubqueryPoints?: number;
  /** `limits.max_range`, ms; 0 or absent = no limit. */
  readonly maxRangeMs?: number;
  /** `limits.max_tenants`; 0 or absent = no limit. */
  readonly maxTenants?: number;
  /** `enforce.allow_stats`: forward {@link TIMING_PARAMS}. Default false (stripped). */
  readonly allowStats?: boolean;
  /** `params.unknown`. Default `forward`. */
  readonly unknownParams?: 'forward' | 'drop';
  /** `enforce.all_tenants`. */
  readonly allTenants?: readonly string[] | undefined;
  /** `promql.max_enforced_bytes` (default 262144). */
  readonly maxEnforcedBytes?: number;
  /** `enforce.label_policy_header`: header modes send the policy as `X-Prom-Label-Policy` (default false). */
  readonly labelPolicyHeader?: boolean;
  /** `access.trust_label_policy_header`: subjects whose `X-Prom-Label-Policy` is honoured (default none). */
  readonly trustLabelPolicyHeader?: readonly string[];
}

/** The collaborators of {@link planRequest}. */
export interface PlanDeps {
  /**
   * The cached enforcer (tests may pass a fake with the same two steps; without `applyEach`,
   * a `match[]` is enforced with `apply`, which refuses a policy of several sets).
   */
  readonly enforcer: Pick<Enforcer, 'prepare' | 'apply'> & Partial<Pick<Enforcer, 'applyEach'>>;
  /** `config.access`. */
  readonly grants: Grants;
  /** Planner options. */
  readonly options: PlanOptions;
  /**
   * Policies already resolved for a principal that asked for no narrowing, no scope and no
   * label-policy header (the common request), reused while this configuration runs (issue
   * #10: per-request work done once). Providers share one frozen principal per credential
   * (static tokens, cached basic and JWT verifications). Default: no reuse.
   */
  readonly policies?: WeakMap<Principal, AccessPolicy>;
}

/** Parameters never forwarded, per planner options (built once per configuration). */
const strippedSets = new WeakMap<PlanOptions, ReadonlySet<string>>();
function strippedParams(o: PlanOptions): ReadonlySet<string> {
  let set = strippedSets.get(o);
  if (set === undefined) {
    set = new Set([o.selectParam, ...STRIPPED_PARAMS, ...(o.allowStats === true ? [] : TIMING_PARAMS)]);
    strippedSets.set(o, set);
  }
  return set;
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
  /** The raw POST body of a route that reads its body itself (`Route.body`). */
  readonly body?: Buffer;
  /** Endpoint scopes (`/tenants/<id>/…`, a listener's tenants), applied before narrowing. Default none. */
  readonly scopes?: readonly TenantScope[];
  /** Each received `X-Prom-Label-Policy` value, when sent (read only for trusted subjects). */
  readonly labelPolicyHeader?: readonly string[] | undefined;
}

/** What the planner decided. */
export interface PlannedRequest {
  readonly forward: ForwardPlan;
  /** The policy the request runs with (after narrowing). */
  readonly policy: AccessPolicy;
  /** The enforced texts sent upstream (audit log). */
  readonly enforced: { readonly query?: string; readonly match?: readonly string[] };
  /** The policy response filters apply: `policy` in label modes, unrestricted in `header` mode (the upstream scopes by header). */
  readonly filterPolicy: AccessPolicy;
  /** The parameters handed to `route.plan()` (enforced, stripped), for filters that honour them. */
  readonly params: Pairs;
  /** The tenancy headers of header modes (lower-case names). */
  readonly tenancyHeaders: Readonly<Record<string, string>>;
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
  if (route.singular.includes('step') && o.maxPoints !== undefined) checkRange(req.params, { maxPoints: o.maxPoints, maxRangeMs: o.maxRangeMs ?? 0 });
  let query: Prepared | undefined;
  let selectors: Prepared[] = [];
  if (route.promql === 'query') {
    const text = req.params.first('query');
    if (text === undefined || text === '') throw new HttpError('invalid_parameter', 'invalid parameter "query": the query parameter is required and cannot be empty');
    query = step('query', subject, () => enforcer.prepare('query', text, prepareOpts));
    if (query.subqueries.length > 0 && (o.maxSubqueryPoints ?? 0) > 0) checkSubqueries(query.subqueries, o.maxSubqueryPoints ?? 0, rangeWindowMs(req.params));
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
  // Thanos's storeMatch[]: selectors the upstream evaluates against store labels. Enforced
  // like match[] (never forwarded as sent), counted against the same limit; dropped on
  // routes without PromQL.
  const storeTexts = route.promql === 'none' ? [] : req.params.all(STORE_MATCH);
  if (storeTexts.length + (route.promql === 'query' ? 0 : req.params.count('match[]')) > o.maxMatchParams) {
    throw new HttpError('invalid_parameter', `invalid parameter "${STORE_MATCH}": ${storeTexts.length} values (with match[]), more than limits.max_match_params (${o.maxMatchParams}); split the request`);
  }
  const storeSelectors = storeTexts.map((t) => step(STORE_MATCH, subject, () => enforcer.prepare('selector', t, prepareOpts)));

  // 2. Policy (403): the grant, narrowed by the parameter and the header.
  const requested = req.params.all(o.selectParam);
  let policy: AccessPolicy;
  try {
    if (req.narrowingHeader !== undefined) requested.push(...parseTenantHeader(req.narrowingHeader, o.selectHeader));
    // Grafana team LBAC: honoured from trusted subjects only; from anyone else it has no effect.
    const trusted = req.labelPolicyHeader !== undefined && (o.trustLabelPolicyHeader ?? []).includes(subject);
    const header = trusted ? parseLabelPolicyHeader(req.labelPolicyHeader ?? [], o.label) : undefined;
    const plain = requested.length === 0 && header === undefined && (req.scopes ?? []).length === 0;
    const known = plain ? deps.policies?.get(req.principal) : undefined;
    policy = known ?? resolveScopedPolicy(req.principal, deps.grants, req.scopes ?? [], requested, o.label, header);
    if (plain && known === undefined) deps.policies?.set(req.principal, policy);
  } catch (err) {
    throw toHttpError(err);
  }
  checkTenantCount(policy.tenants, o.maxTenants ?? 0, o.selectParam, o.selectHeader);

  // 3. Enforcement: label modes rewrite with the policy; header mode only prints canonically.
  // Header mode: the upstream scopes by the header what it scopes (Route.headerScope); the rest
  // is rewritten and filtered here with what is left of the policy.
  let enginePolicy = policy;
  if (o.mode === 'header') {
    try {
      enginePolicy = route.headerScope === 'tenant' ? headerResidualPolicy(policy, o.header) : unrestrictedPolicy(o.label);
    } catch (err) {
      throw toHttpError(err);
    }
  }
  const applyOpts = { rejectForeignTenant: o.rejectForeignTenant, ...(o.maxEnforcedBytes === undefined ? {} : { maxEnforcedBytes: o.maxEnforcedBytes }) };
  const applyEach = (p: Prepared): string[] => (enforcer.applyEach ? enforcer.applyEach(p, enginePolicy, applyOpts) : [enforcer.apply(p, enginePolicy, applyOpts)]);
  const stripped = strippedParams(o);
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
    // Each user match[] × each matcher set of the policy (one per set; Prometheus unions them).
    const perMatch = selectors.map((s) => step('match[]', subject, () => applyEach(s)));
    enforcedMatch = perMatch.flat();
    let i = 0;
    for (const p of req.params.pairs) {
      if (p.name === 'match[]') for (const e of perMatch[i++] ?? []) out.push(['match[]', e]);
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

  // storeMatch[] values enforced in place; parameters no route knows dropped on request.
  // Under an OR policy each becomes one per matcher set (a store matching any set is asked).
  const enforcedStore = storeSelectors.map((s) => step(STORE_MATCH, subject, () => applyEach(s)));
  let k = 0;
  const params: Pairs = out
    .filter(([name]) => (name !== STORE_MATCH || route.promql !== 'none') && (o.unknownParams !== 'drop' || knownParam(route, name)))
    .flatMap((p) => (p[0] === STORE_MATCH ? (enforcedStore[k++] ?? []).map((e) => [STORE_MATCH, e] as const) : [p]));

  // 4. Tenancy headers of header modes (./tenancy.ts), and the label-policy header to Mimir.
  const tenancyHeaders: Record<string, string> = {
    ...tenancyHeadersOf(policy.tenants, route.tenantScoped, { mode: o.mode, header: o.header, allTenants: o.allTenants, selectParam: o.selectParam }),
    ...(o.mode === 'label' ? {} : labelPolicyHeaders(policy, o, route.tenantScoped)),
  };

  const target = route.plan({
    method: req.method, path: req.match.path, params, policy, tenancyHeaders, subject,
    ...(req.body === undefined ? {} : { body: req.body }),
    ...(req.match.segment === undefined ? {} : { segment: req.match.segment }),
  });
  const forward: ForwardPlan = { ...target, response: target.response ?? route.response };
  return {
    forward,
    policy,
    enforced: { ...(enforcedQuery === undefined ? {} : { query: enforcedQuery }), ...(enforcedMatch === undefined ? {} : { match: enforcedMatch }) },
    // Header mode filters with what the upstream leaves unscoped (above); Alertmanager routes
    // always filter with the whole policy (an Alertmanager may have no tenancy).
    filterPolicy: route.filterWithPolicy === true ? policy : enginePolicy,
    params,
    tenancyHeaders,
  };
}

/**
 * The label-policy header of header modes: `X-Prom-Label-Policy` when
 * `enforce.label_policy_header` is on and some tenant is restricted. Without it, `header` mode
 * cannot enforce a policy that restricts labels besides tenants (the upstream would see whole
 * tenants): refused, never sent unrestricted. `label+header` rewrites queries anyway.
 *
 * @throws HttpError `unsupported_policy` (400) in `header` mode without the header option for a label-restricted policy
 */
function labelPolicyHeaders(policy: AccessPolicy, o: PlanOptions, tenantScoped: boolean): Record<string, string> {
  if (!tenantScoped || policy.selectors === undefined) return {};
  const restricted = policy.selectors.some((set) => set.some((m) => m.name !== policy.label));
  if (!restricted) return {};
  if (o.labelPolicyHeader === true) {
    const value = labelPolicyHeaderValue(policy);
    return value === undefined ? {} : { [LABEL_POLICY_HEADER_NAME.toLowerCase()]: value };
  }
  if (o.mode === 'header') {
    throw new HttpError('unsupported_policy', 'this access policy restricts labels besides tenants, which enforce.mode: header cannot enforce; an operator must set enforce.label_policy_header: true (Mimir/GEM label access control) or use enforce.mode label+header');
  }
  return {};
}
