/**
 * Connection caps of the listeners (docs/security.md, "Bounds"): at most
 * `server.max_connections` open connections in all, and at most
 * `server.max_connections_per_client` from one client address, over every listener of the
 * process. A connection over either cap is closed as soon as it is accepted, before a byte of
 * it is read (no HTTP answer: nothing has been received to answer).
 *
 * Why: every open connection holds a file descriptor, and the process has a fixed number. A
 * red-team pass held 20,000 idle connections open from one address (each sent one request
 * without credentials and kept the connection alive), and every other caller's connection was
 * refused for as long as it lasted. The per-client cap keeps one address from taking the
 * process's descriptors; the overall cap keeps the process below its descriptor limit. Behind a
 * load balancer or auth proxy every connection has the proxy's address: raise
 * `max_connections_per_client` to the proxy's pool size there.
 *
 * Framework-free: works on `net.Server`'s `connection` event (for HTTPS too: the event carries
 * the TCP socket before the handshake).
 */
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import type { Logger } from '../observability/logger.ts';

/** Default of `server.max_connections`: open connections over every listener. */
export const DEFAULT_MAX_CONNECTIONS = 8192;
/** Default of `server.max_connections_per_client`: open connections from one client address. */
export const DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 256;
/** Refusals are logged at most once per this many ms (with how many there were), never once each. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** The caps. */
export interface ConnectionLimits {
  /** Open connections over every listener; a connection over it is closed. */
  readonly maxConnections: number;
  /** Open connections from one remote address; a connection over it is closed. */
  readonly maxPerClient: number;
}

/** What {@link limitConnections} returns. */
export interface ConnectionLimiter {
  /** Applies the caps to one more listener (they share the counts). */
  attach(server: Server): void;
  /** Open connections now, in all and per address (tests, metrics). */
  readonly open: number;
  /** Open connections of one address now. */
  openFrom(address: string): number;
  /** Connections closed for a cap since start. */
  readonly refused: number;
  /** Stops the refusal log timer. */
  close(): void;
}

/**
 * Creates the shared counters and returns the function that applies them to a listener.
 *
 * @param limits the caps (both ≥ 1)
 * @param logger refusals are logged at `warn`, at most once per {@link REFUSAL_LOG_INTERVAL_MS}
 *   (the count since the last line and the address of the last refusal)
 */
export function limitConnections(limits: ConnectionLimits, logger: Logger): ConnectionLimiter {
  const perClient = new Map<string, number>();
  let open = 0;
  let refused = 0;
  let unlogged = 0;
  let lastAddress = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (unlogged === 0) return;
    logger.warn('connections refused over server.max_connections / server.max_connections_per_client', {
      refused: unlogged, last_remote: lastAddress, max_connections: limits.maxConnections, max_connections_per_client: limits.maxPerClient,
    });
    unlogged = 0;
  };
  const refuse = (socket: Socket, address: string) => {
    refused++;
    unlogged++;
    lastAddress = address;
    socket.destroy();
    if (timer === undefined) {
      flush();
      timer = setTimeout(flush, REFUSAL_LOG_INTERVAL_MS);
      timer.unref();
    }
  };
  const onConnection = (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const mine = perClient.get(address) ?? 0;
    if (open >= limits.maxConnections || mine >= limits.maxPerClient) {
      refuse(socket, address);
      return;
    }
    open++;
    perClient.set(address, mine + 1);
    socket.once('close', () => {
      open--;
      const n = (perClient.get(address) ?? 1) - 1;
      if (n <= 0) perClient.delete(address);
      else perClient.set(address, n);
    });
  };
  return {
    attach(server) {
      // Registered before Node's own listener would see the socket's data: a refused
      // connection is destroyed before its request is parsed.
      server.prependListener('connection', onConnection);
    },
    get open() {
      return open;
    },
    openFrom: (address) => perClient.get(address) ?? 0,
    get refused() {
      return refused;
    },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      flush();
    },
  };
}
