/**
 * The logger promfence's code writes to: a minimal interface ({@link Logger}), implemented
 * with winston (JSON lines). Nothing outside this file depends on winston, so tests can pass
 * any object with these four methods.
 */
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';

/** Log levels promfence uses (winston's npm levels, subset), most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Structured fields of one log line (never a credential: see README, "Logs"). */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * What promfence logs through. Each call writes one JSON line
 * `{"time":…,"level":…,"msg":<message>,…fields}` when the level is enabled.
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
  /** Where lines go; default stdout. Tests pass a stream to capture lines. */
  readonly stream?: NodeJS.WritableStream;
}

const renameMessage = winston.format((info) => {
  const out = info as winston.Logform.TransformableInfo & { msg?: unknown };
  out.msg = info.message;
  delete (out as { message?: unknown }).message;
  return out;
});

/**
 * Creates the JSON logger (winston with a Console or Stream transport).
 *
 * @param level minimum level written (`error` < `warn` < `info` < `debug`); default `info`
 * @param options `silent` (drop everything) and `stream` (write lines there instead of stdout)
 * @returns a {@link Logger}; `logger.info('request', { request_id, … })` writes
 *   `{"time":"…","level":"info","msg":"request","request_id":"…"}`
 * @example createLogger('debug', { silent: process.env.PROMFENCE_TEST === '1' })
 */
export function createLogger(level: LogLevel = 'info', options: LoggerOptions = {}): Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  const w = winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(
      winston.format.timestamp({ alias: 'time' }),
      winston.format((info) => {
        delete (info as { timestamp?: unknown }).timestamp;
        return info;
      })(),
      renameMessage(),
      winston.format.json(),
    ),
    transports: [transport],
  });
  const silent = options.silent ?? false;
  const logger: Logger = {
    error: (m, f) => void w.error(m, f),
    warn: (m, f) => void w.warn(m, f),
    info: (m, f) => void w.info(m, f),
    debug: (m, f) => void w.debug(m, f),
    isEnabled: (l) => !silent && w.isLevelEnabled(l),
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
let tap: winston.Logger | undefined | null = null;

function testTap(): winston.Logger | undefined {
  if (tap !== null) return tap;
  const dir = process.env['PROMFENCE_TEST_LOG_TAP'];
  if (dir === undefined || dir === '') return (tap = undefined);
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, `${process.pid}.log`), 'a');
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      writeSync(fd, typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      cb();
    },
  });
  tap = winston.createLogger({
    level: 'debug',
    format: winston.format.combine(winston.format.timestamp({ alias: 'time' }), renameMessage(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream: sink })],
  });
  return tap;
}

function withTestTap(logger: Logger): Logger {
  const t = testTap();
  if (t === undefined) return logger;
  return {
    error: (m, f) => { t.error(m, f); logger.error(m, f); },
    warn: (m, f) => { t.warn(m, f); logger.warn(m, f); },
    info: (m, f) => { t.info(m, f); logger.info(m, f); },
    debug: (m, f) => { t.debug(m, f); logger.debug(m, f); },
    isEnabled: () => true,
  };
}
