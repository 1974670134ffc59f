/**
 * Header policy of the upstream exchange, in one file (docs/security.md invariant 5):
 *
 * - requests: an allow-list of client headers ({@link FORWARDED_CLIENT_HEADERS}); everything
 *   else, including `Authorization`, `Cookie`, `X-Scope-OrgID`, `THANOS-TENANT`,
 *   `X-Prom-Label-Policy`, the narrowing header, `Forwarded`/`X-Forwarded-*` and hop-by-hop
 *   headers, is dropped. An allow-list fails closed: a tenancy header invented tomorrow is
 *   dropped today. promfence adds its own: `Host`, `X-Request-Id`, the upstream credential,
 *   the tenancy headers of the plan, and the body's `Content-Type`/`Content-Length`;
 * - responses: a drop-list ({@link DROPPED_RESPONSE_HEADERS}, plus every `Access-Control-*`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TenantSet } from '../access/tenants.ts';
import { quoteForMessage, tenantIdProblem } from '../access/tenant-id.ts';
import { HttpError } from '../http/errors.ts';

/** Client request headers copied to the upstream request (lower-case). */
export const FORWARDED_CLIENT_HEADERS: readonly string[] = Object.freeze([
  'accept',
  'accept-encoding',
  'accept-language',
  'user-agent',
  // W3C trace context: lets upstream traces join the client's; carries no tenancy.
  'traceparent',
  'tracestate',
]);

/**
 * The allow-listed client headers of a request (single values only; Node joins repeated
 * headers of these names into one string).
 */
export function forwardedClientHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_CLIENT_HEADERS) {
    const v = headers[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/**
 * Upstream response headers never relayed to the client: cookies and authentication
 * challenges of the upstream (a browser would store or answer them for promfence's origin),
 * redirects and their relatives (they reveal the upstream's internal address and are refused
 * anyway), hop-by-hop headers, `X-Request-Id` (promfence's own id stays), and transport
 * details the relay recomputes (`Content-Length` and `Content-Encoding` of filtered answers
 * are set by the relay itself).
 */
export const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  'set-cookie',
  'set-cookie2',
  'www-authenticate',
  'proxy-authenticate',
  'location',
  'content-location',
  'refresh',
  'link',
  'x-request-id',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'alt-svc',
  'strict-transport-security',
  'clear-site-data',
]);

/** True for a response header the client never sees ({@link DROPPED_RESPONSE_HEADERS} and CORS grants). */
export function isDroppedResponseHeader(name: string): boolean {
  return DROPPED_RESPONSE_HEADERS.has(name) || name.startsWith('access-control-');
}

/**
 * The tenant header value for header mode: the tenant IDs joined by `|` (Cortex/Mimir
 * tenant federation; a single ID for one tenant).
 *
 * @param tenants the resolved (narrowed) tenant set
 * @param headerName `enforce.header`, for messages (default `X-Scope-OrgID`)
 * @returns e.g. `team-fruit|team-veggie`
 * @throws HttpError `forbidden_tenant` (403) when the set is unrestricted (`*`: Mimir needs
 *   explicit IDs) or an ID is outside Mimir's charset (`0-9 a-z A-Z ! - _ . * ' ( )`,
 *   ≤ 150 bytes, not `.`/`..`)
 */
export function tenantHeaderValue(tenants: TenantSet, headerName: string): string {
  if (tenants.kind === 'all') {
    throw new HttpError('forbidden_tenant', `unrestricted access (*) cannot be expressed in the ${headerName} header (header mode needs explicit tenant IDs); narrow the request with the tenant parameter or header, e.g. ?tenant=team-a`);
  }
  for (const id of tenants.tenants) {
    const problem = tenantIdProblem(id, false);
    if (problem !== undefined) {
      throw new HttpError('forbidden_tenant', `tenant ${quoteForMessage(id)} cannot be sent in the ${headerName} header: it ${problem}`);
    }
  }
  return tenants.tenants.join('|');
}
