/**
 * Per-subject (and optionally per-tenant) rate and concurrency limits on top of a
 * {@link LimiterStore}: `limits.rate` (a token bucket per subject), `limits.tenant_rate` (a
 * bucket per tenant read), `limits.max_inflight_per_subject`. One limiter per process: it
 * outlives configuration reloads (in-flight counts must), and {@link Limiter.update} applies
 * new limits (a new store when `limits.store` or `limits.redis` changed).
 *
 * Refusals: 429 `rate_limited` with `Retry-After` (whole seconds, at least 1); when the store
 * fails, `limits.redis.on_error`: `allow` (default) lets the request through, `deny` answers
 * 503 `limiter_unavailable`; either way the failure is counted and logged (once per outage).
 */
import type { TenantSet } from '../access/tenants.ts';
import type { Config } from '../config/types.ts';
import { HttpError } from '../http/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { createMemoryStore } from './memory.ts';
import { createRedisStore, redisEndpoint } from './redis.ts';
import type { BucketSpec, Lease, LimiterStore } from './store.ts';

/** Extra lifetime of a Redis in-flight lease beyond `upstream.timeout`, ms. */
export const LEASE_SLACK_MS = 60_000;

/** What the limiter needs from the configuration. */
export type LimiterConfig = Pick<Config, 'limits' | 'upstreams'>;

/** The process's limiter. */
export interface Limiter {
  /** True when any limit is configured (the middleware is skipped otherwise). */
  readonly active: boolean;
  /**
   * Admits one request of `subject`: takes an in-flight slot, then a token of its bucket
   * (a request refused for concurrency spends no token; one refused by the bucket frees its slot).
   *
   * @returns a release function for the slot (call once the response ended)
   * @throws HttpError 429 `rate_limited` (with `Retry-After`), 503 `limiter_unavailable`
   */
  admitSubject(subject: string): Promise<() => void>;
  /**
   * Takes one token of each tenant's bucket (`limits.tenant_rate`; `*` has one bucket).
   *
   * @throws HttpError 429 `rate_limited`, 503 `limiter_unavailable`
   */
  admitTenants(tenants: TenantSet): Promise<void>;
  /** Applies the limits of a reloaded configuration. */
  update(config: LimiterConfig): void;
  /** Closes the store(s). */
  close(): Promise<void>;
}

/** Collaborators of {@link createLimiter}. */
export interface LimiterDeps {
  readonly logger: Logger;
  /** Counts a store failure and what was done (`promfence_limiter_errors_total`). */
  readonly onStoreError?: (action: 'allowed' | 'denied') => void;
  /** Store factory (tests). Default: memory or Redis per `limits.store`. */
  readonly createStore?: (limits: Config['limits']) => LimiterStore;
}

function spec(r: { requests_per_second: number; burst: number } | undefined): BucketSpec | undefined {
  return r === undefined ? undefined : { rate: r.requests_per_second, burst: r.burst };
}

function storeKey(limits: Config['limits']): string {
  return limits.store === 'redis' && limits.redis !== undefined ? `redis ${limits.redis.url} ${limits.redis.key_prefix} ${limits.redis.timeout_ms}` : 'memory';
}

function rateLimited(what: string, retryAfterMs: number): HttpError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new HttpError('rate_limited', `${what}; retry in ${seconds}s`, { headers: { 'Retry-After': String(seconds) } });
}

/**
 * Creates the limiter for `config.limits`.
 *
 * @param config `limits` and `upstreams` (the in-flight lease lasts `upstream.timeout` + {@link LEASE_SLACK_MS})
 */
export function createLimiter(config: LimiterConfig, deps: LimiterDeps): Limiter {
  const makeStore = deps.createStore ?? ((limits: Config['limits']): LimiterStore => {
    if (limits.store === 'redis' && limits.redis !== undefined) {
      const endpoint = redisEndpoint(limits.redis.url);
      return createRedisStore(limits.redis, {
        onState: (s) => (s.up
          ? deps.logger.info('limiter store connected', { store: 'redis', redis: endpoint })
          : deps.logger.warn('limiter store unavailable', { store: 'redis', redis: endpoint, error: s.error, on_error: limits.redis?.on_error })),
      });
    }
    return createMemoryStore();
  });
  let limits = config.limits;
  let leaseMs = config.upstreams.prometheus.timeout_ms + LEASE_SLACK_MS;
  let key = storeKey(limits);
  let store = makeStore(limits);
  const retired: LimiterStore[] = [];
  let failing = false;

  const failed = (err: unknown): void => {
    const deny = limits.redis?.on_error === 'deny';
    deps.onStoreError?.(deny ? 'denied' : 'allowed');
    if (!failing) {
      failing = true;
      deps.logger.warn('limiter store error', { store: limits.store, error: err instanceof Error ? err.message : String(err), action: deny ? 'deny' : 'allow' });
    }
    if (deny) throw new HttpError('limiter_unavailable', 'the rate limiter cannot reach its store and limits.redis.on_error is "deny"; retry later');
  };
  const ok = () => {
    failing = false;
  };

  const limiter: Limiter = {
    get active() {
      return limits.rate !== undefined || limits.tenant_rate !== undefined || limits.max_inflight_per_subject > 0;
    },
    async admitSubject(subject) {
      const s = store;
      // The in-flight slot first: a request refused for concurrency spends no token.
      let release = () => {};
      const max = limits.max_inflight_per_subject;
      if (max > 0) {
        let lease: Lease | undefined;
        let failedStore = false;
        try {
          lease = await s.acquire(`subject:${subject}`, max, leaseMs);
          ok();
        } catch (err) {
          failed(err);
          failedStore = true;
        }
        if (lease === undefined && !failedStore) throw rateLimited(`subject ${JSON.stringify(subject)} already has ${max} requests in flight (limits.max_inflight_per_subject)`, 1000);
        if (lease !== undefined) {
          const held = lease;
          release = () => held.release();
        }
      }
      const rate = spec(limits.rate);
      if (rate !== undefined) {
        let r;
        try {
          r = await s.take(`subject:${subject}`, rate);
          ok();
        } catch (err) {
          try {
            failed(err);
          } catch (denied) {
            release();
            throw denied;
          }
        }
        if (r !== undefined && !r.allowed) {
          release();
          throw rateLimited(`rate limit of subject ${JSON.stringify(subject)} exceeded (limits.rate: ${rate.rate} requests per second, burst ${rate.burst})`, r.retryAfterMs);
        }
      }
      return release;
    },
    async admitTenants(tenants) {
      const rate = spec(limits.tenant_rate);
      if (rate === undefined) return;
      const s = store;
      for (const t of tenants.kind === 'all' ? ['*'] : tenants.tenants) {
        let r;
        try {
          r = await s.take(`tenant:${t}`, rate);
          ok();
        } catch (err) {
          failed(err);
        }
        if (r !== undefined && !r.allowed) throw rateLimited(`rate limit of tenant ${JSON.stringify(t)} exceeded (limits.tenant_rate: ${rate.rate} requests per second, burst ${rate.burst})`, r.retryAfterMs);
      }
    },
    update(next) {
      limits = next.limits;
      leaseMs = next.upstreams.prometheus.timeout_ms + LEASE_SLACK_MS;
      const nextKey = storeKey(limits);
      if (nextKey === key) return;
      key = nextKey;
      // In-flight leases keep a reference to their own store; it is closed with the limiter.
      retired.push(store);
      store = makeStore(limits);
      failing = false;
    },
    async close() {
      await Promise.all([store, ...retired].map((s) => s.close()));
    },
  };
  return limiter;
}
