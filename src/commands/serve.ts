/**
 * `promfence serve --config FILE`: runs the gateway until SIGINT/SIGTERM.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type winston from 'winston';
import { closeApp, createApp, type AppDeps } from '../app.ts';
import type { Config } from '../config/types.ts';
import { sendError } from '../http/error-handler.ts';
import { ERROR_TABLE, HttpError, errorBody, type ErrorCode } from '../http/errors.ts';
import { createLogger } from '../observability/logger.ts';
import { EXIT_ERROR, EXIT_OK, type CommandIO } from './io.ts';

/** How long a graceful shutdown waits for in-flight requests before cutting them, in ms. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** A running gateway. */
export interface RunningServer {
  /** Base URL actually listened on, e.g. `http://127.0.0.1:9095` (real port when 0 was configured). */
  readonly url: string;
  /** The node:http server (tests use it for raw sockets). */
  readonly server: http.Server;
  /** Stops accepting, waits up to {@link SHUTDOWN_GRACE_MS} for in-flight requests, then closes the rest. */
  close(): Promise<void>;
}

/**
 * Splits `server.listen` into host and port: `127.0.0.1:9095`, `[::1]:9095`, `:9095` (all
 * interfaces), port 0 = any free port.
 *
 * @throws RangeError when the port is not an integer in 0..65535
 */
export function parseListen(listen: string): { host: string | undefined; port: number } {
  const i = listen.lastIndexOf(':');
  const rawHost = i < 0 ? '' : listen.slice(0, i);
  const rawPort = i < 0 ? listen : listen.slice(i + 1);
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) throw new RangeError(`invalid server.listen "${listen}": expected host:port`);
  const host = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  return { host: host === '' ? undefined : host, port };
}

const REASONS: Partial<Record<ErrorCode, string>> = {
  headers_too_large: 'Request Header Fields Too Large',
  bad_request: 'Bad Request',
  request_timeout: 'Request Timeout',
};

/**
 * Writes a raw HTTP/1.1 error response with the JSON envelope on a socket Node's parser gave
 * up on (`clientError`: no request/response objects exist), then closes it. Node's own 431/400
 * have an empty body, which Grafana shows as a decode error (design.md error table).
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

/**
 * Serialises pipelined HTTP/1.1 requests per connection: Node parses and emits every request
 * a client pipelines at once, so one TCP write of N requests would otherwise run N upstream
 * queries concurrently (and buffer their answers, which must go out in order anyway). The
 * next request of a connection is handled once the previous response finished or closed.
 *
 * @param handler the request listener to serialise
 * @returns a request listener for `http.createServer`
 */
export function pipelined(handler: http.RequestListener): http.RequestListener {
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
    res.once('finish', release);
    res.once('close', release);
    handler(req, res);
  };
  return (req, res) => {
    const queue = queues.get(req.socket);
    if (queue) {
      queue.push(() => run(req, res));
      return;
    }
    queues.set(req.socket, []);
    run(req, res);
  };
}

/**
 * Starts the gateway on `config.server.listen`.
 *
 * `http.createServer({ maxHeaderSize: server.max_header_bytes })`; a request whose headers
 * exceed it gets 431 `headers_too_large` in the JSON envelope, other unparsable requests
 * 400 `bad_request`, a client too slow to send its request 408 `request_timeout`.
 *
 * @param config validated configuration
 * @param deps collaborators for {@link createApp}; `deps.logger` also receives `listening`
 * @returns the running server once it listens
 * @throws the listen error (EADDRINUSE, EACCES, …) or a RangeError for a bad `server.listen`
 */
export async function startServer(config: Config, deps: AppDeps = {}): Promise<RunningServer> {
  const logger: winston.Logger = deps.logger ?? createLogger(config.log.level);
  const { host, port } = parseListen(config.server.listen);
  const app = createApp(config, { ...deps, logger });
  // Node answers a few requests itself with an empty body (a missing Host: 400; an Expect
  // other than 100-continue: 417; CONNECT: the socket is just closed). Each gets the JSON
  // envelope instead (design.md: every error is one envelope).
  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined) {
      sendError(res, new HttpError('bad_request', 'malformed HTTP request: an HTTP/1.1 request needs a Host header', { headers: { Connection: 'close' } }));
      return;
    }
    app(req, res);
  };
  const server = http.createServer({ maxHeaderSize: config.server.max_header_bytes, requireHostHeader: false }, pipelined(serve));
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

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shownHost}:${addr.port}`;
  logger.info('listening', { url, upstream: new URL(config.upstream.url).origin });

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          closeApp(app);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/**
 * The `serve` command: loads the configuration, starts the gateway, and resolves on SIGINT
 * or SIGTERM after a graceful close.
 *
 * @param opts `config`: path of the YAML configuration file
 * @param io where configuration and startup errors are printed (stderr)
 * @returns 0 after a signal-triggered shutdown, 1 when the configuration cannot be loaded
 *   or the server cannot listen
 */
export async function serveCommand(opts: { config: string }, io: CommandIO): Promise<number> {
  let config: Config;
  try {
    const { loadConfig } = await import('../config/load.ts');
    config = await loadConfig(opts.config);
  } catch (err) {
    io.stderr.write(`promfence: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
  const logger = createLogger(config.log.level);
  let running: RunningServer;
  try {
    running = await startServer(config, { logger });
  } catch (err) {
    io.stderr.write(`promfence: cannot listen on ${config.server.listen}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  logger.info('shutting down', { signal });
  await running.close();
  logger.info('stopped');
  return EXIT_OK;
}
