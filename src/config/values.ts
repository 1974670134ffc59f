/**
 * Parsers and validators for individual configuration values (durations, host:port, URLs,
 * names). Each `…Problem` function returns `undefined` when the value is fine, else a
 * message that completes `config: <key path>…` (see ./format.ts for the joining rule).
 */

import { formatDuration, parseGoDurationNs, durationNsToMs } from '../promql/lexemes.ts';

/**
 * Parses a duration the way Prometheus configuration does: a Prometheus duration string
 * (`"2m"`, `"1h30m"`, `"500ms"`, units y w d h m s ms, in that order; prometheus/common
 * model.ParseDuration, shared with the PromQL engine) or a number of seconds (YAML number
 * or numeric string, fractions allowed: `1.5` = 1500 ms).
 *
 * @returns milliseconds (integer, rounded), or `undefined` when the value is not a duration
 */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string' || value.length === 0) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  let ms: number;
  try {
    ms = durationNsToMs(parseGoDurationNs(value));
  } catch {
    return undefined;
  }
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Formats milliseconds as a Prometheus duration (`120000` → `"2m"`, `1500` → `"1s500ms"`, `0` → `"0s"`). */
export function formatDurationMs(ms: number): string {
  return formatDuration(Math.round(ms));
}

/**
 * Splits `host:port` (`127.0.0.1:9095`, `[::1]:9095`, `localhost:0`).
 *
 * @returns `{ host, port }` (IPv6 host without brackets; port 0-65535), or `undefined`
 */
export function splitHostPort(listen: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(listen);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? '';
  return host.length > 0 ? { host, port } : undefined;
}

/** Problem with a `host:port` listen address, if any. */
export function listenProblem(value: string): string | undefined {
  if (value.startsWith(':')) return `: ${JSON.stringify(value)} has no host; write 0.0.0.0${value} to listen on every interface, or 127.0.0.1${value} for local only`;
  return splitHostPort(value) ? undefined : `: ${JSON.stringify(value)} is not host:port; write it like 127.0.0.1:9095 or [::1]:9095`;
}

/**
 * Validates and normalises the upstream base URL: http(s), a host, no credentials, no query
 * or fragment; a trailing `/` is removed (`http://mimir:8080/prometheus/` →
 * `http://mimir:8080/prometheus`).
 */
export function parseUpstreamUrl(value: string): { url: string } | { problem: string } {
  const hint = 'must be an http(s) URL like http://127.0.0.1:9090 (a path prefix is allowed: http://mimir:8080/prometheus)';
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return { problem: `: ${hint}` };
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') return { problem: `: ${hint}` };
  if (u.username !== '' || u.password !== '') return { problem: ': must not contain credentials (user:password@); use upstream.bearer_token or upstream.bearer_token_file' };
  if (u.search !== '' || u.hash !== '' || value.includes('?') || value.includes('#')) return { problem: ': must not have a query string or fragment; promfence builds the query itself' };
  return { url: u.origin + u.pathname.replace(/\/+$/, '') };
}

/** Problem with a label name for enforce.label, if any (legacy Prometheus charset, not reserved `__…`). */
export function labelNameProblem(value: string): string | undefined {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(value)) return `: ${JSON.stringify(value)} is not a Prometheus label name (letters, digits and _, not starting with a digit)`;
  if (value.startsWith('__')) return `: ${JSON.stringify(value)} is reserved (names starting with "__" are Prometheus-internal); use a label like "tenant"`;
  return undefined;
}

const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const RESERVED_HEADERS = new Set(['authorization', 'cookie', 'host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'te', 'upgrade', 'proxy-authorization']);

/** Problem with an HTTP header name (RFC 9110 token; not a header promfence or HTTP itself owns). */
export function headerNameProblem(value: string): string | undefined {
  if (!HEADER_TOKEN.test(value)) return `: ${JSON.stringify(value)} is not a valid HTTP header name`;
  if (RESERVED_HEADERS.has(value.toLowerCase())) return `: ${JSON.stringify(value)} cannot be used; it is a standard HTTP header`;
  return undefined;
}

/** Prometheus / Thanos / VictoriaMetrics API parameters the narrowing parameter must not shadow. */
const RESERVED_PARAMS = new Set([
  'query', 'time', 'start', 'end', 'step', 'timeout', 'limit', 'lookback_delta', 'stats', 'match[]',
  'dedup', 'partial_response', 'max_source_resolution', 'replicaLabels[]', 'storeMatch[]', 'engine', 'analyze',
  'access_token', 'extra_label', 'extra_filters[]', 'format', 'type', 'metric', 'state', 'rule_name[]',
  'rule_group[]', 'file[]', 'exclude_alerts', 'group_limit', 'group_next_token',
]);

/** Problem with the narrowing parameter's name (enforce.select_param), if any. */
export function paramNameProblem(value: string): string | undefined {
  if (!/^[A-Za-z0-9_.\-[\]]+$/.test(value)) return `: ${JSON.stringify(value)} is not a usable parameter name (letters, digits, _ . - [ ])`;
  if (RESERVED_PARAMS.has(value)) return `: ${JSON.stringify(value)} is a Prometheus API parameter; pick another name like "tenant"`;
  return undefined;
}

function hasControlChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Problem with a subject name (bearer/basic subject, access.subjects key), if any. */
export function subjectProblem(value: string, basic = false): string | undefined {
  if (value.length === 0) return ' is empty';
  if (value.length > 256) return ' is longer than 256 characters';
  if (hasControlChar(value)) return ' contains control characters';
  if (value === '__proto__' || value === 'constructor' || value === 'prototype') return `: ${JSON.stringify(value)} is a reserved name`;
  if (basic && value.includes(':')) return `: ${JSON.stringify(value)} contains ":", which HTTP basic usernames cannot contain`;
  return undefined;
}

/** Problem with a group name, if any. */
export function groupProblem(value: string): string | undefined {
  return subjectProblem(value, false);
}

/** Problem with a bearer token in clear (or read from a file), if any. Never echoes the token. */
export function tokenProblem(value: string): string | undefined {
  if (value.length === 0) return ' is empty';
  if (/\s/.test(value)) return ' contains whitespace or a line break; a bearer token is sent as "Authorization: Bearer <token>" and cannot contain spaces';
  if (!/^[\x21-\x7e]+$/.test(value)) return ' contains characters outside printable ASCII; HTTP headers cannot carry them reliably';
  return undefined;
}

const BCRYPT_RE = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** Problem with a bcrypt hash, if any. Never echoes the hash. */
export function bcryptHashProblem(value: string): string | undefined {
  if (value.length === 0) return ' is empty';
  if (BCRYPT_RE.test(value)) return undefined;
  const pasted = /^[^:$]+:\$2/.test(value) ? ' (it looks like a whole htpasswd line: keep only the part after "user:")' : '';
  return `: must be a bcrypt hash like $2y$10$… (cost 04-31; create one with "htpasswd -nbBC 10 USER PASSWORD" and keep the part after "USER:")${pasted}`;
}

/** Problem with a `token_sha256` value, if any. */
export function sha256HexProblem(value: string): string | undefined {
  if (value.length === 0) return ' is empty';
  if (/^[0-9a-f]{64}$/.test(value)) return undefined;
  if (/^[0-9A-Fa-f]{64}$/.test(value)) return ': must be lowercase hex; write it in lowercase';
  return ': must be 64 lowercase hex characters, the output of "promfence hash-token"';
}

/** Problem with the basic-auth realm (it is written inside a quoted-string), if any. */
export function realmProblem(value: string): string | undefined {
  if (value.length === 0) return ' is empty';
  if (!/^[\x20-\x7e]+$/.test(value) || /["\\]/.test(value)) return ': must be printable ASCII without " or \\';
  return undefined;
}

/**
 * Problem with `server.path_prefix`, if any: `''` (none) or `/seg[/seg…]` with segments of
 * `A-Za-z0-9._~-` (not `.`/`..`), no trailing `/`, and not `/tenants` or `/-` (paths
 * promfence serves itself).
 */
export function pathPrefixProblem(value: string): string | undefined {
  if (value === '') return undefined;
  const hint = 'write it like "/prometheus" (segments of letters, digits, . _ ~ -; no trailing "/")';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(value) || value.split('/').some((seg) => seg === '.' || seg === '..')) return `: ${JSON.stringify(value)} is not a path prefix; ${hint}`;
  const first = value.split('/')[1];
  if (first === 'tenants' || first === '-') return `: ${JSON.stringify(value)} would shadow promfence's own /${first}/ paths; pick another prefix`;
  return undefined;
}

/** Problem with a `Host` header value or TLS server name (`host`, `host:port`, `[v6]:port`), if any. */
export function hostHeaderProblem(value: string): string | undefined {
  if (/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/.test(value) || /^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(value)) return undefined;
  return `: ${JSON.stringify(value)} is not a host name (write it like "prometheus.internal" or "prometheus.internal:443")`;
}

/** Headers `upstream.headers` may not set: the credential, promfence's own, and the tenancy headers of other proxies. */
const UPSTREAM_OWNED_HEADERS = new Set(['x-request-id', 'x-prom-label-policy', 'accept-encoding']);

/** Problem with an `upstream.headers` name, if any. */
export function upstreamHeaderNameProblem(value: string): string | undefined {
  const p = headerNameProblem(value);
  if (p !== undefined) return p + ' (the upstream credential goes in upstream.bearer_token or upstream.basic_auth, the Host in upstream.host)';
  if (UPSTREAM_OWNED_HEADERS.has(value.toLowerCase())) return `: ${JSON.stringify(value)} is set by promfence itself`;
  return undefined;
}

/** Problem with a static header value (no control characters or line breaks), if any. Never echoes the value. */
export function headerValueProblem(value: string): string | undefined {
  return hasControlChar(value) ? ' contains control characters or a line break, which an HTTP header cannot carry' : undefined;
}
