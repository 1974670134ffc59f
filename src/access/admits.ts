/**
 * {@link policyAdmits}: whether an {@link AccessPolicy} lets a caller see one object that
 * carries labels but is not a series the upstream can scope by a selector — a recording or
 * alerting rule, an alert, a metric's metadata. The response filters (rules, alerts,
 * Alertmanager alerts) and the label-policy work rely on it; {@link policyCovers} decides
 * whether a matcher list (a silence) stays inside the policy.
 *
 * Semantics follow Prometheus's label matching (model/labels/matcher.go): a label the object
 * does not carry has the empty value; `=` and `!=` compare exactly; `=~` and `!~` are RE2
 * patterns anchored at both ends (`^(?:re)$`). Regex matchers are decided with JavaScript only
 * where it provably agrees with RE2 ({@link re2ToJs}); where it cannot decide, the matcher
 * counts as not satisfied, so the object is not admitted (fail closed).
 *
 * Framework-free; bounded work per call (see {@link re2ToJs} for the limits).
 */
import { LRUCache } from 'lru-cache';
import { literalAlternatives, matcherAccepts, type AccessPolicy, type LabelMatcher, type MatcherSet } from './policy.ts';

/** Labels of one object: name → value (a missing name means the empty value). */
export type Labels = Readonly<Record<string, unknown>>;

/** A label set of string values (Alertmanager alerts, series). */
export type LabelSet = Readonly<Record<string, string>>;

/** Longest label value a regex matcher is run on, in UTF-16 units; longer → undecided (not admitted). */
export const MAX_REGEX_INPUT = 256;
/** Longest pattern translated, in UTF-16 units; longer → undecided. */
export const MAX_REGEX_PATTERN = 512;
/** Most unbounded repetitions (`*`, `+`, `{n,}`) in a translated pattern; more → undecided. */
export const MAX_UNBOUNDED_REPEATS = 3;

/** Characters that are escaped literals in both RE2 and JavaScript (`\.` is a dot in both). */
const META = '\\.+*?()|[]{}^$';
/** Escapes whose meaning RE2 and JavaScript (u flag, no i flag) share: ASCII digit and word classes. */
const SHARED_CLASS_ESCAPES = 'dDwW';

/**
 * Translates an RE2 pattern (Go regexp/syntax, as Prometheus compiles label regexes) into an
 * anchored JavaScript RegExp that accepts exactly the same strings, or returns `undefined`
 * when it cannot promise that.
 *
 * Accepted: literals, escaped metacharacters, `\d \D \w \W`, `.` (translated to `[^\n]`:
 * RE2's dot excludes only `\n`, JavaScript's also `\r`, U+2028 and U+2029), character classes
 * without POSIX classes or escapes other than those, groups `( )` and `(?: )`, alternation,
 * repetition `* + ? {n} {n,} {n,m}` (greedy or lazy) on a single atom, `^ $` (without flags both
 * mean start/end of text in RE2 and JavaScript).
 *
 * Undecided (`undefined`): flag groups `(?i)`, named groups, `\s` (RE2: ASCII space class;
 * JavaScript: Unicode), `\b`, `\A`, `\z`, `\Q…\E`, `\p`, `\x`, octal and every other escape,
 * POSIX classes `[[:alpha:]]`, repetition of a group (it could backtrack exponentially), more
 * than {@link MAX_UNBOUNDED_REPEATS} unbounded repetitions, patterns longer than
 * {@link MAX_REGEX_PATTERN}, and whatever JavaScript refuses to compile. The translation is a
 * single linear pass; the regex is compiled, never run here.
 *
 * @param re the pattern as written in the matcher (decoded string)
 * @returns the anchored RegExp (flag `u`), or undefined
 */
export function re2ToJs(re: string): RegExp | undefined {
  if (re.length > MAX_REGEX_PATTERN) return undefined;
  let out = '';
  let unbounded = 0;
  let lastAtom: 'none' | 'atom' | 'group' = 'none';
  for (let i = 0; i < re.length; i++) {
    const c = re[i] as string;
    if (c === '\\') {
      const e = re[i + 1];
      if (e === undefined) return undefined;
      if (META.includes(e) || SHARED_CLASS_ESCAPES.includes(e)) {
        out += c + e;
        i++;
        lastAtom = 'atom';
        continue;
      }
      return undefined;
    }
    if (c === '[') {
      let j = i + 1;
      let cls = '[';
      if (re[j] === '^') {
        cls += '^';
        j++;
      }
      // RE2: a `]` first in a class is literal; JavaScript needs it escaped.
      if (re[j] === ']') {
        cls += '\\]';
        j++;
      }
      for (; j < re.length && re[j] !== ']'; j++) {
        const d = re[j] as string;
        if (d === '[') {
          if (re[j + 1] === ':') return undefined; // POSIX class
          cls += '\\[';
        } else if (d === '\\') {
          const e = re[j + 1];
          if (e === undefined || !(META.includes(e) || SHARED_CLASS_ESCAPES.includes(e) || e === '-')) return undefined;
          cls += d + e;
          j++;
        } else {
          cls += d;
        }
      }
      if (j >= re.length) return undefined;
      out += cls + ']';
      i = j;
      lastAtom = 'atom';
      continue;
    }
    if (c === '(') {
      if (re[i + 1] === '?') {
        if (re[i + 2] !== ':') return undefined;
        out += '(?:';
        i += 2;
      } else {
        out += '(?:'; // capturing or not, the match is the same
      }
      lastAtom = 'none';
      continue;
    }
    if (c === ')') {
      out += ')';
      lastAtom = 'group';
      continue;
    }
    if (c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(re.slice(i, i + 24)))) {
      if (lastAtom !== 'atom') return undefined; // repeated group, or nothing to repeat
      let q = c;
      if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(re.slice(i, i + 24)) as RegExpExecArray;
        q = m[0];
        i += q.length - 1;
        if (m[2] !== undefined && m[3] === '') unbounded++;
      } else if (c !== '?') {
        unbounded++;
      }
      if (re[i + 1] === '?') {
        q += '?';
        i++;
      }
      out += q;
      lastAtom = 'none';
      continue;
    }
    if (c === '.') {
      out += '[^\\n]';
      lastAtom = 'atom';
      continue;
    }
    if (c === '{' || c === '}' || c === ']') {
      // RE2 reads a `{` that starts no repetition, and a lone `}` or `]`, as a literal.
      out += '\\' + c;
      lastAtom = 'atom';
      continue;
    }
    out += c === '/' ? '\\/' : c;
    lastAtom = c === '|' || c === '^' || c === '$' ? 'none' : 'atom';
  }
  if (unbounded > MAX_UNBOUNDED_REPEATS) return undefined;
  try {
    return new RegExp(`^(?:${out})$`, 'u');
  } catch {
    return undefined;
  }
}

const compiled = new LRUCache<string, { re: RegExp | undefined }>({ max: 512 });

function compile(pattern: string): RegExp | undefined {
  if (pattern.length > MAX_REGEX_PATTERN) return undefined; // never a cache key of unbounded size
  let hit = compiled.get(pattern);
  if (hit === undefined) {
    hit = { re: re2ToJs(pattern) };
    compiled.set(pattern, hit);
  }
  return hit.re;
}

/**
 * Whether one matcher accepts a label value, with Prometheus's semantics.
 *
 * @param m the matcher
 * @param value the label's value (`''` when the object does not carry the label)
 * @returns true / false, or undefined when a regex cannot be decided (see {@link re2ToJs};
 *   also values longer than {@link MAX_REGEX_INPUT})
 */
export function matcherMatches(m: LabelMatcher, value: string): boolean | undefined {
  const exact = matcherAccepts(m, value);
  if (exact !== undefined || m.op === '=' || m.op === '!=') return exact;
  const re = compile(m.value);
  if (re === undefined || value.length > MAX_REGEX_INPUT) return undefined;
  return re.test(value) === (m.op === '=~');
}

/**
 * {@link matcherMatches} as a decision: an undecided regex does not admit (fail closed), for
 * either operator.
 */
export function matcherAdmits(m: LabelMatcher, value: string): boolean {
  return matcherMatches(m, value) === true;
}

function labelValue(labels: Labels, name: string): string | undefined {
  if (!Object.hasOwn(labels, name)) return '';
  const v = labels[name];
  return typeof v === 'string' ? v : undefined;
}

/** Whether every matcher of one set certainly accepts `labels` (an undecided matcher does not). */
export function setAdmits(set: MatcherSet, labels: Labels): boolean {
  return set.every((m) => {
    const v = labelValue(labels, m.name);
    return v !== undefined && matcherMatches(m, v) === true;
  });
}

/**
 * Whether `policy` admits an object with these labels: unrestricted policies admit everything;
 * otherwise at least one of the policy's matcher sets must certainly accept the labels.
 * A label value that is not a string (malformed upstream JSON) fails every matcher on it.
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
