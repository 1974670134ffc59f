/**
 * promfence's Prometheus metrics (prom-client), served at `/metrics` on
 * `server.internal_listen` only (src/internal.ts). One {@link GatewayMetrics} per process: it
 * outlives configuration reloads, so counters stay monotonic across them.
 *
 * Cardinality is bounded: `route` is a route-table name (`none` before routing, `unknown` for
 * an unknown path), never a raw path; `tenant` and `subject` are names from the current
 * configuration (`access.subjects`, `access.groups`, `auth.*` subjects), anything else
 * (tenants from JWT claims, say) is counted as `other`; `method` is one of the methods the
 * routes know, else `other`; `code` is the HTTP status; error codes come from one table.
 */
import cluster from 'node:cluster';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/types.ts';
import type { RequestFinishedHook } from './hooks.ts';
import { droppedLogLines } from './logger.ts';

/** Label value for a tenant or subject that is not named in the configuration. */
export const OTHER = 'other';

/** Histogram buckets in seconds: Prometheus's default set, extended to the 2 m upstream timeout. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Error codes that are "denied" (who the caller is, or what it may read); every other promfence refusal is "refused". */
const DENIED = new Set(['unauthenticated', 'forbidden_tenant', 'no_tenants', 'forbidden_endpoint']);
/**
 * What promfence decided about a finished request: `allowed` (sent upstream, whatever it
 * answered, or a probe), `denied` (401, or a 403 on tenants or endpoint), `refused` (every
 * other promfence error code: invalid request, limits, 429, internal errors).
 */
export function decisionOf(s: { readonly upstream?: unknown; readonly errorCode?: string }): 'allowed' | 'refused' | 'denied' {
  const code = s.errorCode;
  return s.upstream !== undefined || code === undefined ? 'allowed' : DENIED.has(code) ? 'denied' : 'refused';
}

const METHODS = new Set(['GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE', 'PUT']);

/** Cache statistics of an enforcer (src/enforce `Enforcer.stats`). */
export interface CacheStats {
  /** Absent on enforcers without a cache (test fakes): counted as 0. */
  readonly stats?: { readonly hits: number; readonly misses: number };
}

/** The process's metrics. */
export interface GatewayMetrics {
  /** The registry to expose (`await registry.metrics()`, `registry.contentType`). */
  readonly registry: Registry;
  /** The request-finished hook that counts every request of the public listener. */
  readonly hook: RequestFinishedHook;
  /** Takes the label bounds (known tenants and subjects) from a newly applied configuration. */
  configure(config: Config): void;
  /** Records a configuration (re)load attempt: `promfence_config_last_reload_*`. */
  reloaded(ok: boolean, nowMs?: number): void;
  /** The enforcer whose cache hits/misses are exported from now on (the previous one's last counts are kept). */
  trackEnforcer(enforcer: object): void;
  /** Where `promfence_inflight_requests` is read from (the server's in-flight count). */
  inflightFrom(read: () => number): void;
  /** Counts a limiter store failure (`promfence_limiter_errors_total{action}`: `allowed` or `denied`). */
  limiterError(action: 'allowed' | 'denied'): void;
}

/**
 * Creates the metrics of one process in a fresh registry (never prom-client's global one, so
 * several servers in one test process do not collide).
 *
 * @param version promfence's version (`promfence_build_info{version}`)
 * @param opts `defaultMetrics`: also export prom-client's process/Node.js metrics (default true)
 */
export function createMetrics(version: string, opts: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
  const histogram = (name: string, help: string) => new Histogram<'route'>({ name, help, labelNames: ['route'], buckets: [...DURATION_BUCKETS], registers });

  const requests = counter('promfence_requests_total',
    'Requests answered on the public listener, by route name, method, HTTP status code and decision (allowed: sent upstream or a probe; refused: refused by promfence; denied: authentication or tenant access refused).',
    ['route', 'method', 'code', 'decision']);
  const duration = histogram('promfence_request_duration_seconds', 'Time from the first byte promfence handled to the end of the response, seconds, by route name.');
  const upstreamDuration = histogram('promfence_upstream_request_duration_seconds', 'Time from sending a request upstream to its response head, seconds, by route name.');
  const refusals = counter('promfence_enforcement_refusals_total', 'Requests promfence answered with one of its own error codes without sending them upstream, by error code.', ['code']);
  const authFailures = counter('promfence_auth_failures_total', 'Refused authentication attempts, by method (provider, or none without credentials) and reason.', ['method', 'reason']);
  const tenantRequests = counter('promfence_tenant_requests_total',
    'Requests that ran with a tenant set, once per tenant read (* for unrestricted; tenants not named in the configuration count as other).', ['tenant']);
  const rateLimited = counter('promfence_rate_limited_total',
    'Requests refused with 429 rate_limited by promfence\'s own limits, by subject (subjects not named in the configuration count as other).', ['subject']);
  const limiterErrors = counter('promfence_limiter_errors_total', 'Limiter store (Redis) failures, by what was done with the request (limits.redis.on_error).', ['action']);
  let readInflight: () => number = () => 0;
  new Gauge({
    name: 'promfence_inflight_requests',
    help: 'Requests being served on the public listener right now.',
    registers,
    collect() {
      this.set(readInflight());
    },
  });
  const reloadOk = new Gauge({
    name: 'promfence_config_last_reload_successful',
    help: 'Whether the last configuration (re)load attempt succeeded (1) or was refused (0; the previous configuration keeps running).',
    registers,
    aggregator: 'min', // server.workers: 0 when any worker's reload failed
  });
  const reloadTime = new Gauge({
    name: 'promfence_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last successful configuration (re)load, seconds.',
    registers,
    aggregator: 'min', // server.workers: the worker that reloaded least recently
  });
  new Gauge({ name: 'promfence_build_info', help: 'promfence build information (always 1).', labelNames: ['version'] as const, registers, aggregator: 'first' }).labels(version).set(1);

  // Enforcer cache: each App has its own enforcer (a reload starts cold); the counters add
  // the deltas of the current one to what the previous ones had reached.
  let tracked: CacheStats | undefined;
  const seen = { hits: 0, misses: 0 };
  const base = { hits: 0, misses: 0 };
  const settle = () => {
    const st = tracked?.stats;
    if (st === undefined) return;
    base.hits += st.hits - seen.hits;
    base.misses += st.misses - seen.misses;
    seen.hits = st.hits;
    seen.misses = st.misses;
  };
  const cacheCounter = (name: string, help: string, key: 'hits' | 'misses') => new Counter({
    name, help, registers,
    collect() {
      settle();
      this.reset();
      this.inc(base[key]);
    },
  });
  cacheCounter('promfence_enforcement_cache_hits_total', 'Enforcement cache hits (validation and enforced print of a text found in the cache).', 'hits');
  cacheCounter('promfence_enforcement_cache_misses_total', 'Enforcement cache misses (the text was parsed, validated or enforced).', 'misses');
  // A cluster worker reports its drops to the primary, which exposes the total with its own.
  if (!cluster.isWorker) new Counter({
    name: 'promfence_log_dropped_lines_total',
    help: 'Log lines dropped because the reader of stdout fell more than 16 MiB behind.',
    registers,
    collect() {
      this.reset();
      this.inc(droppedLogLines());
    },
  });

  let tenants = new Set<string>();
  let subjects = new Set<string>();

  const hook: RequestFinishedHook = function promfenceMetrics(r) {
    const s = r.state;
    const route = s.route ?? (s.errorCode === 'unknown_route' ? 'unknown' : 'none');
    const code = s.errorCode;
    requests.labels(route, METHODS.has(r.method) ? r.method : OTHER, String(r.status), decisionOf(s)).inc();
    duration.labels(route).observe(r.durationMs / 1000);
    if (s.upstream?.durationMs !== undefined) upstreamDuration.labels(route).observe(s.upstream.durationMs / 1000);
    if (code !== undefined && s.upstream === undefined) {
      refusals.labels(code).inc();
      if (code === 'rate_limited') rateLimited.labels(s.principal !== undefined && subjects.has(s.principal.subject) ? s.principal.subject : OTHER).inc();
    }
    if (s.principal === undefined) {
      for (const f of s.authFailures) authFailures.labels(f.method, f.reason).inc();
    }
    const t = s.policy?.tenants;
    if (t !== undefined) {
      if (t.kind === 'all') tenantRequests.labels('*').inc();
      else for (const id of t.tenants) tenantRequests.labels(tenants.has(id) ? id : OTHER).inc();
    }
  };

  return {
    registry,
    hook,
    configure(config) {
      const ts = new Set<string>();
      for (const list of [...Object.values(config.access.subjects), ...Object.values(config.access.groups)]) for (const id of list) ts.add(id);
      tenants = ts;
      const ss = new Set<string>(Object.keys(config.access.subjects));
      for (const p of config.auth.providers) {
        const entries: ReadonlyArray<{ subject: string }> = p.kind === 'bearer_tokens' ? p.tokens : p.kind === 'basic' ? p.users : [];
        for (const e of entries) ss.add(e.subject);
      }
      subjects = ss;
    },
    reloaded(ok, nowMs = Date.now()) {
      reloadOk.set(ok ? 1 : 0);
      if (ok) reloadTime.set(nowMs / 1000);
    },
    trackEnforcer(e) {
      settle();
      const enforcer = e as CacheStats;
      tracked = enforcer;
      seen.hits = enforcer.stats?.hits ?? 0;
      seen.misses = enforcer.stats?.misses ?? 0;
    },
    inflightFrom(read) {
      readInflight = read;
    },
    limiterError(action) {
      limiterErrors.labels(action).inc();
    },
  };
}
