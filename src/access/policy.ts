/**
 * The access policy: what one request may read, as a list of label-matcher sets that are
 * OR-ed (README, "Label policies"). A series is visible when it matches every matcher of
 * at least one set.
 *
 * - A tenant grant is the one set `{tenant="a"}` (one tenant) or `{tenant=~"a|b"}` (several,
 *   sorted, de-duplicated and RE2-escaped so `a.b` or `x|y` match only themselves; Prometheus
 *   anchors the regex).
 * - Unrestricted (`*`) is no set at all: `selectors` is `undefined`, and nothing is added.
 * - Label policies (`access.label_policies`, Grafana's `X-Prom-Label-Policy`) add sets such as
 *   `{tenant="b", job="api"}`; every enforcement path takes this one type.
 *
 * Framework-free: imports only the PromQL engine's matcher type and regex escaping.
 */
import type { LabelMatcher } from '../promql/ast.ts';
import { escapeRegex } from '../promql/regex.ts';
import { describeTenants, type TenantSet } from './tenants.ts';

export type { LabelMatcher, MatchOp } from '../promql/ast.ts';

/** Matchers that are AND-ed: one alternative of a policy. */
export type MatcherSet = readonly LabelMatcher[];

/** What one request may read. Build it with {@link tenantPolicy}; treat it as immutable. */
export interface AccessPolicy {
  /** The tenant label (`enforce.label`), e.g. `tenant`. */
  readonly label: string;
  /**
   * The tenants of the grant after narrowing: `all` or a sorted list. Header modes send them
   * (`X-Scope-OrgID: a|b`); logs and metrics name them.
   */
  readonly tenants: TenantSet;
  /** The OR-ed matcher sets a series must match; `undefined` = unrestricted (nothing added). Never an empty list. */
  readonly selectors: readonly MatcherSet[] | undefined;
  /** A stable cache key of `label` and `selectors` (see {@link policyKey}), computed once. */
  readonly key: string;
}

/**
 * The matcher of a tenant set on `label`: `label="a"` for one tenant, `label=~"a|b"` for
 * several (values de-duplicated, sorted by code unit, RE2-escaped); `undefined` for all tenants.
 *
 * @example tenantMatcher('tenant', tenantList(['b', 'a.x'])) // → { name: 'tenant', op: '=~', value: 'a\\.x|b' }
 */
export function tenantMatcher(label: string, tenants: TenantSet): LabelMatcher | undefined {
  if (tenants.kind === 'all') return undefined;
  const values = [...new Set(tenants.tenants)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (values.length === 1) return { name: label, op: '=', value: values[0] as string };
  return { name: label, op: '=~', value: values.map(escapeRegex).join('|') };
}

/**
 * The policy of a tenant grant: one set holding {@link tenantMatcher}, or unrestricted.
 *
 * @param label the tenant label, non-empty
 * @param tenants the (narrowed) tenant set
 */
export function tenantPolicy(label: string, tenants: TenantSet): AccessPolicy {
  const m = tenantMatcher(label, tenants);
  const selectors = m === undefined ? undefined : Object.freeze([Object.freeze([m])]);
  return Object.freeze({ label, tenants, selectors, key: policyKey({ label, selectors }) });
}

/** The unrestricted policy on `label` (operators, and header mode where the upstream scopes by header). */
export function unrestrictedPolicy(label: string): AccessPolicy {
  return tenantPolicy(label, { kind: 'all' });
}

/**
 * A stable key for caches: the label and the matcher sets, JSON-encoded (no two different
 * policies share a key, whatever characters values hold; a red-team finding showed that a
 * separator-joined key let tenant sets collide).
 */
export function policyKey(policy: Pick<AccessPolicy, 'label' | 'selectors'>): string {
  return JSON.stringify([policy.label, policy.selectors === undefined ? null : policy.selectors.map((s) => s.map((m) => [m.name, m.op, m.value]))]);
}

/** Human form for logs and messages: `*` or the tenants `a,b`. */
export function describePolicy(policy: AccessPolicy): string {
  return describeTenants(policy.tenants);
}

/**
 * The literal values an `=~` matcher matches when its pattern is a plain alternation of
 * RE2-escaped literals (what {@link tenantMatcher} builds: `a\.b|c`); `undefined` for any
 * other pattern (a real regex).
 */
export function literalAlternatives(pattern: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || !/[\\.+*?()|[\]{}^$]/.test(next)) return undefined;
      cur += next;
      i++;
    } else if (c === '|') {
      out.push(cur);
      cur = '';
    } else if (/[.+*?()[\]{}^$]/.test(c)) {
      return undefined;
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/**
 * Whether a matcher accepts `value`: exact for `=`/`!=`; for `=~`/`!~` only when the pattern
 * is a literal alternation ({@link literalAlternatives}), else `undefined` (unknown).
 */
export function matcherAccepts(m: LabelMatcher, value: string): boolean | undefined {
  switch (m.op) {
    case '=': return m.value === value;
    case '!=': return m.value !== value;
    case '=~':
    case '!~': {
      const alts = literalAlternatives(m.value);
      if (alts === undefined) return undefined;
      return alts.includes(value) === (m.op === '=~');
    }
  }
}

/**
 * Whether `policy` can never admit a series whose tenant label is `value`: every set holds a
 * matcher on the tenant label that certainly rejects it. Unknown regexes count as admitting
 * (the added matchers still scope the answer; this test only decides whether a user's
 * `tenant="x"` is refused with 403 `forbidden_tenant` instead of answered empty).
 */
export function excludesTenant(policy: AccessPolicy, value: string): boolean {
  if (policy.selectors === undefined) return false;
  return policy.selectors.every((set) => set.some((m) => m.name === policy.label && matcherAccepts(m, value) === false));
}
