/**
 * The route table: an explicit allow-list, one line per route. Anything not listed is
 * 404 `unknown_route` (for an authenticated caller); a listed path with another method is
 * 405 `method_not_allowed` with `Allow`.
 *
 * Path policy (threat-model.md, "Path tricks"): a route matches only its exact canonical
 * path, byte for byte. `//api/v1/query`, `/api/v1/./query`, `/api/v1/query/`,
 * `/api/v1/%71uery`, `/API/v1/query`, `..` segments and absolute-form targets are all 404:
 * promfence never guesses what an upstream router would make of them, and forwards only
 * the canonical path it matched. The one variable segment, `<name>` in
 * `/api/v1/label/<name>/values`, is data: it is percent-decoded (strict UTF-8), must not be
 * empty, `.`, `..` or contain `/` (Go decodes the path before routing, so a `%2F` would not
 * reach Prometheus's handler either), and is forwarded re-encoded.
 *
 * Routes scoped by later issues (rules, alerts, metadata, targets, status/* other than
 * buildinfo, admin, remote read, query_explain, the UI) are deliberately absent.
 */
import { HttpError } from '../http/errors.ts';
import { encodeComponent } from '../http/params.ts';

/** How a route's parameters are enforced. */
export type EnforceKind =
  /** `query` is PromQL: required, enforced with enforceQuery, replaced by the enforced text. */
  | 'query'
  /** each `match[]` enforced with enforceSeriesSelector; none given → the tenant selector is added. */
  | 'match'
  /** like `match`, but at least one `match[]` is required (400 `no match[] parameter provided`, as Prometheus answers for series). */
  | 'match_required'
  /** no PromQL parameter (status/buildinfo). */
  | 'none';

/** One allow-listed route. */
export interface RouteSpec {
  /** Stable name, used in logs and context, e.g. `query_range`. */
  readonly name: string;
  /** Allowed methods (uppercase). */
  readonly methods: readonly ('GET' | 'POST')[];
  /** How parameters are enforced. */
  readonly enforce: EnforceKind;
  /**
   * Parameters the route knows that may be given once (URL and body together). `match[]`,
   * the narrowing parameter and unknown parameters are not singular.
   */
  readonly singular: readonly string[];
  /** False for routes that read no tenant data (buildinfo): no tenant header is required. */
  readonly tenantScoped: boolean;
}

/** A matched route and the canonical path to forward (percent-encoded, no upstream prefix). */
export interface RouteMatch {
  readonly route: RouteSpec;
  readonly path: string;
}

const INSTANT = ['time', 'timeout', 'limit', 'lookback_delta', 'stats'] as const;
const RANGE = ['start', 'end', 'step', 'timeout', 'limit', 'lookback_delta', 'stats'] as const;
const WINDOW = ['start', 'end', 'limit'] as const;

function route(name: string, methods: RouteSpec['methods'], enforce: EnforceKind, singular: readonly string[], tenantScoped = true): RouteSpec {
  const all = enforce === 'query' ? ['query', ...singular] : [...singular];
  return Object.freeze({ name, methods: Object.freeze([...methods]), enforce, singular: Object.freeze(all), tenantScoped });
}

/** Routes with a fixed path, keyed by their exact canonical path (the allow-list). */
export const FIXED_ROUTES: ReadonlyMap<string, RouteSpec> = new Map([
  ['/api/v1/query', route('query', ['GET', 'POST'], 'query', INSTANT)],
  ['/api/v1/query_range', route('query_range', ['GET', 'POST'], 'query', RANGE)],
  ['/api/v1/query_exemplars', route('query_exemplars', ['GET', 'POST'], 'query', ['start', 'end'])],
  ['/api/v1/format_query', route('format_query', ['GET', 'POST'], 'query', [])],
  ['/api/v1/series', route('series', ['GET', 'POST'], 'match_required', WINDOW)],
  ['/api/v1/labels', route('labels', ['GET', 'POST'], 'match', WINDOW)],
  // design.md: none given → the tenant selector is added (Prometheus itself answers an
  // empty 200 without match[]; for all tenants nothing is added, so that stays true).
  ['/federate', route('federate', ['GET'], 'match', [])],
  ['/api/v1/status/buildinfo', route('buildinfo', ['GET'], 'none', [], false)],
]);

/** `GET /api/v1/label/<name>/values` (GET only, as in Prometheus). */
export const LABEL_VALUES_ROUTE: RouteSpec = route('label_values', ['GET'], 'match', WINDOW);

const LABEL_VALUES = /^\/api\/v1\/label\/([^/?#]+)\/values$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict percent-decoding of one path segment (Go's PathUnescape: `+` stays `+`); null when invalid. */
function decodeSegment(seg: string): string | null {
  if (/%(?![0-9A-Fa-f]{2})/.test(seg)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c === 0x25) {
      bytes.push(Number.parseInt(seg.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c > 0xff) {
      return null;
    } else {
      bytes.push(c);
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/**
 * Finds the route of a raw request path (the request target up to `?`, as received).
 *
 * @param rawPath e.g. `/api/v1/query` or `/api/v1/label/U__http_2e_status/values`
 * @returns the route and canonical forward path, or undefined when the path is not in the table
 * @example matchRoute('/api/v1/label/job/values') // → { route: LABEL_VALUES_ROUTE, path: '/api/v1/label/job/values' }
 */
export function matchRoute(rawPath: string): RouteMatch | undefined {
  const fixed = FIXED_ROUTES.get(rawPath);
  if (fixed) return { route: fixed, path: rawPath };
  const m = LABEL_VALUES.exec(rawPath);
  if (!m) return undefined;
  const name = decodeSegment(m[1] as string);
  if (name === null || name === '' || name === '.' || name === '..' || name.includes('/')) return undefined;
  return { route: LABEL_VALUES_ROUTE, path: `/api/v1/label/${encodeComponent(name)}/values` };
}

/**
 * Resolves a request to its route, or throws the refusal.
 *
 * @param rawUrl the raw request target (`req.url` before any rewriting), e.g. `/api/v1/query?x=1`
 * @param method the request method
 * @throws HttpError `unknown_route` (404) when the path is not in the table,
 *   `method_not_allowed` (405, header `Allow: GET, POST`) when the method is not allowed
 */
export function resolveRoute(rawUrl: string, method: string): RouteMatch {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const match = matchRoute(rawPath);
  if (!match) {
    throw new HttpError('unknown_route', 'unknown or unsupported API endpoint (promfence serves an allow-list of the Prometheus query API; paths must be exact, e.g. /api/v1/query)');
  }
  if (!(match.route.methods as readonly string[]).includes(method)) {
    const allow = match.route.methods.join(', ');
    throw new HttpError('method_not_allowed', `method ${method} not allowed on this endpoint (allowed: ${allow})`, { headers: { Allow: allow } });
  }
  return match;
}
