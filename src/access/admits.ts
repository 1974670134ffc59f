/**
 * Label matching the way Prometheus matches: a policy (an OR of matcher sets) decides whether
 * a label set is visible. Used wherever an answer cannot be scoped by rewriting the request
 * (rules, alerts, metadata filters) and by the engine to decide statically whether a user's
 * equality matcher satisfies or contradicts a policy matcher (`absent()`, `match[]`).
 *
 * Regexes are RE2 (Go's `regexp`), evaluated with `re2js` (a JavaScript port of RE2: linear
 * time, no backtracking), fully anchored and with `.` matching a newline, as Prometheus 3
 * compiles label regexes (`model/labels/regexp.go`: `"^(?s:" + v + ")$"`). A missing label has
 * the value `""`, as in Prometheus.
 *
 * Framework-free: imports only lru-cache and re2js.
 */
import { LRUCache } from 'lru-cache';
import { RE2JS } from 're2js';
import type { LabelMatcher } from '../promql/ast.ts';
import type { AccessPolicy } from './policy.ts';
import { matcherAccepts } from './policy.ts';

/** Compiled anchored patterns, bounded (policies hold few regexes; user texts may hold many). */
const compiled = new LRUCache<string, RE2JS | Error>({ max: 2048, maxSize: 4 * 1024 * 1024, sizeCalculation: (_v, k) => 64 + 2 * k.length });

/**
 * The compiled RE2 pattern of a Prometheus regex matcher value (anchored, `(?s:…)`), or the
 * compile error.
 */
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
 * Why an RE2 regex matcher value does not compile, or `undefined` when it does.
 *
 * @example regexProblem('a(') // → 'missing closing ): ...'
 */
export function regexProblem(re: string): string | undefined {
  const p = pattern(re);
  return p instanceof Error ? p.message : undefined;
}

/**
 * Whether matcher `m` accepts the label value `value` (`""` for a missing label), with
 * Prometheus's semantics: `=`/`!=` compare strings, `=~`/`!~` fully anchored RE2.
 *
 * @throws Error when `m` is a regex matcher whose pattern does not compile (policy selectors
 *   are compiled when they are loaded, so this never happens for them)
 */
export function matcherMatches(m: LabelMatcher, value: string): boolean {
  const known = matcherAccepts(m, value);
  if (known !== undefined) return known;
  const p = pattern(m.value);
  if (p instanceof Error) throw p;
  return p.matches(value) === (m.op === '=~');
}

/**
 * Whether a series (or rule, alert, metadata entry) with labels `labels` is visible under
 * `policy`: unrestricted policies admit everything; otherwise at least one matcher set must
 * match, every matcher of it (a label absent from `labels` has the value `""`).
 *
 * @param policy the request's policy
 * @param labels label name → value (own properties only)
 * @example policyAdmits(policy, { tenant: 'team-veggie', job: 'api' }) // → true for `{tenant="team-veggie", job="api"}`
 */
export function policyAdmits(policy: AccessPolicy, labels: Readonly<Record<string, string>>): boolean {
  const sets = policy.selectors;
  if (sets === undefined) return true;
  const get = (name: string): string => (Object.hasOwn(labels, name) ? (labels[name] ?? '') : '');
  return sets.some((set) => set.every((m) => matcherMatches(m, get(m.name))));
}
