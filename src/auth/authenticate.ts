/**
 * The authentication middleware: the `Authorization` header is parsed once, passport (a
 * private instance, one {@link ProviderStrategy} per configured provider, in `auth.order`)
 * tries the providers, and every failure becomes one 401 JSON envelope with the challenges
 * of the configured methods.
 */
import type { RequestHandler } from 'express';
import { Passport } from 'passport';
import type { Principal } from '../access/principal.ts';
import type { Config } from '../config/types.ts';
import { HttpError } from '../http/errors.ts';
import { state } from '../http/state.ts';
import type { Logger } from '../observability/logger.ts';
import { parseAuthorization, type AuthorizationHeader } from './header.ts';
import { ProviderStrategy, type AuthProvider, type ProviderRefusal, type StrategyOptions } from './provider.ts';
import { createProvider, type ProviderSeams } from './providers/index.ts';

/** Message of a 401 without credentials. */
export const MSG_AUTH_REQUIRED = 'authentication required: send "Authorization: Bearer <token>" or HTTP basic credentials';
/** Message of a 401 with a Bearer/Basic header that cannot be parsed. */
export const MSG_MALFORMED = 'malformed Authorization header: expected "Bearer <token>" or "Basic <base64 of user:password>"';

/** The authenticator of one configuration. */
export interface Authenticator {
  /** The middleware: sets `state(res).principal` or ends the request with 401 (500 on an internal failure). */
  readonly middleware: RequestHandler;
  /** The providers, in order. */
  readonly providers: readonly AuthProvider[];
  /** Releases the providers' resources. */
  close(): void;
}

/** The methods that read the `Authorization` header. */
const AUTHORIZATION_METHODS: ReadonlySet<string> = new Set(['bearer_tokens', 'jwt', 'basic']);

/** What a caller can send, by configured method, for the "authentication required" message. */
const ASK: Record<string, string> = {
  mtls: 'a client certificate',
  bearer_tokens: '"Authorization: Bearer <token>"',
  jwt: '"Authorization: Bearer <token>"',
  basic: 'HTTP basic credentials',
  trusted_header: 'the identity headers of the auth proxy (sign in through it)',
};

/**
 * The 401 message of a request without credentials: what the configured methods accept
 * (`authentication required: send "Authorization: Bearer <token>" or HTTP basic credentials`
 * = {@link MSG_AUTH_REQUIRED} for bearer tokens and basic users).
 */
export function authRequiredMessage(methods: readonly string[]): string {
  const parts = [...new Set(methods.map((m) => ASK[m]).filter((p): p is string => p !== undefined))];
  if (parts.length === 0) return MSG_AUTH_REQUIRED;
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
  return `authentication required: send ${list}`;
}

/**
 * The 401 message and log reason when no provider accepted the request: the message of the
 * first provider (in `auth.order`) that recognised the credential and refused it, else of
 * the first that only said "not one of mine" (a weak refusal; one of a provider reading the
 * `Authorization` header first when the client sent one), else one derived from the
 * `Authorization` header.
 */
function refusal(header: AuthorizationHeader, refusals: readonly ProviderRefusal[], methods: readonly string[]): { message: string; reason?: string } {
  // Among weak refusals, one about the Authorization header the client did send explains best.
  const chosen = refusals.find((r) => !r.weak)
    ?? (header.kind === 'none' ? undefined : refusals.find((r) => AUTHORIZATION_METHODS.has(r.method)))
    ?? refusals[0];
  if (chosen !== undefined) return { message: chosen.message };
  switch (header.kind) {
    case 'none':
      return { message: authRequiredMessage(methods), reason: 'no_credentials' };
    case 'malformed':
      return { message: MSG_MALFORMED, reason: `malformed_${header.scheme}` };
    case 'bearer':
      return { message: 'bearer tokens are not accepted here: send HTTP basic credentials', reason: 'method_not_configured' };
    case 'basic':
      return { message: 'HTTP basic authentication is not enabled: send "Authorization: Bearer <token>"', reason: 'method_not_configured' };
    case 'unsupported': {
      const shown = /^[A-Za-z][A-Za-z0-9-]{0,31}$/.test(header.scheme) ? ` "${header.scheme}"` : '';
      return { message: `unsupported authorization scheme${shown}: send "Authorization: Bearer <token>" or HTTP basic credentials`, reason: 'unsupported_scheme' };
    }
  }
}

/**
 * Creates the authenticator (providers and challenges are built once).
 *
 * Per request:
 * 1. the `Authorization` header is parsed ({@link parseAuthorization});
 * 2. passport tries each provider in order (`session: false`); the first `success` sets
 *    `state(res).principal`;
 * 3. when none succeeds → 401 `unauthenticated` with the message of the first provider that
 *    recognised the credential and refused it (`invalid username or password`, `invalid
 *    JWT: the token expired …`), else of the first weak refusal (`invalid bearer token`),
 *    else {@link authRequiredMessage} / {@link MSG_MALFORMED} / "unsupported authorization
 *    scheme"; `WWW-Authenticate` lists the challenge of every configured provider
 *    (`Bearer realm="promfence", Basic realm="promfence"`);
 * 4. an exception inside a provider → 500 `internal_error`, except an {@link HttpError} a
 *    provider throws on purpose (429 `rate_limited` when basic auth's password pool is full),
 *    which is answered as it is.
 *
 * The refusals of a request that ends in 401 are recorded on the request state
 * (`authFailures`, for logs and the `promfence_auth_failures_total{method,reason}` metric:
 * the strong ones when there are any, else the weak ones); a request some provider accepted
 * records none (a JWT is not "a failed static token"). Each provider's refusal is logged at
 * `debug` with its reason and detail, the 401 at `info`; credentials are never logged or echoed. A basic username
 * is logged only when it is a configured subject (a password typed into the username field
 * never reaches the log). `access_token` parameters are never read as credentials: the
 * parameter reader refuses them (src/http/params.ts).
 *
 * @param config `auth` (realm, providers in order)
 * @param logger failures at `info`, successes at `debug`
 * @param seams test seams (bcrypt compare, clock, cache size)
 */
export function createAuthenticator(config: Pick<Config, 'auth'>, logger: Logger, seams: ProviderSeams = {}): Authenticator {
  const { realm } = config.auth;
  const keyEvents = seams.keyEvents ?? {
    loaded: (issuer: string, url: string, keys: number) => logger.info('jwt keys loaded', { issuer, url, keys }),
    failed: (issuer: string, error: Error) => logger.warn('jwt keys unavailable', { issuer, error: error.message }),
  };
  const providers = config.auth.providers.map((pc) => createProvider(pc, realm, { ...seams, keyEvents }));
  const passport = new Passport();
  for (const p of providers) passport.use(p.method, new ProviderStrategy(p));
  const order = providers.map((p) => p.method);
  const challenges = [...new Set(providers.map((p) => p.challenge).filter((c): c is string => c !== undefined))];
  const challenge = challenges.length > 0 ? challenges.join(', ') : `Bearer realm="${realm}"`;
  const basicSubjects = new Set(config.auth.providers.flatMap((pc) => (pc.kind === 'basic' ? pc.users.map((u) => u.subject) : [])));

  const middleware: RequestHandler = function promfenceAuthenticate(req, res, next) {
    const s = state(res);
    const header = parseAuthorization(req.headers.authorization);
    const refusals: ProviderRefusal[] = [];
    const options: StrategyOptions = { session: false, input: { authorization: header, headers: req.headers, rawHeaders: req.rawHeaders, socket: req.socket }, refusals };
    const where = { request_id: s.id, method: req.method, path: req.path, remote: req.socket?.remoteAddress };
    let settled = false;
    const done = (err: unknown, user: unknown): void => {
      if (settled) return; // passport must call back once; never answer twice
      settled = true;
      if (err instanceof HttpError) {
        // A provider's own answer that is not a verdict on the credentials (429 when the
        // password pool is full).
        logger.warn('authentication refused', { code: err.code, error: err.message, ...where });
        return next(err);
      }
      if (refusals.length > 0 && logger.isEnabled('debug')) {
        for (const r of refusals) logger.debug('authentication refused by provider', { auth_method: r.method, reason: r.reason, ...(r.detail !== undefined ? { detail: r.detail } : {}), ...where });
      }
      if (err !== null && err !== undefined) {
        logger.error('authentication error', { error: err instanceof Error ? err.message : String(err), ...where });
        return next(new HttpError('internal_error', 'authentication failed because of an internal error', { cause: err }));
      }
      if (user !== false && user !== undefined && user !== null) {
        const p = user as Principal;
        s.principal = p;
        logger.debug('authenticated', { subject: p.subject, auth_method: p.method, ...where });
        return next();
      }
      // Record the refusals that explain the 401: the strong ones when there are any (a JWT
      // that expired, not also "no static token matched").
      const strong = refusals.filter((r) => !r.weak);
      for (const r of strong.length > 0 ? strong : refusals) s.authFailures.push({ method: r.method, reason: r.reason });
      const refused = refusal(header, refusals, order);
      const reason = refused.reason;
      // access_token parameters are never read (src/http/params.ts refuses them once the
      // caller is authenticated); a cheap substring test of the head adds the hint here.
      const message = /access(?:_|%5f)token/i.test(req.url) ? `${refused.message}; an access_token parameter is not a credential here: send it in the Authorization header, and revoke it (it may have been logged)` : refused.message;
      if (reason !== undefined) s.authFailures.push({ method: 'none', reason });
      const last = s.authFailures[s.authFailures.length - 1];
      const username = header.kind === 'basic' && basicSubjects.has(header.username) ? header.username : undefined;
      logger.info('authentication failed', { reason: last?.reason, auth_method: last?.method, ...(username !== undefined ? { user: username } : {}), ...where });
      return next(new HttpError('unauthenticated', message, { headers: { 'WWW-Authenticate': challenge } }));
    };
    if (order.length === 0) return done(null, false);
    (passport.authenticate(order, options, done) as RequestHandler)(req, res, next);
  };

  return {
    middleware,
    providers,
    close() {
      for (const p of providers) p.close?.();
    },
  };
}
