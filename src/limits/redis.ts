/**
 * The Redis limiter store (`limits.store: redis`): buckets and in-flight slots live in Redis,
 * so every promfence replica behind a load balancer shares them. ioredis runs two Lua scripts
 * (EVALSHA, loaded on first use); both read the clock with Redis's `TIME`, so replicas with
 * skewed clocks still agree.
 *
 * - bucket: a hash `{tokens, ts}` per key, updated atomically by the token-bucket step of
 *   ./store.ts, expiring once it would be full again;
 * - in-flight: a sorted set per key of lease IDs scored by their expiry; expired leases are
 *   dropped before counting (a replica that died frees its slots after `leaseMs`).
 *
 * Failure: commands are not queued while disconnected and time out after
 * `limits.redis.timeout`, so a Redis outage costs at most that per request; the caller
 * (./limiter.ts) applies `limits.redis.on_error`. The client reconnects in the background.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Redis } from 'ioredis';
import type { RedisLimitsConfig } from '../config/types.ts';
export { redisEndpoint } from '../config/ops-values.ts';
import type { BucketSpec, Lease, LimiterStore, TakeResult } from './store.ts';

/** KEYS[1] bucket; ARGV rate (tokens/s), burst → {allowed 0|1, retry-after ms}. Same step as takeToken() in ./store.ts. */
const TAKE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000); ts = now end
local allowed = 0
local wait = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`;

/** KEYS[1] lease set; ARGV max, lease ms, lease id → 1 when a slot was taken, else 0. */
const ACQUIRE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

interface ScriptedRedis extends Redis {
  promfenceTake(key: string, rate: string, burst: string): Promise<[number, number]>;
  promfenceAcquire(key: string, max: string, leaseMs: string, id: string): Promise<number>;
}

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** Called when the connection state changes (`ready`, or the error), once per change, for the log. Never receives the URL. */
  readonly onState?: (state: { readonly up: boolean; readonly error?: string }) => void;
}

/**
 * Connects to Redis (in the background; the first calls fail fast until it is connected).
 *
 * @param cfg `limits.redis` (`url`, `key_prefix`, `timeout_ms`)
 */
export function createRedisStore(cfg: RedisLimitsConfig, opts: RedisStoreOptions = {}): LimiterStore {
  // ioredis is loaded only when `limits.store: redis` is configured (~10 MB resident otherwise unused).
  const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof IORedis;
  const redis = new RedisClient(cfg.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: cfg.timeout_ms,
    connectTimeout: Math.max(1000, cfg.timeout_ms * 4),
    retryStrategy: (times) => Math.min(100 * times, 2000),
    keyPrefix: `${cfg.key_prefix}:`,
    lazyConnect: false,
  }) as ScriptedRedis;
  redis.defineCommand('promfenceTake', { numberOfKeys: 1, lua: TAKE_LUA });
  redis.defineCommand('promfenceAcquire', { numberOfKeys: 1, lua: ACQUIRE_LUA });
  let up: boolean | undefined;
  redis.on('ready', () => {
    if (up !== true) opts.onState?.({ up: true });
    up = true;
  });
  redis.on('error', (err: Error) => {
    if (up !== false) opts.onState?.({ up: false, error: err.message });
    up = false;
  });
  redis.on('end', () => {
    up = false;
  });
  return {
    async take(key: string, spec: BucketSpec): Promise<TakeResult> {
      const [allowed, wait] = await redis.promfenceTake(`rate:${key}`, String(spec.rate), String(spec.burst));
      return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: Number(wait) };
    },
    async acquire(key: string, max: number, leaseMs: number): Promise<Lease | undefined> {
      const id = randomUUID();
      const k = `inflight:${key}`;
      const ok = await redis.promfenceAcquire(k, String(max), String(Math.ceil(leaseMs)), id);
      if (ok !== 1) return undefined;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          // Best effort: a lost release expires with its lease.
          redis.zrem(k, id).catch(() => {});
        },
      };
    },
    async close() {
      redis.disconnect();
    },
  };
}
