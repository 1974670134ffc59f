/**
 * The listeners: owns the node:http server(s), hands each request to the current
 * application, swaps the application atomically on reload, and shuts down gracefully.
 *
 * - Transport-level refusals get the JSON envelope too (README "Errors": every error is one
 *   envelope): a head larger than `server.max_header_bytes` → 431 `headers_too_large`, an
 *   unparsable request → 400 `bad_request`, a client too slow to send its head → 408
 *   `request_timeout`, a missing Host on HTTP/1.1, an `Expect` other than 100-continue and
 *   CONNECT → 400 `bad_request`. Node's own answers have an empty body.
 * - Pipelined HTTP/1.1 requests are served one at a time per connection, at most
 *   `server.max_pipelined_requests` waiting ({@link pipelined}); a request target longer than
 *   `server.max_request_target_bytes` → 414 `uri_too_long` before anything reads it.
 * - Open connections are capped in all (`server.max_connections`) and per client address
 *   (`server.max_connections_per_client`), over every listener (./http/connections.ts).
 * - {@link RunningServer.reload} swaps the application: requests already running finish on
 *   the old one, which is closed once the last of them ended; new requests see the new one.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createApp, type App, type AppDeps } from './app.ts';
import type { Config } from './config/types.ts';
import { splitHostPort } from './config/values.ts';
import { sendError } from './http/error-handler.ts';
import { ERROR_TABLE, HttpError, errorBody, type ErrorCode } from './http/errors.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { tlsServerOptions, watchTlsFiles } from './tls.ts';
import { setListenerScope } from './http/listener-scope.ts';
import { onFinished } from './http/finished.ts';
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_CLIENT, limitConnections } from './http/connections.ts';

/** How long a graceful shutdown waits for in-flight requests before cutting them, in ms, when `server.shutdown_timeout` is not set. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** A running gateway. */
export interface RunningServer {
  /** Base URL actually listened on, e.g. `http://127.0.0.1:9095` (`https://` with `server.tls`; real port when 0 was configured). */
  readonly url: string;
  /** The node:http server (tests use it for raw sockets). */
  readonly server: http.Server;
  /** The `server.listeners[]` listeners, in configuration order: base URL and tenants. */
  readonly listeners: ReadonlyArray<{ readonly url: string; readonly tenants: readonly string[]; readonly server: http.Server }>;
  /** The application currently serving new requests. */
  readonly app: App;
  /**
   * Builds an application for `config` and swaps it in atomically: new requests use it at
   * once; the previous one finishes its in-flight requests and is then closed. Listen
   * addresses and `server.tls` file paths are not changed by a reload (the TLS files'
   * contents are reloaded on their own when they change, src/tls.ts).
   *
   * @throws whatever {@link createApp} throws; the old application then keeps serving
   */
  reload(config: Config): void;
  /** Stops accepting, waits up to `server.shutdown_timeout` for in-flight requests, then closes the rest. */
  close(): Promise<void>;
  /** Requests being served right now, over every application generation. */
  readonly inflight: number;
}

const REASONS: Partial<Record<ErrorCode, string>> = {
  headers_too_large: 'Request Header Fields Too Large',
  bad_request: 'Bad Request',
  request_timeout: 'Request Timeout',
};

/**
 * Writes a raw HTTP/1.1 error response with the JSON envelope on a socket Node's parser gave
 * up on (`clientError`: no request/response objects exist), then closes it.
 */
export function writeRawError(socket: Socket, code: ErrorCode, message: string): void {
  const body = JSON.stringify(errorBody(code, message));
  const status = ERROR_TABLE[code].status;
  const head = [
    `HTTP/1.1 ${status} ${REASONS[code] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    'Cache-Control: no-store',
    '',
    '',
  ].join('\r\n');
  socket.end(head + body, () => socket.destroy());
}

/** Default of `server.max_pipelined_requests`: requests one connection may have waiting. */
export const DEFAULT_MAX_PIPELINED = 16;

/**
 * Serialises pipelined HTTP/1.1 requests per connection: Node parses and emits every request
 * a client pipelines at once, so one TCP write of N requests would otherwise run N upstream
 * queries concurrently (and buffer their answers, which must go out in order anyway). The
 * next request of a connection is handled once the previous response finished or closed.
 *
 * The queue of one connection is bounded (issue #11: 100k–400k pipelined requests used to
 * stall the process for seconds to minutes and grow RSS by hundreds of MB): a request that
 * finds `maxQueued` requests already waiting closes the connection at once, without an
 * answer — an answer could only be sent after every earlier one (HTTP/1.1 keeps order), and
 * until then the connection's requests would keep piling up. Requests of a closed connection
 * that Node still parses from the bytes it had read are dropped unhandled. No real client
 * pipelines that deep (browsers and Grafana do not pipeline at all; RFC 9112 §9.3.2 lets a
 * client retry on a new connection).
 *
 * @param handler the request listener to serialise
 * @param maxQueued requests that may wait behind the running one (default {@link DEFAULT_MAX_PIPELINED})
 * @param onOverflow called once per connection closed for going over the bound
 * @returns a request listener for `http.createServer`
 */
export function pipelined(handler: http.RequestListener, maxQueued: number = DEFAULT_MAX_PIPELINED, onOverflow: (socket: Socket) => void = () => {}): http.RequestListener {
  const queues = new WeakMap<Socket, Array<() => void>>();
  const run = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = queues.get(socket)?.shift();
      if (next) next();
      else queues.delete(socket);
    };
    onFinished(res, release);
    handler(req, res);
  };
  return (req, res) => {
    const socket = req.socket;
    if (socket.destroyed) return;
    const queue = queues.get(socket);
    if (queue) {
      if (queue.length >= maxQueued) {
        queue.length = 0;
        onOverflow(socket);
        socket.destroy();
        return;
      }
      queue.push(() => run(req, res));
      return;
    }
    queues.set(socket, []);
    run(req, res);
  };
}

/** An application and the number of requests it is serving. */
interface Generation {
  readonly app: App;
  inflight: number;
  retired: boolean;
}

function retireIfIdle(g: Generation): void {
  if (g.retired && g.inflight === 0) g.app.close();
}

/** Listens on `addr`; resolves with the base URL actually bound (the real port when 0 was asked). */
async function listenOn(server: http.Server, addr: { host: string; port: number }, secure = false): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host: addr.host, port: addr.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `${secure ? 'https' : 'http'}://${shownHost}:${bound.port}`;
}

/**
 * Starts the gateway on `config.server.listen` (and each `server.listeners[]` entry).
 *
 * @param config validated configuration
 * @param deps collaborators for {@link createApp}; `deps.logger` also receives `listening`
 * @returns the running server once it listens
 * @throws the listen error (EADDRINUSE, EACCES, …) or a RangeError for a bad `server.listen`
 */
export async function startServer(config: Config, deps: AppDeps = {}): Promise<RunningServer> {
  const logger: Logger = deps.logger ?? createLogger(config.log.level);
  const addr = splitHostPort(config.server.listen);
  if (addr === undefined) throw new RangeError(`invalid server.listen ${JSON.stringify(config.server.listen)}: expected host:port`);
  let current: Generation = { app: createApp(config, { ...deps, logger }), inflight: 0, retired: false };
  let inflight = 0;

  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Before anything reads the request target (health probes, authentication, routing):
    // pre-authentication work stays bounded by this cap, not by the head size.
    if ((req.url?.length ?? 0) > config.server.max_request_target_bytes) {
      sendError(res, new HttpError('uri_too_long', `request target longer than ${config.server.max_request_target_bytes} bytes (server.max_request_target_bytes); send the parameters as a POST form body`, { headers: { Connection: 'close' } }));
      return;
    }
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
      sendError(res, new HttpError('bad_request', 'malformed HTTP request: an HTTP/1.1 request needs a Host header', { headers: { Connection: 'close' } }));
      return;
    }
    const g = current;
    g.inflight++;
    inflight++;
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      g.inflight--;
      inflight--;
      retireIfIdle(g);
    };
    onFinished(res, done);
    g.app.handler(req, res);
  };
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: config.server.max_header_bytes,
    requireHostHeader: false,
    // Slow clients (README, server timeouts): the head, the whole request, idle keep-alive.
    headersTimeout: config.server.headers_timeout_ms,
    requestTimeout: config.server.request_timeout_ms,
    keepAliveTimeout: config.server.idle_timeout_ms,
    // Node checks the two request timeouts on this interval (default 30 s); 1 s keeps them close to what is configured.
    connectionsCheckingInterval: Math.min(1000, config.server.headers_timeout_ms),
  };
  const tls = config.server.tls;
  const tlsStart = tls !== undefined ? tlsServerOptions(tls) : undefined;
  const tlsWatchers: Array<{ close(): void }> = [];
  // One file descriptor per connection: capped in all and per client address, over every listener.
  const connections = limitConnections({
    maxConnections: config.server.max_connections ?? DEFAULT_MAX_CONNECTIONS,
    maxPerClient: config.server.max_connections_per_client ?? DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
  }, logger);
  const onOverflow = (socket: Socket) => logger.warn('pipelined requests over the limit: connection closed', { remote: socket.remoteAddress, limit: config.server.max_pipelined_requests });
  // One listener (the public one, and one per server.listeners[] entry): same options, same
  // TLS (its certificate files watched), same transport-level envelopes.
  const createListener = (handler: http.RequestListener): http.Server => {
    const server: http.Server = tlsStart !== undefined
      ? https.createServer({ ...serverOptions, ...tlsStart.options }, pipelined(handler, config.server.max_pipelined_requests, onOverflow))
      : http.createServer(serverOptions, pipelined(handler, config.server.max_pipelined_requests, onOverflow));
    server.keepAliveTimeout = config.server.idle_timeout_ms;
    connections.attach(server);
    if (tls !== undefined && tlsStart !== undefined) {
      tlsWatchers.push(watchTlsFiles(server as https.Server, tls, logger, tlsStart.signature));
      // A failed handshake (no/unknown/expired client certificate with client_auth: require,
      // a TLS version below min_version) has no HTTP response to carry an envelope.
      server.on('tlsClientError', (err: NodeJS.ErrnoException) => logger.debug('tls handshake failed', { code: err.code, error: err.message }));
    }
    server.on('checkExpectation', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      sendError(res, new HttpError('bad_request', 'unsupported Expect header: only "100-continue" is supported', { headers: { Connection: 'close' } }));
    });
    server.on('connect', (_req: http.IncomingMessage, socket: Socket) => {
      writeRawError(socket, 'bad_request', 'method CONNECT is not supported');
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const code = err.code ?? '';
      if (code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage?.headersSent) {
        socket.destroy();
        return;
      }
      logger.warn('client error', { code, error: err.message });
      if (code === 'HPE_HEADER_OVERFLOW') {
        writeRawError(socket, 'headers_too_large', `request headers larger than ${config.server.max_header_bytes} bytes (server.max_header_bytes)`);
      } else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        writeRawError(socket, 'request_timeout', 'the request was not received in time');
      } else {
        writeRawError(socket, 'bad_request', 'malformed HTTP request');
      }
    });
    return server;
  };
  const server = createListener(serve);

  let url: string;
  try {
    url = await listenOn(server, addr, tls !== undefined);
  } catch (err) {
    for (const w of tlsWatchers) w.close();
    throw err;
  }
  logger.info('listening', { url, upstream: new URL(config.upstreams.prometheus.url).origin });
  // server.listeners[]: one more listener per entry, each request tagged with its tenant scope.
  const listeners: Array<{ url: string; tenants: readonly string[]; server: http.Server }> = [];
  try {
    for (const l of config.server.listeners ?? []) {
      const scope = { tenants: l.tenants, source: `listener ${l.listen}` };
      const extra = createListener((req, res) => {
        setListenerScope(req, scope);
        serve(req, res);
      });
      const at = splitHostPort(l.listen);
      if (at === undefined) throw new RangeError(`invalid server.listeners listen ${JSON.stringify(l.listen)}: expected host:port`);
      listeners.push({ url: await listenOn(extra, at, tls !== undefined), tenants: l.tenants, server: extra });
      logger.info('listening', { url: listeners[listeners.length - 1]?.url, tenants: l.tenants.join(',') });
    }
  } catch (err) {
    for (const s of [server, ...listeners.map((l) => l.server)]) s.close();
    for (const w of tlsWatchers) w.close();
    current.app.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    listeners,
    get app() {
      return current.app;
    },
    get inflight() {
      return inflight;
    },
    reload(next: Config) {
      if (JSON.stringify(next.server.tls) !== JSON.stringify(config.server.tls)) {
        logger.warn('server.tls changed in the new configuration; listener settings apply after a restart (certificate files are reloaded on their own)');
      }
      const fresh: Generation = { app: createApp(next, { ...deps, logger }), inflight: 0, retired: false };
      const old = current;
      current = fresh;
      old.retired = true;
      retireIfIdle(old);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const w of tlsWatchers) w.close();
        connections.close();
        const all = [server, ...listeners.map((l) => l.server)];
        const force = setTimeout(() => all.forEach((s) => s.closeAllConnections()), config.server.shutdown_timeout_ms ?? SHUTDOWN_GRACE_MS);
        force.unref();
        // A keep-alive connection whose request was still running when close() was called
        // becomes idle after its response: close it then, instead of waiting for its idle timeout.
        const sweep = setInterval(() => all.forEach((s) => s.closeIdleConnections()), 100);
        sweep.unref();
        let open = all.length;
        const closed = () => {
          if (--open > 0) return;
          clearTimeout(force);
          clearInterval(sweep);
          current.retired = true;
          retireIfIdle(current);
          resolve();
        };
        for (const s of all) {
          s.close(closed);
          s.closeIdleConnections();
        }
      });
      return closing;
    },
  };
}
