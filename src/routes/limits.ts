/**
 * Request limits the planner checks (src/routes/plan.ts): points per series and time range of
 * range queries, and the number of tenants one request reads. Pure functions.
 *
 * Range rules follow Prometheus's `query_range` handler (web/api/v1/api.go): `start` and
 * `end` are unix seconds (float) or RFC 3339; `step` is float seconds or a Prometheus
 * duration; a query is refused when `(end - start) / step` (integer division, as Go divides
 * durations) exceeds the limit — Prometheus's own rule with 11,000 ("exceeded maximum
 * resolution of 11,000 points per timeseries").
 */
import type { TenantSet } from '../access/tenants.ts';
import type { SubquerySpan } from '../enforce/index.ts';
import { HttpError } from '../http/errors.ts';
import type { RequestParams } from '../http/params.ts';
import { parseGoDurationNs } from '../promql/lexemes.ts';

const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
/** Prometheus's formatted MinTime / MaxTime, accepted as parameters by its API. */
const MIN_TIME = '-292273086-05-16T16:47:06Z';
const MAX_TIME = '292277025-08-18T07:12:54.999999999Z';

/**
 * A Prometheus API timestamp in seconds: unix seconds (float) or RFC 3339; Prometheus's
 * min/max time strings map to ∓Infinity.
 *
 * @returns seconds, or undefined when Prometheus would not parse it either
 */
export function parseApiTime(value: string): number | undefined {
  if (FLOAT.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  if (value === MIN_TIME) return -Infinity;
  if (value === MAX_TIME) return Infinity;
  if (!RFC3339.test(value)) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  const frac = /\.(\d+)/.exec(value)?.[1] ?? '';
  return Math.floor(ms / 1000) + Number(`0.${frac || '0'}`);
}

/** A Prometheus API duration in seconds (float seconds or `5m`-style); undefined when invalid. */
export function parseApiDuration(value: string): number | undefined {
  if (FLOAT.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  try {
    return Number(parseGoDurationNs(value)) / 1e9;
  } catch {
    return undefined;
  }
}

/** The range limits (`limits.max_points`, `limits.max_range`). */
export interface RangeLimits {
  /** Most points per series; `(end - start) / step` above it is refused. */
  readonly maxPoints: number;
  /** Longest `end - start`, ms; 0 = no limit. */
  readonly maxRangeMs: number;
}

/**
 * Checks a range query's `start`, `end` and `step` against the limits. Missing values are
 * left to the upstream (it refuses them with 400, like promfence would).
 *
 * @throws HttpError 400 `invalid_parameter` for a value Prometheus would not parse, a step ≤ 0
 *   or an end before start (Prometheus's messages); `too_many_points`; `range_too_long`
 */
export function checkRange(params: RequestParams, limits: RangeLimits): void {
  const raw = { start: params.first('start'), end: params.first('end'), step: params.first('step') };
  if (raw.start === undefined || raw.end === undefined || raw.step === undefined) return;
  const start = parseApiTime(raw.start);
  if (start === undefined) throw new HttpError('invalid_parameter', `invalid parameter "start": cannot parse ${JSON.stringify(raw.start)} to a valid timestamp`);
  const end = parseApiTime(raw.end);
  if (end === undefined) throw new HttpError('invalid_parameter', `invalid parameter "end": cannot parse ${JSON.stringify(raw.end)} to a valid timestamp`);
  if (end < start) throw new HttpError('invalid_parameter', 'invalid parameter "end": end timestamp must not be before start time');
  const step = parseApiDuration(raw.step);
  if (step === undefined) throw new HttpError('invalid_parameter', `invalid parameter "step": cannot parse ${JSON.stringify(raw.step)} to a valid duration`);
  if (step <= 0) throw new HttpError('invalid_parameter', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
  const span = end - start;
  // A tiny epsilon absorbs float error where Go divides integer nanoseconds exactly.
  const points = Math.floor(span / step + 1e-9);
  if (points > limits.maxPoints) {
    throw new HttpError('too_many_points', `exceeded maximum resolution of ${limits.maxPoints.toLocaleString('en-US')} points per timeseries (limits.max_points). Try decreasing the query resolution (?step=XX)`);
  }
  if (limits.maxRangeMs > 0 && span * 1000 > limits.maxRangeMs) {
    throw new HttpError('range_too_long', `the query range of ${Math.round(span)}s is longer than limits.max_range (${limits.maxRangeMs / 1000}s); query a shorter range`);
  }
}

/**
 * Checks the number of tenants a request reads against `limits.max_tenants` (`*` is not
 * counted: it adds no matcher).
 *
 * @param max 0 = no limit
 * @throws HttpError 400 `too_many_tenants`
 */
export function checkTenantCount(tenants: TenantSet, max: number, selectParam: string, selectHeader: string): void {
  if (max <= 0 || tenants.kind === 'all' || tenants.tenants.length <= max) return;
  throw new HttpError('too_many_tenants', `the request reads ${tenants.tenants.length} tenants, more than limits.max_tenants (${max}); narrow it with ?${selectParam}=<tenant> or the ${selectHeader} header`);
}

/** The step of a subquery written without one (`x[1h:]`): Prometheus's default global evaluation interval, ms. */
export const DEFAULT_SUBQUERY_STEP_MS = 60_000;

/**
 * Bounds the work of subqueries (`limits.max_subquery_points`): `limits.max_points` only
 * bounds a range query's own steps, and `count_over_time(up[2h:1ms])` (7.2 million steps per
 * series, seconds of upstream CPU) passed it. Prometheus evaluates a subquery's inner
 * expression as one range evaluation at the subquery's step over the subquery's range widened
 * by every enclosing subquery's range and, in a range query, by `end - start`
 * (promql/engine.go, the evaluator of `SubqueryExpr`); so each subquery's steps per series are
 * `(window + span) / step` (src/enforce `SubquerySpan`). A subquery without a step counts
 * {@link DEFAULT_SUBQUERY_STEP_MS}. The bound is on the sum over the query's subqueries: a
 * query of 40 subqueries each just under the limit cost Prometheus 40 times one (red-team
 * finding: `E + E + …` of 97,200 steps each held its query slots for 40 s).
 *
 * @param spans the query's subqueries (`Prepared.subqueries`)
 * @param maxPoints the limit; 0 = no check
 * @param windowMs `end - start` of a range query, ms (0 for an instant query)
 * @throws HttpError 400 `too_many_points` with the total and the largest subquery's span and step
 */
export function checkSubqueries(spans: readonly SubquerySpan[], maxPoints: number, windowMs = 0): void {
  if (maxPoints <= 0 || spans.length === 0) return;
  let total = 0;
  let largest = { points: -1, seconds: 0, step: 0 };
  for (const s of spans) {
    const step = s.stepMs ?? DEFAULT_SUBQUERY_STEP_MS;
    const points = Math.floor((windowMs + s.spanMs) / step);
    total += points;
    if (points > largest.points) largest = { points, seconds: (windowMs + s.spanMs) / 1000, step: step / 1000 };
  }
  if (total <= maxPoints) return;
  const n = (x: number) => x.toLocaleString('en-US');
  const span = `${largest.seconds}s${windowMs > 0 ? ' with the query range' : ''} at a ${largest.step}s step`;
  const what = spans.length === 1
    ? `a subquery evaluates ${n(total)} steps per series (${span})`
    : `the query's ${spans.length} subqueries evaluate ${n(total)} steps per series together (the largest ${n(largest.points)}: ${span})`;
  throw new HttpError('too_many_points', `${what}, more than limits.max_subquery_points (${n(maxPoints)}); use a larger subquery step, a shorter range or fewer subqueries`);
}

/**
 * `end - start` of a range query in ms, from its parameters; 0 when either is missing or
 * unreadable (an instant query; an invalid value is refused by {@link checkRange} or the upstream).
 */
export function rangeWindowMs(params: RequestParams): number {
  const start = params.first('start');
  const end = params.first('end');
  if (start === undefined || end === undefined || params.first('step') === undefined) return 0;
  const s = parseApiTime(start);
  const e = parseApiTime(end);
  if (s === undefined || e === undefined || !Number.isFinite(e - s) || e < s) return 0;
  return (e - s) * 1000;
}
