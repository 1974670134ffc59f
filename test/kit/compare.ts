/**
 * Comparing Prometheus query answers (`data` of /api/v1/query and /api/v1/query_range)
 * independently of series order, for the real-Prometheus equivalence tests.
 */

/** One series of a vector or matrix answer. */
export interface AnswerSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

/** The `data` of a query answer. */
export interface AnswerData {
  resultType: string;
  result: unknown;
}

/**
 * Sorts a vector/matrix answer's series by their label sets (and each label set by name),
 * so two answers compare equal with `deepEqual` whatever order Prometheus returned them in.
 *
 * @param dropLabel a label to remove first (e.g. `tenant` for absent() answers), or undefined
 */
export function normalizeAnswer(data: AnswerData, dropLabel?: string): AnswerData {
  if (data.resultType !== 'vector' && data.resultType !== 'matrix') return data;
  const series = (data.result as AnswerSeries[]).map((s) => {
    const metric = { ...s.metric };
    if (dropLabel !== undefined) delete metric[dropLabel];
    return { ...s, metric: Object.fromEntries(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : 1))) };
  });
  series.sort((a, b) => {
    const ka = JSON.stringify(a.metric);
    const kb = JSON.stringify(b.metric);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  return { resultType: data.resultType, result: series };
}

/**
 * True when two answers hold the same values at the same timestamps, ignoring which series
 * carries them. topk/bottomk break ties between equal values by Go map order, so two runs of
 * the same query may pick different (equally valid) series: compare those answers this way.
 */
export function sameValuesIgnoringSeries(a: AnswerData, b: AnswerData): boolean {
  if (a.resultType !== b.resultType) return false;
  const points = (d: AnswerData): string[] => {
    if (d.resultType === 'vector') return (d.result as AnswerSeries[]).map((s) => `${s.value?.[0]}:${s.value?.[1]}`).sort();
    if (d.resultType === 'matrix') return (d.result as AnswerSeries[]).flatMap((s) => (s.values ?? []).map(([t, v]) => `${t}:${v}`)).sort();
    return [JSON.stringify(d.result)];
  };
  return JSON.stringify(points(a)) === JSON.stringify(points(b));
}

/**
 * True when two normalised answers ({@link normalizeAnswer}) have the same series, timestamps
 * and values, values compared as numbers with a relative tolerance of 1e-9 (NaN equals NaN).
 * Sums of the same samples added in another order differ in their last bits: a query
 * rewritten with `or` aggregates the same series in another order than the original.
 */
export function sameAnswerApprox(a: AnswerData, b: AnswerData): boolean {
  if (a.resultType !== b.resultType) return false;
  const close = (x: string, y: string): boolean => {
    if (x === y) return true;
    const p = Number(x);
    const q = Number(y);
    if (Number.isNaN(p) && Number.isNaN(q)) return true;
    return Math.abs(p - q) <= 1e-9 * Math.max(1, Math.abs(p), Math.abs(q));
  };
  const point = (p: [number, string] | undefined, q: [number, string] | undefined): boolean =>
    p !== undefined && q !== undefined && p[0] === q[0] && close(p[1], q[1]);
  if (a.resultType === 'scalar' || a.resultType === 'string') return point(a.result as [number, string], b.result as [number, string]);
  const x = a.result as AnswerSeries[];
  const y = b.result as AnswerSeries[];
  return x.length === y.length && x.every((s, i) => {
    const t = y[i] as AnswerSeries;
    if (JSON.stringify(s.metric) !== JSON.stringify(t.metric)) return false;
    if (s.value !== undefined || t.value !== undefined) return point(s.value, t.value);
    const v = s.values ?? [];
    const w = t.values ?? [];
    return v.length === w.length && v.every((p, j) => point(p, w[j]));
  });
}
