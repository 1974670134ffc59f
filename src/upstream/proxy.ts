/**
 * The upstream proxy (http-proxy-middleware v3): sends the request the enforce step planned
 * ({@link ForwardPlan}) and streams the upstream's answer back unchanged (its 2xx, and its
 * own 400/422/503 JSON errors alike).
 *
 * What is sent (threat-model.md invariants 1 and 5):
 * - path: upstream prefix + the canonical route path (`http://mimir/prometheus` →
 *   `/prometheus/api/v1/query`);
 * - GET: the query string re-encoded from the planned parameters; POST: the planned
 *   parameters as an `application/x-www-form-urlencoded` body with its exact
 *   `Content-Length`, and an empty URL query (Go merges both, so one place is enough and
 *   there is nothing to disagree with);
 * - headers: the allow-list of {@link FORWARDED_CLIENT_HEADERS}, plus `Host`,
 *   `X-Request-Id`, `Authorization: Bearer <upstream.bearer_token>` when configured, and the
 *   tenant header in header modes. Nothing else from the client.
 *
 * Failures before the upstream answered become one JSON envelope ({@link UPSTREAM_ERRORS}):
 * `upstream.timeout_ms` without response headers → 504 `upstream_timeout`; refused/reset/
 * unreachable → 502 `upstream_unavailable`. After the answer started streaming, an error or
 * an idle gap longer than `upstream.timeout_ms` destroys the client connection (a second
 * response is impossible). A client that disconnects aborts the upstream request.
 */
import http from 'node:http';
import https from 'node:https';
import type { Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type winston from 'winston';
import type { Config } from '../config/types.ts';
import { ctx, type ForwardPlan } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { sendError } from '../http/error-handler.ts';
import { encodeForm } from '../http/params.ts';
import { FORWARDED_CLIENT_HEADERS } from './headers.ts';

/** Network error code → promfence error code (anything unlisted is `upstream_unavailable`). */
export const UPSTREAM_ERRORS: Readonly<Record<string, 'upstream_timeout' | 'upstream_unavailable'>> = Object.freeze({
  PROMFENCE_UPSTREAM_TIMEOUT: 'upstream_timeout',
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

const TIMEOUT_CODE = 'PROMFENCE_UPSTREAM_TIMEOUT';

/** The proxy middleware and its resources. */
export interface UpstreamProxy {
  /** The last middleware of the pipeline; needs `ctx(res).forward`. */
  readonly handler: RequestHandler;
  /** Destroys the keep-alive agent's sockets (shutdown). */
  close(): void;
}

/**
 * The URL (path and query) sent upstream for a plan, without the upstream prefix
 * (http-proxy prepends it). GET carries the parameters; POST carries none in the URL.
 *
 * @example forwardUrl({ method: 'GET', path: '/api/v1/query', params: [['query', 'up']], tenantHeader: undefined })
 *   // → '/api/v1/query?query=up'
 */
export function forwardUrl(plan: ForwardPlan): string {
  return plan.method === 'GET' && plan.params.length > 0 ? `${plan.path}?${encodeForm(plan.params)}` : plan.path;
}

/**
 * The complete request header set sent upstream for a plan (lower-case names).
 *
 * @param clientHeaders the client's headers (only the allow-list is read)
 * @param plan the forward plan
 * @param config `upstream.url`, `upstream.bearer_token`, `enforce.header`
 * @param requestId promfence's request id
 * @param bodyLength byte length of the POST body (ignored for GET)
 */
export function upstreamHeaders(clientHeaders: http.IncomingHttpHeaders, plan: ForwardPlan, config: Config, requestId: string, bodyLength: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_CLIENT_HEADERS) {
    const v = clientHeaders[name];
    if (typeof v === 'string') out[name] = v;
  }
  out.host = new URL(config.upstream.url).host;
  out['x-request-id'] = requestId;
  if (config.upstream.bearer_token !== undefined) out.authorization = `Bearer ${config.upstream.bearer_token}`;
  if (plan.tenantHeader !== undefined) out[config.enforce.header.toLowerCase()] = plan.tenantHeader;
  if (plan.method === 'POST') {
    out['content-type'] = 'application/x-www-form-urlencoded';
    out['content-length'] = String(bodyLength);
  }
  return out;
}

/**
 * Creates the proxy to `config.upstream.url`.
 *
 * @param config `upstream.url` (http or https, optional path prefix), `upstream.timeout_ms`
 *   (ms, default 120000), `upstream.bearer_token`, `enforce.header`
 * @param logger upstream failures are logged at `warn`
 * @throws TypeError when `upstream.url` is not an http(s) URL (a configuration bug)
 */
export function createUpstreamProxy(config: Config, logger: winston.Logger): UpstreamProxy {
  const target = new URL(config.upstream.url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError(`upstream.url must be http or https, got ${target.protocol}`);
  const agent = target.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const timeoutMs = config.upstream.timeout_ms;
  const bodies = new WeakMap<http.IncomingMessage, { headers: Record<string, string>; body: Buffer | undefined }>();

  const setCode = (res: http.ServerResponse, code: string) => {
    const c = (res as Response).locals?.promfence as { errorCode?: string } | undefined;
    if (c) c.errorCode = code;
  };

  const proxy = createProxyMiddleware<Request, Response>({
    target: config.upstream.url,
    changeOrigin: true,
    agent,
    xfwd: false,
    on: {
      proxyReq(proxyReq, req, res) {
        const planned = bodies.get(req);
        if (!planned) {
          proxyReq.destroy(new Error('no forward plan for this request (wiring bug)'));
          return;
        }
        // The client may have left while promfence was still enforcing: nobody to answer.
        if (res.destroyed || !res.socket || res.socket.destroyed) {
          proxyReq.destroy();
          return;
        }
        // Belt and braces: exactly the planned header set, whatever http-proxy copied.
        for (const name of proxyReq.getHeaderNames()) {
          if (!Object.hasOwn(planned.headers, name)) proxyReq.removeHeader(name);
        }
        for (const [name, value] of Object.entries(planned.headers)) proxyReq.setHeader(name, value);
        const timeoutError = () => Object.assign(new Error(`upstream did not answer within ${timeoutMs} ms`), { code: TIMEOUT_CODE });
        const timer = setTimeout(() => proxyReq.destroy(timeoutError()), timeoutMs);
        proxyReq.once('response', () => {
          clearTimeout(timer);
          proxyReq.setTimeout(timeoutMs, () => proxyReq.destroy(timeoutError()));
        });
        proxyReq.once('close', () => clearTimeout(timer));
        res.once('close', () => {
          if (!res.writableFinished) proxyReq.destroy();
        });
        if (planned.body !== undefined && planned.body.length > 0) proxyReq.write(planned.body);
      },
      proxyRes(proxyRes, _req, res) {
        // An upstream that dies mid-answer: Node destroys proxyRes without an 'error' (no
        // listener) and the pipe would leave the client waiting forever. Cut it instead.
        proxyRes.once('close', () => {
          if (!proxyRes.complete) res.destroy();
        });
      },
      error(err, req, res) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        const promfenceCode = UPSTREAM_ERRORS[code] ?? 'upstream_unavailable';
        const isResponse = res instanceof http.ServerResponse;
        const c = isResponse ? ((res as Response).locals?.promfence as { id?: string } | undefined) : undefined;
        // No URL in the line: for GET it carries the (enforced) query text.
        logger.warn('upstream error', { request_id: c?.id, route: (c as { route?: string } | undefined)?.route, method: req.method, code: promfenceCode, error: err.message, error_code: code || undefined });
        if (!isResponse) {
          res.destroy();
          return;
        }
        const message = promfenceCode === 'upstream_timeout'
          ? `upstream did not answer within ${timeoutMs} ms (upstream.timeout)`
          : `upstream unavailable${code ? ` (${code})` : ''}; try again later`;
        sendError(res, new HttpError(promfenceCode, message, { cause: err }), (sent) => setCode(res, sent));
      },
    },
  });

  const handler: RequestHandler = function promfenceProxy(req, res, next) {
    const c = ctx(res);
    const plan = c.forward;
    if (!plan) return next(new HttpError('internal_error', 'nothing to forward (wiring bug)'));
    const body = plan.method === 'POST' ? Buffer.from(encodeForm(plan.params), 'utf8') : undefined;
    const headers = upstreamHeaders(req.headers, plan, config, c.id, body?.length ?? 0);
    bodies.set(req, { headers, body });
    // http-proxy copies req.headers and req.url into the upstream request: replace both with
    // promfence's own, so nothing of the client's (Expect, Authorization, …) can slip
    // through even if the proxyReq hook did not run.
    req.headers = { ...headers };
    req.url = forwardUrl(plan);
    return proxy(req, res, next);
  };

  return {
    handler,
    close() {
      agent.destroy();
    },
  };
}
