/**
 * The tenant enforcer: PromQL text in, enforced canonical PromQL text (or a coded
 * PromQLError) out. Framework-free (no HTTP); the gateway calls it for `query`,
 * `query_range`, `query_exemplars` and every `match[]` value.
 *
 * Pipeline (design.md, "Enforcement semantics"): size cap → parse (src/promql/parse.ts) →
 * validate (empty selectors, functions, dialect gates) → reject a user equality matcher on
 * the tenant label naming a foreign tenant → add the tenant matcher to every selector
 * (function arguments, aggregation parameters, binary operands, subqueries, range
 * selectors) while keeping the user's own matchers (AND) → canonical print with self-check.
 */
import type { Expr, LabelMatcher, VectorSelector } from '../promql/ast.ts';
import { mapSelectors, walk } from '../promql/ast.ts';
import { PromQLError } from '../promql/errors.ts';
import { DEFAULT_MAX_QUERY_BYTES, parseExpr, parseSeriesSelector } from '../promql/parse.ts';
import { printCanonical } from '../promql/print.ts';
import { escapeRegex } from '../promql/regex.ts';
import { validateExpr } from '../promql/validate.ts';
import { describeTenants, type TenantSet } from './tenants.ts';

export { ALL_TENANTS, describeTenants, tenantKey, tenantList, type TenantSet } from './tenants.ts';
export { PromQLError, type PromQLErrorCode, type TextPosition } from '../promql/errors.ts';

/** Which parser dialect the upstream accepts. `auto` is resolved by the gateway before calling. */
export type Syntax = 'prometheus2' | 'prometheus3';

/** Options of every enforcement call. */
export interface EnforceOptions {
  /** Label injected into every selector, e.g. `tenant`. Non-empty. */
  readonly label: string;
  /** Tenants the caller may read. */
  readonly tenants: TenantSet;
  /** Upstream dialect. */
  readonly syntax: Syntax;
  /** Maximum query text length in bytes (UTF-8). Default 32768. */
  readonly maxQueryBytes?: number;
  /** A user equality matcher on `label` naming a tenant outside the set is an error (`forbidden_tenant`). Default true. */
  readonly rejectForeignTenant?: boolean;
}

function checkOptions(opts: EnforceOptions): void {
  if (typeof opts.label !== 'string' || opts.label === '') {
    throw new PromQLError('internal_error', 'enforcement label must be a non-empty string');
  }
  if (opts.syntax !== 'prometheus2' && opts.syntax !== 'prometheus3') {
    throw new PromQLError('internal_error', `unknown PromQL syntax ${JSON.stringify(opts.syntax)}`);
  }
  if (opts.tenants.kind === 'list' && (opts.tenants.tenants.length === 0 || opts.tenants.tenants.some((t) => typeof t !== 'string' || t === ''))) {
    // An empty tenant ID would inject `tenant=""`, which selects the series *without* the label.
    throw new PromQLError('internal_error', 'invalid tenant set (empty, or an empty tenant ID)');
  }
}

/**
 * The matcher promfence adds for `tenants` on `label`: `label="a"` for one tenant,
 * `label=~"a|b"` for several (values de-duplicated, sorted, RE2-escaped so that `a.b` or
 * `x|y` match only themselves; Prometheus anchors the regex); undefined for all tenants.
 */
export function tenantMatcher(label: string, tenants: TenantSet): LabelMatcher | undefined {
  if (tenants.kind === 'all') return undefined;
  const values = [...new Set(tenants.tenants)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (values.length === 1) return { name: label, op: '=', value: values[0] as string };
  return { name: label, op: '=~', value: values.map(escapeRegex).join('|') };
}

function enforceSelector(vs: VectorSelector, opts: EnforceOptions, added: LabelMatcher | undefined): VectorSelector {
  const tenants = opts.tenants;
  if ((opts.rejectForeignTenant ?? true) && tenants.kind === 'list') {
    for (const m of vs.matchers) {
      if (m.name === opts.label && m.op === '=' && !tenants.tenants.includes(m.value)) {
        throw new PromQLError('forbidden_tenant', `tenant ${JSON.stringify(m.value)} is not granted (granted: ${describeTenants(tenants)})`, { tenant: m.value });
      }
    }
  }
  return added === undefined ? vs : { ...vs, matchers: [...vs.matchers, added] };
}

function hasMatcher(vs: VectorSelector, m: LabelMatcher): boolean {
  return vs.matchers.some((x) => x.name === m.name && x.op === m.op && x.value === m.value);
}

/** Defence in depth: every selector of the final tree must carry the added matcher. */
function assertEnforced(e: Expr, added: LabelMatcher | undefined): void {
  if (added === undefined) return;
  walk(e, (n) => {
    if (n.kind === 'VectorSelector' && !hasMatcher(n, added)) {
      throw new PromQLError('internal_error', 'a selector escaped enforcement');
    }
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

function enforceTree(e: Expr, opts: EnforceOptions): string {
  validateExpr(e, opts.syntax);
  const added = tenantMatcher(opts.label, opts.tenants);
  const enforced = mapSelectors(e, (vs) => enforceSelector(vs, opts, added));
  assertEnforced(enforced, added);
  return printCanonical(enforced, opts.syntax);
}

/**
 * Enforces a PromQL expression and returns its canonical enforced text.
 *
 * @param query the PromQL text as received
 * @param opts label, tenant set, dialect, size cap (bytes, default 32768), foreign-tenant policy (default reject)
 * @returns canonical PromQL with the tenant matcher on every selector (none for `*`)
 * @throws PromQLError `query_too_large`, `parse_error`, `empty_selector`,
 *   `unsupported_function`, `unsupported_syntax`, `forbidden_tenant`, `internal_error`
 * @example enforceQuery('sum(rate(http_requests_total[5m]))', { label: 'tenant', tenants: tenantList(['a']), syntax: 'prometheus3' })
 *   // → 'sum (rate(http_requests_total{tenant="a"}[5m]))'
 */
export function enforceQuery(query: string, opts: EnforceOptions): string {
  return guard(() => {
    checkOptions(opts);
    const e = parseExpr(query, { syntax: opts.syntax, maxQueryBytes: opts.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES });
    return enforceTree(e, opts);
  });
}

/**
 * Enforces one series selector (a `match[]` value of series, labels, label values,
 * federate): it must be a single vector selector (no functions, operators, ranges,
 * `offset`, `@`).
 *
 * @returns the canonical enforced selector, e.g. `up{job="api", tenant="a"}`
 * @throws PromQLError `parse_error` when not a single selector, plus every code of {@link enforceQuery}
 */
export function enforceSeriesSelector(selector: string, opts: EnforceOptions): string {
  return guard(() => {
    checkOptions(opts);
    const vs = parseSeriesSelector(selector, { syntax: opts.syntax, maxQueryBytes: opts.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES });
    return enforceTree(vs, opts);
  });
}

/**
 * The selector added when no `match[]` is given: `{tenant="a"}` or `{tenant=~"a|b"}`;
 * undefined for all tenants. A label that is not a plain identifier is printed quoted
 * (Prometheus 3 syntax).
 */
export function tenantSelector(label: string, tenants: TenantSet): string | undefined {
  const m = tenantMatcher(label, tenants);
  if (m === undefined) return undefined;
  const vs: VectorSelector = { kind: 'VectorSelector', name: undefined, matchers: [m], offset: undefined, at: undefined };
  return guard(() => printCanonical(vs, /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label) ? 'prometheus2' : 'prometheus3'));
}

type Cached = { readonly ok: string } | { readonly err: PromQLError };

/**
 * An LRU cache in front of {@link enforceQuery} / {@link enforceSeriesSelector}: dashboards
 * repeat the same queries on every refresh. Refusals are cached too (re-thrown as a fresh
 * PromQLError with the same code, message and position). Key: call kind, query text, label,
 * tenant set (kind and IDs, JSON-encoded so no two sets collide), syntax, size cap and foreign-tenant policy.
 */
export class EnforcementCache {
  readonly maxEntries: number;
  /** Queries longer than this (UTF-16 units) are enforced but not cached, bounding memory. */
  readonly maxQueryChars: number;
  readonly #map = new Map<string, Cached>();

  /**
   * @param maxEntries entries kept (least recently used evicted); 0 disables caching. Default 10000.
   * @param maxQueryChars longest query text cached, in UTF-16 units. Default 8192.
   */
  constructor(maxEntries = 10000, maxQueryChars = 8192) {
    this.maxEntries = Math.max(0, Math.floor(maxEntries));
    this.maxQueryChars = maxQueryChars;
  }

  /** Number of cached entries. */
  get size(): number {
    return this.#map.size;
  }

  /** Cached {@link enforceQuery}. Same errors. */
  enforceQuery(query: string, opts: EnforceOptions): string {
    return this.#get('q', query, opts, () => enforceQuery(query, opts));
  }

  /** Cached {@link enforceSeriesSelector}. Same errors. */
  enforceSeriesSelector(selector: string, opts: EnforceOptions): string {
    return this.#get('s', selector, opts, () => enforceSeriesSelector(selector, opts));
  }

  /** Drops every entry (e.g. on configuration reload). */
  clear(): void {
    this.#map.clear();
  }

  #get(kind: string, text: string, opts: EnforceOptions, compute: () => string): string {
    if (this.maxEntries === 0 || text.length > this.maxQueryChars) return compute();
    // JSON, not a joined string: a separator-joined key let tenant sets collide (['a','b'] and
    // ['a\u0000b'] both gave "a\0b"; a hand-built list ['*'] gave "*" like ALL_TENANTS), handing
    // one caller the enforced text of another tenant set (red-team finding).
    const tenants = opts.tenants.kind === 'all' ? null : [...opts.tenants.tenants];
    const key = JSON.stringify([kind, opts.label, tenants, opts.syntax, opts.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES,
      opts.rejectForeignTenant ?? true, text]);
    let hit = this.#map.get(key);
    if (hit !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, hit);
    } else {
      try {
        hit = { ok: compute() };
      } catch (err) {
        if (!(err instanceof PromQLError)) throw err;
        // Size and parse-time refusals are not cached: the size check is cheap, and a parse
        // that ran out of its wall-clock budget on a busy machine must not stick.
        if (err.code === 'query_too_large') throw err;
        hit = { err };
      }
      this.#map.set(key, hit);
      if (this.#map.size > this.maxEntries) {
        const oldest = this.#map.keys().next();
        if (oldest.done !== true) this.#map.delete(oldest.value);
      }
    }
    if ('ok' in hit) return hit.ok;
    throw new PromQLError(hit.err.code, hit.err.message, { position: hit.err.position, cause: hit.err.cause, ...(hit.err.tenant === undefined ? {} : { tenant: hit.err.tenant }) });
  }
}
