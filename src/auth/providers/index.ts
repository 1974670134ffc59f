/**
 * The provider factory: one case per member of the config union `AuthProviderConfig`
 * (src/config/types.ts). `config.auth.providers` is already in `auth.order`, holding only
 * configured methods (the schema drops a method with no credentials, so e.g. the basic
 * provider exists only when `auth.basic_users` is non-empty).
 */
import type { AuthProviderConfig } from '../../config/types.ts';
import { createPasswordPool, type PasswordPool, type PasswordPoolOptions } from '../password-pool.ts';
import type { AuthProvider } from '../provider.ts';
import { basicProvider, createBasicVerifier, type PasswordCompare } from './basic.ts';
import { bearerTokensProvider } from './bearer-tokens.ts';
import type { KeyEvents } from '../jwt/keys.ts';
import { jwtProvider } from './jwt.ts';
import { mtlsProvider } from './mtls.ts';
import { trustedHeaderProvider } from './trusted-header.ts';

/** Test seams of {@link createProvider}; production passes none. */
export interface ProviderSeams {
  /** bcrypt compare (default: a {@link createPasswordPool} of worker threads). */
  readonly compare?: PasswordCompare;
  /** Options of the default password pool (worker count, queue bound). */
  readonly passwordPool?: PasswordPoolOptions;
  /** Clock for the basic cache, ms. */
  readonly now?: () => number;
  /** Maximum cached basic credentials (default 1000). */
  readonly basicCacheMaxEntries?: number;
  /** Wall clock for JWT `exp`/`nbf` and the verified-token cache, epoch ms (default `Date.now`). */
  readonly jwtClock?: () => number;
  /** Monotonic clock for the JWKS refetch rate limit and refresh age, ms (default `performance.now`). */
  readonly jwksNow?: () => number;
  /** Fetch remote JWK Sets when the provider is created (default true). */
  readonly jwksPrefetch?: boolean;
  /** Key-set events (the authenticator logs them). */
  readonly keyEvents?: KeyEvents;
}

/**
 * Builds the provider of one configured method.
 *
 * @param pc one entry of `config.auth.providers`
 * @param realm `auth.realm` (challenges)
 * @param seams test seams
 */
export function createProvider(pc: AuthProviderConfig, realm: string, seams: ProviderSeams = {}): AuthProvider {
  switch (pc.kind) {
    case 'bearer_tokens':
      return bearerTokensProvider(pc.tokens, realm);
    case 'basic': {
      // bcrypt runs in worker threads (../password-pool.ts), started on the first check.
      const pool = seams.compare ? undefined : createPasswordPool(seams.passwordPool);
      const compare = seams.compare ?? ((password: string, hash: string, client?: string) => (pool as PasswordPool).compare(password, hash, client));
      return basicProvider(createBasicVerifier({
        users: pc.users,
        ttlMs: pc.cache_ttl_ms,
        compare,
        ...(seams.now ? { now: seams.now } : {}),
        ...(seams.basicCacheMaxEntries !== undefined ? { maxEntries: seams.basicCacheMaxEntries } : {}),
      }), realm, pool ? () => pool.close() : undefined);
    }
    case 'jwt':
      return jwtProvider({
        issuers: pc.issuers,
        realm,
        cacheSize: pc.cache_size,
        cacheMaxBytes: pc.cache_max_bytes,
        ...(seams.jwtClock ? { clock: seams.jwtClock } : {}),
        ...(seams.jwksNow ? { now: seams.jwksNow } : {}),
        ...(seams.jwksPrefetch !== undefined ? { prefetch: seams.jwksPrefetch } : {}),
        ...(seams.keyEvents ? { events: seams.keyEvents } : {}),
      });
    case 'mtls':
      return mtlsProvider(pc.subject_from, pc.groups_from);
    case 'trusted_header':
      return trustedHeaderProvider(pc.user_header, pc.groups_header, pc.trusted_cidrs);
    default: {
      const never: never = pc;
      throw new Error(`unknown auth provider ${JSON.stringify((never as { kind?: unknown }).kind)}`);
    }
  }
}
