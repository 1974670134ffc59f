/**
 * Provider `bearer_tokens`: static bearer tokens (`auth.bearer_tokens`), compared as
 * SHA-256 digests in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { principal, type Principal } from '../../access/principal.ts';
import type { BearerTokenEntry } from '../../config/types.ts';
import type { AuthProvider } from '../provider.ts';

/** Message of a 401 with a bearer token that matches no configured credential. */
export const MSG_INVALID_BEARER = 'invalid bearer token';

/**
 * Finds the configured entry whose `token_sha256` equals SHA-256(`token`).
 *
 * Timing: the token is hashed first (so its length does not steer the comparison) and the
 * digest is compared with `crypto.timingSafeEqual` against EVERY entry, without an early
 * exit, so response time does not reveal which entry (or how many bytes) matched.
 *
 * @param token the bearer token as sent by the client (not trimmed)
 * @param entries `config.auth.bearer_tokens` (digests: 64 lowercase hex characters)
 * @returns the principal (`method: 'bearer_tokens'`), or `null` for an unknown or empty token
 */
export function verifyBearerToken(token: string, entries: readonly BearerTokenEntry[]): Principal | null {
  return bearerTokenMatcher(entries)(token);
}

/**
 * {@link verifyBearerToken} with the per-entry work done once (issue #10): each entry's
 * digest is decoded and its principal (frozen, shared by every request of that token) built
 * when the provider is created, so a request costs one SHA-256 and the comparisons.
 *
 * @param entries `config.auth.bearer_tokens`
 * @returns `token → principal | null`, with the timing properties of {@link verifyBearerToken}
 */
export function bearerTokenMatcher(entries: readonly BearerTokenEntry[]): (token: string) => Principal | null {
  const prepared = entries.map((e) => ({ digest: Buffer.from(e.token_sha256, 'hex'), principal: principal(e.subject, 'bearer_tokens', { groups: e.groups }) }));
  return (token) => {
    if (token.length === 0) return null;
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let match: Principal | null = null;
    for (const entry of prepared) {
      const equal = entry.digest.length === digest.length && timingSafeEqual(digest, entry.digest);
      if (equal && match === null) match = entry.principal;
    }
    return match;
  };
}

/**
 * The provider: reads `Authorization: Bearer <token>` only (never `access_token`
 * parameters). A token that matches no entry is a `fail` with reason `invalid_bearer_token`,
 * after which passport tries the next provider (a JWT issuer, when configured).
 *
 * @param entries `config.auth.bearer_tokens`
 * @param realm `auth.realm`, for the challenge
 */
export function bearerTokensProvider(entries: readonly BearerTokenEntry[], realm: string): AuthProvider {
  const verify = bearerTokenMatcher(entries);
  return {
    method: 'bearer_tokens',
    challenge: `Bearer realm="${realm}"`,
    authenticate(input) {
      const h = input.authorization;
      if (h.kind !== 'bearer') return { kind: 'skip' };
      const p = verify(h.token);
      // Weak: a token no entry knows may be another provider's (a JWT), which then explains a refusal better.
      return p === null ? { kind: 'fail', reason: 'invalid_bearer_token', message: MSG_INVALID_BEARER, weak: true } : { kind: 'success', principal: p };
    },
  };
}
