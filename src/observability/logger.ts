/**
 * The process logger: winston, one JSON object per line on stdout.
 *
 * Every line has `time` (RFC 3339), `level` and `msg` (winston's `message`, renamed so the
 * access line reads `{"msg":"request",…}`), plus the structured fields of the call.
 * Never pass a token, an `Authorization` header, a password or a query text to it.
 */
import winston from 'winston';

/** Log levels promfence uses (winston's npm levels, subset). */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Drop every line (tests). Default false. */
  readonly silent?: boolean;
  /** Where lines go; default a winston Console transport (stdout). Tests pass a stream to capture lines. */
  readonly stream?: NodeJS.WritableStream;
}

const renameMessage = winston.format((info) => {
  const out = info as winston.Logform.TransformableInfo & { msg?: unknown };
  out.msg = info.message;
  delete (out as { message?: unknown }).message;
  return out;
});

/**
 * Creates the JSON logger.
 *
 * @param level minimum level written (`error` < `warn` < `info` < `debug`); default `info`
 * @param options `silent` (drop everything) and `stream` (write lines there instead of stdout)
 * @returns a winston logger; `logger.info('request', { request_id, … })` writes
 *   `{"time":"…","level":"info","msg":"request","request_id":"…"}`
 * @example createLogger('debug', { silent: process.env.PROMFENCE_TEST === '1' })
 */
export function createLogger(level: LogLevel = 'info', options: LoggerOptions = {}): winston.Logger {
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return winston.createLogger({
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
}

/** A logger that writes nothing (tests, and callers that do not care). */
export function silentLogger(): winston.Logger {
  return createLogger('error', { silent: true });
}
