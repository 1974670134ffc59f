/**
 * The enforcer: an {@link AccessPolicy} applied to PromQL text. Framework-free (no HTTP); the
 * gateway calls it for `query`, `query_range`, `query_exemplars`, `format_query` and every
 * `match[]` value.
 *
 * Two steps, so that a request is refused for a bad query (400) before its tenant policy is
 * even looked at (403) (docs/architecture.md, "Order of checks"):
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
import type { Expr, VectorSelector } from '../promql/ast.ts';
import { children, mapSelectors } from '../promql/ast.ts';
import { PromQLError } from '../promql/errors.ts';
import { DEFAULT_MAX_QUERY_BYTES, parseExpr, parseSeriesSelector, utf8Length } from '../promql/parse.ts';
import { printCanonical } from '../promql/print.ts';
import { validateExpr } from '../promql/validate.ts';
import { describePolicy, type AccessPolicy, type MatcherSet } from '../access/policy.ts';
import { foreignTenant } from './limits.ts';
import { assertEnforced, printedBytesAtLeast, rewriteForSets, selectorForEachSet } from './or-policy.ts';

/** Default of {@link PolicyOptions.maxEnforcedBytes}: 256 KiB (8× the default query cap). */
export const DEFAULT_MAX_ENFORCED_BYTES = 262_144;

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
   * Largest enforced text in UTF-8 bytes (`promql.max_enforced_bytes`); a larger one is refused
   * with `query_too_large`. Default 262144 ({@link DEFAULT_MAX_ENFORCED_BYTES}).
   */
  readonly maxEnforcedBytes?: number;
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
  /** Opaque: the cache entry of the {@link Enforcer} that prepared it (./engine.ts), so its step 2 needs no second lookup. */
  readonly cacheEntry?: unknown;
  /** Every subquery's evaluation span, kept also by a cached validation (limits read it). */
  readonly subqueries: readonly SubquerySpan[];
}

/**
 * What one subquery costs the upstream per series, before the query's own range: Prometheus
 * evaluates the subquery's inner expression at `stepMs` over `spanMs` (its range plus every
 * enclosing subquery's range, promql/engine.go) plus, in a range query, `end - start`.
 */
export interface SubquerySpan {
  /** The subquery's range plus every enclosing subquery's range, ms. */
  readonly spanMs: number;
  /** The subquery's step, ms; undefined = the upstream's default evaluation interval. */
  readonly stepMs: number | undefined;
}

/** The {@link SubquerySpan} of every subquery of `tree`, outermost first. */
export function subquerySpans(tree: Expr): SubquerySpan[] {
  const out: SubquerySpan[] = [];
  const visit = (e: Expr, enclosingMs: number): void => {
    if (e.kind === 'Subquery') {
      out.push({ spanMs: enclosingMs + e.range, stepMs: e.step });
      visit(e.expr, enclosingMs + e.range);
      return;
    }
    for (const c of children(e)) visit(c, enclosingMs);
  };
  visit(tree, 0);
  return out;
}

/** {@link SubquerySpan}s as the enforcement cache keeps them: `span:step` joined by `,` (`''` for none). */
export function encodeSpans(spans: readonly SubquerySpan[]): string {
  return spans.map((s) => `${s.spanMs}:${s.stepMs ?? ''}`).join(',');
}

const NO_SPANS: readonly SubquerySpan[] = Object.freeze([]);

/** The inverse of {@link encodeSpans} (a shared frozen empty array for `''`, so a warm request without subqueries allocates none). */
export function decodeSpans(text: string): readonly SubquerySpan[] {
  if (text === '') return NO_SPANS;
  return text.split(',').map((p) => {
    const [span = '0', step = ''] = p.split(':');
    return { spanMs: Number(span), stepMs: step === '' ? undefined : Number(step) };
  });
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
    return { kind, text, syntax: opts.syntax, maxQueryBytes, tree, subqueries: subquerySpans(tree) };
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

function checkPolicy(policy: AccessPolicy): readonly MatcherSet[] | undefined {
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
  return sets;
}

/**
 * Applies `policy` to a prepared text (step 2) and prints it canonically.
 *
 * @param prepared from {@link prepareQuery} / {@link prepareSeriesSelector}
 * @param policy what the caller may read; unrestricted adds nothing (the text is still printed canonically)
 * @param opts foreign-tenant policy (default reject)
 * @returns canonical PromQL whose every selector carries the policy's matchers
 * @throws PromQLError `forbidden_tenant` (a user `tenant="x"`, or a literal `tenant=~"x|y"`,
 *   naming only tenants the policy excludes; `tenant` is set on the error), `unsupported_policy`
 *   (a construct an OR of several matcher sets cannot be applied to, see ./or-policy.ts),
 *   `query_too_large` (the print is over `opts.maxEnforcedBytes`, estimated before it is
 *   expanded, or nests too deeply), `internal_error`; when `prepared` has no tree, every error
 *   of step 1 too
 */
export function applyPolicy(prepared: Prepared, policy: AccessPolicy, opts: PolicyOptions = {}): string {
  return guard(() => {
    const sets = checkPolicy(policy);
    const tree = prepared.tree ?? parseKind(prepared.kind, prepared.text, prepared.syntax, prepared.maxQueryBytes);
    const maxBytes = opts.maxEnforcedBytes ?? DEFAULT_MAX_ENFORCED_BYTES;
    const check = foreignTenantCheck(policy, opts.rejectForeignTenant ?? true);
    let enforced: Expr;
    if (sets === undefined) {
      enforced = mapSelectors(tree, (vs) => {
        check(vs);
        return vs;
      });
    } else {
      // A match[] value must stay one selector: several sets give several (applyPolicyEach).
      if (prepared.kind === 'selector' && sets.length > 1) throw new PromQLError('internal_error', 'a series selector under a policy of several matcher sets needs applyPolicyEach');
      enforced = rewriteForSets(tree, sets, check);
      assertEnforced(enforced, sets);
    }
    return printBounded(enforced, prepared.syntax, maxBytes, sets?.length ?? 0);
  });
}

/** The foreign-tenant check of every user selector (a no-op when `reject` is false). */
function foreignTenantCheck(policy: AccessPolicy, reject: boolean): (vs: VectorSelector) => void {
  return (vs) => {
    if (!reject) return;
    for (const m of vs.matchers) {
      const foreign = foreignTenant(policy, m);
      if (foreign !== undefined) {
        throw new PromQLError('forbidden_tenant', `tenant ${JSON.stringify(foreign)} is not granted (granted: ${describePolicy(policy)})`, { tenant: foreign });
      }
    }
  };
}

/**
 * Prints `enforced` canonically unless its print is over `maxBytes` UTF-8 bytes: measured
 * first on the (possibly shared) tree, so an OR policy that multiplies a query is refused
 * before it is expanded, then on the text.
 */
function printBounded(enforced: Expr, syntax: Syntax, maxBytes: number, sets: number): string {
  const tooLarge = (verb: string) => new PromQLError('query_too_large',
    `the enforced query ${verb} larger than ${maxBytes} bytes (promql.max_enforced_bytes)` +
    (sets > 1 ? `: the access policy has ${sets} label selectors, and each selector of the query is repeated once per selector; simplify or split the query` : '; simplify or split the query'));
  // Bounded on the tree first: the policy's matchers (a wide grant's regex is kilobytes) are
  // shared by every selector, and several sets share subtrees between the sides of each `or`,
  // so the print can be far larger than the tree. The text is measured again before its
  // self-check parse.
  if (printedBytesAtLeast(enforced) > maxBytes) throw tooLarge('would be');
  return printCanonical(enforced, syntax, (text) => {
    if (utf8Length(text) > maxBytes) throw tooLarge('is');
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
 * Applies `policy` to a prepared series selector (a `match[]` value) and prints one selector
 * per matcher set of the policy: the cross product of this `match[]` with the policy's
 * selectors (Prometheus unions the series of several `match[]`). Sets the user's own equality
 * matchers contradict are left out (one is kept when all are, so the answer stays empty). For
 * a policy of one set this is `[applyPolicy(prepared, policy, opts)]`.
 *
 * @param prepared from {@link prepareSeriesSelector}
 * @returns one enforced selector per applicable set (the user's text, canonical, when unrestricted)
 * @throws PromQLError as {@link applyPolicy}
 * @example applyPolicyEach(prepareSeriesSelector('up', o), policyOf('{tenant="a"}', '{tenant="b", job="api"}'))
 *   // → ['up{tenant="a"}', 'up{job="api", tenant="b"}']
 */
export function applyPolicyEach(prepared: Prepared, policy: AccessPolicy, opts: PolicyOptions = {}): string[] {
  const sets = checkPolicy(policy);
  if (prepared.kind !== 'selector' || sets === undefined || sets.length === 1) return [applyPolicy(prepared, policy, opts)];
  return guard(() => {
    const tree = prepared.tree ?? parseKind(prepared.kind, prepared.text, prepared.syntax, prepared.maxQueryBytes);
    if (tree.kind !== 'VectorSelector') throw new PromQLError('internal_error', 'a prepared series selector is not a selector');
    foreignTenantCheck(policy, opts.rejectForeignTenant ?? true)(tree);
    const maxBytes = opts.maxEnforcedBytes ?? DEFAULT_MAX_ENFORCED_BYTES;
    return selectorForEachSet(tree, sets).map((vs) => printBounded(vs, prepared.syntax, maxBytes, 1));
  });
}

/**
 * The `match[]` selectors added when a request gives none: one per matcher set of the policy
 * (`{tenant="a"}` or `{tenant=~"a|b"}` for a tenant grant, `{tenant="b", job="api"}` for a
 * label policy), none when unrestricted. A label that is not a plain identifier is printed
 * quoted (Prometheus 3 syntax).
 *
 * @throws PromQLError `internal_error`
 */
export function policySelectors(policy: AccessPolicy): string[] {
  return guard(() => {
    const sets = checkPolicy(policy);
    if (sets === undefined) return [];
    return sets.map((set) => {
      const vs: VectorSelector = { kind: 'VectorSelector', name: undefined, matchers: set, offset: undefined, at: undefined };
      const plain = set.every((m) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name));
      return printCanonical(vs, plain ? 'prometheus2' : 'prometheus3');
    });
  });
}
