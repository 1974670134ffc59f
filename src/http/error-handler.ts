/**
 * The one place that writes promfence's error responses: the Prometheus JSON envelope with
 * the status and headers of the error table (README "Errors"), exactly once per request.
 */
import type { ErrorRequestHandler } from 'express';
import type { ServerResponse } from 'node:http';
import { AccessError } from '../access/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { PromQLError } from '../promql/errors.ts';
import { ERROR_TABLE, HttpError, errorBody, isErrorCode } from './errors.ts';

/**
 * Converts anything thrown in the pipeline into an {@link HttpError}:
 *
 * - an HttpError as is;
 * - an {@link AccessError} (src/access) by its code (`no_tenants`/`forbidden_tenant` 403,
 *   `invalid_parameter` 400), message unchanged;
 * - a {@link PromQLError} by its code (`forbidden_tenant` 403, `internal_error` 500, the
 *   others 400), prefixed with the parameter it came from when given (`invalid parameter
 *   "query": …`, like Prometheus);
 * - anything else → 500 `internal_error` with a generic message (never the cause's text,
 *   which may quote internals).
 *
 * @param err the thrown value
 * @param param the request parameter being enforced (`query`, `match[]`)
 * @param subject the authenticated subject: a `forbidden_tenant` from the engine is then
 *   phrased `tenant "x" is not granted to subject "alice"`, like a refused narrowing
 */
export function toHttpError(err: unknown, param?: string, subject?: string): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof AccessError) return new HttpError(err.code, err.message, { cause: err });
  if (err instanceof PromQLError && isErrorCode(err.code)) {
    if (err.code === 'forbidden_tenant' && err.tenant !== undefined && subject !== undefined) {
      return new HttpError('forbidden_tenant', `tenant ${JSON.stringify(err.tenant)} is not granted to subject ${JSON.stringify(subject)}`, { cause: err });
    }
    const prefix = param !== undefined && err.code !== 'internal_error' && err.code !== 'forbidden_tenant' ? `invalid parameter ${JSON.stringify(param)}: ` : '';
    const message = err.code === 'internal_error' ? 'internal error while enforcing the query (refused, fail closed)' : prefix + err.message;
    return new HttpError(err.code, message, { cause: err });
  }
  return new HttpError('internal_error', 'internal error (refused, fail closed); see the promfence log for the request id', { cause: err });
}

/**
 * Writes `err` as the JSON envelope on `res` unless a response was already started, in
 * which case the connection is destroyed (a second response is impossible, and a
 * truncated body is the only honest signal left). A 401 `unauthenticated` closes the
 * connection after it (`Connection: close`).
 *
 * @param res the response (Express or plain node:http)
 * @param err the error to send
 * @param onCode called with the code actually sent (the access log records it)
 * @returns true when the envelope was written
 */
export function sendError(res: ServerResponse, err: HttpError, onCode?: (code: string) => void): boolean {
  onCode?.(err.code);
  if (res.headersSent || res.writableEnded || res.destroyed) {
    res.destroy();
    return false;
  }
  const payload = JSON.stringify(errorBody(err.code, err.message));
  res.statusCode = ERROR_TABLE[err.code].status;
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  // A caller without valid credentials keeps no connection (and so no file descriptor) open:
  // a red-team pass held 20,000 idle connections this way. Clients that authenticate after a
  // challenge open a new one.
  if (err.code === 'unauthenticated') res.setHeader('Connection', 'close');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.setHeader('Cache-Control', 'no-store');
  res.end(payload);
  return true;
}

/**
 * The final Express error handler: every error ends in one envelope via {@link sendError},
 * its code recorded on the request state. 5xx of promfence's own making are logged at
 * `error` with the cause's stack; client errors are not logged here (the access line
 * carries their `code`).
 *
 * @param logger receives internal errors (never request secrets)
 */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return function promfenceErrorHandler(err: unknown, _req, res, _next) {
    const httpErr = toHttpError(err);
    const s = res.locals.promfence;
    if (httpErr.code === 'internal_error') {
      const cause = httpErr.cause ?? err;
      logger.error('internal error', {
        request_id: s?.id,
        error: cause instanceof Error ? cause.message : String(cause),
        stack: cause instanceof Error ? cause.stack : undefined,
      });
    }
    sendError(res, httpErr, (code) => {
      if (s !== undefined) s.errorCode = code;
    });
  };
}
