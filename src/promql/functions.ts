/**
 * Function and operator tables per upstream dialect, kept as data (Prometheus keeps its
 * signatures as a table too: promql/parser/functions.go). A whitelist: a name absent from
 * the dialect's table is refused (`unsupported_function`), so a function the upstream may
 * not know, or only knows behind a feature flag, never reaches it.
 *
 * Sources: prometheus/prometheus promql/parser/functions.go (entries without
 * `Experimental: true`, Prometheus 3.x) and lex.go `IsExperimentalAggregator`; for
 * `prometheus2` the function list of Prometheus 2.42 (`holt_winters` instead of
 * `double_exponential_smoothing`; no `histogram_avg`, `histogram_stddev`,
 * `histogram_stdvar`, which came in 2.44–2.53).
 */
import type { AggregateOp } from './ast.ts';

/** Upstream PromQL dialect. */
export type Dialect = 'prometheus2' | 'prometheus3';

/** Functions stable in both dialects (Prometheus ≥ 2.42 and 3.x, no feature flag). */
const COMMON_FUNCTIONS = [
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh',
  'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'cos', 'cosh',
  'count_over_time', 'days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'deg',
  'delta', 'deriv', 'exp', 'floor', 'histogram_count', 'histogram_fraction',
  'histogram_quantile', 'histogram_sum', 'hour', 'idelta', 'increase', 'irate',
  'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'max_over_time',
  'min_over_time', 'minute', 'month', 'pi', 'predict_linear', 'present_over_time',
  'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sin', 'sinh',
  'sort', 'sort_desc', 'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time',
  'tan', 'tanh', 'time', 'timestamp', 'vector', 'year',
] as const;

/** Stable functions per dialect. */
export const STABLE_FUNCTIONS: Readonly<Record<Dialect, ReadonlySet<string>>> = {
  prometheus3: new Set<string>([...COMMON_FUNCTIONS, 'histogram_avg', 'histogram_stddev', 'histogram_stdvar']),
  prometheus2: new Set<string>([...COMMON_FUNCTIONS, 'holt_winters']),
};

/**
 * Functions refused with a specific reason (checked before the whitelist). Message texts are
 * client-facing.
 */
export const REFUSED_FUNCTIONS: Readonly<Record<Dialect, ReadonlyMap<string, string>>> = {
  prometheus3: new Map([
    ['info', 'info() is refused: it joins target_info through its own lookup, which the tenant matcher cannot scope'],
    ['holt_winters', 'holt_winters() does not exist in Prometheus 3; it was renamed double_exponential_smoothing (experimental, not enabled)'],
  ]),
  prometheus2: new Map([
    ['info', 'info() is refused: it joins target_info through its own lookup, which the tenant matcher cannot scope'],
  ]),
};

/** Experimental Prometheus 3 functions (functions.go `Experimental: true`), named in messages. */
export const EXPERIMENTAL_FUNCTIONS: ReadonlySet<string> = new Set([
  'double_exponential_smoothing', 'end', 'first_over_time', 'histogram_quantiles', 'integral',
  'mad_over_time', 'range', 'sort_by_label', 'sort_by_label_desc', 'start', 'start_timestamp',
  'step', 'ts_of_first_over_time', 'ts_of_last_over_time', 'ts_of_max_over_time',
  'ts_of_min_over_time',
]);

/** Aggregation operators accepted per dialect (`limitk`/`limit_ratio` are experimental). */
export const STABLE_AGGREGATORS: Readonly<Record<Dialect, ReadonlySet<AggregateOp>>> = {
  prometheus3: new Set<AggregateOp>(['sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'count_values', 'quantile']),
  prometheus2: new Set<AggregateOp>(['sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'count_values', 'quantile']),
};

/**
 * Words the printer never prints as a bare metric name (compared lower-case): keywords and
 * contextual keywords of the Go lexer (lex.go `key`) and of lezer's grammar, plus the number
 * words `inf`/`nan`. Such a metric is printed as `{__name__="…"}`.
 */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'and', 'or', 'unless', 'atan2',
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'count_values', 'quantile', 'limitk', 'limit_ratio',
  'offset', 'smoothed', 'anchored', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'fill', 'fill_left', 'fill_right', 'bool',
  'start', 'end', 'step', 'range', 'min_of', 'max_of', 'inf', 'nan',
]);
