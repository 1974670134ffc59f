/**
 * Static bearer tokens: verification against configured SHA-256 digests, and the passport
 * strategy that uses it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Strategy } from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { BearerTokenEntry } from '../config/types.ts';
import type { Principal } from '../http/context.ts';
import { parseAuthorization } from './header.ts';

/**
 * Finds the configured entry whose `token_sha256` equals SHA-256(`token`).
 *
 * Timing: the token is hashed first (so its length does not steer the comparison) and the
 * digest is compared with `crypto.timingSafeEqual` against EVERY entry, without an early
 * exit, so response time does not reveal which entry (or how many bytes) matched.
 *
 * @param token the bearer token as sent by the client (not trimmed)
 * @param entries `config.auth.bearer_tokens` (digests: 64 lowercase hex characters)
 * @returns the principal (`method: 'bearer'`), or `null` for an unknown or empty token
 */
export function verifyBearerToken(token: string, entries: readonly BearerTokenEntry[]): Principal | null {
  if (token.length === 0) return null;
  const digest = createHash('sha256').update(token, 'utf8').digest();
  let match: BearerTokenEntry | null = null;
  for (const entry of entries) {
    const expected = Buffer.from(entry.token_sha256, 'hex');
    const equal = expected.length === digest.length && timingSafeEqual(digest, expected);
    if (equal && match === null) match = entry;
  }
  if (match === null) return null;
  return Object.freeze({ subject: match.subject, groups: Object.freeze([...match.groups]), method: 'bearer' as const });
}

/**
 * The passport strategy (`name: 'bearer'`). passport-http-bearer also reads `access_token`
 * from the query string and body; the verify callback therefore accepts a token only when it
 * is exactly the one in the `Authorization` header (the middleware refuses `access_token`
 * before passport runs, this is the second line).
 *
 * @param entries `config.auth.bearer_tokens`
 * @param realm realm for passport's own challenge (the middleware replaces the final header)
 */
export function createBearerStrategy(entries: readonly BearerTokenEntry[], realm: string): Strategy {
  return new BearerStrategy({ realm, passReqToCallback: true }, (req: Request, token: string, done: (err: unknown, user?: Principal | false) => void) => {
    const header = parseAuthorization(req.headers.authorization);
    if (header.kind !== 'bearer' || header.token !== token) return done(null, false);
    const principal = verifyBearerToken(token, entries);
    return done(null, principal ?? false);
  });
}
