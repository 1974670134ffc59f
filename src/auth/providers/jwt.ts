/**
 * Provider `jwt`: bearer tokens that are JWTs, verified with jose against the issuers of
 * `auth.jwt` (HMAC secrets as cortex-gateway uses, static public keys, a JWKS URL, OIDC
 * discovery incl. Kubernetes service-account issuers), their claims turned into a
 * {@link Principal} with subject, groups and claim tenants.
 */
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { principal, type Principal } from '../../access/principal.ts';
import { quoteForMessage } from '../../access/tenant-id.ts';
import type { JwtIssuerConfig } from '../../config/types.ts';
import { claimsToIdentity } from '../jwt/claims.ts';
import { createIssuerKeys, type IssuerKeys, type KeyEvents } from '../jwt/keys.ts';
import { verifyJwt } from '../jwt/verify.ts';
import type { AuthOutcome, AuthProvider } from '../provider.ts';

/** Largest JWT accepted, bytes (longer JWT-shaped tokens are refused before any decoding). */
export const MAX_JWT_BYTES = 8 * 1024;
/** How long a refusal that does not depend on time or on fetched keys is remembered, ms. */
export const JWT_REFUSAL_CACHE_MS = 60_000;

/** A compact JWS: three base64url parts (the signature may be empty, as in `alg: none`). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** True when `token` has the shape of a compact JWT (anything else falls through to other providers). */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/** Refusals that stay refusals (the token, not time or fetched keys, decides them). */
const LASTING = new Set([
  'malformed_token', 'alg_none', 'unknown_issuer', 'expired', 'missing_exp', 'wrong_issuer', 'wrong_audience',
  'algorithm_not_allowed', 'bad_signature', 'invalid_claims', 'invalid_token', 'missing_subject',
  'invalid_subject_claim', 'invalid_groups_claim', 'invalid_tenants_claim', 'unrestricted_claim',
]);

type Fail = Extract<AuthOutcome, { kind: 'fail' }>;
type CacheEntry = { readonly ok: true; readonly principal: Principal; readonly expiresAt: number } | { readonly ok: false; readonly fail: Fail; readonly expiresAt: number };

/** Options of {@link jwtProvider}. */
export interface JwtProviderOptions {
  /** `auth.jwt`. */
  readonly issuers: readonly JwtIssuerConfig[];
  /** `auth.realm`, for the challenge. */
  readonly realm: string;
  /** Verified-token cache entries (`auth.jwt_cache_size`; 0 disables). */
  readonly cacheSize: number;
  /** Verified-token cache bound, bytes (`auth.jwt_cache_max_bytes`). */
  readonly cacheMaxBytes: number;
  /** Wall clock, epoch ms, for `exp`/`nbf` and cache expiry (default `Date.now`; frozen in tests). */
  readonly clock?: () => number;
  /** Monotonic clock, ms, for the JWKS rate limit and refresh (default `performance.now`). */
  readonly now?: () => number;
  /** Key-set log events (fetch successes and failures). */
  readonly events?: KeyEvents;
  /** Fetch every remote key set at creation (default true; the first token then finds them warm). */
  readonly prefetch?: boolean;
}

/** The provider plus its issuers' key sets (for `check-config --probe`). */
export interface JwtProvider extends AuthProvider {
  readonly keys: ReadonlyMap<string, IssuerKeys>;
}

function fail(reason: string, message: string, detail?: string): Fail {
  return { kind: 'fail', reason, message, ...(detail !== undefined ? { detail } : {}) };
}

/** Estimated bytes of a cache entry (UTF-16 strings plus overhead). */
function entrySize(e: CacheEntry, key: string): number {
  if (!e.ok) return 200 + 2 * (key.length + e.fail.message.length + e.fail.reason.length);
  const p = e.principal;
  const claims = p.claims === undefined ? 0 : JSON.stringify(p.claims).length;
  return 300 + 2 * (key.length + p.subject.length + claims) + p.groups.reduce((n, g) => n + 2 * g.length + 40, 0) + p.tenants.reduce((n, t) => n + 2 * t.length + 40, 0);
}

/**
 * The JWT provider.
 *
 * Per request (after `Authorization: Bearer <token>` was parsed):
 * 1. a token that is not JWT-shaped → `skip` (static bearer tokens handle it); a JWT-shaped
 *    token over {@link MAX_JWT_BYTES} → `token_too_large`;
 * 2. the verified-token cache (keyed by SHA-256 of the token): a success is reused until the
 *    token's `exp` (at most the issuer's `refresh_interval`, so a key removed from a JWKS
 *    stops its tokens within that time); lasting refusals are remembered for
 *    {@link JWT_REFUSAL_CACHE_MS}; concurrent checks of one token share one verification;
 * 3. `alg: none` → `alg_none`; the candidate issuers are the one whose `issuer` equals the
 *    token's `iss`, then every HMAC issuer without `issuer` whose `algorithms` hold the
 *    token's `alg` (cortex-gateway's tokens carry no `iss`); none → `unknown_issuer`;
 * 4. each candidate in turn: signature and claims (../jwt/verify.ts), then claims → subject,
 *    groups, tenants (../jwt/claims.ts); the first success wins, else the refusal of the
 *    `iss`-matched issuer (or the first candidate) is returned.
 *
 * Every refusal is a `fail` (401 `unauthenticated`) with a stable reason; a JWKS that cannot
 * be fetched is `jwks_unavailable` (401, never 500), and only callers of that issuer wait.
 */
export function jwtProvider(options: JwtProviderOptions): JwtProvider {
  const clock = options.clock ?? Date.now;
  const keys = new Map<string, IssuerKeys>();
  for (const cfg of options.issuers) {
    keys.set(cfg.name, createIssuerKeys(cfg, { ...(options.now ? { now: options.now } : {}), ...(options.events ? { events: options.events } : {}) }));
  }
  if (options.prefetch !== false) {
    for (const cfg of options.issuers) {
      if (cfg.keys.kind === 'jwks_url' || cfg.keys.kind === 'discovery') void keys.get(cfg.name)?.load().catch(() => {});
    }
  }
  const byIssuer = new Map(options.issuers.filter((c) => c.issuer !== undefined).map((c) => [c.issuer as string, c]));
  const anyIssuer = options.issuers.filter((c) => c.issuer === undefined);
  const cache = options.cacheSize <= 0 ? undefined : new LRUCache<string, CacheEntry>({
    max: options.cacheSize,
    maxSize: options.cacheMaxBytes,
    sizeCalculation: (v, k) => Math.max(1, entrySize(v, k)),
    maxEntrySize: Math.max(1, Math.floor(options.cacheMaxBytes / 16)),
  });
  const inflight = new Map<string, Promise<AuthOutcome>>();

  async function verify(token: string): Promise<{ outcome: AuthOutcome; expiresAt: number | undefined }> {
    let alg: unknown;
    let payload: JWTPayload;
    try {
      alg = decodeProtectedHeader(token).alg;
      payload = decodeJwt(token);
    } catch (err) {
      return { outcome: fail('malformed_token', 'invalid JWT: the token is not a well-formed JWT', err instanceof Error ? err.message : String(err)), expiresAt: undefined };
    }
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') {
      return { outcome: fail('alg_none', 'invalid JWT: unsigned tokens ("alg": "none") are never accepted'), expiresAt: undefined };
    }
    const iss = payload.iss;
    const matched = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
    // Issuer-less (HMAC) issuers are a fallback for tokens their algorithms could verify.
    const candidates = [...(matched ? [matched] : []), ...anyIssuer.filter((c) => c.algorithms.includes(alg as string))];
    if (candidates.length === 0) {
      const shown = typeof iss === 'string' ? `issuer ${quoteForMessage(iss, 200)} is` : 'tokens without an issuer ("iss") are';
      return { outcome: fail('unknown_issuer', `invalid JWT: ${shown} not accepted here`), expiresAt: undefined };
    }
    let first: Fail | undefined;
    for (const cfg of candidates) {
      const k = keys.get(cfg.name);
      if (k === undefined) continue;
      const v = await verifyJwt(token, k.key, cfg, clock(), alg);
      if (!v.ok) {
        first ??= fail(v.reason, v.message, `issuer ${cfg.name}: ${v.detail}`);
        continue;
      }
      const id = claimsToIdentity(v.payload, cfg);
      if (!id.ok) {
        first ??= fail(id.reason, id.message, `issuer ${cfg.name}`);
        continue;
      }
      const p = principal(id.subject, 'jwt', { groups: id.groups, tenants: id.tenants, claims: v.payload as Record<string, unknown> });
      const exp = typeof v.payload.exp === 'number' ? v.payload.exp * 1000 : Number.POSITIVE_INFINITY;
      return { outcome: { kind: 'success', principal: p }, expiresAt: Math.min(exp, clock() + cfg.refresh_interval_ms) };
    }
    return { outcome: first ?? fail('unknown_issuer', 'invalid JWT: no configured issuer can verify it'), expiresAt: undefined };
  }

  return {
    method: 'jwt',
    challenge: `Bearer realm="${options.realm}"`,
    keys,
    async authenticate(input) {
      const h = input.authorization;
      if (h.kind !== 'bearer' || !looksLikeJwt(h.token)) return { kind: 'skip' };
      if (h.token.length > MAX_JWT_BYTES) return fail('token_too_large', `invalid JWT: the token is longer than ${MAX_JWT_BYTES} bytes`);
      const id = createHash('sha256').update(h.token, 'utf8').digest('base64');
      const hit = cache?.get(id);
      if (hit !== undefined) {
        if (hit.expiresAt > clock()) return hit.ok ? { kind: 'success', principal: hit.principal } : hit.fail;
        cache?.delete(id);
      }
      const pending = inflight.get(id);
      if (pending !== undefined) return pending;
      const p = verify(h.token).then(({ outcome, expiresAt }) => {
        if (cache !== undefined) {
          if (outcome.kind === 'success' && expiresAt !== undefined && expiresAt > clock()) cache.set(id, { ok: true, principal: outcome.principal, expiresAt });
          else if (outcome.kind === 'fail' && LASTING.has(outcome.reason)) cache.set(id, { ok: false, fail: outcome, expiresAt: clock() + JWT_REFUSAL_CACHE_MS });
        }
        return outcome;
      }).finally(() => inflight.delete(id));
      inflight.set(id, p);
      return p;
    },
    close() {
      for (const k of keys.values()) k.close();
    },
  };
}
