/**
 * `/-/healthy` and `/-/ready`: answered before authentication, like Prometheus's
 * (`GET`/`HEAD`, 200, `text/plain`). Readiness means "serving"; it does not probe the
 * upstream (a down upstream is reported per request as 502).
 */
import type { RequestHandler } from 'express';

const PROBES: ReadonlyMap<string, string> = new Map([
  ['/-/healthy', 'promfence is Healthy.\n'],
  ['/-/ready', 'promfence is Ready.\n'],
]);

/**
 * Answers the health probes on their exact paths (query string ignored) for GET and HEAD;
 * every other request goes on to authentication.
 */
export function healthProbes(): RequestHandler {
  return function promfenceHealth(req, res, next) {
    const url = req.url;
    const q = url.indexOf('?');
    const text = PROBES.get(q < 0 ? url : url.slice(0, q));
    if (text === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    return res.status(200).type('text/plain; charset=utf-8').set('Cache-Control', 'no-store').send(text);
  };
}
