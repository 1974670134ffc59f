/**
 * The authentication middleware: static bearer tokens and HTTP basic users through a
 * passport instance, every failure turned into one 401 JSON envelope with a challenge.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import type { Logger } from 'winston';
import type { Config } from '../config/types.ts';
import { ctx, type Principal } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { createBearerStrategy } from './bearer.ts';
import { createBasicStrategy, createBasicVerifier, type PasswordCompare } from './basic.ts';
import { parseAuthorization, type AuthorizationHeader } from './header.ts';

/** Message of a 401 without credentials. */
export const MSG_AUTH_REQUIRED = 'authentication required: send "Authorization: Bearer <token>" or HTTP basic credentials';
/** Message of a 401 with a bearer token that matches no configured token. */
export const MSG_INVALID_BEARER = 'invalid bearer token';
/** Message of a 401 with wrong basic credentials. */
export const MSG_INVALID_BASIC = 'invalid username or password';
/** Message of a 401 with a Bearer/Basic header that cannot be parsed. */
export const MSG_MALFORMED = 'malformed Authorization header: expected "Bearer <token>" or "Basic <base64 of user:password>"';
/** Message of the 400 `credentials_in_url`. */
export const MSG_CREDENTIALS_IN_URL = 'credentials must be sent in the Authorization header, not as access_token in the URL or body; remove access_token';

/** Test seams of {@link createAuthMiddleware}; production code passes none. */
export interface AuthMiddlewareOptions {
  /** bcrypt compare (default bcryptjs's async compare). */
  compare?: PasswordCompare;
  /** Clock for the basic cache, ms (default `Date.now`). */
  now?: () => number;
  /** Maximum cached basic credentials (default 1000). */
  basicCacheMaxEntries?: number;
}

function isAccessTokenKey(key: string): boolean {
  const k = key.toLowerCase();
  return k === 'access_token' || k.startsWith('access_token[') || k.startsWith('access_token.');
}

function decodeFormKey(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/**
 * Where a request carries an `access_token` parameter, if anywhere: the raw query string of
 * `req.originalUrl` (split on `&` and `;`, keys percent-decoded, case-insensitive, including
 * `access_token[…]` forms), Express's parsed `req.query`, or an already-parsed object body.
 *
 * @returns `'url'`, `'body'`, or `undefined`
 */
export function accessTokenLocation(req: Request): 'url' | 'body' | undefined {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  if (q >= 0) {
    for (const pair of url.slice(q + 1).split(/[&;]/)) {
      const eq = pair.indexOf('=');
      if (isAccessTokenKey(decodeFormKey(eq < 0 ? pair : pair.slice(0, eq)))) return 'url';
    }
  }
  let query: unknown;
  try {
    query = req.query;
  } catch {
    query = undefined;
  }
  if (query !== null && typeof query === 'object' && Object.keys(query).some(isAccessTokenKey)) return 'url';
  const body: unknown = req.body;
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body) && Object.keys(body).some(isAccessTokenKey)) return 'body';
  return undefined;
}

/** The `WWW-Authenticate` value: a challenge per configured scheme (both when both are configured). */
export function authChallenge(config: Config): string {
  const realm = config.auth.realm;
  const parts: string[] = [];
  if (config.auth.bearer_tokens.length > 0 || config.auth.basic_users.length === 0) parts.push(`Bearer realm="${realm}"`);
  if (config.auth.basic_users.length > 0) parts.push(`Basic realm="${realm}"`);
  return parts.join(', ');
}

function failureMessage(header: AuthorizationHeader): { message: string; reason: string } {
  switch (header.kind) {
    case 'none':
      return { message: MSG_AUTH_REQUIRED, reason: 'no_credentials' };
    case 'bearer':
      return { message: MSG_INVALID_BEARER, reason: 'invalid_bearer_token' };
    case 'basic':
      return { message: MSG_INVALID_BASIC, reason: 'invalid_basic_credentials' };
    case 'malformed':
      return { message: MSG_MALFORMED, reason: `malformed_${header.scheme}` };
    case 'unsupported': {
      const shown = /^[A-Za-z][A-Za-z0-9-]{0,31}$/.test(header.scheme) ? ` "${header.scheme}"` : '';
      return { message: `unsupported authorization scheme${shown}: send "Authorization: Bearer <token>" or HTTP basic credentials`, reason: 'unsupported_scheme' };
    }
  }
}

function isPrincipal(v: unknown): v is Principal {
  if (v === null || typeof v !== 'object') return false;
  const p = v as Partial<Principal>;
  return typeof p.subject === 'string' && p.subject.length > 0 && Array.isArray(p.groups) && (p.method === 'bearer' || p.method === 'basic');
}

/**
 * Creates the authentication middleware (validates nothing at request time that could be
 * checked once: strategies and the challenge are built here).
 *
 * Per request:
 * 1. `access_token` in the URL or an already-parsed body → `next(HttpError('credentials_in_url'))` (400),
 *    before passport sees it (passport-http-bearer would accept it);
 * 2. passport (a private `Passport` instance, strategies `bearer` then `basic`,
 *    `session: false`, `failWithError: true`) authenticates from the `Authorization` header;
 * 3. success → `ctx(res).principal = { subject, groups, method }` and `next()`;
 * 4. failure → `next(HttpError('unauthenticated', msg, { headers: { 'WWW-Authenticate': … } }))`
 *    (401), with `msg` one of {@link MSG_AUTH_REQUIRED}, {@link MSG_INVALID_BEARER},
 *    {@link MSG_INVALID_BASIC}, {@link MSG_MALFORMED} or "unsupported authorization scheme";
 *    the challenge lists every configured scheme: `Bearer realm="promfence", Basic realm="promfence"`.
 *    passport's own plain-text challenge header is removed; the same challenge is also set on
 *    `res` so the error handler's output carries it either way;
 * 5. an internal error (bcrypt threw) → `next(HttpError('internal_error'))` (500).
 *
 * Failures are logged at info level with the reason, request id, method and path, and the
 * basic username only when it is a configured subject (a mistyped password typed into the
 * username field never reaches the log). Credentials are never logged or echoed.
 * Requires the context middleware (`initContext`) to have run.
 *
 * @param config validated configuration (`auth.*`)
 * @param logger winston logger
 * @param options test seams (bcrypt compare, clock, cache size); omit in production
 * @returns a named middleware `promfenceAuthenticate`
 */
export function createAuthMiddleware(config: Config, logger: Logger, options: AuthMiddlewareOptions = {}): RequestHandler {
  const { realm } = config.auth;
  const passport = new Passport();
  passport.use('bearer', createBearerStrategy(config.auth.bearer_tokens, realm));
  const verifyBasic = createBasicVerifier({
    users: config.auth.basic_users,
    ttlMs: config.auth.basic_cache_ttl_ms,
    ...(options.compare ? { compare: options.compare } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.basicCacheMaxEntries !== undefined ? { maxEntries: options.basicCacheMaxEntries } : {}),
  });
  passport.use('basic', createBasicStrategy(verifyBasic, realm));
  const authenticate = passport.authenticate(['bearer', 'basic'], { session: false, failWithError: true, authInfo: false }) as RequestHandler;
  const challenge = authChallenge(config);
  const basicSubjects = new Set(config.auth.basic_users.map((u) => u.subject));

  const requestInfo = (req: Request, res: Response): Record<string, unknown> => {
    let requestId: string | undefined;
    try {
      requestId = ctx(res).id;
    } catch {
      requestId = undefined;
    }
    return { requestId, method: req.method, path: req.path, remote: req.socket?.remoteAddress };
  };

  return function promfenceAuthenticate(req: Request, res: Response, next: NextFunction): void {
    const smuggled = accessTokenLocation(req);
    if (smuggled !== undefined) {
      logger.info('authentication refused: access_token parameter', { reason: 'credentials_in_url', where: smuggled, ...requestInfo(req, res) });
      return next(new HttpError('credentials_in_url', MSG_CREDENTIALS_IN_URL));
    }
    const header = parseAuthorization(req.headers.authorization);
    let settled = false;
    const done = (err?: unknown): void => {
      if (settled) return; // passport must call back once; never answer twice
      settled = true;
      try {
        if (err === undefined || err === null) {
          const user: unknown = (req as { user?: unknown }).user;
          if (!isPrincipal(user)) throw new Error('passport succeeded without a promfence principal');
          ctx(res).principal = user;
          logger.debug('authenticated', { subject: user.subject, authMethod: user.method, ...requestInfo(req, res) });
          return next();
        }
        if (err instanceof Error && err.name === 'AuthenticationError') {
          const { message, reason } = failureMessage(header);
          const user = header.kind === 'basic' && basicSubjects.has(header.username) ? header.username : undefined;
          logger.info('authentication failed', { reason, ...(user !== undefined ? { user } : {}), ...requestInfo(req, res) });
          res.removeHeader('WWW-Authenticate');
          res.statusCode = 401;
          res.setHeader('WWW-Authenticate', challenge);
          return next(new HttpError('unauthenticated', message, { headers: { 'WWW-Authenticate': challenge } }));
        }
        throw err;
      } catch (e) {
        logger.error('authentication error', { error: e instanceof Error ? e.message : String(e), ...requestInfo(req, res) });
        return next(new HttpError('internal_error', 'authentication failed because of an internal error', { cause: e }));
      }
    };
    authenticate(req, res, done);
  };
}
