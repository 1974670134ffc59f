/**
 * Provider `basic`: HTTP basic users (`auth.basic_users`), bcrypt hashes checked off the event
 * loop (../password-pool.ts), and a bounded cache of verified and refused credentials.
 * Registered only when `auth.basic_users` is non-empty: with no basic user, a `Basic` header
 * costs nothing (no bcrypt run, no worker started).
 */
import { createHmac, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { LRUCache } from 'lru-cache';
import { principal, type Principal } from '../../access/principal.ts';
import type { BasicUserEntry } from '../../config/types.ts';
import { HttpError } from '../../http/errors.ts';
import { PasswordPoolBusyError } from '../password-pool.ts';
import type { AuthProvider } from '../provider.ts';

/** Message of a 401 with wrong basic credentials. */
export const MSG_INVALID_BASIC = 'invalid username or password';

/**
 * Checks a password against a bcrypt hash; resolves true on a match. `client` (the caller's
 * address) is the password pool's fairness key. Injected in tests.
 */
export type PasswordCompare = (password: string, hash: string, client?: string) => Promise<boolean>;

/**
 * bcryptjs's asynchronous compare, on the event loop in slices (8 concurrent ones stall it for
 * more than a second on a 2-core machine). The gateway uses a {@link createPasswordPool}
 * instead; this stays for the `hash-token`-style commands and tests.
 */
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
 * @param client the caller's address, passed to `compare` (the password pool's fairness key)
 * @returns the principal (`method: 'basic'`), or `null` when the credentials are wrong or empty
 * @throws whatever `compare` throws (authentication then answers 500 `internal_error`)
 */
export async function verifyBasicCredentials(
  username: string,
  password: string,
  users: readonly BasicUserEntry[],
  compare: PasswordCompare = bcryptCompare,
  client?: string,
): Promise<Principal | null> {
  if (username.length === 0 || password.length === 0) return null;
  const user = users.find((u) => u.subject === username);
  if (!user) {
    await compare(password, dummyHash(users[0] ? costOf(users[0].password_hash) : 10), client);
    return null;
  }
  if (!(await compare(password, user.password_hash, client))) return null;
  return principal(user.subject, 'basic', { groups: user.groups });
}

/** Options of {@link createBasicVerifier}. */
export interface BasicVerifierOptions {
  /** `config.auth.basic_users`. */
  users: readonly BasicUserEntry[];
  /** How long a verified credential stays cached, ms; 0 disables the cache. */
  ttlMs: number;
  /** Maximum cached credentials (default 1000); the least recently used is evicted first. */
  maxEntries?: number;
  /** Password check (default {@link bcryptCompare}). */
  compare?: PasswordCompare;
  /** Clock in ms (default `performance.now`-based, as lru-cache's); injected in tests. */
  now?: () => number;
}

/** Checks `username`/`password` (from client address `client`), resolving the principal or `null`. */
export type BasicVerifier = (username: string, password: string, client?: string) => Promise<Principal | null>;

/**
 * A {@link verifyBasicCredentials} with a cache, because bcrypt is deliberately slow and
 * Grafana sends the same credentials on every panel request.
 *
 * - Successes AND failures are cached for `ttlMs` (issue #11: an uncached failure let ~10 bad
 *   requests per second take a core). A cached failure cannot outlive a fix of the
 *   configuration: a reload builds a new verifier, with an empty cache; and a corrected
 *   password is a different credential, with its own key.
 * - The cache key is HMAC-SHA-256(`username:password`) under a random per-verifier key: the
 *   password is never stored, and a memory dump does not yield a fast-to-attack plain
 *   SHA-256 of it.
 * - An lru-cache of at most `maxEntries` entries (default 1000) and 1 MiB (estimated);
 *   refused credentials are evicted first when the cache is full of them only by recency,
 *   like any entry.
 * - Concurrent checks of the same credentials share one bcrypt computation.
 */
export function createBasicVerifier(options: BasicVerifierOptions): BasicVerifier {
  const { users, ttlMs } = options;
  const compare = options.compare ?? bcryptCompare;
  const key = randomBytes(32);
  const cache = ttlMs <= 0 ? undefined : new LRUCache<string, Principal | false>({
    max: Math.max(1, options.maxEntries ?? 1000),
    maxSize: 1024 * 1024,
    sizeCalculation: (p, k) => 100 + 2 * (k.length + (p === false ? 0 : p.subject.length + p.groups.reduce((n, g) => n + g.length, 0))),
    ttl: ttlMs,
    // Read the clock on every lookup (one per request): no cached "now" that a test clock,
    // or a long event-loop stall, could make stale.
    ttlResolution: 0,
    ...(options.now ? { perf: { now: options.now } } : {}),
  });
  const inflight = new Map<string, Promise<Principal | null>>();

  return async function verifyBasic(username: string, password: string, client?: string): Promise<Principal | null> {
    if (cache === undefined) return verifyBasicCredentials(username, password, users, compare, client);
    const id = createHmac('sha256', key).update(`${username}:${password}`, 'utf8').digest('base64');
    const hit = cache.get(id);
    if (hit !== undefined) return hit === false ? null : hit;
    const pending = inflight.get(id);
    if (pending) return pending;
    const p = verifyBasicCredentials(username, password, users, compare, client).then((found) => {
      cache.set(id, found ?? false);
      return found;
    }).finally(() => inflight.delete(id));
    inflight.set(id, p);
    return p;
  };
}

/**
 * The provider: reads `Authorization: Basic …` only. Wrong credentials are a `fail` with
 * reason `invalid_basic_credentials`.
 *
 * @param verify the credential check (see {@link createBasicVerifier})
 * @param realm `auth.realm`, for the challenge
 * @param close releases the verifier's resources (its password pool)
 * @throws HttpError `rate_limited` (429, `Retry-After: 1`) when the password pool's queue is full
 */
export function basicProvider(verify: BasicVerifier, realm: string, close?: () => void): AuthProvider {
  return {
    method: 'basic',
    challenge: `Basic realm="${realm}"`,
    async authenticate(input) {
      const h = input.authorization;
      if (h.kind !== 'basic') return { kind: 'skip' };
      let p: Principal | null;
      try {
        p = await verify(h.username, h.password, input.socket.remoteAddress ?? '');
      } catch (err) {
        if (err instanceof PasswordPoolBusyError) {
          // Not a verdict on the credentials: ask the client to come back (Grafana and
          // promtool retry a 429), and do not cache anything.
          throw new HttpError('rate_limited', 'too many HTTP basic password checks are waiting; retry in a second (cached credentials and bearer tokens are not affected)', { headers: { 'Retry-After': '1' }, cause: err });
        }
        throw err;
      }
      return p === null ? { kind: 'fail', reason: 'invalid_basic_credentials', message: MSG_INVALID_BASIC } : { kind: 'success', principal: p };
    },
    ...(close ? { close } : {}),
  };
}
