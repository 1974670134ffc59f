/**
 * {@link policyAdmits}: whether an {@link AccessPolicy} lets a caller see one object that
 * carries labels but is not a series the upstream can scope by a selector — a recording or
 * alerting rule, an alert, a metric's metadata; {@link policyCovers} decides whether a matcher
 * list (an Alertmanager silence) stays inside the policy; {@link matcherMatches} lets the
 * engine decide statically whether a user's equality matcher satisfies or contradicts a policy
 * matcher (`absent()`, OR policies).
 *
 * Semantics follow Prometheus's label matching: a label the object does not carry has the
 * empty value; `=` and `!=` compare exactly; `=~` and `!~` are RE2 patterns, fully anchored,
 * with `.` matching a newline as Prometheus 3 compiles them (`model/labels/regexp.go`:
 * `"^(?s:" + v + ")$"`). Regexes run in `re2js`, a JavaScript port of RE2: linear time, no
 * backtracking, Go's syntax — so a pattern JavaScript would read differently (`\s`, `\pL`,
 * `\Q…\E`, POSIX classes, flag groups) is decided the way Go decides it. A pattern RE2 cannot
 * compile matches nothing here (fail closed): policy selectors are checked when they are
 * loaded ({@link regexProblem}), so that only concerns values the upstream sent.
 *
 * Framework-free: imports only lru-cache and re2js.
 */
import { LRUCache } from 'lru-cache';
import { RE2JS } from 're2js';
import { literalAlternatives, matcherAccepts, type AccessPolicy, type LabelMatcher, type MatcherSet } from './policy.ts';

/** Labels of one object: name → value (a missing name means the empty value). */
export type Labels = Readonly<Record<string, unknown>>;

/** A label set of string values (Alertmanager alerts, series). */
export type LabelSet = Readonly<Record<string, string>>;

/** Compiled anchored patterns, bounded in entries and bytes (policies hold few regexes). */
const compiled = new LRUCache<string, RE2JS | Error>({ max: 2048, maxSize: 4 * 1024 * 1024, sizeCalculation: (_v, k) => 64 + 2 * k.length });

/** The compiled RE2 pattern of a regex matcher value (anchored, `(?s:…)`), or the compile error. */
function pattern(re: string): RE2JS | Error {
  let p = compiled.get(re);
  if (p === undefined) {
    try {
      p = RE2JS.compile(`^(?s:${re})$`);
    } catch (err) {
      p = err instanceof Error ? err : new Error(String(err));
    }
    compiled.set(re, p);
  }
  return p;
}

/**
 * Why an RE2 regex matcher value does not compile, or `undefined` when it does (the
 * configuration checks policy selectors with it).
 *
 * @example regexProblem('a(') // → 'missing closing ): …'
 */
export function regexProblem(re: string): string | undefined {
  const p = pattern(re);
  return p instanceof Error ? p.message : undefined;
}

/**
 * Whether matcher `m` accepts the label value `value` (`""` for a missing label), with
 * Prometheus's semantics: `=`/`!=` compare strings, `=~`/`!~` fully anchored RE2.
 *
 * @throws Error when `m` is a regex matcher whose pattern RE2 does not compile (policy
 *   selectors are compiled when they are loaded, so the engine never meets one)
 */
export function matcherMatches(m: LabelMatcher, value: string): boolean {
  const known = matcherAccepts(m, value);
  if (known !== undefined) return known;
  const p = pattern(m.value);
  if (p instanceof Error) throw p;
  return p.matches(value) === (m.op === '=~');
}

/** {@link matcherMatches} as a filter decision: a pattern that does not compile admits nothing (fail closed). */
export function matcherAdmits(m: LabelMatcher, value: string): boolean {
  try {
    return matcherMatches(m, value);
  } catch {
    return false;
  }
}

function labelValue(labels: Labels, name: string): string | undefined {
  if (!Object.hasOwn(labels, name)) return '';
  const v = labels[name];
  return typeof v === 'string' ? v : undefined;
}

/** Whether every matcher of one set accepts `labels`; a value that is not a string fails its matchers. */
export function setAdmits(set: MatcherSet, labels: Labels): boolean {
  return set.every((m) => {
    const v = labelValue(labels, m.name);
    return v !== undefined && matcherAdmits(m, v);
  });
}

/**
 * Whether `policy` admits an object with these labels: unrestricted policies admit everything;
 * otherwise at least one of the policy's matcher sets must accept the labels. A label value
 * that is not a string (malformed upstream JSON) fails every matcher on it.
 *
 * @param policy the caller's access policy
 * @param labels the object's labels (`undefined` or not an object = no labels)
 * @example policyAdmits(tenantPolicy('tenant', tenantList(['a'])), { tenant: 'a', severity: 'page' }) // → true
 * @example policyAdmits(tenantPolicy('tenant', tenantList(['a'])), {}) // → false: a rule without the label
 */
export function policyAdmits(policy: AccessPolicy, labels: unknown): boolean {
  if (policy.selectors === undefined) return true;
  const l: Labels = typeof labels === 'object' && labels !== null && !Array.isArray(labels) ? (labels as Labels) : {};
  return policy.selectors.some((set) => setAdmits(set, l));
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
 * Whether `matchers` (AND-ed, like an Alertmanager silence's) can only select label sets the
 * policy admits: for some matcher set of the policy, every policy matcher's label is pinned by
 * one of `matchers` ({@link pinnedValues}) to values the policy matcher admits. Unrestricted
 * covers everything. A matcher that also allows the empty value (`tenant=~"a|"`) does not pin:
 * the empty value means "label missing", which no tenant grant admits.
 *
 * @example policyCovers(tenantPolicy('tenant', tenantList(['a', 'b'])), [{ name: 'tenant', op: '=~', value: 'a|b' }]) // → true
 */
export function policyCovers(policy: AccessPolicy, matchers: readonly LabelMatcher[]): boolean {
  if (policy.selectors === undefined) return true;
  return policy.selectors.some((set) => set.every((m) => matchers.some((x) => {
    if (x.name !== m.name) return false;
    const values = pinnedValues(x);
    return values !== undefined && values.length > 0 && values.every((v) => matcherAdmits(m, v));
  })));
}
