/**
 * The internal listener (`server.internal_listen`): operator endpoints that never appear on
 * the public listener, without authentication (bind it to a private address):
 *
 * | path | methods | answer |
 * |---|---|---|
 * | `/metrics` | GET, HEAD | Prometheus text exposition (src/observability/metrics.ts) |
 * | `/-/healthy`, `/-/ready` | GET, HEAD | as on the public listener |
 * | `/-/reload` | POST, PUT | reloads the configuration file: 200 `{"status":"success"}`, or 500 `reload_failed` with the reasons (the old configuration keeps running) |
 *
 * Anything else is 404 `unknown_route` (405 `method_not_allowed` for a known path).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitHostPort } from './config/values.ts';
import { sendError } from './http/error-handler.ts';
import { HttpError } from './http/errors.ts';
import { answerProbe, probeOf } from './http/health.ts';
import type { Logger } from './observability/logger.ts';
import type { ReadyState } from './observability/readiness.ts';

/** The outcome of a reload attempt. */
/**
 * The result of a reload. `partial`: a cluster where some workers run the new configuration
 * and the others are being replaced (src/cluster.ts); otherwise a failure left the previous
 * configuration running everywhere.
 */
export type ReloadResult = { readonly ok: true } | { readonly ok: false; readonly errors: readonly string[]; readonly partial?: boolean };

/** What the internal listener serves. */
export interface InternalDeps {
  /** What `/metrics` exposes: the process's metrics (src/observability/metrics.ts), or a cluster primary's aggregation. */
  readonly metrics: { readonly registry: { metrics(): Promise<string>; readonly contentType: string } };
  readonly readiness: () => ReadyState;
  /** Reloads the configuration (`source` is logged: `endpoint`). */
  readonly reload: (source: string) => Promise<ReloadResult>;
  readonly logger: Logger;
}

/** A running internal listener. */
export interface InternalServer {
  /** Base URL, e.g. `http://127.0.0.1:9096`. */
  readonly url: string;
  close(): Promise<void>;
}

const METHODS: Readonly<Record<string, readonly string[]>> = {
  '/metrics': ['GET', 'HEAD'],
  '/-/reload': ['POST', 'PUT'],
};

/** The internal listener's request handler (exported for tests). */
export function internalHandler(deps: InternalDeps): http.RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const probe = probeOf(path, req.method);
    if (probe !== undefined) {
      answerProbe(res, probe, deps.readiness);
      return;
    }
    const allowed = METHODS[path];
    if (allowed === undefined) {
      sendError(res, new HttpError('unknown_route', `unknown path ${JSON.stringify(path.slice(0, 100))} on the internal listener; it serves /metrics, /-/healthy, /-/ready and POST /-/reload`));
      return;
    }
    if (!allowed.includes(req.method ?? '')) {
      sendError(res, new HttpError('method_not_allowed', `method ${req.method ?? ''} is not allowed on ${path}; use ${allowed.join(' or ')}`, { headers: { Allow: allowed.join(', ') } }));
      return;
    }
    req.resume();
    if (path === '/metrics') {
      deps.metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      }, (err: unknown) => {
        deps.logger.error('metrics collection failed', { error: err instanceof Error ? err.message : String(err) });
        sendError(res, new HttpError('internal_error', 'metrics collection failed; see the promfence log'));
      });
      return;
    }
    deps.reload('endpoint').then((r) => {
      if (r.ok) {
        const body = '{"status":"success"}';
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        sendError(res, new HttpError('reload_failed', `${r.partial === true ? 'configuration reloaded in part' : 'configuration not reloaded (the previous one keeps running)'}: ${r.errors.join('; ')}`));
      }
    }, () => sendError(res, new HttpError('internal_error', 'reload failed unexpectedly; see the promfence log')));
  };
}

/**
 * Starts the internal listener on `listen` (`host:port`; port 0 = any free port).
 *
 * @throws the listen error (EADDRINUSE, …) or a RangeError for a bad address
 */
export async function startInternalServer(listen: string, deps: InternalDeps): Promise<InternalServer> {
  const addr = splitHostPort(listen);
  if (addr === undefined) throw new RangeError(`invalid server.internal_listen ${JSON.stringify(listen)}: expected host:port`);
  const server = http.createServer({ maxHeaderSize: 16384, headersTimeout: 10_000, requestTimeout: 30_000 }, internalHandler(deps));
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: addr.host, port: addr.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const url = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
