/**
 * Errors of the PromQL engine (parse, validate, enforce, print). Framework-free: the HTTP
 * layer maps `code` to a status through src/http/errors.ts.
 */

/** Stable codes of {@link PromQLError}. */
export type PromQLErrorCode =
  | 'parse_error' // the text is not valid PromQL (has line/column)
  | 'empty_selector' // a selector has no metric name and every matcher matches the empty string
  | 'forbidden_tenant' // a user matcher names a tenant outside the granted set (403)
  | 'unsupported_function' // a function refused by policy (info()) or unknown to the configured syntax
  | 'unsupported_syntax' // syntax the configured upstream does not accept (or promfence refuses)
  | 'query_too_large' // text longer than the configured cap
  | 'unsupported_policy' // the access policy cannot be applied to this query without changing its meaning
  | 'internal_error'; // the self-check failed or an unknown node was met: fail closed

/** A position in the query text: 1-based line and column (in code points), 0-based offset (UTF-16). */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

/**
 * The only error type the engine throws. Any other exception escaping parse/walk is wrapped
 * into a `PromQLError` by the public entry points (fail closed).
 */
export class PromQLError extends Error {
  readonly code: PromQLErrorCode;
  readonly position: TextPosition | undefined;
  /** For `forbidden_tenant`: the tenant the query named (callers phrase their own message with it). */
  readonly tenant: string | undefined;
  constructor(code: PromQLErrorCode, message: string, options?: { position?: TextPosition; cause?: unknown; tenant?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PromQLError';
    this.code = code;
    this.position = options?.position;
    this.tenant = options?.tenant;
  }
}
