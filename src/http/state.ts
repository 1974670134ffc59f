/**
 * The per-request state: one typed object per request, created by the first middleware and
 * reachable as `res.locals.promfence` (typed through Express's `Locals` interface below, so no
 * cast is needed anywhere). Everything the pipeline learns about a request lives here, and
 * the request-finished hook (src/observability/hooks.ts) reads it once the response is done.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { AccessPolicy } from '../access/policy.ts';
import type { AuthMethod, Principal } from '../access/principal.ts';

/** One authentication attempt that did not succeed, kept for logs and metrics. */
export interface AuthFailure {
  /** The provider that refused (or the pseudo-method `none` when no credential was sent). */
  readonly method: AuthMethod | 'none';
  /** A stable reason, e.g. `invalid_bearer_token`, `expired`, `no_credentials`. */
  readonly reason: string;
}

/** What promfence sent upstream for the request, as far as it got. */
export interface UpstreamRecord {
  /** Upstream name (`prometheus`, `alertmanager`). */
  readonly name: string;
  /** HTTP status the upstream answered, when it answered. */
  status?: number;
  /** Time from sending to the upstream's response head, ms. */
  durationMs?: number;
}

/** What the pipeline learned about one request so far. */
export interface RequestState {
  /** Request id (from a valid incoming `X-Request-Id`, else generated). */
  readonly id: string;
  /** Start time, from `performance.now()` (ms). */
  readonly startedAt: number;
  /** The authenticated caller. */
  principal?: Principal;
  /**
   * Failed authentication attempts of a request that ended unauthenticated, in the order they
   * were made (empty when a provider accepted the request; see src/auth/authenticate.ts).
   */
  readonly authFailures: AuthFailure[];
  /** Route name from the route table, e.g. `query_range`. */
  route?: string;
  /** The access policy the request ran with (after narrowing). */
  policy?: AccessPolicy;
  /** The caller's own PromQL (`query`) and `match[]` selectors as sent, before enforcement, for the audit log. */
  original?: { readonly query?: string; readonly match?: readonly string[] };
  /** The enforced PromQL sent upstream (`query`) and the enforced `match[]` selectors, for the audit log. */
  enforced?: { readonly query?: string; readonly match?: readonly string[] };
  /** Error code when the request ended in a promfence error (the envelope's `code`). */
  errorCode?: string;
  /** The upstream exchange, once one started. */
  upstream?: UpstreamRecord;
}

declare global {
  // Express's per-response locals: promfence keeps its one state object there.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      promfence?: RequestState;
    }
  }
}

/** An incoming `X-Request-Id` is kept only when it matches this (≤ 128 chars of `[A-Za-z0-9._-]`). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** A fresh state for a request with id `id`. */
export function newState(id: string): RequestState {
  return { id, startedAt: performance.now(), authFailures: [] };
}

/**
 * The state of this request.
 *
 * @throws Error when the state middleware did not run (a wiring bug; the error handler
 *   answers 500 `internal_error`)
 */
export function state(res: Response): RequestState {
  const s = res.locals.promfence;
  if (s === undefined) throw new Error('promfence request state missing: the state middleware is not installed');
  return s;
}

/**
 * The first middleware: accepts a sane incoming `X-Request-Id` (see
 * {@link REQUEST_ID_PATTERN}; a repeated header, which Node joins with `, `, fails it), else
 * generates a UUID; installs the request state and echoes the id in the `X-Request-Id`
 * response header.
 *
 * @param onState called with every new state and its response (the request-finished hook
 *   attaches its listener there)
 * @returns the middleware; it always calls `next()`
 */
export function requestState(onState: (s: RequestState, res: Response) => void = () => {}): RequestHandler {
  return function promfenceRequestState(req, res, next) {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    const s = newState(id);
    res.locals.promfence = s;
    res.setHeader('X-Request-Id', id);
    onState(s, res);
    return next();
  };
}
