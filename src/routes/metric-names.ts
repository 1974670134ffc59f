/**
 * The metric names a caller can see, for the metadata filter (./filters.ts): the enforced
 * `GET /api/v1/label/__name__/values` (the policy's selectors as `match[]`, the tenancy
 * headers of header modes), looked up through the same upstream client as every request.
 *
 * Cached briefly per policy (the key is the exact request: selectors and headers) in an
 * lru-cache bounded in bytes; concurrent lookups of one key share one upstream request. A
 * failed lookup is not cached and fails the metadata request (502/504): metadata is never
 * answered unfiltered. A shared lookup is not aborted by one client leaving (the upstream
 * timeout bounds it).
 */
import { LRUCache } from 'lru-cache';
import { HttpError } from '../http/errors.ts';
import type { UpstreamClient } from '../upstream/client.ts';
import { readAnswer } from '../upstream/precheck.ts';
import type { Pairs } from './types.ts';

/** How long a caller's metric names are reused, ms (30 s: metadata is for autocompletion). */
export const METRIC_NAMES_TTL_MS = 30_000;
/** Bytes the cache may hold (estimated as 2 bytes per character of names and keys, plus 64 per name). */
export const METRIC_NAMES_CACHE_BYTES = 8 * 1024 * 1024;

/** One lookup's inputs. */
export interface MetricNamesRequest {
  /** `match[]` pairs scoping the lookup (the policy's selectors). */
  readonly params: Pairs;
  /** Tenancy headers (header modes). */
  readonly headers: Readonly<Record<string, string>>;
  /** promfence's request id (sent as `X-Request-Id`). */
  readonly requestId: string;
}

/** Looks up (or reuses) the metric names of one scope. */
export type MetricNames = (req: MetricNamesRequest) => Promise<ReadonlySet<string>>;

/**
 * Creates the cached lookup.
 *
 * @param client the `prometheus` upstream
 * @param maxBytes largest label-values answer read (`limits.max_filtered_response_bytes`)
 * @param opts cache TTL (ms, default {@link METRIC_NAMES_TTL_MS}) and byte bound (default {@link METRIC_NAMES_CACHE_BYTES})
 * @returns the lookup; it throws HttpError `upstream_unavailable` (502) / `upstream_timeout`
 *   (504) when the upstream fails or answers something that is not a list of names
 */
export function createMetricNames(client: UpstreamClient, maxBytes: number, opts: { ttlMs?: number; cacheBytes?: number } = {}): MetricNames {
  const cacheBytes = opts.cacheBytes ?? METRIC_NAMES_CACHE_BYTES;
  const cache = new LRUCache<string, ReadonlySet<string>>({
    maxSize: cacheBytes,
    maxEntrySize: cacheBytes,
    ttl: opts.ttlMs ?? METRIC_NAMES_TTL_MS,
    sizeCalculation: (set, key) => {
      let n = 2 * key.length + 64;
      for (const name of set) n += 2 * name.length + 64;
      return n;
    },
  });
  const inflight = new Map<string, Promise<ReadonlySet<string>>>();

  const fetchNames = async (req: MetricNamesRequest): Promise<ReadonlySet<string>> => {
    const res = await client.send(
      { upstream: client.spec.name, method: 'GET', path: '/api/v1/label/__name__/values', params: req.params, headers: req.headers, response: { kind: 'stream', body: 'json' } },
      { requestId: req.requestId, clientHeaders: { accept: 'application/json', 'user-agent': 'promfence' }, acceptEncoding: 'identity' },
    );
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      res.destroy();
      throw new HttpError('upstream_unavailable', `looking up the caller's metric names for metadata failed: upstream answered HTTP ${status}`);
    }
    let body: unknown;
    try {
      body = JSON.parse((await readAnswer(res, maxBytes)).toString('utf8'));
    } catch (err) {
      throw new HttpError('upstream_unavailable', 'looking up the caller\'s metric names for metadata failed: the answer was not a readable JSON list', { cause: err });
    }
    const data = (body as { status?: unknown; data?: unknown }).data;
    if ((body as { status?: unknown }).status !== 'success' || !Array.isArray(data) || !data.every((n) => typeof n === 'string')) {
      throw new HttpError('upstream_unavailable', 'looking up the caller\'s metric names for metadata failed: the answer was not a list of names');
    }
    return new Set(data as string[]);
  };

  return (req) => {
    const key = JSON.stringify([req.params, Object.entries(req.headers).sort()]);
    const hit = cache.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    let p = inflight.get(key);
    if (p === undefined) {
      p = fetchNames(req).then((names) => {
        cache.set(key, names);
        return names;
      }).finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    return p;
  };
}
