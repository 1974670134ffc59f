/**
 * The rest of the read API (issue #8), as data for the route table (./table.ts):
 *
 * - routes whose answers are filtered: rules, alerts, metadata (./filters.ts);
 * - promfence's own explain endpoint (answered locally, never sent upstream);
 * - the endpoint policy table: every Prometheus/Thanos/Cortex/Mimir endpoint promfence does
 *   not serve because it cannot be scoped (status pages, targets, admin APIs, the UI…) is a
 *   403 `forbidden_endpoint` — policy, not "not found", so a client learns why.
 */
import { HttpError } from '../http/errors.ts';
import { filterAlerts, filterMetadata, filterRules, metadataLimit } from './filters.ts';
import type { ForwardTarget, LocalInput, PlanInput, Route } from './types.ts';

function forward(input: PlanInput, params = input.params): ForwardTarget {
  return { upstream: 'prometheus', method: input.method, path: input.path, params, headers: input.tenancyHeaders };
}

/**
 * `GET /api/v1/rules`: the parameters of Prometheus ≥ 2.x (`type`, `rule_name[]`,
 * `rule_group[]`, `file[]`, `exclude_alerts`, `group_limit`, `group_next_token`) forwarded;
 * `match[]` enforced like on every `match[]` route (none given → the policy's selectors are
 * added, which an upstream that filters rules by labels reads exactly like the filter);
 * the answer filtered by each rule's and alert's labels.
 */
export const RULES_ROUTE: Route = Object.freeze({
  name: 'rules',
  path: '/api/v1/rules',
  methods: Object.freeze(['GET'] as const),
  promql: 'match',
  singular: Object.freeze(['type', 'exclude_alerts', 'group_limit', 'group_next_token']),
  known: Object.freeze(['rule_name[]', 'rule_group[]', 'file[]']),
  tenantScoped: true,
  headerScope: 'tenant',
  plan: (input: PlanInput) => forward(input),
  response: Object.freeze({ kind: 'filter', filter: filterRules }),
});

/** `GET /api/v1/alerts`: no parameters; the answer filtered by each alert's labels. */
export const ALERTS_ROUTE: Route = Object.freeze({
  name: 'alerts',
  path: '/api/v1/alerts',
  methods: Object.freeze(['GET'] as const),
  promql: 'none',
  singular: Object.freeze([]),
  tenantScoped: true,
  headerScope: 'tenant',
  plan: (input: PlanInput) => forward(input),
  response: Object.freeze({ kind: 'filter', filter: filterAlerts }),
});

/**
 * `GET /api/v1/metadata`: answered only for the metric names the caller can see (the enforced
 * `label/__name__/values`, looked up by the gateway, ./metric-names.ts). `metric` and
 * `limit_per_metric` are forwarded; `limit` (a number of metrics) is validated here (400
 * `invalid_parameter`, Prometheus's message) and applied after filtering, never forwarded.
 */
export const METADATA_ROUTE: Route = Object.freeze({
  name: 'metadata',
  path: '/api/v1/metadata',
  methods: Object.freeze(['GET'] as const),
  promql: 'none',
  singular: Object.freeze(['limit', 'limit_per_metric', 'metric']),
  tenantScoped: true,
  headerScope: 'tenant',
  plan: (input: PlanInput) => {
    try {
      metadataLimit(input.params.find(([k]) => k === 'limit')?.[1]);
    } catch (err) {
      throw new HttpError('invalid_parameter', `invalid parameter "limit": ${(err as Error).message}`);
    }
    return forward(input, input.params.filter(([k]) => k !== 'limit'));
  },
  response: Object.freeze({ kind: 'filter', filter: filterMetadata, needs: 'metric_names' }),
});

/**
 * `GET|POST /promfence/v1/explain?query=…`: what the gateway would send for this query, for
 * this caller (narrowing applies), without running it: `{"subject", "tenants" (["*"] when
 * unrestricted), "query", "enforced", "headers" (the tenant header of header modes)}`.
 */
export const EXPLAIN_ROUTE: Route = Object.freeze({
  name: 'explain',
  path: '/promfence/v1/explain',
  methods: Object.freeze(['GET', 'POST'] as const),
  promql: 'query',
  singular: Object.freeze(['query']),
  tenantScoped: true,
  plan: (input: PlanInput) => forward(input),
  response: Object.freeze({ kind: 'stream', body: 'json' }),
  local: (input: LocalInput) => ({
    subject: input.subject,
    tenants: input.policy.tenants.kind === 'all' ? ['*'] : [...input.policy.tenants.tenants],
    query: input.original,
    enforced: input.enforced.query,
    headers: input.tenancyHeaders,
  }),
});

/** One row of the endpoint policy table: an exact path, or every path under a prefix (ending in `/`). */
export interface ForbiddenEndpoint {
  readonly path: string;
  /** Why it is refused (said in the error message). */
  readonly why: string;
}

const UNSCOPED = 'it is not scoped by tenant';
const UI = 'the upstream\'s web UI is not served through promfence';

/**
 * The endpoint policy table: paths (canonical form only; tricks stay 404) answered 403
 * `forbidden_endpoint` for every method. A path in the route table is never looked up here,
 * so a later route (remote read, Alertmanager) simply takes precedence.
 */
export const FORBIDDEN_ENDPOINTS: readonly ForbiddenEndpoint[] = Object.freeze([
  { path: '/api/v1/status/tsdb', why: `${UNSCOPED} (top metric names and label values of every tenant)` },
  { path: '/api/v1/status/config', why: `${UNSCOPED} (the upstream's whole configuration)` },
  { path: '/api/v1/status/runtimeinfo', why: UNSCOPED },
  { path: '/api/v1/status/walreplay', why: UNSCOPED },
  { path: '/api/v1/status/', why: UNSCOPED },
  { path: '/api/v1/targets', why: `${UNSCOPED} (every scrape target)` },
  { path: '/api/v1/targets/metadata', why: `${UNSCOPED}; use /api/v1/metadata` },
  { path: '/api/v1/targets/', why: UNSCOPED },
  { path: '/api/v1/alertmanagers', why: UNSCOPED },
  { path: '/api/v1/write', why: 'promfence is a read gateway' },
  { path: '/api/v1/otlp/', why: 'promfence is a read gateway' },
  { path: '/api/v1/admin/', why: 'administrative APIs are never served' },
  { path: '/api/v1/notifications', why: UNSCOPED },
  { path: '/api/v1/notifications/', why: UNSCOPED },
  { path: '/api/v1/stores', why: `${UNSCOPED} (Thanos store labels)` },
  { path: '/api/v1/rules/', why: 'ruler configuration (Cortex) is not served' },
  { path: '/config/v1/', why: 'ruler configuration (Mimir) is not served' },
  { path: '/-/', why: 'lifecycle endpoints (reload, quit) are never served' },
  { path: '/metrics', why: 'the upstream\'s own metrics are not served' },
  { path: '/debug/', why: 'profiling endpoints are never served' },
  ...['/', '/graph', '/alerts', '/rules', '/targets', '/status', '/flags', '/config', '/tsdb-status', '/service-discovery', '/agent', '/starting', '/query', '/alertmanager-discovery']
    .map((path) => ({ path, why: UI })),
  ...['/classic/', '/new/', '/consoles/', '/static/', '/user/', '/assets/', '/graph/'].map((path) => ({ path, why: UI })),
]);

/**
 * Throws the refusal of a path in {@link FORBIDDEN_ENDPOINTS}; returns when it is not listed.
 *
 * @param rawPath the request path as received (after the path prefix and `/tenants/<id>`)
 * @throws HttpError `forbidden_endpoint` (403)
 */
export function forbiddenEndpoint(rawPath: string): void {
  for (const row of FORBIDDEN_ENDPOINTS) {
    const hit = row.path.endsWith('/') && row.path !== '/' ? rawPath.startsWith(row.path) : rawPath === row.path;
    if (hit) throw new HttpError('forbidden_endpoint', `endpoint ${rawPath.length > 100 ? rawPath.slice(0, 100) + '…' : rawPath} is refused by promfence's endpoint policy: ${row.why}`);
  }
}

/**
 * Throws the refusal of a route whose configuration switch is off.
 *
 * @throws HttpError `forbidden_endpoint` (403) naming the switch, e.g. `enforce.allow_status_flags`
 */
export function routeDisabled(route: Route): never {
  throw new HttpError('forbidden_endpoint', `endpoint ${route.path} is disabled by configuration; set enforce.${String(route.enabledBy)}: true to forward it`);
}
