/**
 * How upstream failures become promfence errors, in one place: network errors by their code
 * ({@link UPSTREAM_ERRORS}) and refused answers by their status ({@link refusalFor}).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from '../http/errors.ts';

/** The code a timeout of promfence's own carries (set by the client, ./client.ts). */
export const TIMEOUT_CODE = 'PROMFENCE_UPSTREAM_TIMEOUT';

/** Network error code → promfence error code (anything unlisted is `upstream_unavailable`). */
export const UPSTREAM_ERRORS: Readonly<Record<string, 'upstream_timeout' | 'upstream_unavailable'>> = Object.freeze({
  [TIMEOUT_CODE]: 'upstream_timeout',
  ETIMEDOUT: 'upstream_timeout',
  ESOCKETTIMEDOUT: 'upstream_timeout',
  ECONNREFUSED: 'upstream_unavailable',
  ECONNRESET: 'upstream_unavailable',
  ECONNABORTED: 'upstream_unavailable',
  EHOSTUNREACH: 'upstream_unavailable',
  ENETUNREACH: 'upstream_unavailable',
  ENOTFOUND: 'upstream_unavailable',
  EAI_AGAIN: 'upstream_unavailable',
  EPIPE: 'upstream_unavailable',
});

/**
 * The envelope for a network failure before the upstream answered.
 *
 * @param err the socket/request error (its `code` picks the row of {@link UPSTREAM_ERRORS})
 * @param upstream the upstream's name, for the message
 * @param timeoutMs the configured timeout, for the message
 */
export function networkError(err: unknown, upstream: string, timeoutMs: number): HttpError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const mapped = UPSTREAM_ERRORS[code] ?? 'upstream_unavailable';
  const message = mapped === 'upstream_timeout'
    ? `${upstream} upstream did not answer within ${timeoutMs} ms (upstream.timeout)`
    : `${upstream} upstream unavailable${code ? ` (${code})` : ''}; try again later`;
  return new HttpError(mapped, message, { cause: err });
}

/**
 * The envelope for a refused upstream answer (see src/upstream/relay.ts for which answers are
 * refused): an upstream 429 stays 429 `rate_limited` (with its `Retry-After`, when it is a
 * plain number of seconds or an HTTP date), an upstream 408/504 is 504 `upstream_timeout`, a
 * 404 (Cortex's text "404 page not found" on buildinfo) stays 404 `unknown_route` (Grafana's
 * backend detection relies on it), anything else 502 `upstream_unavailable`; so clients keep
 * their retry behaviour while never seeing the upstream's own body.
 */
export function refusalFor(status: number, headers: IncomingHttpHeaders, message: string): HttpError {
  if (status === 429) {
    const retry = headers['retry-after'];
    const out: Record<string, string> = {};
    if (typeof retry === 'string' && /^[0-9A-Za-z ,:]{1,64}$/.test(retry.trim())) out['Retry-After'] = retry.trim();
    return new HttpError('rate_limited', message, { headers: out });
  }
  if (status === 408 || status === 504) return new HttpError('upstream_timeout', message);
  if (status === 404) return new HttpError('unknown_route', message);
  return new HttpError('upstream_unavailable', message);
}
