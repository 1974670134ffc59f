/**
 * The per-request steps between authentication and the proxy, as small named middlewares
 * (wired in order by src/app.ts): route table → read parameters → resolve tenants →
 * enforce. Each one ends its branch with exactly one `return next()` / `return next(err)`.
 */
import type { RequestHandler, Response } from 'express';
import type winston from 'winston';
import type { Config } from '../config/types.ts';
import { EnforcementCache, tenantSelector, type EnforceOptions, type Syntax } from '../enforce/index.ts';
import { ALL_TENANTS, describeTenants, type TenantSet } from '../enforce/tenants.ts';
import { ctx, type ForwardPlan } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { toHttpError } from '../http/error-handler.ts';
import { readParams, type RequestParams } from '../http/params.ts';
import type { grantedTenants, narrowTenants, parseTenantHeader } from '../tenancy/index.ts';
import { tenantHeaderValue } from '../upstream/headers.ts';
import type { SyntaxResolver } from '../upstream/syntax.ts';
import { resolveRoute, type RouteMatch } from './table.ts';

/** The PromQL engine as the gateway uses it (the functions of src/enforce, or a cache of them). */
export interface Enforcer {
  /** Enforces a PromQL expression; returns the canonical enforced text. Throws PromQLError. */
  enforceQuery(query: string, opts: EnforceOptions): string;
  /** Enforces one `match[]` selector; returns the canonical enforced selector. Throws PromQLError. */
  enforceSeriesSelector(selector: string, opts: EnforceOptions): string;
  /** The selector added when no `match[]` is given; undefined for all tenants. */
  tenantSelector(label: string, tenants: TenantSet): string | undefined;
}

/** The tenancy functions the gateway calls (src/tenancy). */
export interface Tenancy {
  grantedTenants: typeof grantedTenants;
  narrowTenants: typeof narrowTenants;
  parseTenantHeader: typeof parseTenantHeader;
}

/**
 * The production enforcer: src/enforce's {@link EnforcementCache} of `promql.cache_size`
 * entries (0 = no cache: the cache then calls the engine directly).
 *
 * @param cacheSize `promql.cache_size` (entries; default 10000 in the configuration; 0 disables caching)
 */
export function defaultEnforcer(cacheSize: number): Enforcer {
  const cache = new EnforcementCache(cacheSize);
  return {
    enforceQuery: (q, o) => cache.enforceQuery(q, o),
    enforceSeriesSelector: (s, o) => cache.enforceSeriesSelector(s, o),
    tenantSelector,
  };
}

interface StepState {
  match?: RouteMatch;
  params?: RequestParams;
}
const states = new WeakMap<Response, StepState>();
function state(res: Response): StepState {
  let s = states.get(res);
  if (!s) {
    s = {};
    states.set(res, s);
  }
  return s;
}

/**
 * Route table step: resolves the raw request target against the allow-list
 * (src/routes/table.ts) and records the route name.
 *
 * @throws (via next) HttpError `unknown_route` 404, `method_not_allowed` 405 with `Allow`
 */
export function routeTable(): RequestHandler {
  return function promfenceRouteTable(req, res, next) {
    let match: RouteMatch;
    try {
      match = resolveRoute(req.url, req.method);
    } catch (err) {
      return next(err);
    }
    state(res).match = match;
    ctx(res).route = match.route.name;
    return next();
  };
}

/**
 * Parameter step: reads URL and form body with Go semantics (src/http/params.ts).
 *
 * @param config `limits.max_body_bytes`
 * @throws (via next) 413 `body_too_large`, 415 `unsupported_media_type`, 400
 *   `invalid_parameter` / `credentials_in_url` / `duplicate_parameter`
 */
export function readRequestParams(config: Config): RequestHandler {
  return async function promfenceReadParams(req, res, next) {
    const s = state(res);
    if (!s.match) return next(new HttpError('internal_error', 'parameters read before routing (wiring bug)'));
    try {
      s.params = await readParams(req, { singular: s.match.route.singular, maxBodyBytes: config.limits.max_body_bytes });
    } catch (err) {
      return next(err);
    }
    return next();
  };
}

/**
 * Tenant step: granted tenants from configuration, narrowed by the select parameter
 * (repeatable, URL or body) and the select header (comma list). Logs unrestricted (`*`)
 * requests at `info`.
 *
 * A tenant-policy refusal (HttpError: `no_tenants`, `forbidden_tenant`, `invalid_parameter`
 * for a malformed narrowing value) is recorded in the context, not sent: the enforce step
 * validates the request first and then throws it, so a malformed query is 400 before any
 * 403 (design.md, "Order of checks"). Other exceptions fail the request at once.
 *
 * @param config `access`, `enforce.select_param`, `enforce.select_header`
 * @param logger `info` line `unrestricted request` for `*`
 * @param tenancy src/tenancy's functions
 */
export function resolveTenants(config: Config, logger: winston.Logger, tenancy: Tenancy): RequestHandler {
  const headerName = config.enforce.select_header.toLowerCase();
  return function promfenceResolveTenants(req, res, next) {
    const c = ctx(res);
    const params = state(res).params;
    if (!c.principal || !params) return next(new HttpError('internal_error', 'tenants resolved before authentication or parameters (wiring bug)'));
    try {
      const granted = tenancy.grantedTenants(c.principal, config.access);
      const requested = params.all(config.enforce.select_param);
      const header = req.headers[headerName];
      if (typeof header === 'string') requested.push(...tenancy.parseTenantHeader(header, config.enforce.select_header));
      const tenants = tenancy.narrowTenants(granted, requested, c.principal.subject);
      c.tenants = tenants;
      if (tenants.kind === 'all') {
        logger.info('unrestricted request', { request_id: c.id, subject: c.principal.subject, route: c.route, tenants: describeTenants(tenants) });
      }
    } catch (err) {
      if (!(err instanceof HttpError)) return next(err);
      c.tenantError = err;
    }
    return next();
  };
}

/** Parameters never forwarded: tenancy controls of other proxies and credentials (threat-model.md invariant 5). */
export const STRIPPED_PARAMS: readonly string[] = ['extra_label', 'extra_label[]', 'extra_filters', 'extra_filters[]', 'access_token'];

/**
 * Enforce step: builds the {@link ForwardPlan} from promfence's own values.
 *
 * - PromQL routes: `query` is required (400 `invalid_parameter`, `invalid parameter
 *   "query": …` like Prometheus), enforced, and replaced by its canonical enforced text.
 * - `match[]` routes: every `match[]` (URL and body) enforced; none given → one
 *   `match[]=tenantSelector(label, tenants)` added (nothing for all tenants); `series`
 *   requires one (400, like Prometheus).
 * - A PromQL-bearing parameter the route does not enforce (`query` on a `match[]` route,
 *   `match[]` on a PromQL route) is dropped: Prometheus ignores it there, and nothing
 *   unenforced is forwarded. The narrowing parameter and {@link STRIPPED_PARAMS} are dropped;
 *   other parameters are forwarded in order, re-encoded.
 * - Modes: `label` rewrites with the resolved tenants; `header` validates and prints
 *   canonically with all tenants (no matcher) and sets `enforce.header` to `a|b`;
 *   `label+header` does both. Header modes refuse `*` and IDs outside Mimir's charset (403).
 * - Then the deferred tenant-policy error (see {@link resolveTenants}) is thrown.
 *
 * @param config `enforce.*`, `promql.max_query_bytes`, `limits.max_match_params`
 * @param enforcer the PromQL engine
 * @param syntax resolves the upstream dialect (`promql.syntax`, auto-detected)
 * @throws (via next) PromQL errors mapped by code (400/403/500), the deferred 403
 */
export function enforceRequest(config: Config, enforcer: Enforcer, syntax: SyntaxResolver): RequestHandler {
  const { label, mode, header, select_param: selectParam, reject_foreign_tenant: rejectForeignTenant } = config.enforce;
  const labelMode = mode !== 'header';
  const headerMode = mode !== 'label';
  const stripped = new Set([selectParam, ...STRIPPED_PARAMS]);
  return async function promfenceEnforce(req, res, next) {
    const c = ctx(res);
    const { match, params } = state(res);
    if (!match || !params) return next(new HttpError('internal_error', 'enforcement before routing or parameters (wiring bug)'));
    if (c.tenants === undefined && c.tenantError === undefined) return next(new HttpError('internal_error', 'enforcement before tenant resolution (wiring bug)'));
    const route = match.route;
    try {
      const dialect: Syntax = route.enforce === 'none' ? 'prometheus2' : await syntax();
      const tenants: TenantSet = c.tenantError !== undefined || !labelMode || c.tenants === undefined ? ALL_TENANTS : c.tenants;
      const opts: EnforceOptions = { label, tenants, syntax: dialect, maxQueryBytes: config.promql.max_query_bytes, rejectForeignTenant };
      const out: Array<readonly [string, string]> = [];

      if (route.enforce === 'query') {
        const query = params.first('query');
        if (query === undefined || query === '') throw new HttpError('invalid_parameter', 'invalid parameter "query": the query parameter is required and cannot be empty');
        const enforced = enforceParam('query', c.principal?.subject, () => enforcer.enforceQuery(query, opts));
        for (const p of params.pairs) {
          if (p.name === 'query') out.push(['query', enforced]);
          else if (p.name !== 'match[]' && !stripped.has(p.name)) out.push([p.name, p.value]);
        }
      } else if (route.enforce === 'match' || route.enforce === 'match_required') {
        const selectors = params.all('match[]');
        if (selectors.length > config.limits.max_match_params) {
          throw new HttpError('invalid_parameter', `invalid parameter "match[]": ${selectors.length} values, more than limits.max_match_params (${config.limits.max_match_params}); split the request`);
        }
        if (selectors.length === 0 && route.enforce === 'match_required') {
          throw new HttpError('invalid_parameter', 'invalid parameter "match[]": no match[] parameter provided');
        }
        const enforced = selectors.map((s) => enforceParam('match[]', c.principal?.subject, () => enforcer.enforceSeriesSelector(s, opts)));
        let i = 0;
        for (const p of params.pairs) {
          if (p.name === 'match[]') out.push(['match[]', enforced[i++] as string]);
          else if (p.name !== 'query' && !stripped.has(p.name)) out.push([p.name, p.value]);
        }
        if (selectors.length === 0) {
          const added = enforceParam('match[]', c.principal?.subject, () => enforcer.tenantSelector(label, tenants));
          if (added !== undefined) out.push(['match[]', added]);
        }
      } else {
        for (const p of params.pairs) {
          if (p.name !== 'query' && p.name !== 'match[]' && !stripped.has(p.name)) out.push([p.name, p.value]);
        }
      }

      if (c.tenantError !== undefined) throw c.tenantError;
      const granted = c.tenants as TenantSet;
      let tenantHeader: string | undefined;
      if (headerMode) {
        if (route.tenantScoped) tenantHeader = tenantHeaderValue(granted, header);
        else if (granted.kind === 'list') tenantHeader = optional(() => tenantHeaderValue(granted, header));
      }
      const plan: ForwardPlan = { method: req.method === 'POST' ? 'POST' : 'GET', path: match.path, params: out, tenantHeader };
      c.forward = plan;
    } catch (err) {
      return next(toHttpError(err));
    }
    return next();
  };
}

function enforceParam<T>(param: string, subject: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toHttpError(err, param, subject);
  }
}

function optional<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
