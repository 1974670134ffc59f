/**
 * Header policy of the upstream request: an allow-list of client headers (everything else,
 * including `Authorization`, `Cookie`, `X-Scope-OrgID`, `THANOS-TENANT`,
 * `X-Prom-Label-Policy`, the narrowing header, `Forwarded`/`X-Forwarded-*` and hop-by-hop
 * headers, is dropped), plus the headers promfence sets itself (threat-model.md invariant 5).
 * An allow-list fails closed: a tenancy header invented tomorrow is dropped today.
 */
import type { TenantSet } from '../enforce/tenants.ts';
import { HttpError } from '../http/errors.ts';
import { quoteForMessage, tenantIdProblem } from '../tenancy/index.ts';

/**
 * Client request headers copied to the upstream request (lower-case). Everything else sent
 * upstream is promfence's own: `host` (the upstream's), `x-request-id`, `authorization`
 * (`upstream.bearer_token`), `content-type`/`content-length` of the rebuilt POST body, and
 * the tenant header in header modes (see src/upstream/proxy.ts `upstreamHeaders`).
 */
export const FORWARDED_CLIENT_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'user-agent',
  // W3C trace context: lets upstream traces join the client's; carries no tenancy.
  'traceparent',
  'tracestate',
]);

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
