/**
 * The request target before routing: `server.path_prefix` removed, then a per-team prefix
 * `/tenants/<id>` read off (README, "Per-team endpoints"):
 *
 * ```
 * /prometheus/tenants/team-fruit/api/v1/query?query=up
 *  └ prefix ─┘└── team path ────┘└ routed path + query ┘
 * ```
 *
 * The tenant segment is decoded strictly (like a route's variable segment) and must be a
 * valid tenant ID other than `*`. Anything that does not fit is 404 `unknown_route` (the
 * route table's path policy: promfence never guesses).
 */
import { quoteForMessage, tenantIdProblem } from '../access/tenant-id.ts';
import { HttpError } from '../http/errors.ts';
import { forbiddenEndpoint, routeDisabled } from './read-api.ts';
import { decodeSegment, DEFAULT_ROUTE_TABLE, matchRoute, resolveRoute, type RouteTable } from './table.ts';
import type { RouteMatch } from './types.ts';

/** The per-team path prefix. */
export const TENANT_PATH = '/tenants/';

/** A request target split for routing. */
export interface Target {
  /** The target to route: path (without prefixes) and query string, e.g. `/api/v1/query?query=up`. */
  readonly url: string;
  /** The tenant of a `/tenants/<id>/…` path, decoded. */
  readonly tenant: string | undefined;
}

function unknown(): HttpError {
  return new HttpError('unknown_route', 'unknown or unsupported API endpoint (promfence serves an allow-list of the Prometheus query API; paths must be exact, e.g. /api/v1/query)');
}

/**
 * Splits a raw request target.
 *
 * @param rawUrl `req.url` as received
 * @param pathPrefix `server.path_prefix` (`''` = none; else `/seg…` without trailing `/`)
 * @throws HttpError `unknown_route` (404) when the prefix is missing or the team path is
 *   malformed; `invalid_parameter` (400) for a tenant segment that is not a tenant ID
 * @example splitTarget('/p/tenants/a/api/v1/query?x', '/p') // → { url: '/api/v1/query?x', tenant: 'a' }
 */
export function splitTarget(rawUrl: string, pathPrefix: string): Target {
  let url = rawUrl;
  if (pathPrefix !== '') {
    if (!url.startsWith(pathPrefix + '/')) throw unknown();
    url = url.slice(pathPrefix.length);
  }
  if (!url.startsWith(TENANT_PATH)) return { url, tenant: undefined };
  const rest = url.slice(TENANT_PATH.length);
  const end = rest.search(/[/?#]/);
  if (end <= 0 || rest[end] !== '/') throw unknown();
  const tenant = decodeSegment(rest.slice(0, end));
  if (tenant === null || tenant === '' || tenant === '.' || tenant === '..') throw unknown();
  const problem = tenantIdProblem(tenant, false);
  if (problem !== undefined) throw new HttpError('invalid_parameter', `invalid tenant ${quoteForMessage(tenant)} in the request path ${TENANT_PATH}<tenant>/: it ${problem}`);
  return { url: rest.slice(end), tenant };
}

/**
 * Resolves a split target to its route, with the endpoint policy in front of the route table:
 * a path of `FORBIDDEN_ENDPOINTS` (./read-api.ts) that no route serves is 403
 * `forbidden_endpoint` (policy, not "not found"), and so is a route whose configuration
 * switch (`Route.enabledBy`) is off — whatever the method. Everything else is
 * {@link resolveRoute}'s (404, 405).
 *
 * @param url the target from {@link splitTarget}
 * @param method the request method
 * @param enabled configuration switches that are on (`allow_status_flags`)
 * @param table the routes served (default: the Prometheus API routes alone)
 * @throws HttpError `forbidden_endpoint` (403), `unknown_route` (404), `method_not_allowed` (405)
 */
export function resolveTarget(url: string, method: string, enabled: ReadonlySet<string>, table: RouteTable = DEFAULT_ROUTE_TABLE): RouteMatch {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const match = matchRoute(rawPath, table);
  if (match === undefined) forbiddenEndpoint(rawPath);
  else if (match.route.enabledBy !== undefined && !enabled.has(match.route.enabledBy)) routeDisabled(match.route);
  return resolveRoute(url, method, table);
}
