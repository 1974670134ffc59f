/**
 * Every client-facing error of promfence: one table maps a stable `code` to its HTTP
 * status and Prometheus `errorType`, and {@link errorBody} writes the Prometheus JSON
 * envelope `{"status":"error","errorType":…,"error":…,"code":…}`.
 *
 * errorType follows Prometheus (web/api/v1 `errorType` values) wherever Prometheus has one,
 * so clients treat a promfence refusal like an upstream one (README, "Errors").
 */
export const ERROR_TABLE = {
  parse_error: { status: 400, errorType: 'bad_data' },
  empty_selector: { status: 400, errorType: 'bad_data' },
  unsupported_function: { status: 400, errorType: 'bad_data' },
  unsupported_syntax: { status: 400, errorType: 'bad_data' },
  query_too_large: { status: 400, errorType: 'bad_data' },
  duplicate_parameter: { status: 400, errorType: 'bad_data' },
  invalid_parameter: { status: 400, errorType: 'bad_data' },
  credentials_in_url: { status: 400, errorType: 'bad_data' },
  /** The access policy (several label selectors) cannot be applied to this query without changing its meaning. */
  unsupported_policy: { status: 400, errorType: 'bad_data' },
  /** A request Node's HTTP parser refused (malformed request line or headers). */
  bad_request: { status: 400, errorType: 'bad_data' },
  unauthenticated: { status: 401, errorType: 'unauthorized' },
  forbidden_tenant: { status: 403, errorType: 'forbidden' },
  no_tenants: { status: 403, errorType: 'forbidden' },
  forbidden_endpoint: { status: 403, errorType: 'forbidden' },
  unknown_route: { status: 404, errorType: 'not_found' },
  method_not_allowed: { status: 405, errorType: 'bad_data' },
  body_too_large: { status: 413, errorType: 'bad_data' },
  unsupported_media_type: { status: 415, errorType: 'bad_data' },
  /** A request target longer than `server.max_request_target_bytes` (checked before authentication). */
  uri_too_long: { status: 414, errorType: 'bad_data' },
  /** The client did not send its request (headers or body) within Node's request timeout. */
  request_timeout: { status: 408, errorType: 'timeout' },
  rate_limited: { status: 429, errorType: 'too_many_requests' },
  headers_too_large: { status: 431, errorType: 'bad_data' },
  internal_error: { status: 500, errorType: 'internal' },
  upstream_unavailable: { status: 502, errorType: 'unavailable' },
  upstream_timeout: { status: 504, errorType: 'timeout' },
  /** A range query asks for more than `limits.max_points` points per series (Prometheus's 11,000 rule). */
  too_many_points: { status: 400, errorType: 'bad_data' },
  /** A range query spans more than `limits.max_range`. */
  range_too_long: { status: 400, errorType: 'bad_data' },
  /** A request reads more than `limits.max_tenants` tenants at once. */
  too_many_tenants: { status: 400, errorType: 'bad_data' },
  /** `limits.store: redis` could not answer and `limits.redis.on_error` is `deny`. */
  limiter_unavailable: { status: 503, errorType: 'unavailable' },
  /** `/-/ready`: no configuration loaded, the upstream's buildinfo probe failed or is stale, or shutting down. */
  not_ready: { status: 503, errorType: 'unavailable' },
  /** `POST /-/reload` (internal listener): the new configuration was refused; the old one keeps running. */
  reload_failed: { status: 500, errorType: 'internal' },
} as const satisfies Record<string, { status: number; errorType: string }>;

/** A stable promfence error code (the `code` field of the error envelope). */
export type ErrorCode = keyof typeof ERROR_TABLE;

/** True when `code` is one of promfence's error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_TABLE, code);
}

/**
 * An error that ends a request with one JSON envelope response.
 *
 * @param code stable code, see {@link ERROR_TABLE}
 * @param message human message: what was wrong and what to do
 * @param headers extra response headers (`WWW-Authenticate`, `Allow`, `Retry-After`)
 */
export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  constructor(code: ErrorCode, message: string, options?: { headers?: Record<string, string>; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.code = code;
    this.headers = options?.headers ?? {};
  }
  /** HTTP status from the table. */
  get status(): number {
    return ERROR_TABLE[this.code].status;
  }
}

/** The Prometheus error envelope for a code and message. */
export function errorBody(code: ErrorCode, message: string): {
  status: 'error';
  errorType: string;
  error: string;
  code: ErrorCode;
} {
  return { status: 'error', errorType: ERROR_TABLE[code].errorType, error: message, code };
}
