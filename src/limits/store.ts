/**
 * Where rate-limit buckets and in-flight counts live: in this process ({@link MemoryStore},
 * ./memory.ts) or in Redis, shared by every replica (./redis.ts). Both implement the same
 * token bucket and the same in-flight lease rule.
 *
 * Token bucket (per key): capacity `burst`, refilled continuously at `rate` tokens per second,
 * starts full; a request takes one token or is refused with the time until one is available.
 */

/** One bucket's parameters. */
export interface BucketSpec {
  /** Refill rate, tokens per second (> 0). */
  readonly rate: number;
  /** Capacity, tokens (≥ 1). */
  readonly burst: number;
}

/** The answer of {@link LimiterStore.take}. */
export type TakeResult = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/** A held in-flight slot; `release()` is idempotent. */
export interface Lease {
  release(): void;
}

/** A limiter store. Every method rejects when the store cannot answer (Redis down). */
export interface LimiterStore {
  /** Takes one token from bucket `key`. */
  take(key: string, spec: BucketSpec): Promise<TakeResult>;
  /**
   * Takes an in-flight slot of `key` if fewer than `max` are held; undefined when all are taken.
   *
   * @param leaseMs how long the slot stays held if it is never released (a replica that died)
   */
  acquire(key: string, max: number, leaseMs: number): Promise<Lease | undefined>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/**
 * The token-bucket step, shared by the memory store and (as Lua) the Redis store.
 *
 * @param tokens tokens in the bucket at `ts`
 * @param ts time of `tokens`, ms
 * @param now current time, ms
 * @returns the new state and whether a token was taken; `retryAfterMs` = time until one is available
 */
export function takeToken(tokens: number, ts: number, now: number, spec: BucketSpec): { tokens: number; ts: number; allowed: boolean; retryAfterMs: number } {
  let t = tokens;
  if (now > ts) t = Math.min(spec.burst, t + ((now - ts) * spec.rate) / 1000);
  const at = Math.max(now, ts);
  if (t >= 1) return { tokens: t - 1, ts: at, allowed: true, retryAfterMs: 0 };
  return { tokens: t, ts: at, allowed: false, retryAfterMs: Math.ceil(((1 - t) * 1000) / spec.rate) };
}

/** Time for an empty bucket to fill up, ms (how long an untouched bucket must be kept). */
export function refillMs(spec: BucketSpec): number {
  return Math.ceil((spec.burst * 1000) / spec.rate);
}
