/**
 * Label-based access policies (issue #12): what a caller may read as an OR of label selectors
 * such as `{tenant="team-veggie", job="api"}`, on top of (or instead of) whole tenants.
 *
 * Sources of matcher sets, all OR-ed:
 * - the tenant grant (`access.subjects`, `access.groups`): the set `{tenant=~"a|b"}`;
 * - `access.label_policies.subjects` / `.groups`: one set per selector;
 * - Grafana's `X-Prom-Label-Policy` header from a subject listed in
 *   `access.trust_label_policy_header`: the header's sets then *replace* the subject's
 *   own, each intersected with what the subject may read (see {@link resolveAccessPolicy}).
 *
 * Every set names its tenants (a `tenant="a"` or `tenant=~"a|b"` matcher of literal tenant
 * IDs), so a policy always knows its tenants (header modes, narrowing, logs). Sets are
 * normalised ({@link normalizeSets}): sets that differ only in their tenants merge into one
 * alternation (so a tenant-only policy is exactly {@link tenantPolicy}'s, and prints exactly
 * as before), and a set's tenants already covered by a wider set are dropped.
 *
 * Framework-free.
 */
import type { LabelMatcher } from '../promql/ast.ts';
import { PromQLError } from '../promql/errors.ts';
import { parseSeriesSelector } from '../promql/parse.ts';
import { checkSelectorNotEmpty } from '../promql/validate.ts';
import { regexProblem } from './admits.ts';
import { AccessError } from './errors.ts';
import { literalAlternatives, policyKey, tenantMatcher, tenantPolicy, type AccessPolicy, type MatcherSet } from './policy.ts';
import type { Principal } from './principal.ts';
import { grantedTenants, narrowTenants, type Grants } from './resolve.ts';
import { quoteForMessage, tenantIdProblem } from './tenant-id.ts';
import { ALL_TENANTS, tenantList, type TenantSet } from './tenants.ts';

/** Largest policy selector text, bytes (a selector is a handful of matchers). */
export const MAX_POLICY_SELECTOR_BYTES = 4096;

/** `access.label_policies`: subject → sets, group → sets (parsed, validated; null-prototype records). */
export interface LabelPolicies {
  readonly subjects: Readonly<Record<string, readonly MatcherSet[]>>;
  readonly groups: Readonly<Record<string, readonly MatcherSet[]>>;
}

/** One alternative of a policy while it is being built: its tenants and its other matchers. */
interface Part {
  readonly tenants: readonly string[];
  readonly rest: readonly LabelMatcher[];
}

const matcherKey = (m: LabelMatcher): string => JSON.stringify([m.name, m.op, m.value]);

/**
 * Parses a selector without a metric name (`{job="api", env!="dev"}`) into its matchers: the
 * form of policy selectors in the configuration, in `explain --selector` and in
 * `X-Prom-Label-Policy` entries. Refused: syntax errors, a metric name (outside the braces or
 * as `__name__`: a policy restricts labels; promfence's rewrite with `or` ignores metric
 * names), a selector whose every matcher matches the empty string (`{job=~".*"}`, like
 * Prometheus), a regex that does not compile as RE2.
 *
 * @param text the selector text, at most {@link MAX_POLICY_SELECTOR_BYTES} bytes
 * @returns the matchers, or a problem that completes the sentence `selector … ` (`is not a valid selector: …`)
 */
export function parseMatcherSet(text: string): { readonly matchers: readonly LabelMatcher[] } | { readonly problem: string } {
  let vs;
  try {
    vs = parseSeriesSelector(text, { syntax: 'prometheus3', maxQueryBytes: MAX_POLICY_SELECTOR_BYTES });
    checkSelectorNotEmpty(vs);
  } catch (err) {
    if (!(err instanceof PromQLError)) throw err;
    if (err.code === 'empty_selector') return { problem: 'matches the empty string (every matcher also matches series without the label); add a matcher that needs a value, like tenant="a"' };
    return { problem: `is not a valid selector: ${err.message.replace(/^a match\[\] value/, 'a policy')}` };
  }
  if (vs.name !== undefined || vs.matchers.some((m) => m.name === '__name__')) {
    return { problem: 'names a metric; a policy selector restricts labels only (write it without a metric name, like {tenant="a", job="api"})' };
  }
  for (const m of vs.matchers) {
    if (m.op === '=~' || m.op === '!~') {
      const p = regexProblem(m.value);
      if (p !== undefined) return { problem: `has an invalid regex for ${m.name}: ${p}` };
    }
  }
  return { matchers: vs.matchers };
}

/** The tenant IDs a tenant-label matcher names, or a problem. */
function tenantsOf(m: LabelMatcher): { tenants: string[] } | { problem: string } {
  const values = m.op === '=' ? [m.value] : m.op === '=~' ? literalAlternatives(m.value) : undefined;
  if (values === undefined) {
    return { problem: `has ${m.name}${m.op}${quoteForMessage(m.value)}; the tenant matcher must name tenants: ${m.name}="a" or ${m.name}=~"a|b" (literal IDs)` };
  }
  for (const id of values) {
    const p = tenantIdProblem(id, false);
    if (p !== undefined) return { problem: `names tenant ${quoteForMessage(id)}, which ${p}` };
  }
  return { tenants: values };
}

function toPart(set: MatcherSet, label: string): Part | { problem: string } {
  const own = set.filter((m) => m.name === label);
  if (own.length !== 1) {
    return { problem: `${own.length === 0 ? 'has no' : 'has more than one'} matcher on the tenant label "${label}"; every policy selector names its tenants with exactly one ${label}="a" or ${label}=~"a|b"` };
  }
  const t = tenantsOf(own[0] as LabelMatcher);
  if ('problem' in t) return t;
  return { tenants: t.tenants, rest: set.filter((m) => m.name !== label) };
}

/**
 * Parses and checks one policy selector of the configuration or of `explain --selector`:
 * {@link parseMatcherSet}, plus exactly one matcher on the tenant label naming tenants
 * (`tenant="a"` or `tenant=~"a|b"` of literal, valid tenant IDs).
 *
 * @param text e.g. `{tenant="team-veggie", job="api"}`
 * @param label the tenant label (`enforce.label`)
 * @returns the matcher set (tenant matcher first), or a problem completing `selector … `
 */
export function parsePolicySelector(text: string, label: string): { readonly set: MatcherSet } | { readonly problem: string } {
  const r = parseMatcherSet(text);
  if ('problem' in r) return r;
  const part = toPart(r.matchers, label);
  if ('problem' in part) return part;
  return { set: Object.freeze([tenantMatcher(label, tenantList(part.tenants)) as LabelMatcher, ...part.rest]) };
}

function sameRestSubset(small: readonly LabelMatcher[], big: readonly LabelMatcher[]): boolean {
  const have = new Set(big.map(matcherKey));
  return small.every((m) => have.has(matcherKey(m)));
}

/**
 * Normalises OR-ed parts: de-duplicates matchers and tenants; merges parts whose other
 * matchers are the same into one part (tenants united: `{tenant="a"}` + `{tenant="b"}` =
 * `{tenant=~"a|b"}`); drops from each part the tenants a wider part (one whose other matchers
 * are a strict subset of its own) already admits; orders parts by number of matchers, then
 * by their text. Returns matcher sets with the tenant matcher first.
 */
function normalizeParts(parts: readonly Part[], label: string): MatcherSet[] {
  const byRest = new Map<string, { rest: LabelMatcher[]; tenants: Set<string> }>();
  for (const p of parts) {
    const seen = new Set<string>();
    const rest = p.rest.filter((m) => !seen.has(matcherKey(m)) && seen.add(matcherKey(m)) !== undefined)
      .sort((a, b) => (matcherKey(a) < matcherKey(b) ? -1 : matcherKey(a) > matcherKey(b) ? 1 : 0));
    const key = JSON.stringify(rest.map(matcherKey));
    const e = byRest.get(key) ?? { rest, tenants: new Set<string>() };
    for (const t of p.tenants) e.tenants.add(t);
    byRest.set(key, e);
  }
  const merged = [...byRest.entries()];
  const out: Array<{ key: string; rest: LabelMatcher[]; tenants: string[] }> = [];
  for (const [key, a] of merged) {
    const tenants = [...a.tenants].filter((t) => !merged.some(([k, b]) => k !== key && b.rest.length < a.rest.length && b.tenants.has(t) && sameRestSubset(b.rest, a.rest)));
    if (tenants.length > 0) out.push({ key, rest: a.rest, tenants });
  }
  out.sort((a, b) => a.rest.length - b.rest.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out.map((p) => Object.freeze([tenantMatcher(label, tenantList(p.tenants)) as LabelMatcher, ...p.rest]));
}

function buildPolicy(label: string, sets: readonly MatcherSet[]): AccessPolicy {
  const tenants = new Set<string>();
  for (const set of sets) {
    const t = tenantsOf(set[0] as LabelMatcher);
    if ('tenants' in t) for (const id of t.tenants) tenants.add(id);
  }
  const selectors = Object.freeze([...sets]);
  return Object.freeze({ label, tenants: tenantList(tenants), selectors, key: policyKey({ label, selectors }) });
}

/**
 * A policy from explicit parts: a tenant set and policy selector sets (each from
 * {@link parsePolicySelector}), OR-ed and normalised. A tenant-only input gives exactly
 * {@link tenantPolicy}'s policy; `tenants` = all gives the unrestricted policy.
 *
 * @param label the tenant label
 * @param tenants granted tenants, or undefined for none
 * @param sets label-policy matcher sets (tenant matcher first)
 * @throws AccessError `no_tenants` when both are empty
 */
export function combinePolicy(label: string, tenants: TenantSet | undefined, sets: readonly MatcherSet[]): AccessPolicy {
  if (tenants?.kind === 'all') return tenantPolicy(label, ALL_TENANTS);
  const parts: Part[] = [];
  if (tenants !== undefined) parts.push({ tenants: tenants.tenants, rest: [] });
  for (const set of sets) {
    const p = toPart(set, label);
    if ('problem' in p) throw new AccessError('invalid_parameter', `policy selector ${p.problem}`);
    parts.push(p);
  }
  if (parts.length === 0) throw new AccessError('no_tenants', 'the policy grants no tenants and no selectors');
  if (sets.length === 0 && tenants !== undefined) return tenantPolicy(label, tenants);
  return buildPolicy(label, normalizeParts(parts, label));
}

/**
 * The policy of `explain` (CLI and HTTP endpoint): tenants (`*` = unrestricted) plus policy
 * selectors given as text, exactly as a subject configured with those tenants in
 * `access.subjects` and those selectors in `access.label_policies` would get.
 *
 * @param input label (`enforce.label`), tenant IDs (may be empty when selectors are given),
 *   selector texts such as `{tenant="team-veggie", job="api"}`
 * @throws AccessError `invalid_parameter` (a selector or tenant ID is invalid; the message names
 *   it), `no_tenants` (neither tenants nor selectors)
 * @example explainPolicy({ label: 'tenant', tenants: ['team-fruit'], selectors: ['{tenant="team-veggie", job="api"}'] })
 */
export function explainPolicy(input: { readonly label: string; readonly tenants: readonly string[]; readonly selectors: readonly string[] }): AccessPolicy {
  for (const id of input.tenants) {
    const p = tenantIdProblem(id, true);
    if (p !== undefined) throw new AccessError('invalid_parameter', `invalid tenant ${quoteForMessage(id)}: it ${p}`);
  }
  const sets = input.selectors.map((text) => {
    const r = parsePolicySelector(text, input.label);
    if ('problem' in r) throw new AccessError('invalid_parameter', `selector ${quoteForMessage(text)} ${r.problem}`);
    return r.set;
  });
  if (input.tenants.length === 0 && sets.length === 0) throw new AccessError('no_tenants', 'give at least one tenant or one policy selector');
  return combinePolicy(input.label, input.tenants.length === 0 ? undefined : tenantList(input.tenants), sets);
}

/** One entry of an `X-Prom-Label-Policy` header: a tenant and the matchers of its selector. */
export interface HeaderPolicyEntry {
  readonly tenant: string;
  readonly matchers: readonly LabelMatcher[];
}

function configuredSets(principal: Principal, policies: LabelPolicies | undefined): MatcherSet[] {
  if (policies === undefined) return [];
  const out: MatcherSet[] = [];
  if (Object.hasOwn(policies.subjects, principal.subject)) out.push(...(policies.subjects[principal.subject] ?? []));
  for (const g of principal.groups) if (Object.hasOwn(policies.groups, g)) out.push(...(policies.groups[g] ?? []));
  return out;
}

/**
 * The access policy of one request (README "Label policies"):
 *
 * 1. the subject's own parts: its tenant grant ({@link grantedTenants}) and its
 *    `access.label_policies` sets (subject and groups); a `"*"` grant is unrestricted;
 * 2. a trusted `X-Prom-Label-Policy` (`header`, only passed for subjects listed in
 *    `access.trust_label_policy_header`) replaces them by its entries, each intersected with
 *    them: entry `t:{m…}` becomes, for every own part admitting tenant `t`, the set
 *    `{tenant="t", m…, <that part's other matchers>}`; an entry for a tenant no own part admits
 *    is refused (403). Tenants the header does not name are not visible (Mimir would leave them
 *    unrestricted; promfence fails closed);
 * 3. narrowing (`requested`, from `?tenant=` and the narrowing header) keeps only the parts'
 *    tenants asked for (403 for a tenant the policy does not name);
 * 4. normalisation (merging, dropping covered tenants).
 *
 * Without label policies and header this is exactly `tenantPolicy(label, narrowTenants(grantedTenants(…)))`.
 *
 * @throws AccessError `no_tenants` (nothing granted), `forbidden_tenant` (narrowing or a header
 *   entry outside the grant), `invalid_parameter` (an invalid narrowing tenant ID)
 */
export function resolveAccessPolicy(
  principal: Principal, grants: Grants, requested: readonly string[], label: string,
  header?: readonly HeaderPolicyEntry[],
): AccessPolicy {
  const sets = configuredSets(principal, grants.label_policies);
  let grant: TenantSet | undefined;
  try {
    grant = grantedTenants(principal, grants);
  } catch (err) {
    if (!(err instanceof AccessError) || err.code !== 'no_tenants' || sets.length === 0) throw err;
  }
  if (header === undefined && sets.length === 0) return tenantPolicy(label, narrowTenants(grant as TenantSet, requested, principal.subject));
  if (grant?.kind === 'all' && header === undefined) return tenantPolicy(label, narrowTenants(ALL_TENANTS, requested, principal.subject));

  const own: Part[] = [];
  if (grant?.kind === 'list') own.push({ tenants: grant.tenants, rest: [] });
  for (const set of sets) {
    const p = toPart(set, label);
    if (!('problem' in p)) own.push(p);
  }
  let parts: Part[] = own;
  if (header !== undefined) {
    parts = [];
    for (const e of header) {
      const admitting = grant?.kind === 'all' ? [{ tenants: [e.tenant], rest: [] }] : own.filter((p) => p.tenants.includes(e.tenant));
      if (admitting.length === 0) {
        throw new AccessError('forbidden_tenant', `tenant ${quoteForMessage(e.tenant)} of the X-Prom-Label-Policy header is not granted to subject ${quoteForMessage(principal.subject)}`);
      }
      for (const p of admitting) parts.push({ tenants: [e.tenant], rest: [...e.matchers, ...p.rest] });
    }
  }
  if (requested.length > 0) {
    const narrowed = narrowTenants(tenantList(parts.flatMap((p) => p.tenants)), requested, principal.subject);
    const keep = new Set(narrowed.kind === 'list' ? narrowed.tenants : []);
    parts = parts.map((p) => ({ tenants: p.tenants.filter((t) => keep.has(t)), rest: p.rest })).filter((p) => p.tenants.length > 0);
  }
  return buildPolicy(label, normalizeParts(parts, label));
}
