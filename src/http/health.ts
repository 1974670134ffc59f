/**
 * `/-/healthy` and `/-/ready`: answered before authentication, like Prometheus's
 * (`GET`/`HEAD`, `text/plain`). `/-/healthy` is 200 while the process serves; `/-/ready` is
 * 200 only while the readiness given says so (config loaded, upstream buildinfo probe
 * answered recently, not shutting down), else 503 `not_ready` in the JSON envelope with the
 * reason. Both are cheap: no I/O per request.
 */
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { ReadyState } from '../observability/readiness.ts';
import { sendError } from './error-handler.ts';
import { HttpError } from './errors.ts';

const PROBES: ReadonlyMap<string, { route: 'healthy' | 'ready'; text: string }> = new Map([
  ['/-/healthy', { route: 'healthy', text: 'promfence is Healthy.\n' }],
  ['/-/ready', { route: 'ready', text: 'promfence is Ready.\n' }],
]);

/**
 * Answers a health probe on its exact path (query string ignored) for GET and HEAD.
 *
 * @param path the request target
 * @param method the request method
 * @returns the probe answered (`healthy` / `ready`), or undefined when the request is not a probe
 */
export function probeOf(path: string, method: string | undefined): { route: 'healthy' | 'ready'; text: string } | undefined {
  const q = path.indexOf('?');
  const probe = PROBES.get(q < 0 ? path : path.slice(0, q));
  return probe !== undefined && (method === 'GET' || method === 'HEAD') ? probe : undefined;
}

/**
 * Writes the answer of a probe found by {@link probeOf}.
 *
 * @param readiness the readiness to report; undefined = always ready (an application built
 *   without a server, in tests)
 * @returns the error code sent (`not_ready`), or undefined for a 200
 */
export function answerProbe(res: ServerResponse, probe: { route: 'healthy' | 'ready'; text: string }, readiness?: () => ReadyState): string | undefined {
  const ready = probe.route === 'ready' && readiness !== undefined ? readiness() : { ready: true as const };
  if (!ready.ready) {
    sendError(res, new HttpError('not_ready', `promfence is not ready: ${ready.reason}`));
    return 'not_ready';
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(probe.text));
  res.end(probe.text);
  return undefined;
}

/**
 * The probes as Express middleware on the public listener; every other request goes on to
 * authentication.
 *
 * @param readiness the readiness to report on `/-/ready` (see {@link answerProbe})
 */
export function healthProbes(readiness?: () => ReadyState): RequestHandler {
  return function promfenceHealth(req, res, next) {
    const probe = probeOf(req.url, req.method);
    if (probe === undefined) return next();
    const s = res.locals.promfence;
    if (s !== undefined) s.route = probe.route;
    const code = answerProbe(res, probe, readiness);
    if (s !== undefined && code !== undefined) s.errorCode = code;
  };
}
