/**
 * HTTP basic users: bcrypt verification, a bounded cache of verified credentials, and the
 * passport strategy that uses them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Request } from 'express';
import type { Strategy } from 'passport';
import { BasicStrategy } from 'passport-http';
import type { BasicUserEntry } from '../config/types.ts';
import type { Principal } from '../http/context.ts';
import { parseAuthorization } from './header.ts';

/** Checks a password against a bcrypt hash; resolves true on a match. Injected in tests. */
export type PasswordCompare = (password: string, hash: string) => Promise<boolean>;

/** bcryptjs's asynchronous compare (yields to the event loop while hashing). */
export const bcryptCompare: PasswordCompare = (password, hash) => bcrypt.compare(password, hash);

/** Salt and digest of a hash nobody's password matches (53 chars of bcrypt's alphabet). */
const DUMMY_HASH_BODY = 'CCCCCCCCCCCCCCCCCCCCC.' + 'tc0DlVVKb6PbexJ3mr/5eeGyOp09Uc2';

/** A bcrypt hash of cost `cost` that matches no password (for unknown users, see below). */
function dummyHash(cost: number): string {
  return `$2b$${String(cost).padStart(2, '0')}$${DUMMY_HASH_BODY}`;
}

/** Cost factor of a bcrypt hash (`$2b$10$…` → 10); 10 when unreadable. */
function costOf(hash: string): number {
  const n = Number(hash.slice(4, 6));
  return Number.isInteger(n) && n >= 4 && n <= 31 ? n : 10;
}

/**
 * Verifies HTTP basic credentials: the username is the `subject` of a `basic_users` entry,
 * the password is checked with bcrypt against its `password_hash`.
 *
 * For an unknown username a bcrypt comparison against a dummy hash of the same cost as the
 * first configured user still runs, so response time does not tell which usernames exist.
 * Note that bcrypt reads at most the first 72 bytes of a password.
 *
 * @param username decoded basic username (exact, case-sensitive)
 * @param password decoded basic password (may contain `:`)
 * @param users `config.auth.basic_users`
 * @param compare password check (default {@link bcryptCompare})
 * @returns the principal (`method: 'basic'`), or `null` when the credentials are wrong or empty
 * @throws whatever `compare` throws (the middleware turns it into a 500 `internal_error`)
 */
export async function verifyBasicCredentials(
  username: string,
  password: string,
  users: readonly BasicUserEntry[],
  compare: PasswordCompare = bcryptCompare,
): Promise<Principal | null> {
  if (username.length === 0 || password.length === 0) return null;
  const user = users.find((u) => u.subject === username);
  if (!user) {
    await compare(password, dummyHash(users[0] ? costOf(users[0].password_hash) : 10));
    return null;
  }
  if (!(await compare(password, user.password_hash))) return null;
  return Object.freeze({ subject: user.subject, groups: Object.freeze([...user.groups]), method: 'basic' as const });
}

/** Options of {@link createBasicVerifier}. */
export interface BasicVerifierOptions {
  /** `config.auth.basic_users`. */
  users: readonly BasicUserEntry[];
  /** How long a verified credential stays cached, ms; 0 disables the cache. */
  ttlMs: number;
  /** Maximum cached credentials (default 1000); the oldest entry is evicted first. */
  maxEntries?: number;
  /** Password check (default {@link bcryptCompare}). */
  compare?: PasswordCompare;
  /** Clock in ms (default `Date.now`); injected in tests. */
  now?: () => number;
}

/** Checks `username`/`password`, resolving the principal or `null`. */
export type BasicVerifier = (username: string, password: string) => Promise<Principal | null>;

/**
 * A {@link verifyBasicCredentials} with a cache, because bcrypt is deliberately slow and
 * Grafana sends the same credentials on every panel request.
 *
 * - Only SUCCESSES are cached, for `ttlMs`; failures always run bcrypt again (caching them
 *   would let a wrong password stay wrong after a config fix, and brings nothing against
 *   guessing, which varies the password anyway).
 * - The cache key is HMAC-SHA-256(`username:password`) under a random per-verifier key: the
 *   password is never stored, and a memory dump does not yield a fast-to-attack plain
 *   SHA-256 of it.
 * - At most `maxEntries` entries (default 1000); when full, expired entries are dropped, then
 *   the oldest.
 * - Concurrent checks of the same credentials share one bcrypt computation.
 * - A new verifier (config reload) starts with an empty cache.
 */
export function createBasicVerifier(options: BasicVerifierOptions): BasicVerifier {
  const { users, ttlMs } = options;
  const maxEntries = Math.max(1, options.maxEntries ?? 1000);
  const compare = options.compare ?? bcryptCompare;
  const now = options.now ?? Date.now;
  const key = randomBytes(32);
  const cache = new Map<string, { principal: Principal; expiresAt: number }>();
  const inflight = new Map<string, Promise<Principal | null>>();

  const evict = (t: number): void => {
    for (const [k, v] of cache) if (v.expiresAt <= t) cache.delete(k);
    while (cache.size >= maxEntries) {
      const oldest = cache.keys().next();
      if (oldest.done) break;
      cache.delete(oldest.value);
    }
  };

  return async function verifyBasic(username: string, password: string): Promise<Principal | null> {
    if (ttlMs <= 0) return verifyBasicCredentials(username, password, users, compare);
    const id = createHmac('sha256', key).update(`${username}:${password}`, 'utf8').digest('base64');
    const hit = cache.get(id);
    if (hit) {
      if (hit.expiresAt > now()) return hit.principal;
      cache.delete(id);
    }
    const pending = inflight.get(id);
    if (pending) return pending;
    const p = verifyBasicCredentials(username, password, users, compare).then((principal) => {
      if (principal) {
        const t = now();
        evict(t);
        cache.set(id, { principal, expiresAt: t + ttlMs });
      }
      return principal;
    }).finally(() => inflight.delete(id));
    inflight.set(id, p);
    return p;
  };
}

/**
 * The passport strategy (`name: 'basic'`). passport-http splits the decoded credentials on
 * EVERY colon and keeps only the first two parts, so the verify callback re-reads the
 * header with {@link parseAuthorization} to get the whole password (RFC 7617: everything
 * after the first colon) and refuses anything passport decoded differently.
 *
 * @param verify the credential check (see {@link createBasicVerifier})
 * @param realm realm for passport's own challenge (the middleware replaces the final header)
 */
export function createBasicStrategy(verify: BasicVerifier, realm: string): Strategy {
  return new BasicStrategy({ realm, passReqToCallback: true }, (req: Request, username: string, _password: string, done: (err: unknown, user?: Principal | false) => void) => {
    const header = parseAuthorization(req.headers.authorization);
    if (header.kind !== 'basic' || header.username !== username) return done(null, false);
    verify(header.username, header.password).then(
      (principal) => done(null, principal ?? false),
      (err: unknown) => done(err),
    );
  });
}
