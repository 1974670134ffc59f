/**
 * The upstream proxy (http-proxy-middleware v3): sends the request the enforce step planned
 * ({@link ForwardPlan}) and streams the upstream's answer back (its 2xx, and its own
 * 400/422/503 JSON errors alike) minus cookies, challenges, redirects and CORS headers; any
 * other answer (redirect, HTML/text error page, empty 200) becomes one JSON envelope
 * ({@link relayResponse}).
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
 * Upstream response headers never relayed to the client: cookies and authentication
 * challenges of the upstream (a browser would store or answer them for promfence's origin),
 * redirects and their relatives (they reveal the upstream's internal address and are refused
 * anyway), CORS grants (promfence does not grant cross-origin reads on the upstream's
 * behalf), hop-by-hop headers, and `X-Request-Id` (promfence's own id stays).
 */
export const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  'set-cookie',
  'set-cookie2',
  'www-authenticate',
  'proxy-authenticate',
  'location',
  'content-location',
  'refresh',
  'link',
  'x-request-id',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'alt-svc',
  'strict-transport-security',
  'clear-site-data',
]);

function isDroppedResponseHeader(name: string): boolean {
  return DROPPED_RESPONSE_HEADERS.has(name) || name.startsWith('access-control-');
}

/** True when a Content-Type names JSON (`application/json`, any parameters). */
function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  return /^application\/json\s*(;|$)/i.test(value.trim());
}

/**
 * The envelope for a refused upstream answer: an upstream 429 stays 429 `rate_limited` (with
 * its `Retry-After`, when it is a plain number of seconds or an HTTP date), an upstream
 * 408/504 is 504 `upstream_timeout`, a 404 (Cortex's text "404 page not found" on buildinfo)
 * stays 404 `unknown_route`, anything else 502 `upstream_unavailable`; so clients
 * keep their retry behaviour while never seeing the upstream's own body.
 */
export function refusalFor(proxyRes: http.IncomingMessage, message: string): HttpError {
  const status = proxyRes.statusCode ?? 0;
  if (status === 429) {
    const retry = proxyRes.headers['retry-after'];
    const headers: Record<string, string> = {};
    if (typeof retry === 'string' && /^[0-9A-Za-z ,:]{1,64}$/.test(retry.trim())) headers['Retry-After'] = retry.trim();
    return new HttpError('rate_limited', message, { headers });
  }
  if (status === 408 || status === 504) return new HttpError('upstream_timeout', message);
  // Grafana reads a 404 on buildinfo as "Cortex": keep the status, in the envelope.
  if (status === 404) return new HttpError('unknown_route', message);
  return new HttpError('upstream_unavailable', message);
}

/**
 * Relays one upstream answer to the client, or refuses it (threat-model.md invariant 3:
 * never a pass-through, never an empty 200):
 *
 * - a 2xx JSON answer (any 2xx answer on `/federate`, whose success is the text or protobuf
 *   exposition format) is streamed with the upstream's status and headers minus
 *   {@link DROPPED_RESPONSE_HEADERS}; a JSON route's 2xx with an empty body is refused;
 * - a 4xx/5xx with a JSON body (the upstream's own Prometheus error) is relayed likewise;
 * - anything else — a redirect, a 1xx/204/3xx, an HTML or text error page (a load balancer's
 *   502, Mimir's text/plain 401 "no org id"), a 2xx that is not JSON — is refused with one
 *   envelope (see {@link refusalFor}: 502 `upstream_unavailable`, 429 `rate_limited`, 504
 *   `upstream_timeout`); the upstream body is discarded (its connection closed), never shown.
 *
 * After the first byte was written, an upstream that dies cuts the client connection.
 */
export function relayResponse(proxyRes: http.IncomingMessage, res: http.ServerResponse, opts: { route: string | undefined; refuse: (message: string) => void }): void {
  const status = proxyRes.statusCode ?? 0;
  const contentType = proxyRes.headers['content-type'];
  const json = isJsonContentType(contentType);
  const federate = opts.route === 'federate';
  const shown = contentType === undefined ? 'no Content-Type' : `Content-Type ${JSON.stringify(contentType.slice(0, 80))}`;
  const refuse = (why: string) => {
    opts.refuse(`upstream answered HTTP ${status} with ${why}; refused (promfence relays only Prometheus JSON answers)`);
    // Not drained: a hostile upstream could stream an endless error page. The socket is lost.
    proxyRes.destroy();
  };
  const success = status >= 200 && status <= 299 && status !== 204;
  const error = status >= 400 && status <= 599;
  if (!((success && (json || federate)) || (error && json))) return refuse(shown);

  let started = false;
  const start = () => {
    started = true;
    res.statusCode = status;
    for (const [name, value] of Object.entries(proxyRes.headers)) {
      if (value === undefined || isDroppedResponseHeader(name)) continue;
      res.setHeader(name, value);
    }
  };
  const onData = (chunk: Buffer) => {
    if (chunk.length === 0) return;
    if (!started) start();
    if (!res.write(chunk)) {
      proxyRes.pause();
      res.once('drain', () => proxyRes.resume());
    }
  };
  proxyRes.on('data', onData);
  proxyRes.once('end', () => {
    if (!started) {
      // An empty body: fine for federate (no series) and an upstream error, never for a
      // JSON API success (Prometheus always answers an envelope).
      if (success && !federate) return opts.refuse(`upstream answered HTTP ${status} with an empty body; refused (expected a Prometheus JSON answer)`);
      start();
    }
    res.end();
  });
  // An upstream that dies mid-answer: Node destroys proxyRes without an 'error' (no
  // listener) and the client would wait forever. Cut it instead (or, before the first byte,
  // answer 502).
  proxyRes.once('close', () => {
    if (proxyRes.complete) return;
    if (!started && !res.headersSent) return opts.refuse(`upstream answered HTTP ${status} with a connection that closed before the answer was complete; refused`);
    res.destroy();
  });
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
    // promfence writes the answer itself (relayResponse): status and body are checked and
    // response headers filtered before anything reaches the client.
    selfHandleResponse: true,
    on: {
      proxyReq(proxyReq, req, res) {
        const planned = bodies.get(req);
        if (!planned) {
          proxyReq.destroy(new Error('no forward plan for this request (wiring bug)'));
          return;
        }
        // The client may have left while promfence was still enforcing: nobody to answer.
        // (`res.socket` is null while an earlier pipelined response on the same connection
        // is still being written: that is not a departed client, so read the request's.)
        if (res.destroyed || req.socket.destroyed) {
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
      proxyRes(proxyRes, req, res) {
        relayResponse(proxyRes, res, {
          route: (res as Response).locals?.promfence?.route as string | undefined,
          refuse: (message) => {
            if (res.writableEnded) return;
            const c = (res as Response).locals?.promfence as { id?: string; route?: string } | undefined;
            logger.warn('upstream answer refused', { request_id: c?.id, route: c?.route, method: req.method, status: proxyRes.statusCode, content_type: proxyRes.headers['content-type'] });
            sendError(res, refusalFor(proxyRes, message), (sent) => setCode(res, sent));
          },
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
        // The answer (or a refusal) is already complete: nothing left to tell the client.
        if (res.writableEnded) return;
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
