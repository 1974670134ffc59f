/**
 * Validators of the operational configuration values (CORS origins, Redis URL, Redis key
 * prefix). Same convention as ./values.ts: `undefined` when fine, else a message that
 * completes `config: <key path>…`.
 */

/**
 * Problem with a CORS origin of `server.cors.allowed_origins`, if any: `*` (any origin) or an
 * exact browser origin `http(s)://host[:port]` (no path, no trailing `/`), compared byte for
 * byte with the request's `Origin` header.
 */
export function corsOriginProblem(value: string): string | undefined {
  if (value === '*') return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return `: ${JSON.stringify(value)} is not an origin; write it like https://grafana.example.com (scheme, host, optional port) or "*"`;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== value) {
    return `: ${JSON.stringify(value)} is not an origin; write it like https://grafana.example.com (scheme, host, optional port, no path or trailing "/") or "*"`;
  }
  return undefined;
}

/**
 * Problem with `limits.redis.url`, if any: `redis://` or `rediss://` with a host. The URL may
 * carry a password, so the message never repeats it.
 */
export function redisUrlProblem(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return ': must be a Redis URL like redis://127.0.0.1:6379 (or rediss:// for TLS)';
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '') return ': must be a Redis URL like redis://127.0.0.1:6379 (or rediss:// for TLS)';
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) return ': the path must be a database number (redis://host:6379/0)';
  return undefined;
}

/** Problem with `limits.redis.key_prefix`, if any (1–64 characters of `A-Za-z0-9_.:-`). */
export function keyPrefixProblem(value: string): string | undefined {
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? undefined : ': must be 1 to 64 characters of A-Z a-z 0-9 _ . : -';
}

/** Where a Redis URL points, without credentials (for logs). */
export function redisEndpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
