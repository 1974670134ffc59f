/**
 * Grafana team LBAC (issue #12): the `X-Prom-Label-Policy` request header, parsed as Mimir
 * parses it (grafana/mimir pkg/labelaccess: `ExtractLabelMatchersSlice` /
 * `policyFromHeaderValue`): each header value (the header may be repeated) is split on `,`;
 * each entry is `<tenant>:<selector>`, split at the first `:`, the selector path-unescaped
 * (Go's `url.PathUnescape`: `%XX`, `+` stays `+`) and parsed as a series selector whose
 * matchers are AND-ed; separate entries are OR-ed. promfence additionally trims optional
 * whitespace around an entry (Node joins a repeated header with `, `) and refuses what it
 * cannot enforce exactly: a metric name, a matcher on the tenant label (the tenant is the
 * entry's prefix), an invalid tenant ID, more than {@link MAX_LABEL_POLICY_ENTRIES} entries.
 *
 * Only subjects listed in `access.trust_label_policy_header` get here; from anyone else the
 * header is ignored and, like every header outside the allow-list, never forwarded.
 */
import { parseMatcherSet, type HeaderPolicyEntry } from '../access/label-policy.ts';
import { quoteForMessage, tenantIdProblem } from '../access/tenant-id.ts';
import { HttpError } from '../http/errors.ts';
import { percentDecode } from '../http/percent.ts';

/** The header's name, lower-case (Node's `req.headers` keys). */
export const LABEL_POLICY_HEADER = 'x-prom-label-policy';

/** Most entries one request's header may carry (each multiplies the enforced query). */
export const MAX_LABEL_POLICY_ENTRIES = 64;

function invalid(detail: string): HttpError {
  return new HttpError('invalid_parameter',
    `invalid X-Prom-Label-Policy header: ${detail}; send entries like team-a:%7Bjob%3D%22api%22%7D (tenant, ":", URL-escaped selector), comma-separated`);
}

/**
 * Parses the header's values into entries.
 *
 * @param values each received value of the header, in order (Node's `req.headersDistinct`)
 * @param label the tenant label (`enforce.label`); a selector may not name it
 * @returns one entry per policy: its tenant and the matchers of its selector
 * @throws HttpError `invalid_parameter` (400) naming the entry and what is wrong
 * @example parseLabelPolicyHeader(['team-fruit:%7Bjob%3D%22shop%22%7D'], 'tenant')
 *   // → [{ tenant: 'team-fruit', matchers: [{ name: 'job', op: '=', value: 'shop' }] }]
 */
export function parseLabelPolicyHeader(values: readonly string[], label: string): HeaderPolicyEntry[] {
  const entries: HeaderPolicyEntry[] = [];
  for (const value of values) {
    for (const raw of value.split(',')) {
      const item = raw.replace(/^[ \t]+|[ \t]+$/g, '');
      const n = entries.length + 1;
      if (entries.length >= MAX_LABEL_POLICY_ENTRIES) throw invalid(`more than ${MAX_LABEL_POLICY_ENTRIES} entries`);
      const colon = item.indexOf(':');
      if (colon < 0) throw invalid(`entry ${n} ${quoteForMessage(item, 80)} has no "<tenant>:" prefix`);
      const tenant = item.slice(0, colon);
      const problem = tenantIdProblem(tenant, false);
      if (problem !== undefined) throw invalid(`entry ${n}: tenant ${quoteForMessage(tenant, 80)} ${problem}`);
      const selector = percentDecode(Buffer.from(item.slice(colon + 1), 'latin1'), false);
      if (selector === null) throw invalid(`entry ${n}: the selector is not validly URL-escaped UTF-8`);
      const parsed = parseMatcherSet(selector);
      if ('problem' in parsed) throw invalid(`entry ${n}: selector ${quoteForMessage(selector, 120)} ${parsed.problem}`);
      if (parsed.matchers.some((m) => m.name === label)) {
        throw invalid(`entry ${n}: selector ${quoteForMessage(selector, 120)} has a matcher on the tenant label "${label}"; the tenant is the entry's prefix`);
      }
      entries.push({ tenant, matchers: parsed.matchers });
    }
  }
  return entries;
}
