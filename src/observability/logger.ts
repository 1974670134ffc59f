/**
 * The logger promfence's code writes to: a minimal interface ({@link Logger}), implemented
 * with pino (JSON lines). Nothing outside this file depends on pino, so tests can pass any
 * object with these methods.
 *
 * Why pino (issue #10): the access and audit lines are written for every request; winston's
 * format pipeline and its synchronous stdout write cost ~8 % of a proxied request's CPU
 * (docs/benchmarks.md). pino builds the line in one pass and writes stdout asynchronously
 * in batches (sonic-boom), flushed at exit.
 */
import cluster from 'node:cluster';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Log levels promfence uses, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Structured fields of one log line (never a credential: see README, "Logs"). */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * What promfence logs through. Each call writes one JSON line
 * `{"level":…,"time":…,…fields,"msg":<message>}` when the level is enabled.
 */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** True when lines of `level` are written (skip building expensive fields otherwise). */
  isEnabled(level: LogLevel): boolean;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Drop every line (tests). Default false. */
  readonly silent?: boolean;
  /** Where lines go; default stdout. Tests pass a stream to capture lines (written synchronously, one `write` per line). */
  readonly stream?: NodeJS.WritableStream;
}

/**
 * stdout batching: lines are written once this many bytes are waiting, or every
 * {@link STDOUT_FLUSH_MS} (so a quiet gateway's lines still appear promptly), and
 * synchronously at exit. One process writes stdout: a cluster worker hands its lines to the
 * primary over IPC ({@link writeLogLines}), because writes to a pipe longer than PIPE_BUF
 * are not atomic and an audit line of a long query from one worker was cut by another's
 * (red-team finding).
 */
export const STDOUT_BATCH_BYTES = 2048;
/**
 * Largest single write to stdout, bytes: a pipe's capacity on Linux. One process writes
 * stdout (a cluster's primary writes its workers' lines too), so writes need not be atomic;
 * 4 KiB writes could not keep up with a flood of long audit lines (red-team finding).
 */
export const STDOUT_MAX_WRITE = 65536;
/** Longest a line waits in the stdout batch, ms. */
export const STDOUT_FLUSH_MS = 100;
/**
 * Most bytes waiting for stdout (a reader that stopped reading): further lines are dropped
 * until it drains, so a stalled log pipe cannot grow the process without bound.
 */
export const STDOUT_MAX_BYTES = 16 * 2 ** 20;

let stdoutSink: DestinationStream | undefined;
let primarySink: PrimarySink | undefined;
let droppedLines = 0;
let lastDropWarning = -Infinity;

/** Counts lines dropped because their reader fell {@link STDOUT_MAX_BYTES} behind; says so on stderr at most every 10 s. */
function dropped(data: string): void {
  let n = 0;
  for (let i = data.indexOf('\n'); i !== -1; i = data.indexOf('\n', i + 1)) n++;
  droppedLines += Math.max(1, n);
  const now = performance.now();
  if (now - lastDropWarning >= 10_000) {
    lastDropWarning = now;
    process.stderr.write(`promfence: log lines dropped: stdout's reader is more than ${STDOUT_MAX_BYTES} bytes behind (promfence_log_dropped_lines_total counts them)\n`);
  }
}

/** Log lines dropped by this process since it started (a stdout reader that fell too far behind). */
export function droppedLogLines(): number {
  return droppedLines;
}

/** The one batched stdout destination of the process (every logger writing to stdout shares it). */
function stdout(): DestinationStream {
  if (stdoutSink !== undefined) return stdoutSink;
  if (cluster.isWorker && typeof process.send === 'function') {
    primarySink = new PrimarySink();
    stdoutSink = primarySink;
  } else {
    const sink = pino.destination({ dest: 1, sync: false, minLength: STDOUT_BATCH_BYTES, maxWrite: STDOUT_MAX_WRITE, periodicFlush: STDOUT_FLUSH_MS, maxLength: STDOUT_MAX_BYTES });
    sink.on('drop', (data: unknown) => dropped(String(data)));
    stdoutSink = sink;
  }
  return stdoutSink;
}

/**
 * A cluster primary: writes lines a worker sent (whole lines, src/cluster.ts) to this
 * process's stdout, the only writer of it.
 */
export function writeLogLines(data: string): void {
  stdout().write(data);
}

/**
 * A cluster worker: sends its pending log lines to the primary and resolves once the channel
 * took them (call before disconnecting from the primary); no-op elsewhere.
 */
export function flushLogs(): Promise<void> {
  return primarySink?.flush() ?? Promise.resolve();
}

/**
 * A worker's stdout: lines batched (like stdout's) and sent to the primary as
 * `{ type: 'promfence:log', data }` messages; at most {@link STDOUT_MAX_BYTES} waiting or in
 * flight, further lines dropped and counted.
 */
class PrimarySink implements DestinationStream {
  #pending: string[] = [];
  #pendingBytes = 0;
  #inFlightBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #sent: Promise<void> = Promise.resolve();

  write(line: string): void {
    if (this.#pendingBytes + this.#inFlightBytes + line.length > STDOUT_MAX_BYTES) {
      dropped(line);
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= 16_384) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), STDOUT_FLUSH_MS).unref();
  }

  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0 || !process.connected) return this.#sent;
    const data = this.#pending.join('');
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#inFlightBytes += bytes;
    this.#sent = new Promise<void>((resolve) => {
      process.send?.({ type: 'promfence:log', data }, undefined, {}, () => {
        this.#inFlightBytes -= bytes;
        resolve();
      });
    });
    return this.#sent;
  }
}

/** pino with promfence's line format: `level` as its name, ISO `time`, `msg`, no pid/hostname. */
function jsonLines(level: LogLevel | 'silent', destination: DestinationStream | NodeJS.WritableStream): PinoLogger {
  return pino({
    level,
    base: undefined,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, destination as DestinationStream);
}

/**
 * Creates the JSON logger (pino).
 *
 * @param level minimum level written (`error` < `warn` < `info` < `debug`); default `info`
 * @param options `silent` (drop everything) and `stream` (write lines there instead of stdout)
 * @returns a {@link Logger}; `logger.info('request', { request_id, … })` writes
 *   `{"level":"info","time":"…","request_id":"…","msg":"request"}` (fields whose value is
 *   `undefined` are left out)
 * @example createLogger('debug', { silent: process.env.PROMFENCE_TEST === '1' })
 */
export function createLogger(level: LogLevel = 'info', options: LoggerOptions = {}): Logger {
  const silent = options.silent ?? false;
  const p = jsonLines(silent ? 'silent' : level, options.stream ?? stdout());
  const logger: Logger = {
    error: (m, f) => (f === undefined ? p.error(m) : p.error(f, m)),
    warn: (m, f) => (f === undefined ? p.warn(m) : p.warn(f, m)),
    info: (m, f) => (f === undefined ? p.info(m) : p.info(f, m)),
    debug: (m, f) => (f === undefined ? p.debug(m) : p.debug(f, m)),
    isEnabled: (l) => !silent && p.isLevelEnabled(l),
  };
  return withTestTap(logger);
}

/** A logger that writes nothing (tests, and callers that do not care). */
export function silentLogger(): Logger {
  const nop = (): void => {};
  return withTestTap({ error: nop, warn: nop, info: nop, debug: nop, isEnabled: () => false });
}

/**
 * Test suite only: when `PROMFENCE_TEST_LOG_TAP` names a directory (scripts/run-tests.mjs
 * sets it), every logger — silent ones included — also writes every line at `debug`, in the
 * same JSON format, to `<dir>/<pid>.log` (synchronous writes, so nothing is lost at exit).
 * The test runner then searches every line of the whole suite for the test credentials
 * (README, "Logs": never a secret at any level). Unset in production: no effect.
 */
let tap: PinoLogger | undefined | null = null;

function testTap(): PinoLogger | undefined {
  if (tap !== null) return tap;
  const dir = process.env['PROMFENCE_TEST_LOG_TAP'];
  if (dir === undefined || dir === '') return (tap = undefined);
  mkdirSync(dir, { recursive: true });
  tap = jsonLines('debug', pino.destination({ dest: join(dir, `${process.pid}.log`), sync: true, append: true }));
  return tap;
}

function withTestTap(logger: Logger): Logger {
  const t = testTap();
  if (t === undefined) return logger;
  return {
    error: (m, f) => { t.error(f ?? {}, m); logger.error(m, f); },
    warn: (m, f) => { t.warn(f ?? {}, m); logger.warn(m, f); },
    info: (m, f) => { t.info(f ?? {}, m); logger.info(m, f); },
    debug: (m, f) => { t.debug(f ?? {}, m); logger.debug(m, f); },
    isEnabled: () => true,
  };
}
