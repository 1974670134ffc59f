/**
 * Who a caller is, as established by an authentication provider (src/auth). Framework-free.
 */

/**
 * The authentication methods promfence knows, one per provider (src/auth/providers). The
 * same names appear in `auth.order`, in the access log and in metrics labels.
 */
export type AuthMethod = 'bearer_tokens' | 'basic' | 'jwt' | 'trusted_header' | 'mtls';

/**
 * An authenticated caller.
 *
 * - `subject`: the identity (`alice`, `system:serviceaccount:monitoring:fruit-reader`), the
 *   key of `access.subjects`;
 * - `groups`: groups it belongs to, keys of `access.groups` (from the credential entry, a
 *   groups claim, or a groups header);
 * - `method`: the provider that authenticated it;
 * - `tenants`: tenant IDs the credential itself carries (a JWT tenants claim), added to the
 *   configured grant; empty for static credentials;
 * - `claims`: the verified claims of a token, for diagnostics (never logged whole).
 *
 * Objects are frozen by the providers: nothing downstream can change who the caller is.
 */
export interface Principal {
  readonly subject: string;
  readonly groups: readonly string[];
  readonly method: AuthMethod;
  readonly tenants: readonly string[];
  readonly claims?: Readonly<Record<string, unknown>>;
}

/**
 * Builds a frozen {@link Principal}.
 *
 * @param subject non-empty identity
 * @param method the provider
 * @param extra groups (default none), credential tenants (default none), claims
 * @example principal('alice', 'bearer_tokens', { groups: ['fruit-devs'] })
 */
export function principal(
  subject: string,
  method: AuthMethod,
  extra: { groups?: readonly string[]; tenants?: readonly string[]; claims?: Readonly<Record<string, unknown>> } = {},
): Principal {
  return Object.freeze({
    subject,
    method,
    groups: Object.freeze([...(extra.groups ?? [])]),
    tenants: Object.freeze([...(extra.tenants ?? [])]),
    ...(extra.claims === undefined ? {} : { claims: Object.freeze({ ...extra.claims }) }),
  });
}
