/**
 * {@link Enforcer}: the enforcer of ./enforce.ts behind one LRU cache bounded in bytes
 * (lru-cache). Dashboards repeat the same queries on every refresh, so both steps are cached:
 * the validation of a text (step 1, per dialect) and its enforced print (step 2, per policy).
 * The cache is keyed by the text; each entry holds that text's results of both steps (its
 * variants, by step, dialect, options and policy), so a warm request hashes its text once and
 * makes one LRU lookup (issue #10: two lookups of keys that embedded the text cost ~1 µs).
 * Refusals are cached too and re-thrown as fresh PromQLErrors with the same code, message,
 * position and tenant. A parse that ran out of its time budget is remembered apart, briefly
 * and by hash ({@link EnforcerOptions.slowRefusalTtlMs}), so that a few such requests per
 * second cannot each burn the whole budget (issue #11).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { PromQLError } from '../promql/errors.ts';
import { DEFAULT_MAX_QUERY_BYTES, ParseBudgetError } from '../promql/parse.ts';
import type { AccessPolicy } from '../access/policy.ts';
import {
  applyPolicy, applyPolicyEach, decodeSpans, DEFAULT_MAX_ENFORCED_BYTES, encodeSpans, prepareQuery, prepareSeriesSelector,
  type EnforceOptions, type PolicyOptions, type PrepareOptions, type Prepared, type TextKind,
} from './enforce.ts';

/** Options of {@link Enforcer}. */
export interface EnforcerOptions {
  /** Most cached results (both steps together); 0 disables caching. Default 10000 (`promql.cache_size`). When a new result goes over it, the least recently used texts are dropped with all their results. */
  readonly maxEntries?: number;
  /**
   * Most bytes the cache may hold, estimated as 2 bytes per UTF-16 unit of keys, values and
   * messages plus 200 bytes of overhead per entry. Default 33554432 (32 MiB,
   * `promql.cache_max_bytes`). An entry larger than 1/16 of this is not cached.
   */
  readonly maxBytes?: number;
  /**
   * How long a text whose parse ran out of its time budget is refused again without parsing,
   * in ms. Default 30000. Such texts are remembered by SHA-256 (never the text), at most
   * {@link SLOW_REFUSAL_ENTRIES}, whatever `maxEntries` is (also when caching is off). Short,
   * because a busy machine can push a legitimate parse over the budget: such a query is
   * refused for at most this long.
   */
  readonly slowRefusalTtlMs?: number;
  /** Clock in ms for the TTL of remembered refusals (default `performance.now`); tests inject one. */
  readonly now?: () => number;
  /** The two steps (default those of ./enforce.ts); tests inject failing ones. */
  readonly steps?: Partial<EnforcerSteps>;
}

/** The uncached steps an {@link Enforcer} runs. */
export interface EnforcerSteps {
  readonly prepareQuery: typeof prepareQuery;
  readonly prepareSeriesSelector: typeof prepareSeriesSelector;
  readonly applyPolicy: typeof applyPolicy;
}

/** Default of {@link EnforcerOptions.slowRefusalTtlMs}: 30 s. */
export const DEFAULT_SLOW_REFUSAL_TTL_MS = 30_000;
/** Most remembered budget refusals (each ~250 bytes: a 44-character hash and the message; at most 1 MiB together). */
export const SLOW_REFUSAL_ENTRIES = 4096;

/** Counters of {@link Enforcer} (monotonic since creation). */
export interface EnforcerStats {
  hits: number;
  misses: number;
}

/** Default of {@link EnforcerOptions.maxEntries}. */
export const DEFAULT_CACHE_ENTRIES = 10_000;
/** Default of {@link EnforcerOptions.maxBytes}: 32 MiB. */
export const DEFAULT_CACHE_BYTES = 32 * 1024 * 1024;

type Entry = { readonly ok: string } | { readonly err: PromQLError };

/** The variants of one cached text (shared by every cache value of that text). */
interface TextEntry {
  /** The enforcer whose cache holds it. */
  readonly owner: Enforcer;
  readonly variants: Map<string, Entry>;
  /** Estimated bytes: {@link OVERHEAD_BYTES}, the text, and each variant's key and value. */
  size: number;
}
/** The cache's value: a fresh wrapper on every write, so lru-cache recomputes its size. */
interface CacheValue {
  readonly entry: TextEntry;
}


/** The last step-1 key built per kind (a gateway uses one dialect and one size cap, so a warm request builds none). */
const lastPrepareKeys: Record<TextKind, { syntax: string; maxQueryBytes: number; key: string } | undefined> = { query: undefined, selector: undefined };

/** The variant key of a step-1 result: every option that changes it. */
function prepareKey(kind: TextKind, syntax: string, maxQueryBytes: number): string {
  const last = lastPrepareKeys[kind];
  if (last !== undefined && last.syntax === syntax && last.maxQueryBytes === maxQueryBytes) return last.key;
  const key = `p\u0000${kind}\u0000${syntax}\u0000${maxQueryBytes}`;
  lastPrepareKeys[kind] = { syntax, maxQueryBytes, key };
  return key;
}

/** One step-2 key and the options it was built from. */
interface ApplyKeyMemo {
  readonly step: 'a' | 'e';
  readonly kind: TextKind;
  readonly syntax: string;
  readonly maxQueryBytes: number;
  readonly reject: boolean;
  readonly maxEnforced: number;
  readonly key: string;
}
/** Most step-2 keys remembered per policy object (kinds × steps × dialects a gateway uses). */
const APPLY_KEYS_PER_POLICY = 8;
/**
 * Step-2 keys per policy object. The gateway reuses one policy object per principal, so a warm
 * request compares six fields instead of building and hashing a key that embeds the policy's
 * JSON (measured: ~0.3 µs of the ~1.3 µs a warm request cost). Weak: a policy dropped on
 * reload takes its keys along.
 */
const applyKeys = new WeakMap<AccessPolicy, ApplyKeyMemo[]>();

/** The variant key of a step-2 result: every option that changes it and the policy's key. */
function applyKey(step: 'a' | 'e', prepared: Prepared, policy: AccessPolicy, opts: PolicyOptions): string {
  const reject = opts.rejectForeignTenant ?? true;
  const maxEnforced = opts.maxEnforcedBytes ?? DEFAULT_MAX_ENFORCED_BYTES;
  let memos = applyKeys.get(policy);
  if (memos !== undefined) {
    for (const m of memos) {
      if (m.step === step && m.kind === prepared.kind && m.syntax === prepared.syntax && m.maxQueryBytes === prepared.maxQueryBytes && m.reject === reject && m.maxEnforced === maxEnforced) return m.key;
    }
  } else {
    memos = [];
    applyKeys.set(policy, memos);
  }
  const key = `${step}\u0000${prepared.kind}\u0000${prepared.syntax}\u0000${prepared.maxQueryBytes}\u0000${reject ? 1 : 0}\u0000${maxEnforced}\u0000${policy.key}`;
  if (memos.length >= APPLY_KEYS_PER_POLICY) memos.shift();
  memos.push({ step, kind: prepared.kind, syntax: prepared.syntax, maxQueryBytes: prepared.maxQueryBytes, reject, maxEnforced, key });
  return key;
}

/** Estimated bytes of a cache entry beyond its strings (the text's, and each variant's). */
const OVERHEAD_BYTES = 200;
/** Most variants kept per text (dialects × policies; at most `maxEntries` too); more start the text's entry afresh. */
export const MAX_VARIANTS_PER_TEXT = 256;

function copy(err: PromQLError): PromQLError {
  return new PromQLError(err.code, err.message, { position: err.position, cause: err.cause, ...(err.tenant === undefined ? {} : { tenant: err.tenant }) });
}

/**
 * The cached enforcer the gateway uses: {@link Enforcer.prepare} (step 1) and
 * {@link Enforcer.apply} (step 2) have exactly the semantics and errors of
 * `prepareQuery`/`prepareSeriesSelector` and `applyPolicy` in ./enforce.ts.
 *
 * Keys hold every input that changes the answer: the step, kind, dialect, size cap,
 * foreign-tenant option, the policy's key (JSON, so no two policies collide) and the text,
 * joined by NUL characters with the text last (no field before it can contain NUL, so a key
 * splits one way only). Size refusals are not cached: the size check is cheaper than a lookup.
 */
export class Enforcer {
  readonly #cache: LRUCache<string, CacheValue> | undefined;
  /** Hit and miss counters, for metrics. */
  readonly stats: EnforcerStats = { hits: 0, misses: 0 };
  #slowRefusalHits = 0;
  /** Budget refusals by hash of (kind, dialect, text); see {@link EnforcerOptions.slowRefusalTtlMs}. */
  readonly #slow: LRUCache<string, string>;
  readonly #steps: EnforcerSteps;
  /** Results cached (variants over every text), and their bound. */
  #results = 0;
  readonly #maxResults: number;
  /** The text entry of the last lookup (a return channel of `#lookup` that allocates nothing). */
  #lastEntry: TextEntry | undefined;

  /** @param options cache bounds ({@link EnforcerOptions}) */
  constructor(options: EnforcerOptions = {}) {
    const maxEntries = Math.max(0, Math.floor(options.maxEntries ?? DEFAULT_CACHE_ENTRIES));
    const maxBytes = Math.max(1, Math.floor(options.maxBytes ?? DEFAULT_CACHE_BYTES));
    this.#maxResults = maxEntries;
    this.#cache = maxEntries === 0 ? undefined : new LRUCache<string, CacheValue>({
      max: maxEntries,
      maxSize: maxBytes,
      maxEntrySize: Math.max(1, Math.floor(maxBytes / 16)),
      sizeCalculation: (value) => value.entry.size,
      // A text evicted or deleted takes its results along; a wrapper replaced by `set` does not
      // (the new wrapper holds the same variants).
      dispose: (value, _key, reason) => {
        if (reason !== 'set') this.#results -= value.entry.variants.size;
      },
    });
    this.#slow = new LRUCache<string, string>({
      max: SLOW_REFUSAL_ENTRIES,
      maxSize: SLOW_REFUSAL_ENTRIES * 256,
      sizeCalculation: (message, key) => 64 + 2 * (key.length + message.length),
      ttl: Math.max(1, options.slowRefusalTtlMs ?? DEFAULT_SLOW_REFUSAL_TTL_MS),
      ttlResolution: 0,
      ...(options.now ? { perf: { now: options.now } } : {}),
    });
    this.#steps = { prepareQuery, prepareSeriesSelector, applyPolicy, ...options.steps };
  }

  /** Requests refused from the memory of budget refusals (no parse ran), since creation. */
  get slowRefusalHits(): number {
    return this.#slowRefusalHits;
  }

  /** Number of remembered budget refusals (live or expired but not yet evicted). */
  get slowRefusals(): number {
    return this.#slow.size;
  }

  /** Number of cached results (a text's validation and each of its enforced prints count one each). */
  get size(): number {
    return this.#results;
  }

  /** Estimated bytes held (see {@link EnforcerOptions.maxBytes}). */
  get bytes(): number {
    return this.#cache?.calculatedSize ?? 0;
  }

  /** Drops every entry (e.g. on configuration reload). */
  clear(): void {
    this.#cache?.clear();
    this.#results = 0;
  }

  /**
   * Step 1, cached: parse and validate.
   *
   * @throws PromQLError as `prepareQuery` / `prepareSeriesSelector`
   */
  prepare(kind: TextKind, text: string, opts: PrepareOptions): Prepared {
    const maxQueryBytes = opts.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES;
    let fresh: Prepared | undefined;
    // The cached value of a validation is its subquery spans (usually '': none).
    const spans = this.#lookup(text, this.#cache?.get(text)?.entry, prepareKey(kind, opts.syntax, maxQueryBytes), () => textHash(kind, opts.syntax, text), () => {
      fresh = kind === 'query' ? this.#steps.prepareQuery(text, opts) : this.#steps.prepareSeriesSelector(text, opts);
      return encodeSpans(fresh.subqueries);
    });
    const entry = this.#lastEntry;
    if (fresh !== undefined) return entry === undefined ? fresh : { ...fresh, cacheEntry: entry };
    return { kind, text, syntax: opts.syntax, maxQueryBytes, tree: undefined, cacheEntry: entry, subqueries: decodeSpans(spans) };
  }

  /**
   * Step 2, cached: apply a policy and print.
   *
   * @throws PromQLError as `applyPolicy`
   */
  apply(prepared: Prepared, policy: AccessPolicy, opts: PolicyOptions = {}): string {
    return this.#lookup(prepared.text, this.#entryOf(prepared), applyKey('a', prepared, policy, opts), () => textHash(prepared.kind, prepared.syntax, prepared.text), () => this.#steps.applyPolicy(prepared, policy, opts));
  }

  /**
   * Step 2 for a `match[]` value, cached: one enforced selector per matcher set of the policy
   * (the cross product of this `match[]` with the policy's selectors).
   *
   * @throws PromQLError as `applyPolicyEach`
   */
  applyEach(prepared: Prepared, policy: AccessPolicy, opts: PolicyOptions = {}): string[] {
    return JSON.parse(this.#lookup(prepared.text, this.#entryOf(prepared), applyKey('e', prepared, policy, opts), () => textHash(prepared.kind, prepared.syntax, prepared.text), () => JSON.stringify(applyPolicyEach(prepared, policy, opts)))) as string[];
  }

  /** Both steps for a PromQL expression (cached `enforceQuery`). */
  enforceQuery(query: string, opts: EnforceOptions): string {
    return this.apply(this.prepare('query', query, opts), opts.policy, opts);
  }

  /** Both steps for one series selector (cached `enforceSeriesSelector`). */
  enforceSeriesSelector(selector: string, opts: EnforceOptions): string {
    return this.apply(this.prepare('selector', selector, opts), opts.policy, opts);
  }

  /** The cache entry of a prepared text: the one it was prepared from, else the cache's. */
  #entryOf(prepared: Prepared): TextEntry | undefined {
    const linked = prepared.cacheEntry as TextEntry | undefined;
    return linked !== undefined && linked.owner === this ? linked : this.#cache?.get(prepared.text)?.entry;
  }

  /**
   * One cached step: the result of `variant` for `text`, from `known` (the text's entry) when
   * it holds it, else computed and stored in the text's entry. A hit costs no hashing; only a
   * miss hashes the text (`hashOf`) to consult and feed the memory of budget refusals, so the
   * warm path stays free of SHA-256.
   *
   * @returns the result; the text's entry is left in `#lastEntry` (undefined when caching is off)
   */
  #lookup(text: string, known: TextEntry | undefined, variant: string, hashOf: () => string, compute: () => string): string {
    const cache = this.#cache;
    this.#lastEntry = known;
    if (cache === undefined) return this.#remembering(hashOf(), compute);
    const hit = known?.variants.get(variant);
    if (hit !== undefined) {
      this.stats.hits++;
      if ('ok' in hit) return hit.ok;
      throw copy(hit.err);
    }
    this.stats.misses++;
    let result: Entry;
    try {
      result = { ok: this.#remembering(hashOf(), compute) };
    } catch (err) {
      if (!(err instanceof PromQLError)) throw err;
      // Size and parse-time refusals are not cached: the size check is cheap, and a parse that
      // ran out of its wall-clock budget on a busy machine must not stick.
      if (err.code === 'query_too_large') throw err;
      result = { err };
    }
    const entry = known ?? { owner: this, variants: new Map<string, Entry>(), size: OVERHEAD_BYTES + 2 * text.length };
    const before = cache.has(text);
    if (entry.variants.size >= Math.min(MAX_VARIANTS_PER_TEXT, this.#maxResults)) {
      if (before) this.#results -= entry.variants.size;
      entry.variants.clear();
      entry.size = OVERHEAD_BYTES + 2 * text.length;
    }
    entry.variants.set(variant, result);
    entry.size += 2 * (variant.length + ('ok' in result ? result.ok.length : result.err.message.length));
    // A fresh wrapper: lru-cache recomputes the size and moves the text to the front (an entry
    // over its size bound is not stored, and a stored one it replaces is dropped).
    cache.set(text, { entry });
    const after = cache.has(text);
    if (after) this.#results += before ? 1 : entry.variants.size;
    else if (before) this.#results -= entry.variants.size - 1;
    // The bound counts results: drop the least recently used texts until it holds.
    while (this.#results > this.#maxResults && cache.size > 1) cache.pop();
    this.#lastEntry = entry;
    if ('ok' in result) return result.ok;
    throw copy(result.err);
  }

  /** Runs `compute` unless `hash` is a remembered budget refusal; remembers a new one. */
  #remembering(hash: string, compute: () => string): string {
    const slow = this.#slow.get(hash);
    if (slow !== undefined) {
      this.#slowRefusalHits++;
      throw new PromQLError('query_too_large', slow);
    }
    try {
      return compute();
    } catch (err) {
      if (err instanceof ParseBudgetError) this.#slow.set(hash, err.message);
      throw err;
    }
  }
}

/** SHA-256 (base64) of what decides a parse: the kind, the dialect and the text. */
function textHash(kind: TextKind, syntax: string, text: string): string {
  return createHash('sha256').update(`${kind}\u0000${syntax}\u0000`).update(text).digest('base64');
}
