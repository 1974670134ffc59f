/**
 * The per-subject limits as Express middleware, right after authentication (before any
 * parameter is read or any query parsed, so a caller over its limits costs almost nothing).
 */
import type { RequestHandler } from 'express';
import { onFinished } from '../http/finished.ts';
import { state } from '../http/state.ts';
import type { Limiter } from './limiter.ts';

/**
 * Admits the authenticated subject through `limiter` (in-flight slot, token bucket) and
 * releases the slot when the response ends (just before its last write) or the connection
 * closes. The release function is idempotent.
 *
 * @returns a middleware that calls `next()`, or `next(err)` with 429 `rate_limited` /
 *   503 `limiter_unavailable`
 */
export function subjectLimits(limiter: Limiter): RequestHandler {
  return async function promfenceSubjectLimits(_req, res, next) {
    if (!limiter.active) return next();
    const principal = state(res).principal;
    if (principal === undefined) return next();
    let release: () => void;
    try {
      release = await limiter.admitSubject(principal.subject);
    } catch (err) {
      return next(err);
    }
    // Release before the last byte is written, not on 'finish': a client that sends its next
    // request as soon as it has the answer must find its slot free (with Redis the release
    // command then precedes that request's acquire on the same connection).
    const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
    res.end = ((...args: unknown[]) => {
      release();
      return end(...args);
    }) as typeof res.end;
    onFinished(res, release);
    return next();
  };
}
