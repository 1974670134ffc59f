/**
 * Errors of the access domain (tenant grants, narrowing, policies). Framework-free: the HTTP
 * layer maps `code` to a status through src/http/errors.ts, exactly like PromQLError.
 */

/** Stable codes of {@link AccessError}; each is also an HTTP error code of the same name. */
export type AccessErrorCode =
  /** The caller is authenticated but granted nothing (403). */
  | 'no_tenants'
  /** A tenant outside the grant was asked for (narrowing, or a tenant header of a foreign tenant) (403). */
  | 'forbidden_tenant'
  /** A narrowing value that is not a tenant ID at all (400). */
  | 'invalid_parameter';

/**
 * The only error type of src/access. `message` says what was wrong and what to do, e.g.
 * `tenant "team-veggie" is not granted to subject "alice"`.
 */
export class AccessError extends Error {
  readonly code: AccessErrorCode;
  /**
   * @param code stable code (see {@link AccessErrorCode})
   * @param message human message naming the subject or tenant involved
   */
  constructor(code: AccessErrorCode, message: string) {
    super(message);
    this.name = 'AccessError';
    this.code = code;
  }
}
