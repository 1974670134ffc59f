/**
 * Decisions of an {@link AccessPolicy} over label sets and matcher lists, for the answers and
 * requests that are not PromQL: Alertmanager alerts (a label set each) and silences (a list of
 * matchers each). Framework-free.
 *
 * - {@link policyAdmits}: may the caller see an object carrying these labels?
 * - {@link policyCovers}: does every label set these matchers can select fall inside the
 *   policy — i.e. do the matchers *pin* each label the policy constrains (a silence that
 *   mutes only granted tenants' alerts)?
 *
 * Regexes are anchored like Prometheus and Alertmanager anchor them (`^(?:re)$`). A policy's
 * own regexes come from configuration; literal alternations (what tenant grants build) are
 * decided exactly, other patterns with JavaScript's RegExp, and a pattern JavaScript cannot
 * compile admits nothing (fail closed).
 */
import { literalAlternatives, matcherAccepts, type AccessPolicy, type LabelMatcher } from './policy.ts';

/** A label set: name → value; a missing label reads as the empty string (Prometheus's rule). */
export type LabelSet = Readonly<Record<string, string>>;

function compiled(pattern: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    return undefined;
  }
}

/** Whether matcher `m` accepts `value` (exact for literals; fail closed on a pattern JavaScript cannot read). */
export function matcherAdmits(m: LabelMatcher, value: string): boolean {
  const exact = matcherAccepts(m, value);
  if (exact !== undefined) return exact;
  const re = compiled(m.value);
  if (re === undefined) return false;
  return re.test(value) === (m.op === '=~');
}

function labelValue(labels: LabelSet, name: string): string {
  const v = Object.hasOwn(labels, name) ? labels[name] : undefined;
  return typeof v === 'string' ? v : '';
}

/**
 * Whether the policy admits an object (alert, series) with these labels: unrestricted admits
 * everything; otherwise some matcher set of the policy must accept every one of its labels.
 *
 * @param policy the caller's policy
 * @param labels the object's labels (non-string values read as missing)
 * @example policyAdmits(tenantPolicy('tenant', tenantList(['a'])), { tenant: 'a', alertname: 'X' }) // → true
 */
export function policyAdmits(policy: AccessPolicy, labels: LabelSet): boolean {
  if (policy.selectors === undefined) return true;
  return policy.selectors.some((set) => set.every((m) => matcherAdmits(m, labelValue(labels, m.name))));
}

/**
 * The finite set of values a positive matcher allows: `[v]` for `name="v"`, the alternatives
 * of `name=~"a|b"` when it is a literal alternation; `undefined` for anything that does not
 * pin the label to a finite set (negative matchers, real regexes).
 */
export function pinnedValues(m: LabelMatcher): string[] | undefined {
  if (m.op === '=') return [m.value];
  if (m.op === '=~') return literalAlternatives(m.value);
  return undefined;
}

/**
 * Whether `matchers` (AND-ed, like a silence's) can only select label sets the policy admits:
 * for some matcher set of the policy, every policy matcher's label is pinned by one of
 * `matchers` ({@link pinnedValues}) to values the policy matcher accepts. Unrestricted
 * covers everything. A matcher that also allows the empty value (`tenant=~"a|"`) does not
 * pin: the empty value means "label missing", which no tenant grant admits.
 *
 * @example policyCovers(tenantPolicy('tenant', tenantList(['a', 'b'])), [{ name: 'tenant', op: '=~', value: 'a|b' }]) // → true
 * @example policyCovers(tenantPolicy('tenant', tenantList(['a'])), [{ name: 'tenant', op: '!=', value: 'b' }]) // → false
 */
export function policyCovers(policy: AccessPolicy, matchers: readonly LabelMatcher[]): boolean {
  if (policy.selectors === undefined) return true;
  return policy.selectors.some((set) => set.every((m) => matchers.some((x) => {
    if (x.name !== m.name) return false;
    const values = pinnedValues(x);
    return values !== undefined && values.length > 0 && values.every((v) => matcherAdmits(m, v));
  })));
}
