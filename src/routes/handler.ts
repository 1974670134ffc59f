/**
 * The gateway middleware: route → parameters → (dialect) → {@link planRequest} → upstream →
 * relay. Everything before the relay is decided by pure functions (the route table, the
 * parameter reader, the planner); this file only sequences them and does the I/O.
 */
import type { RequestHandler } from 'express';
import type { AccessPolicy } from '../access/policy.ts';
import type { Principal } from '../access/principal.ts';
import type { Grants } from '../access/resolve.ts';
import type { Enforcer } from '../enforce/index.ts';
import { HttpError } from '../http/errors.ts';
import { sendError, toHttpError } from '../http/error-handler.ts';
import { readParams } from '../http/params.ts';
import { readRawRequest } from '../http/raw-body.ts';
import { state, type RequestState } from '../http/state.ts';
import type { Logger } from '../observability/logger.ts';
import type { AbortLike, UpstreamClient } from '../upstream/client.ts';
import { onFinished } from '../http/finished.ts';
import { runPrecheck } from '../upstream/precheck.ts';
import { relay } from '../upstream/relay.ts';
import type { SyntaxResolver } from '../upstream/syntax.ts';
import { LABEL_POLICY_HEADER } from './label-policy-header.ts';
import { planRequest, type PlanOptions } from './plan.ts';
import type { RouteTable } from './table.ts';
import type { TenantScope } from '../access/scope.ts';
import { policySelectors } from '../enforce/index.ts';
import { listenerScope } from '../http/listener-scope.ts';
import type { MetricNames } from './metric-names.ts';
import { resolveTarget, splitTarget, TENANT_PATH } from './target.ts';
import type { FilterContext, ForwardPlan, Method, UpstreamName } from './types.ts';

/** What the gateway middleware needs (built once per app by src/app.ts). */
export interface GatewayDeps {
  readonly enforcer: Pick<Enforcer, 'prepare' | 'apply'> & Partial<Pick<Enforcer, 'applyEach'>>;
  readonly grants: Grants;
  readonly plan: PlanOptions;
  /** `limits.max_body_bytes`. */
  readonly maxBodyBytes: number;
  /** `limits.max_filtered_response_bytes`. */
  readonly maxFilteredBytes: number;
  /** The narrowing header's name, lower-case. */
  readonly selectHeader: string;
  readonly upstreams: Readonly<Partial<Record<UpstreamName, UpstreamClient>>>;
  readonly syntax: SyntaxResolver;
  readonly logger: Logger;
  /** The routes served (default: src/routes/table.ts `ROUTES`); the app adds Alertmanager and remote read. */
  readonly routes?: RouteTable;
  /** Runs after planning, before the upstream request (per-tenant rate limits); rejects with an HttpError to refuse. */
  readonly beforeForward?: (s: RequestState) => Promise<void>;
  /** `server.path_prefix` (`''` = none). Default none. */
  readonly pathPrefix?: string;
  /** Configuration switches that are on (`allow_status_flags`), for routes with `enabledBy`. */
  readonly enabled?: ReadonlySet<string>;
  /** The metric-names lookup of the metadata filter (./metric-names.ts). */
  readonly metricNames?: MetricNames;
}

/** The abort signal of one forwarded request: set when the client goes away before its answer ended (one listener at most). */
class ClientGone implements AbortLike {
  aborted = false;
  private listener: (() => void) | undefined;
  addEventListener(_type: 'abort', listener: () => void): void {
    this.listener = listener;
  }
  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener === listener) this.listener = undefined;
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.listener;
    this.listener = undefined;
    l?.();
  }
}

/** Encodings the relay decodes when it filters an answer (src/upstream/relay.ts). */
const FILTER_ACCEPT_ENCODING = 'gzip, deflate, br';

/**
 * Sends the plan upstream and relays the answer; every failure ends in one envelope.
 *
 * The upstream request is aborted when the client goes away; an upstream network failure is
 * 502/504 (logged at `warn`); a refused answer is one envelope (logged at `warn`).
 */
async function forward(plan: ForwardPlan, context: FilterContext, s: RequestState, req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], deps: GatewayDeps): Promise<void> {
  const client = deps.upstreams[plan.upstream];
  if (client === undefined) throw new HttpError('internal_error', `no upstream named ${plan.upstream} is configured (route table bug)`);
  // The client may have left while promfence was still planning: nobody to answer.
  if (req.socket.destroyed) throw new HttpError('bad_request', 'the client closed the connection before the request was sent upstream');
  const abort = new ClientGone();
  onFinished(res, () => {
    if (!res.writableFinished) abort.abort();
  });
  const started = performance.now();
  s.upstream = { name: plan.upstream };
  const setCode = (code: string) => {
    s.errorCode = code;
  };
  let upstreamRes;
  try {
    const sendOpts = { requestId: s.id, clientHeaders: req.headers, signal: abort };
    if (plan.precheck !== undefined) await runPrecheck(client, plan.precheck, sendOpts, deps.maxFilteredBytes);
    upstreamRes = await client.send(plan, {
      ...sendOpts,
      ...(plan.response.kind === 'filter' ? { acceptEncoding: FILTER_ACCEPT_ENCODING } : {}),
    });
  } catch (err) {
    const e = toHttpError(err);
    // A precheck that refused (403) is the caller's problem, not the upstream's.
    if (e.code === 'forbidden_tenant') throw e;
    deps.logger.warn('upstream error', { request_id: s.id, route: s.route, upstream: plan.upstream, method: plan.method, code: e.code, error: (e.cause instanceof Error ? e.cause.message : e.message) });
    throw e;
  }
  s.upstream.status = upstreamRes.statusCode;
  s.upstream.durationMs = performance.now() - started;
  relay(upstreamRes, res, plan.response, {
    context,
    maxFilteredBytes: deps.maxFilteredBytes,
    refuse: (err) => {
      if (res.writableEnded) return;
      deps.logger.warn('upstream answer refused', { request_id: s.id, route: s.route, upstream: plan.upstream, status: upstreamRes.statusCode, content_type: upstreamRes.headers['content-type'], code: err.code });
      sendError(res, err, setCode);
    },
  });
}

/**
 * The metric names a filter needs (routes whose filter declares `needs: 'metric_names'`),
 * looked up with the policy's selectors and the request's tenancy headers; nothing for other
 * routes or an unrestricted policy.
 */
async function metricNamesFor(plan: ForwardPlan, policy: AccessPolicy, s: RequestState, deps: GatewayDeps): Promise<{ metricNames?: ReadonlySet<string> }> {
  if (plan.response.kind !== 'filter' || plan.response.needs !== 'metric_names' || policy.selectors === undefined) return {};
  if (deps.metricNames === undefined) throw new HttpError('internal_error', 'no metric-names lookup is configured (wiring bug)');
  const params = policySelectors(policy).map((sel) => ['match[]', sel] as const);
  return { metricNames: await deps.metricNames({ params, headers: plan.headers, requestId: s.id }) };
}

/**
 * Creates the gateway middleware (after authentication; needs `state(res).principal`).
 *
 * @param deps see {@link GatewayDeps}
 * @returns a named middleware `promfenceGateway`; every refusal goes to `next(err)` as an HttpError
 */
export function createGatewayHandler(deps: GatewayDeps): RequestHandler {
  const planDeps = { enforcer: deps.enforcer, grants: deps.grants, options: deps.plan, policies: new WeakMap<Principal, AccessPolicy>() };
  return async function promfenceGateway(req, res, next) {
    const s = state(res);
    try {
      const principal = s.principal;
      if (principal === undefined) throw new HttpError('internal_error', 'gateway reached without authentication (wiring bug)');
      const target = splitTarget(req.url, deps.pathPrefix ?? '');
      const match = resolveTarget(target.url, req.method, deps.enabled ?? new Set(), deps.routes);
      s.route = match.route.name;
      if (deps.upstreams[match.route.upstream ?? 'prometheus'] === undefined) {
        throw new HttpError('unknown_route', `this endpoint needs the ${match.route.upstream ?? 'prometheus'} upstream, which is not configured`);
      }
      const scopes: TenantScope[] = [];
      const listener = listenerScope(req);
      if (listener !== undefined) scopes.push(listener);
      if (target.tenant !== undefined) scopes.push({ tenants: [target.tenant], source: `the request path ${TENANT_PATH}${target.tenant}/` });
      const rules = { singular: match.route.singular, maxBodyBytes: deps.maxBodyBytes };
      let body: Buffer | undefined;
      let params;
      if (match.route.body === undefined) params = await readParams(req, rules);
      else ({ params, body } = await readRawRequest(req, rules, match.route.body));
      if (match.route.promql === 'query') s.original = { query: params.first('query') };
      else if (match.route.promql !== 'none') s.original = { match: params.all('match[]') };
      const syntax = match.route.promql === 'none' ? 'prometheus2' : await deps.syntax();
      const header = req.headers[deps.selectHeader];
      const planned = planRequest({
        match, method: req.method as Method, params, principal, syntax,
        narrowingHeader: typeof header === 'string' ? header : undefined,
        ...(body === undefined ? {} : { body }),
        scopes,
        labelPolicyHeader: req.headersDistinct[LABEL_POLICY_HEADER],
      }, planDeps);
      s.policy = planned.policy;
      s.enforced = planned.enforced;
      if (planned.policy.tenants.kind === 'all') {
        deps.logger.info('unrestricted request', { request_id: s.id, subject: principal.subject, route: s.route, tenants: '*' });
      }
      const local = match.route.local;
      if (local !== undefined) {
        const data = local({ subject: principal.subject, policy: planned.policy, enforced: planned.enforced, tenancyHeaders: planned.tenancyHeaders, original: params.first('query') });
        res.status(200).set('Cache-Control', 'no-store').json({ status: 'success', data });
        return;
      }
      if (deps.beforeForward !== undefined) await deps.beforeForward(s);
      const context: FilterContext = { policy: planned.filterPolicy, params: planned.params, ...(await metricNamesFor(planned.forward, planned.filterPolicy, s, deps)) };
      await forward(planned.forward, context, s, req, res, deps);
    } catch (err) {
      return next(toHttpError(err));
    }
  };
}
