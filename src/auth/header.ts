/**
 * Parsing of the `Authorization` request header, shared by both strategies and the failure
 * messages. Credentials are accepted from this header only.
 */

/** What an `Authorization` header holds. */
export type AuthorizationHeader =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'malformed'; readonly scheme: 'bearer' | 'basic' }
  | { readonly kind: 'unsupported'; readonly scheme: string };

const SCHEME = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: (.*))?$/s;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses an `Authorization` header value.
 *
 * - `Bearer <token>` (scheme case-insensitive, one space, token of visible ASCII without
 *   spaces, as RFC 6750 allows) → `bearer`;
 * - `Basic <base64(user:password)>` → `basic`; the password is everything after the FIRST
 *   colon, so passwords may contain `:` (RFC 7617);
 * - a Bearer/Basic header that does not fit → `malformed`; another scheme → `unsupported`;
 * - absent or empty → `none`.
 *
 * @param value `req.headers.authorization` (Node keeps the first of repeated Authorization headers)
 */
export function parseAuthorization(value: string | undefined): AuthorizationHeader {
  if (value === undefined || value === '') return { kind: 'none' };
  const m = SCHEME.exec(value);
  if (!m) return { kind: 'unsupported', scheme: '' };
  const scheme = (m[1] ?? '').toLowerCase();
  const rest = m[2];
  if (scheme === 'bearer') {
    if (rest === undefined || !/^[\x21-\x7e]+$/.test(rest)) return { kind: 'malformed', scheme: 'bearer' };
    return { kind: 'bearer', token: rest };
  }
  if (scheme === 'basic') {
    if (rest === undefined || !BASE64.test(rest)) return { kind: 'malformed', scheme: 'basic' };
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { kind: 'malformed', scheme: 'basic' };
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { kind: 'unsupported', scheme: m[1] ?? '' };
}
