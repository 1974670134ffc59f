/**
 * The per-subject limits as Express middleware, right after authentication (before any
 * parameter is read or any query parsed, so a caller over its limits costs almost nothing).
 */
import type { RequestHandler } from 'express';
import { state } from '../http/state.ts';
import type { Limiter } from './limiter.ts';

/**
 * Admits the authenticated subject through `limiter` (token bucket, in-flight slot) and
 * releases the slot when the response finishes or the connection closes.
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
    res.once('finish', release);
    res.once('close', release);
    return next();
  };
}
