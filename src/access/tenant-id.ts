/**
 * Tenant ID syntax, shared by the configuration schema and per-request narrowing.
 *
 * promfence accepts exactly the tenant IDs Cortex/Mimir accept (clients.md): characters
 * `0-9 a-z A-Z ! - _ . * ' ( )`, at most 150 bytes, not `.` or `..`. The same rule is used in
 * label mode too, so a configuration can move between label and header mode unchanged, and
 * so `|` (Mimir's federation separator) can never appear inside one tenant ID.
 */

/** The lone value that means "every tenant" (unrestricted) in configuration and narrowing. */
export const ALL_TENANTS_WILDCARD = '*';

/** Maximum tenant ID length in bytes (Mimir's limit). */
export const MAX_TENANT_ID_BYTES = 150;

const TENANT_ID_CHARS = /^[0-9a-zA-Z!\-_.*'()]+$/;

/**
 * Checks one tenant ID.
 *
 * @param id candidate tenant ID (exact string, not trimmed)
 * @param allowWildcard when true (default), the lone `"*"` is accepted as "all tenants"
 * @returns `undefined` when valid, else a human reason that completes the sentence
 *   `tenant "x" …`, e.g. `is empty`, `contains "|"; allowed characters are 0-9 a-z A-Z ! - _ . * ' ( )`
 */
export function tenantIdProblem(id: string, allowWildcard = true): string | undefined {
  if (id.length === 0) return 'is empty';
  if (id === ALL_TENANTS_WILDCARD) return allowWildcard ? undefined : 'means "all tenants" and is not allowed here';
  if (id === '.' || id === '..') return 'is not allowed (Mimir refuses "." and "..")';
  if (Buffer.byteLength(id, 'utf8') > MAX_TENANT_ID_BYTES) return `is longer than ${MAX_TENANT_ID_BYTES} bytes`;
  if (!TENANT_ID_CHARS.test(id)) {
    const bad = [...id].find((c) => !TENANT_ID_CHARS.test(c)) ?? '';
    return `contains ${JSON.stringify(bad)}; allowed characters are 0-9 a-z A-Z ! - _ . * ' ( )`;
  }
  return undefined;
}

/**
 * Quotes a client- or config-supplied value for an error message: JSON string syntax
 * (control characters escaped), cut to `max` characters (default 160) so a huge header
 * cannot blow up a log line or a response.
 */
export function quoteForMessage(value: string, max = 160): string {
  return JSON.stringify(value.length > max ? value.slice(0, max) + '…' : value);
}
