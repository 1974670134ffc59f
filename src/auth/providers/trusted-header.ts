/**
 * Provider `trusted_header`: the identity an auth proxy in front of promfence (oauth2-proxy's
 * `X-Forwarded-User`/`X-Forwarded-Groups`, Grafana's `X-Grafana-User`) puts in request
 * headers, accepted only when the TCP peer is one of `trusted_cidrs`. The peer is the
 * socket's address, never `X-Forwarded-For`. The headers are never forwarded upstream
 * (src/upstream/headers.ts forwards an allow-list that does not hold them).
 */
import { principal } from '../../access/principal.ts';
import { cidrMatcher } from '../../config/identity-schema.ts';
import { groupProblem, subjectProblem } from '../../config/values.ts';
import type { AuthProvider } from '../provider.ts';

/** Most groups read from the groups header. */
export const MAX_HEADER_GROUPS = 1000;

/** How many times header `name` (lower-case) occurs in raw header lines. */
function occurrences(rawHeaders: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if ((rawHeaders[i] ?? '').toLowerCase() === name) n++;
  return n;
}

/**
 * The provider.
 *
 * - No user header → `skip`.
 * - User header from a peer outside `trusted_cidrs` → a weak `fail` `untrusted_peer`: the
 *   headers are ignored and other credentials still count (a 401 only when nothing else
 *   authenticates).
 * - From a trusted peer: the user header must occur once and hold a valid subject (≤ 256
 *   characters, no control characters) → else `invalid_identity_header`; the groups header
 *   (all its occurrences) is a comma list, items trimmed, empty items ignored, each a valid
 *   group name.
 *
 * @param userHeader `auth.trusted_header.user_header`
 * @param groupsHeader `auth.trusted_header.groups_header` (undefined: no groups read)
 * @param trustedCidrs `auth.trusted_header.trusted_cidrs`
 */
export function trustedHeaderProvider(userHeader: string, groupsHeader: string | undefined, trustedCidrs: readonly string[]): AuthProvider {
  const userName = userHeader.toLowerCase();
  const groupsName = groupsHeader?.toLowerCase();
  const trusted = cidrMatcher(trustedCidrs);
  const bad = (message: string) => ({ kind: 'fail' as const, reason: 'invalid_identity_header', message: `invalid identity headers from the auth proxy: ${message}` });
  return {
    method: 'trusted_header',
    challenge: undefined,
    authenticate(input) {
      const user = input.headers[userName];
      if (user === undefined) return { kind: 'skip' };
      const peer = input.socket.remoteAddress;
      if (!trusted(peer)) {
        return {
          kind: 'fail', weak: true, reason: 'untrusted_peer',
          message: `${userHeader} is accepted only from the auth proxy; authenticate with credentials`,
          detail: `peer ${String(peer)} is not in auth.trusted_header.trusted_cidrs`,
        };
      }
      if (typeof user !== 'string' || occurrences(input.rawHeaders, userName) !== 1) return bad(`${userHeader} must be sent exactly once`);
      const sp = subjectProblem(user);
      if (sp !== undefined) return bad(`the user${sp.startsWith(':') ? sp : ` ${sp.trim()}`}`);
      let groups: string[] = [];
      if (groupsName !== undefined) {
        const raw = input.headers[groupsName];
        const joined = Array.isArray(raw) ? raw.join(',') : raw ?? '';
        groups = [...new Set(joined.split(',').map((g) => g.trim()).filter((g) => g.length > 0))];
        if (groups.length > MAX_HEADER_GROUPS) return bad(`more than ${MAX_HEADER_GROUPS} groups`);
        const wrong = groups.find((g) => groupProblem(g) !== undefined);
        if (wrong !== undefined) return bad('a group name contains control characters or is longer than 256 characters');
      }
      return { kind: 'success', principal: principal(user, 'trusted_header', { groups }) };
    },
  };
}
