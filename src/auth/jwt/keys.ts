/**
 * Verification keys of one JWT issuer: an HMAC secret, static public keys, or a JWK Set
 * fetched from `jwks_url` or through OIDC discovery, cached, refreshed in the background and
 * refetched on an unknown `kid` at most once per {@link JWKS_REFETCH_INTERVAL_MS}.
 *
 * Key matching (kid, kty, alg, use, curve) and import are jose's (`createLocalJWKSet`); this
 * module owns only what jose's `createRemoteJWKSet` does differently from what promfence
 * needs: a private CA for the fetch, a rate limit that also counts failed fetches (a JWKS
 * endpoint that is down is not hammered, and its callers get a fast 401 instead of each
 * waiting for a timeout), stale keys kept while a refresh fails, and an injectable clock.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTHeaderParameters, type JWTVerifyGetKey } from 'jose';
import type { JwtIssuerConfig } from '../../config/types.ts';
import { fetchJson, KeyFetchError } from './fetch.ts';

/** Minimum time between two JWKS fetches of one issuer (a `kid` miss refetches at most this often), ms. */
export const JWKS_REFETCH_INTERVAL_MS = 10_000;
/** Most keys kept from one JWK Set. */
export const MAX_JWKS_KEYS = 100;

/** The keys of an issuer cannot be obtained (fetch failed and nothing cached). */
export class KeysUnavailableError extends Error {
  readonly code = 'jwks_unavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeysUnavailableError';
  }
}

/** What a verification needs from an issuer's keys. */
export interface IssuerKeys {
  /** The key argument of jose's `jwtVerify`: a secret, or a resolver by protected header. */
  readonly key: Uint8Array | JWTVerifyGetKey;
  /** Fetches the keys now (start-up warm-up, `check-config --probe`); resolves the number of keys, rejects with the cause. */
  load(): Promise<number>;
  /** Stops background work and aborts a pending fetch. */
  close(): void;
}

/** Observations of a remote key set, for logs. */
export interface KeyEvents {
  /** A fetch succeeded: `keys` keys from `url`. */
  loaded?(issuer: string, url: string, keys: number): void;
  /** A fetch failed (the previous keys, if any, stay in use). */
  failed?(issuer: string, error: Error): void;
}

/** Options of {@link createIssuerKeys}. */
export interface IssuerKeysOptions {
  /** Monotonic clock, ms (default `performance.now`): rate limit and refresh age. */
  readonly now?: () => number;
  readonly events?: KeyEvents;
}

/** A resolver over a static list of JWKs; keys without `kid` also match tokens that carry one. */
function staticResolver(keys: readonly Record<string, unknown>[]): JWTVerifyGetKey {
  const all = createLocalJWKSet({ keys: keys as JSONWebKeySet['keys'] });
  const withoutKid = keys.filter((k) => k['kid'] === undefined);
  const anyKid = withoutKid.length > 0 ? createLocalJWKSet({ keys: withoutKid as JSONWebKeySet['keys'] }) : undefined;
  return async (header, token) => {
    try {
      return await all(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey && header.kid !== undefined && anyKid !== undefined) {
        return anyKid({ ...header, kid: undefined } as JWTHeaderParameters, undefined as never);
      }
      throw err;
    }
  };
}

/** Reads the `jwks_uri` of an OpenID Provider configuration (OpenID Connect Discovery 1.0 §3, §4.3). */
function jwksUriOf(doc: unknown, issuer: string, url: string): string {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new KeyFetchError('invalid_json', `${url}: not a JSON object`);
  const d = doc as Record<string, unknown>;
  // §4.3: the issuer in the document must be identical to the one the configuration names.
  if (d['issuer'] !== issuer) throw new KeyFetchError('invalid_json', `${url}: its "issuer" is ${JSON.stringify(String(d['issuer'])).slice(0, 200)}, not ${JSON.stringify(issuer)} as configured`);
  const uri = d['jwks_uri'];
  if (typeof uri !== 'string') throw new KeyFetchError('invalid_json', `${url}: no "jwks_uri"`);
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new KeyFetchError('invalid_json', `${url}: "jwks_uri" is not a URL`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && issuer.startsWith('http:'))) {
    throw new KeyFetchError('invalid_json', `${url}: "jwks_uri" must be https (it is ${JSON.stringify(u.protocol)})`);
  }
  return u.href;
}

/** Validates a fetched JWK Set and builds jose's resolver over it (at most {@link MAX_JWKS_KEYS} keys). */
function localSet(json: unknown, url: string): { resolver: JWTVerifyGetKey; count: number } {
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new KeyFetchError('invalid_json', `${url}: not a JWK Set ({"keys": […]})`);
  if (keys.length > MAX_JWKS_KEYS) throw new KeyFetchError('too_large', `${url}: more than ${MAX_JWKS_KEYS} keys`);
  // Symmetric and private members are never verification keys of a published set.
  const usable = keys.filter((k): k is Record<string, unknown> => k !== null && typeof k === 'object' && (k as Record<string, unknown>)['kty'] !== 'oct' && !Object.hasOwn(k, 'd'));
  try {
    return { resolver: createLocalJWKSet({ keys: usable as JSONWebKeySet['keys'] }), count: usable.length };
  } catch (err) {
    throw new KeyFetchError('invalid_json', `${url}: malformed JWK Set`, { cause: err });
  }
}

/**
 * A JWK Set fetched from the network (`jwks_url`, or `discovery`), with these rules:
 *
 * - the first verification (or {@link IssuerKeys.load}) fetches; concurrent callers share one
 *   fetch;
 * - keys older than `refresh_interval` are refreshed in the background while the old ones keep
 *   serving; a failed refresh keeps them (logged);
 * - a token whose `kid` matches no key waits for one refetch, but only if the last fetch
 *   attempt (successful or not) is at least {@link JWKS_REFETCH_INTERVAL_MS} old: keys rotate
 *   without a restart, and a flood of made-up `kid`s costs the identity provider at most one
 *   request per 10 s;
 * - with no keys and no fetch allowed yet, verification fails at once with
 *   {@link KeysUnavailableError} (401 `jwks_unavailable`): no caller waits on an endpoint
 *   that is down longer than one `fetch_timeout`, and only callers of this issuer ever wait.
 */
class RemoteKeySet {
  private resolver: JWTVerifyGetKey | undefined;
  private fetchedAt: number | undefined;
  private attemptedAt: number | undefined;
  private pending: Promise<void> | undefined;
  private lastError: Error | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly cfg: JwtIssuerConfig,
    private readonly source: { kind: 'jwks_url' | 'discovery'; url: string },
    private readonly now: () => number,
    private readonly events: KeyEvents,
  ) {}

  private canFetch(): boolean {
    return this.attemptedAt === undefined || this.now() - this.attemptedAt >= JWKS_REFETCH_INTERVAL_MS;
  }

  private async fetchKeys(): Promise<{ resolver: JWTVerifyGetKey; count: number; url: string }> {
    const opts = { timeoutMs: this.cfg.fetch_timeout_ms, ca: this.cfg.ca, signal: this.abort.signal };
    let url = this.source.url;
    if (this.source.kind === 'discovery') url = jwksUriOf(await fetchJson(url, opts), this.cfg.issuer ?? '', url);
    return { ...localSet(await fetchJson(url, opts), url), url };
  }

  /** Starts a fetch (or joins the running one); never rejects. */
  refresh(): Promise<void> {
    if (this.pending !== undefined) return this.pending;
    this.attemptedAt = this.now();
    const p = this.fetchKeys().then((r) => {
      this.resolver = r.resolver;
      this.fetchedAt = this.now();
      this.lastError = undefined;
      this.events.loaded?.(this.cfg.name, r.url, r.count);
    }, (err: unknown) => {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      if (!this.abort.signal.aborted) this.events.failed?.(this.cfg.name, this.lastError);
    }).finally(() => {
      if (this.pending === p) this.pending = undefined;
    });
    this.pending = p;
    return p;
  }

  private unavailable(): KeysUnavailableError {
    const why = this.lastError?.message ?? 'no fetch has completed yet';
    return new KeysUnavailableError(`the keys of issuer ${JSON.stringify(this.cfg.name)} cannot be fetched (${why})`, { cause: this.lastError });
  }

  readonly key: JWTVerifyGetKey = async (header, token) => {
    if (this.resolver === undefined) {
      if (this.pending === undefined && this.canFetch()) void this.refresh();
      if (this.pending !== undefined) await this.pending;
      if (this.resolver === undefined) throw this.unavailable();
    } else if (this.fetchedAt !== undefined && this.now() - this.fetchedAt >= this.cfg.refresh_interval_ms && this.canFetch()) {
      void this.refresh(); // background: the current keys keep serving
    }
    const current = this.resolver;
    try {
      return await current(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      if (this.pending === undefined && this.canFetch()) void this.refresh();
      if (this.pending === undefined) throw err;
      await this.pending;
      return (this.resolver ?? current)(header, token);
    }
  };

  async load(): Promise<number> {
    const before = this.fetchedAt;
    await this.refresh();
    if (this.fetchedAt === undefined || this.fetchedAt === before) throw this.unavailable();
    return this.count();
  }

  private count(): number {
    const r = this.resolver as (JWTVerifyGetKey & { jwks?: () => JSONWebKeySet }) | undefined;
    return r?.jwks?.().keys.length ?? 0;
  }

  close(): void {
    this.abort.abort();
  }
}

/**
 * The keys of one configured issuer.
 *
 * @param cfg the issuer (`keys` decides: `hmac` → the secret's UTF-8 bytes; `public_keys` →
 *   a local set; `jwks_url`/`discovery` → a {@link RemoteKeySet})
 * @param options clock and log events
 */
export function createIssuerKeys(cfg: JwtIssuerConfig, options: IssuerKeysOptions = {}): IssuerKeys {
  const k = cfg.keys;
  switch (k.kind) {
    case 'hmac': {
      const secret = new TextEncoder().encode(k.secret);
      return { key: secret, load: () => Promise.resolve(1), close: () => {} };
    }
    case 'public_keys': {
      const key = staticResolver(k.keys);
      return { key, load: () => Promise.resolve(k.keys.length), close: () => {} };
    }
    case 'jwks_url':
    case 'discovery': {
      const set = new RemoteKeySet(cfg, k, options.now ?? (() => performance.now()), options.events ?? {});
      return { key: set.key, load: () => set.load(), close: () => set.close() };
    }
    default: {
      const never: never = k;
      throw new Error(`unknown key source ${JSON.stringify(never)}`);
    }
  }
}
