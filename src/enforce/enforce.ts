/**
 * The enforcer: an {@link AccessPolicy} applied to PromQL text. Framework-free (no HTTP); the
 * gateway calls it for `query`, `query_range`, `query_exemplars`, `format_query` and every
 * `match[]` value.
 *
 * Two steps, so that a request is refused for a bad query (400) before its tenant policy is
 * even looked at (403), as design.md's "Order of checks" requires:
 *
 * 1. {@link prepareQuery} / {@link prepareSeriesSelector}: size cap → parse (src/promql/parse.ts)
 *    → validate (empty selectors, functions, dialect gates). Policy-independent.
 * 2. {@link applyPolicy}: reject a user matcher on the tenant label that can only match tenants
 *    the policy excludes (`tenant="x"`, `tenant=~"x|y"`: ./limits.ts) → bound the enforced
 *    size (selectors × policy matchers) → add the policy's matchers to every selector (function arguments,
 *    aggregation parameters, binary operands, subqueries, range selectors), keeping the user's
 *    own matchers (AND) → canonical print with self-check.
 *
 * {@link enforceQuery} and {@link enforceSeriesSelector} do both at once; {@link Enforcer}
 * (./engine.ts) caches both steps. Re-exported by ./index.ts.
 */
import type { Expr, LabelMatcher, VectorSelector } from '../promql/ast.ts';
import { mapSelectors, walk } from '../promql/ast.ts';
import { PromQLError } from '../promql/errors.ts';
import { DEFAULT_MAX_QUERY_BYTES, parseExpr, parseSeriesSelector } from '../promql/parse.ts';
import { printCanonical } from '../promql/print.ts';
import { escapeRegex } from '../promql/regex.ts';
import { validateExpr } from '../promql/validate.ts';
import { describePolicy, matcherAccepts, type AccessPolicy, type MatcherSet } from '../access/policy.ts';
import { checkEnforcedSize, foreignTenant } from './limits.ts';

/** Which parser dialect the upstream accepts. `auto` is resolved by the gateway before calling. */
export type Syntax = 'prometheus2' | 'prometheus3';

/** What kind of PromQL text is prepared: a whole expression, or one `match[]` series selector. */
export type TextKind = 'query' | 'selector';

/** Options of the policy-independent step. */
export interface PrepareOptions {
  /** Upstream dialect. */
  readonly syntax: Syntax;
  /** Maximum text length in UTF-8 bytes. Default 32768 ({@link DEFAULT_MAX_QUERY_BYTES}). */
  readonly maxQueryBytes?: number;
}

/** Options of the policy step. */
export interface PolicyOptions {
  /**
   * A user equality matcher on the tenant label naming a tenant the policy excludes is an
   * error (`forbidden_tenant`) instead of an empty answer. Default true.
   */
  readonly rejectForeignTenant?: boolean;
}

/** Options of the one-call forms: both steps' options plus the policy. */
export interface EnforceOptions extends PrepareOptions, PolicyOptions {
  /** What the caller may read. */
  readonly policy: AccessPolicy;
}

/**
 * A parsed and validated text. `tree` is set when this call parsed it; a cached validation
 * (src/enforce/engine.ts) carries no tree, and {@link applyPolicy} then parses again.
 */
export interface Prepared {
  readonly kind: TextKind;
  readonly text: string;
  readonly syntax: Syntax;
  readonly maxQueryBytes: number;
  readonly tree: Expr | undefined;
}

function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof PromQLError) throw err;
    throw new PromQLError('internal_error', 'the query could not be processed', { cause: err });
  }
}

function checkSyntax(syntax: Syntax): void {
  if (syntax !== 'prometheus2' && syntax !== 'prometheus3') {
    throw new PromQLError('internal_error', `unknown PromQL syntax ${JSON.stringify(syntax)}`);
  }
}

function parseKind(kind: TextKind, text: string, syntax: Syntax, maxQueryBytes: number): Expr {
  const opts = { syntax, maxQueryBytes };
  return kind === 'query' ? parseExpr(text, opts) : parseSeriesSelector(text, opts);
}

function prepare(kind: TextKind, text: string, opts: PrepareOptions): Prepared {
  return guard(() => {
    checkSyntax(opts.syntax);
    const maxQueryBytes = opts.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES;
    const tree = parseKind(kind, text, opts.syntax, maxQueryBytes);
    validateExpr(tree, opts.syntax);
    return { kind, text, syntax: opts.syntax, maxQueryBytes, tree };
  });
}

/**
 * Parses and validates a PromQL expression (step 1; no policy involved).
 *
 * @param query the PromQL text as received
 * @param opts dialect and size cap (bytes, default 32768)
 * @throws PromQLError `query_too_large`, `parse_error`, `empty_selector`,
 *   `unsupported_function`, `unsupported_syntax`, `internal_error`
 */
export function prepareQuery(query: string, opts: PrepareOptions): Prepared {
  return prepare('query', query, opts);
}

/**
 * Parses and validates one series selector (a `match[]` value of series, labels, label
 * values, federate): a single vector selector (no functions, operators, ranges, `offset`, `@`).
 *
 * @throws PromQLError `parse_error` when not a single selector, plus every code of {@link prepareQuery}
 */
export function prepareSeriesSelector(selector: string, opts: PrepareOptions): Prepared {
  return prepare('selector', selector, opts);
}

function checkPolicy(policy: AccessPolicy): MatcherSet | undefined {
  if (typeof policy.label !== 'string' || policy.label === '') {
    throw new PromQLError('internal_error', 'enforcement label must be a non-empty string');
  }
  const sets = policy.selectors;
  if (sets === undefined) return undefined;
  if (sets.length === 0) throw new PromQLError('internal_error', 'an access policy needs at least one matcher set (or none at all for unrestricted)');
  for (const set of sets) {
    if (set.length === 0) throw new PromQLError('internal_error', 'an access policy matcher set cannot be empty');
    // An empty tenant value would inject `tenant=""`, which selects the series *without* the label.
    if (set.some((m) => m.name === policy.label && m.value === '' && (m.op === '=' || m.op === '=~'))) {
      throw new PromQLError('internal_error', 'invalid access policy (an empty tenant ID)');
    }
  }
  if (sets.length > 1) {
    throw new PromQLError('unsupported_policy', 'this access policy is an OR of several label selectors, which this version of promfence cannot apply to a query; ask an operator to grant tenants instead');
  }
  return sets[0];
}

/** `absent()` and `absent_over_time()` build their result's labels from their argument's equality matchers. */
const ABSENT_FUNCTIONS: ReadonlySet<string> = new Set(['absent', 'absent_over_time']);

/**
 * The matchers to add to a selector that is the direct argument of `absent()` or
 * `absent_over_time()`. Prometheus (promql/functions.go `createLabelsForAbsentFunction`)
 * copies every `name="value"` matcher of that argument into the result's labels and DROPS a
 * label that any other matcher names. So that the answer is the one a Prometheus holding only
 * the caller's series gives:
 *
 * - a policy matcher already implied by a user equality matcher on the same label (the user
 *   wrote `tenant="team-fruit"`, the grant admits it) is not added: the label stays, as the
 *   user's own matcher puts it there;
 * - an added `name="v"` is written `name=~"<escaped v>"` (same series, no result label);
 * - other added matchers (`=~`, `!=`, `!~`) produce no label anyway.
 */
function absentSafe(vs: VectorSelector, set: MatcherSet): MatcherSet {
  const out: LabelMatcher[] = [];
  for (const m of set) {
    const userEq = vs.matchers.find((u) => u.name === m.name && u.op === '=');
    if (userEq !== undefined && matcherAccepts(m, userEq.value) === true) continue;
    out.push(m.op === '=' ? { name: m.name, op: '=~', value: escapeRegex(m.value) } : m);
  }
  return out;
}

/** Whether `vs` carries `m`, its absent-safe regex form, or a user equality matcher that implies it. */
function implies(vs: VectorSelector, m: LabelMatcher): boolean {
  return vs.matchers.some((x) => x.name === m.name && (
    (x.op === m.op && x.value === m.value)
    || (x.op === '=' && matcherAccepts(m, x.value) === true)
    || (m.op === '=' && x.op === '=~' && x.value === escapeRegex(m.value))));
}

/** Defence in depth: every selector of the final tree must carry (or imply) every matcher of the set. */
function assertEnforced(e: Expr, set: MatcherSet | undefined): void {
  if (set === undefined) return;
  walk(e, (n) => {
    if (n.kind === 'VectorSelector' && !set.every((m) => implies(n, m))) {
      throw new PromQLError('internal_error', 'a selector escaped enforcement');
    }
  });
}

/**
 * Applies `policy` to a prepared text (step 2) and prints it canonically.
 *
 * @param prepared from {@link prepareQuery} / {@link prepareSeriesSelector}
 * @param policy what the caller may read; unrestricted adds nothing (the text is still printed canonically)
 * @param opts foreign-tenant policy (default reject)
 * @returns canonical PromQL whose every selector carries the policy's matchers
 * @throws PromQLError `forbidden_tenant` (a user `tenant="x"` or literal `tenant=~"x|y"` naming
 *   only tenants the policy excludes; `tenant` is set on the error), `unsupported_policy` (a
 *   policy of several matcher sets), `query_too_large` (the print nests too deeply, or would
 *   exceed 256 Ki characters: selectors × policy matchers), `internal_error`; when `prepared` has no tree, every error of
 *   step 1 too
 */
export function applyPolicy(prepared: Prepared, policy: AccessPolicy, opts: PolicyOptions = {}): string {
  return guard(() => {
    const set = checkPolicy(policy);
    const tree = prepared.tree ?? parseKind(prepared.kind, prepared.text, prepared.syntax, prepared.maxQueryBytes);
    const reject = opts.rejectForeignTenant ?? true;
    checkEnforcedSize(tree, prepared.text.length, set);
    const enforced = mapSelectors(tree, (vs, call) => {
      if (reject) {
        for (const m of vs.matchers) {
          const foreign = foreignTenant(policy, m);
          if (foreign !== undefined) {
            throw new PromQLError('forbidden_tenant', `tenant ${JSON.stringify(foreign)} is not granted (granted: ${describePolicy(policy)})`, { tenant: foreign });
          }
        }
      }
      if (set === undefined) return vs;
      const added = call !== undefined && ABSENT_FUNCTIONS.has(call) ? absentSafe(vs, set) : set;
      return added.length === 0 ? vs : { ...vs, matchers: [...vs.matchers, ...added] };
    });
    assertEnforced(enforced, set);
    return printCanonical(enforced, prepared.syntax);
  });
}

/**
 * Enforces a PromQL expression: {@link prepareQuery} then {@link applyPolicy}.
 *
 * @param query the PromQL text as received
 * @param opts policy, dialect, size cap (bytes, default 32768), foreign-tenant policy (default reject)
 * @returns canonical PromQL with the policy's matchers on every selector (none when unrestricted)
 * @throws PromQLError every code of both steps
 * @example enforceQuery('sum(rate(http_requests_total[5m]))', { policy: tenantPolicy('tenant', tenantList(['a'])), syntax: 'prometheus3' })
 *   // → 'sum(rate(http_requests_total{tenant="a"}[5m]))'
 */
export function enforceQuery(query: string, opts: EnforceOptions): string {
  return applyPolicy(prepareQuery(query, opts), opts.policy, opts);
}

/**
 * Enforces one series selector: {@link prepareSeriesSelector} then {@link applyPolicy}.
 *
 * @returns the canonical enforced selector, e.g. `up{job="api", tenant="a"}`
 * @throws PromQLError every code of both steps
 */
export function enforceSeriesSelector(selector: string, opts: EnforceOptions): string {
  return applyPolicy(prepareSeriesSelector(selector, opts), opts.policy, opts);
}

/**
 * The `match[]` selectors added when a request gives none: one per matcher set of the policy
 * (`{tenant="a"}` or `{tenant=~"a|b"}` for a tenant grant), none when unrestricted. A label
 * that is not a plain identifier is printed quoted (Prometheus 3 syntax).
 *
 * @throws PromQLError `unsupported_policy`, `internal_error`
 */
export function policySelectors(policy: AccessPolicy): string[] {
  return guard(() => {
    const set = checkPolicy(policy);
    if (set === undefined) return [];
    const vs: VectorSelector = { kind: 'VectorSelector', name: undefined, matchers: set, offset: undefined, at: undefined };
    const plain = set.every((m) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name));
    return [printCanonical(vs, plain ? 'prometheus2' : 'prometheus3')];
  });
}
