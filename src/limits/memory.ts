/**
 * The in-process limiter store (`limits.store: memory`, the default): buckets in an lru-cache
 * bounded by entries (a bucket untouched for its refill time is dropped: it would be full
 * anyway), in-flight counts in a map that forgets a key at zero.
 */
import { LRUCache } from 'lru-cache';
import { refillMs, takeToken, type BucketSpec, type Lease, type LimiterStore, type TakeResult } from './store.ts';

/** Most buckets kept; when more subjects/tenants are active, the least recently used bucket is dropped (it restarts full). */
export const MAX_MEMORY_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  ts: number;
}

/** Creates the memory store. `now` (ms) is a test seam; default `performance.now`-based monotonic clock. */
export function createMemoryStore(now: () => number = () => performance.now()): LimiterStore {
  const buckets = new LRUCache<string, Bucket>({ max: MAX_MEMORY_BUCKETS });
  const inflight = new Map<string, number>();
  return {
    take(key: string, spec: BucketSpec): Promise<TakeResult> {
      const t = now();
      const b = buckets.get(key);
      const r = takeToken(b?.tokens ?? spec.burst, b?.ts ?? t, t, spec);
      buckets.set(key, { tokens: r.tokens, ts: r.ts }, { ttl: refillMs(spec) });
      return Promise.resolve(r.allowed ? { allowed: true } : { allowed: false, retryAfterMs: r.retryAfterMs });
    },
    acquire(key: string, max: number): Promise<Lease | undefined> {
      const held = inflight.get(key) ?? 0;
      if (held >= max) return Promise.resolve(undefined);
      inflight.set(key, held + 1);
      let released = false;
      return Promise.resolve({
        release() {
          if (released) return;
          released = true;
          const n = (inflight.get(key) ?? 1) - 1;
          if (n <= 0) inflight.delete(key);
          else inflight.set(key, n);
        },
      });
    },
    close: () => Promise.resolve(),
  };
}
