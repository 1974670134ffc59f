/**
 * The Alertmanager API v2 routes (Alertmanager 0.25), served when `alertmanager.url` is set,
 * under `/api/v2/…` and `/alertmanager/api/v2/…` (the layout Grafana's Alertmanager data
 * source uses for Mimir/Cortex); both are forwarded to `/api/v2/…` of the `alertmanager`
 * upstream (its URL may carry a prefix).
 *
 * | route | methods | policy |
 * |---|---|---|
 * | `alerts`, `alerts/groups` | GET | a one-set policy's matchers are added as `filter` (Alertmanager ANDs filters); the answer is filtered to alerts the policy admits (groups rebuilt, empty groups removed); `*` unfiltered |
 * | `silences` | GET | only silences whose matchers pin the tenant label to granted tenants (./silences.ts) |
 * | `silences` | POST | a new or updated silence must be such a silence (a one-tenant caller gets `tenant="a"` added); an update only of a silence the caller can see (checked first with `GET silence/{id}`) |
 * | `silence/{id}` | GET, DELETE | the silence only when the caller can see it; DELETE (expire) likewise, checked first |
 * | `status`, `receivers` | GET | `alertmanager.status` / `.receivers`: `deny` (default, 403 `forbidden_endpoint`), `unrestricted`, `allow` |
 *
 * Only Alertmanager's own query parameters are forwarded (`filter`, `active`, `silenced`,
 * `inhibited`, `unprocessed`, `receiver`); others are dropped.
 */
import { policyAdmits, type LabelSet } from '../access/admits.ts';
import type { AccessPolicy } from '../access/index.ts';
import type { EndpointAccess } from '../config/types.ts';
import { HttpError } from '../http/errors.ts';
import { encodeComponent } from '../http/percent.ts';
import { checkSilenceId, filterSilences, parseSilence, scopeSilence, silenceVisible } from './silences.ts';
import type { ForwardTarget, Method, Pairs, PlanInput, Precheck, ResponseMode, Route } from './types.ts';

/** Options of {@link alertmanagerRoutes} (`alertmanager.status`, `alertmanager.receivers`). */
export interface AlertmanagerRouteOptions {
  readonly status: EndpointAccess;
  readonly receivers: EndpointAccess;
}

/** The path prefixes the API is served under. */
export const ALERTMANAGER_PREFIXES: readonly string[] = Object.freeze(['', '/alertmanager']);

const ALERT_PARAMS = ['active', 'silenced', 'inhibited', 'unprocessed', 'receiver'];
const GROUP_PARAMS = ['active', 'silenced', 'inhibited', 'receiver'];

/**
 * A label matcher in Alertmanager's `filter` syntax (`name="value"`, `name=~"re"`): the value
 * quoted with `\\`, `\"` and `\n` escaped, as Alertmanager's matcher parser unescapes them.
 */
export function alertmanagerFilter(m: { name: string; op: string; value: string }): string {
  return `${m.name}${m.op}"${m.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function labelsOf(x: unknown): LabelSet {
  const labels = (x as { labels?: unknown } | null)?.labels;
  return labels !== null && typeof labels === 'object' && !Array.isArray(labels) ? (labels as LabelSet) : {};
}

/** The filter of `GET /api/v2/alerts`: only the alerts the policy admits. */
export function filterAlerts(body: unknown, policy: AccessPolicy): unknown[] {
  if (!Array.isArray(body)) throw new HttpError('upstream_unavailable', 'Alertmanager answered alerts that are not a JSON list; refused');
  return body.filter((a) => policyAdmits(policy, labelsOf(a)));
}

/** The filter of `GET /api/v2/alerts/groups`: each group keeps the alerts the policy admits; groups left empty are removed. */
export function filterAlertGroups(body: unknown, policy: AccessPolicy): unknown[] {
  if (!Array.isArray(body)) throw new HttpError('upstream_unavailable', 'Alertmanager answered alert groups that are not a JSON list; refused');
  const out: unknown[] = [];
  for (const g of body) {
    if (g === null || typeof g !== 'object' || !Array.isArray((g as { alerts?: unknown }).alerts)) continue;
    const alerts = ((g as { alerts: unknown[] }).alerts).filter((a) => policyAdmits(policy, labelsOf(a)));
    if (alerts.length > 0) out.push({ ...(g as object), alerts });
  }
  return out;
}

const JSON_STREAM: ResponseMode = Object.freeze({ kind: 'stream', body: 'json' });
/** Alertmanager answers an expired silence with an empty 200. */
const ANY_2XX: ResponseMode = Object.freeze({ kind: 'stream', body: 'exposition' });

function pick(params: Pairs, names: readonly string[]): Array<readonly [string, string]> {
  return params.filter(([k]) => names.includes(k));
}

function target(input: PlanInput, method: Method, path: string, params: Pairs, extra: Partial<ForwardTarget> = {}): ForwardTarget {
  return { upstream: 'alertmanager', method, path, params, headers: input.tenancyHeaders, ...extra };
}

/** The filters added for a policy of one matcher set (none when unrestricted or OR-ed). */
function policyFilters(policy: AccessPolicy): Array<readonly [string, string]> {
  const sets = policy.selectors;
  if (sets === undefined || sets.length !== 1) return [];
  return (sets[0] ?? []).map((m) => ['filter', alertmanagerFilter(m)] as const);
}

/**
 * The one refusal for a silence the caller cannot see, whether it exists or not (a red-team
 * pass told another tenant's silence, 403, from a missing one, 404, on GET).
 */
function forbidden(input: PlanInput, id: string, change: boolean): HttpError {
  return new HttpError('forbidden_tenant', `silence ${id} is not visible to subject ${JSON.stringify(input.subject ?? '')} (it does not exist, or its matchers do not pin the tenant label to granted tenants)${change ? '; nothing was changed' : ''}`);
}

/**
 * `GET /api/v2/silence/{id}` first: the request goes ahead only when the caller can see that
 * silence; a missing one is refused exactly like another tenant's.
 */
function silencePrecheck(input: PlanInput, id: string, change: boolean): Precheck {
  return {
    target: target(input, 'GET', `/api/v2/silence/${encodeComponent(id)}`, []),
    check(status, body) {
      if (status === 404) throw forbidden(input, id, change);
      if (status < 200 || status > 299 || body === undefined) throw new HttpError('upstream_unavailable', `Alertmanager answered HTTP ${status} when promfence looked up silence ${id}${change ? '; nothing was changed' : ''}`);
      if (!silenceVisible(body, input.policy)) throw forbidden(input, id, change);
    },
  };
}

function endpointAllowed(access: EndpointAccess, policy: AccessPolicy, what: string): void {
  if (access === 'allow') return;
  if (access === 'unrestricted' && policy.tenants.kind === 'all') return;
  const key = `alertmanager.${what}`;
  throw new HttpError('forbidden_endpoint', access === 'deny'
    ? `the Alertmanager ${what} endpoint is disabled (${key}: deny): it shows every tenant's configuration`
    : `the Alertmanager ${what} endpoint is allowed only for unrestricted ("*") callers (${key}: unrestricted)`);
}

function amRoute(prefix: string, name: string, path: string, methods: readonly Method[], singular: readonly string[], response: ResponseMode, plan: (input: PlanInput) => ForwardTarget, body?: Route['body']): Route {
  return Object.freeze({
    name, path: prefix + path, methods: Object.freeze([...methods]), singular: Object.freeze([...singular]), promql: 'none', tenantScoped: true,
    upstream: 'alertmanager', plan, response, filterWithPolicy: true, ...(body ? { body } : {}),
  } satisfies Route);
}

/**
 * The Alertmanager routes under every prefix of {@link ALERTMANAGER_PREFIXES}.
 *
 * @param opts the endpoint policy of `status` and `receivers`
 */
export function alertmanagerRoutes(opts: AlertmanagerRouteOptions): Route[] {
  const alertsFilter: ResponseMode = Object.freeze({ kind: 'filter', filter: (b: unknown, ctx: { policy: AccessPolicy }) => filterAlerts(b, ctx.policy) });
  const groupsFilter: ResponseMode = Object.freeze({ kind: 'filter', filter: (b: unknown, ctx: { policy: AccessPolicy }) => filterAlertGroups(b, ctx.policy) });
  const silencesFilter: ResponseMode = Object.freeze({ kind: 'filter', filter: (b: unknown, ctx: { policy: AccessPolicy }) => filterSilences(b, ctx.policy) });
  const jsonBody = Object.freeze({ mediaTypes: ['application/json'] });
  const routes: Route[] = [];
  for (const prefix of ALERTMANAGER_PREFIXES) {
    routes.push(
      amRoute(prefix, 'am_alerts', '/api/v2/alerts', ['GET'], ALERT_PARAMS, alertsFilter, (input) =>
        target(input, 'GET', '/api/v2/alerts', [...pick(input.params, ['filter', ...ALERT_PARAMS]), ...policyFilters(input.policy)])),
      amRoute(prefix, 'am_alert_groups', '/api/v2/alerts/groups', ['GET'], GROUP_PARAMS, groupsFilter, (input) =>
        target(input, 'GET', '/api/v2/alerts/groups', [...pick(input.params, ['filter', ...GROUP_PARAMS]), ...policyFilters(input.policy)])),
      amRoute(prefix, 'am_silences', '/api/v2/silences', ['GET', 'POST'], [], silencesFilter, (input) => {
        if (input.method === 'GET') return target(input, 'GET', '/api/v2/silences', pick(input.params, ['filter']));
        const silence = scopeSilence(parseSilence(input.body ?? Buffer.alloc(0)), input.policy, input.subject ?? '');
        const data = Buffer.from(JSON.stringify(silence), 'utf8');
        return target(input, 'POST', '/api/v2/silences', [], {
          body: { contentType: 'application/json', data },
          response: JSON_STREAM,
          ...(silence.id !== undefined ? { precheck: silencePrecheck(input, silence.id, true) } : {}),
        });
      }, jsonBody),
      amRoute(prefix, 'am_silence', '/api/v2/silence/{id}', ['GET', 'DELETE'], [], JSON_STREAM, (input) => {
        const id = checkSilenceId(input.segment ?? '');
        const path = `/api/v2/silence/${encodeComponent(id)}`;
        if (input.method === 'DELETE') return target(input, 'DELETE', path, [], { precheck: silencePrecheck(input, id, true), response: ANY_2XX });
        // GET: the same precheck, so that a missing silence and another tenant's answer alike;
        // the answer is checked again (it may have changed in between).
        return target(input, 'GET', path, [], {
          precheck: silencePrecheck(input, id, false),
          response: {
            kind: 'filter',
            filter: (b, ctx) => {
              if (!silenceVisible(b, ctx.policy)) throw forbidden(input, id, false);
              return b;
            },
          },
        });
      }),
      amRoute(prefix, 'am_status', '/api/v2/status', ['GET'], [], JSON_STREAM, (input) => {
        endpointAllowed(opts.status, input.policy, 'status');
        return target(input, 'GET', '/api/v2/status', []);
      }),
      amRoute(prefix, 'am_receivers', '/api/v2/receivers', ['GET'], [], JSON_STREAM, (input) => {
        endpointAllowed(opts.receivers, input.policy, 'receivers');
        return target(input, 'GET', '/api/v2/receivers', []);
      }),
    );
  }
  return routes;
}
