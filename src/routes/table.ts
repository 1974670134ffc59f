/**
 * The route table: an explicit allow-list, one entry per route, as data (./types.ts `Route`).
 * Anything not listed is 404 `unknown_route` (for an authenticated caller); a listed path with
 * another method is 405 `method_not_allowed` with `Allow`.
 *
 * Path policy (docs/security.md, "Path tricks"): a route matches only its exact canonical
 * path, byte for byte. `//api/v1/query`, `/api/v1/./query`, `/api/v1/query/`,
 * `/api/v1/%71uery`, `/API/v1/query`, `..` segments and absolute-form targets are all 404:
 * promfence never guesses what an upstream router would make of them, and forwards only
 * the canonical path it matched. A variable segment (`<name>` in
 * `/api/v1/label/<name>/values`) is data: it is percent-decoded (strict UTF-8), must not be
 * empty, `.`, `..` or contain `/` (Go decodes the path before routing, so a `%2F` would not
 * reach Prometheus's handler either), and is forwarded re-encoded.
 *
 * Adding a route: one entry below (name, path, methods, singular parameters, PromQL kind,
 * and, when it is not a plain Prometheus API call, its own plan and response mode). See
 * docs/architecture.md.
 */
import { HttpError } from '../http/errors.ts';
import { encodeComponent, percentDecode } from '../http/percent.ts';
import type { ForwardTarget, Method, PlanInput, PromQLParams, ResponseMode, Route, RouteMatch } from './types.ts';
import { ALERTS_ROUTE, EXPLAIN_ROUTE, METADATA_ROUTE, RULES_ROUTE } from './read-api.ts';

const INSTANT = ['time', 'timeout', 'limit', 'lookback_delta', 'stats'] as const;
const RANGE = ['start', 'end', 'step', 'timeout', 'limit', 'lookback_delta', 'stats'] as const;
const WINDOW = ['start', 'end', 'limit'] as const;

const JSON_STREAM: ResponseMode = Object.freeze({ kind: 'stream', body: 'json' });
const EXPOSITION_STREAM: ResponseMode = Object.freeze({ kind: 'stream', body: 'exposition' });

/**
 * The plan of every Prometheus API route: the same method and canonical path on the
 * `prometheus` upstream, the enforced parameters, the tenancy headers.
 */
export function forwardToPrometheus(input: PlanInput): ForwardTarget {
  return { upstream: 'prometheus', method: input.method, path: input.path, params: input.params, headers: input.tenancyHeaders };
}

function route(name: string, path: string, methods: readonly Method[], promql: PromQLParams, singular: readonly string[], opts: { tenantScoped?: boolean; response?: ResponseMode; enabledBy?: string; headerScope?: 'tenant' } = {}): Route {
  const all = promql === 'query' ? ['query', ...singular] : [...singular];
  return Object.freeze({
    name, path, methods: Object.freeze([...methods]), promql, singular: Object.freeze(all),
    tenantScoped: opts.tenantScoped ?? true, plan: forwardToPrometheus, response: opts.response ?? JSON_STREAM,
    ...(opts.enabledBy === undefined ? {} : { enabledBy: opts.enabledBy }),
    ...(opts.headerScope === undefined ? {} : { headerScope: opts.headerScope }),
  });
}

/** Every route, in the order they are documented (README, "Endpoints"). */
export const ROUTES: readonly Route[] = Object.freeze([
  route('query', '/api/v1/query', ['GET', 'POST'], 'query', INSTANT),
  route('query_range', '/api/v1/query_range', ['GET', 'POST'], 'query', RANGE),
  // Exemplars: Thanos does not scope them by THANOS-TENANT (see Route.headerScope).
  route('query_exemplars', '/api/v1/query_exemplars', ['GET', 'POST'], 'query', ['start', 'end'], { headerScope: 'tenant' }),
  route('format_query', '/api/v1/format_query', ['GET', 'POST'], 'query', []),
  route('series', '/api/v1/series', ['GET', 'POST'], 'match_required', WINDOW),
  route('labels', '/api/v1/labels', ['GET', 'POST'], 'match', WINDOW),
  route('label_values', '/api/v1/label/{name}/values', ['GET'], 'match', WINDOW),
  // README "Endpoints": none given → the tenant selector is added (Prometheus itself answers an
  // empty 200 without match[]; for all tenants nothing is added, so that stays true).
  route('federate', '/federate', ['GET'], 'match', [], { response: EXPOSITION_STREAM }),
  route('buildinfo', '/api/v1/status/buildinfo', ['GET'], 'none', [], { tenantScoped: false }),
  // The read API of issue #8 (./read-api.ts): Thanos explain routes, parse_query, rules,
  // alerts, metadata, the opt-in status/flags and promfence's own explain endpoint.
  route('query_explain', '/api/v1/query_explain', ['GET', 'POST'], 'query', INSTANT),
  route('query_range_explain', '/api/v1/query_range_explain', ['GET', 'POST'], 'query', RANGE),
  route('parse_query', '/api/v1/parse_query', ['GET', 'POST'], 'query', []),
  RULES_ROUTE,
  ALERTS_ROUTE,
  METADATA_ROUTE,
  route('status_flags', '/api/v1/status/flags', ['GET'], 'none', [], { tenantScoped: false, enabledBy: 'allow_status_flags' }),
  EXPLAIN_ROUTE,
]);

interface PatternRoute {
  readonly route: Route;
  readonly prefix: string;
  readonly suffix: string;
}

/** An indexed set of routes (what {@link matchRoute} searches). Build it with {@link routeTable}. */
export interface RouteTable {
  readonly fixed: ReadonlyMap<string, Route>;
  readonly patterns: readonly PatternRoute[];
}

/**
 * Indexes routes for {@link matchRoute}: {@link ROUTES} plus the routes an app adds from its
 * configuration (Alertmanager, remote read). A path listed twice keeps its first route.
 */
export function routeTable(routes: readonly Route[]): RouteTable {
  const fixed = new Map<string, Route>();
  for (const r of routes) if (!r.path.includes('{') && !fixed.has(r.path)) fixed.set(r.path, r);
  const patterns = routes.filter((r) => r.path.includes('{')).map((r) => {
    const open = r.path.indexOf('{');
    const close = r.path.indexOf('}', open);
    return { route: r, prefix: r.path.slice(0, open), suffix: r.path.slice(close + 1) };
  });
  return { fixed, patterns };
}

/** The table of {@link ROUTES} alone. */
export const DEFAULT_ROUTE_TABLE: RouteTable = routeTable(ROUTES);

/** Strict decoding of one path segment (Go's PathUnescape: `+` stays `+`); null when invalid. */
export function decodeSegment(seg: string): string | null {
  for (let i = 0; i < seg.length; i++) if (seg.charCodeAt(i) > 0xff) return null;
  return percentDecode(Buffer.from(seg, 'latin1'), false);
}

/**
 * Finds the route of a raw request path (the request target up to `?`, as received).
 *
 * @param rawPath e.g. `/api/v1/query` or `/api/v1/label/U__http_2e_status/values`
 * @param table the routes to search (default {@link DEFAULT_ROUTE_TABLE})
 * @returns the route and canonical forward path, or undefined when the path is not in the table
 * @example matchRoute('/api/v1/label/%6a%6Fb/values') // → { route: label_values, path: '/api/v1/label/job/values', segment: 'job' }
 */
export function matchRoute(rawPath: string, table: RouteTable = DEFAULT_ROUTE_TABLE): RouteMatch | undefined {
  const fixed = table.fixed.get(rawPath);
  if (fixed) return { route: fixed, path: rawPath, segment: undefined };
  for (const p of table.patterns) {
    if (rawPath.length <= p.prefix.length + p.suffix.length || !rawPath.startsWith(p.prefix) || !rawPath.endsWith(p.suffix)) continue;
    const raw = rawPath.slice(p.prefix.length, rawPath.length - p.suffix.length);
    if (raw.includes('/') || raw.includes('?') || raw.includes('#')) continue;
    const segment = decodeSegment(raw);
    if (segment === null || segment === '' || segment === '.' || segment === '..' || segment.includes('/')) return undefined;
    return { route: p.route, path: p.prefix + encodeComponent(segment) + p.suffix, segment };
  }
  return undefined;
}

/**
 * Resolves a request to its route, or throws the refusal.
 *
 * @param rawUrl the raw request target (`req.url` before any rewriting), e.g. `/api/v1/query?x=1`
 * @param method the request method
 * @param table the routes to search (default {@link DEFAULT_ROUTE_TABLE})
 * @throws HttpError `unknown_route` (404) when the path is not in the table,
 *   `method_not_allowed` (405, header `Allow: GET, POST`) when the method is not allowed
 */
export function resolveRoute(rawUrl: string, method: string, table: RouteTable = DEFAULT_ROUTE_TABLE): RouteMatch {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const match = matchRoute(rawPath, table);
  if (!match) {
    throw new HttpError('unknown_route', 'unknown or unsupported API endpoint (promfence serves an allow-list of the Prometheus query API; paths must be exact, e.g. /api/v1/query)');
  }
  if (!(match.route.methods as readonly string[]).includes(method)) {
    const allow = match.route.methods.join(', ');
    throw new HttpError('method_not_allowed', `method ${method} not allowed on this endpoint (allowed: ${allow})`, { headers: { Allow: allow } });
  }
  return match;
}
