/**
 * Verified JWT claims → subject, groups and tenants (issue #7, "Claims to tenants").
 */
import { ALL_TENANTS_WILDCARD, quoteForMessage, tenantIdProblem } from '../../access/tenant-id.ts';
import type { JwtIssuerConfig } from '../../config/types.ts';
import { groupProblem, subjectProblem } from '../../config/values.ts';

/** Most groups taken from one token. */
export const MAX_CLAIM_GROUPS = 1000;

/**
 * Reads a claim: the payload's own property named exactly `name` when there is one (URL-like
 * names such as `https://example.com/groups` contain dots), else `name` as a dot path through
 * nested objects (`realm_access.roles`). Only own properties of plain objects are followed.
 *
 * @returns the value, or undefined when absent
 */
export function claimValue(payload: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let cur: unknown = payload;
  for (const seg of name.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** What a token's claims grant, or why they are refused (a 401 reason and message). */
export type ClaimsOutcome =
  | { readonly ok: true; readonly subject: string; readonly groups: string[]; readonly tenants: string[] }
  | { readonly ok: false; readonly reason: string; readonly message: string };

const refuse = (reason: string, message: string): ClaimsOutcome => ({ ok: false, reason, message: `invalid JWT: ${message}` });

/**
 * The subject, groups and tenants of a verified token, per its issuer's claim settings.
 *
 * - subject: `subject_claim` (default `sub`) must be a non-empty string (after
 *   `subject_prefix`: at most 256 characters, no control characters) → else `missing_subject`
 *   / `invalid_subject_claim`;
 * - groups: `groups_claim`, a string (one group) or an array of strings, each prefixed with
 *   `groups_prefix`; absent = none; any other type → `invalid_groups_claim`;
 * - tenants: `tenants_claim`, an array of strings or a string (a comma list, items trimmed);
 *   absent = none; any other type, or an item that is not a valid tenant ID (Mimir's charset,
 *   ≤ 150 bytes) → `invalid_tenants_claim`; `"*"` → `unrestricted_claim` unless the issuer
 *   sets `allow_unrestricted_claim` (a token minted by another team's tooling must not
 *   become an operator's).
 *
 * @param payload the verified claims
 * @param cfg the issuer
 */
export function claimsToIdentity(payload: Readonly<Record<string, unknown>>, cfg: JwtIssuerConfig): ClaimsOutcome {
  const rawSubject = claimValue(payload, cfg.subject_claim);
  if (rawSubject === undefined || rawSubject === null || rawSubject === '') {
    return refuse('missing_subject', `the token has no ${JSON.stringify(cfg.subject_claim)} claim (the subject); issuer ${JSON.stringify(cfg.name)} reads the subject from it (subject_claim)`);
  }
  if (typeof rawSubject !== 'string') return refuse('invalid_subject_claim', `claim ${JSON.stringify(cfg.subject_claim)} (the subject) must be a string`);
  const subject = cfg.subject_prefix + rawSubject;
  const sp = subjectProblem(subject);
  if (sp !== undefined) return refuse('invalid_subject_claim', `the subject from claim ${JSON.stringify(cfg.subject_claim)}${sp.startsWith(':') ? sp : ` ${sp.trim()}`}`);

  let groups: string[] = [];
  if (cfg.groups_claim !== undefined) {
    const raw = claimValue(payload, cfg.groups_claim);
    if (raw !== undefined && raw !== null) {
      const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every((g) => typeof g === 'string') ? (raw as string[]) : undefined;
      if (list === undefined) return refuse('invalid_groups_claim', `claim ${JSON.stringify(cfg.groups_claim)} (groups) must be a string or an array of strings`);
      if (list.length > MAX_CLAIM_GROUPS) return refuse('invalid_groups_claim', `claim ${JSON.stringify(cfg.groups_claim)} holds more than ${MAX_CLAIM_GROUPS} groups`);
      groups = [...new Set(list.map((g) => cfg.groups_prefix + g))];
      for (const g of groups) {
        const gp = groupProblem(g);
        if (gp !== undefined) return refuse('invalid_groups_claim', `group ${quoteForMessage(g, 64)} in claim ${JSON.stringify(cfg.groups_claim)}${gp.startsWith(':') ? gp : ` ${gp.trim()}`}`);
      }
    }
  }

  let tenants: string[] = [];
  if (cfg.tenants_claim !== undefined) {
    const raw = claimValue(payload, cfg.tenants_claim);
    if (raw !== undefined && raw !== null) {
      const list = typeof raw === 'string'
        ? raw.split(',').map((t) => t.replace(/^[ \t]+|[ \t]+$/g, ''))
        : Array.isArray(raw) && raw.every((t) => typeof t === 'string') ? (raw as string[]) : undefined;
      if (list === undefined) return refuse('invalid_tenants_claim', `claim ${JSON.stringify(cfg.tenants_claim)} (tenants) must be a string, a comma list or an array of strings`);
      for (const t of list) {
        const tp = tenantIdProblem(t, true);
        if (tp !== undefined) return refuse('invalid_tenants_claim', `tenant ${quoteForMessage(t, 64)} in claim ${JSON.stringify(cfg.tenants_claim)} ${tp}`);
        if (t === ALL_TENANTS_WILDCARD && !cfg.allow_unrestricted_claim) {
          return refuse('unrestricted_claim', `claim ${JSON.stringify(cfg.tenants_claim)} asks for every tenant ("*"), which issuer ${JSON.stringify(cfg.name)} may not grant (allow_unrestricted_claim is false); grant unrestricted access in access.subjects instead`);
        }
      }
      tenants = [...new Set(list)];
    }
  }
  return { ok: true, subject, groups, tenants };
}
