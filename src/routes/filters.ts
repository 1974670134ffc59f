/**
 * Response filters of the answers a rewritten request cannot scope (README "Endpoints": rules, alerts,
 * metadata). Each takes the upstream's parsed JSON and the caller's {@link FilterContext} and
 * returns what the caller may see; every field not filtered is kept as it came
 * (`groupNextToken`, `infos`, `warnings`, fields a newer upstream adds).
 *
 * A body that does not have the documented shape is an error (the relay answers 502): a
 * filter that cannot read an answer must not pass it through.
 *
 * Visibility (src/access/admits.ts `policyAdmits`):
 * - a rule by its own `labels` (a rule without the tenant label is visible only to
 *   unrestricted callers), and each alert inside an alerting rule by the alert's labels;
 *   groups left without rules are removed;
 * - an alert of `/api/v1/alerts` by its labels;
 * - a metric's metadata by its name being among the caller's metric names.
 */
import { policyAdmits } from '../access/admits.ts';
import type { FilterContext } from './types.ts';

type Json = Record<string, unknown>;

/** Thrown for an answer the filter cannot read (the relay refuses it). */
export class FilterShapeError extends Error {
  constructor(what: string) {
    super(`upstream answer has an unexpected shape: ${what}`);
    this.name = 'FilterShapeError';
  }
}

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FilterShapeError(`${what} is not an object`);
  return v as Json;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new FilterShapeError(`${what} is not a list`);
  return v;
}

/** The success envelope and its `data` object. */
function success(body: unknown): { envelope: Json; data: Json } {
  const envelope = obj(body, 'the answer');
  if (envelope.status !== 'success') throw new FilterShapeError('status is not "success"');
  return { envelope, data: obj(envelope.data, 'data') };
}

/**
 * `GET /api/v1/rules`: keeps the rules whose labels the policy admits, and inside alerting
 * rules the alerts whose labels it admits; drops groups left empty. Unrestricted callers get
 * the answer unchanged.
 *
 * @throws FilterShapeError when `data.groups`, a group's `rules` or a rule's `alerts` is malformed
 */
export function filterRules(body: unknown, ctx: FilterContext): unknown {
  if (ctx.policy.selectors === undefined) return body;
  const { envelope, data } = success(body);
  const groups: unknown[] = [];
  for (const g of arr(data.groups, 'data.groups')) {
    const group = obj(g, 'a rule group');
    const rules: unknown[] = [];
    for (const r of arr(group.rules, 'a group\'s rules')) {
      const rule = obj(r, 'a rule');
      if (!policyAdmits(ctx.policy, rule.labels)) continue;
      if (rule.alerts === undefined || rule.alerts === null) {
        rules.push(rule);
      } else {
        const alerts = arr(rule.alerts, 'a rule\'s alerts').filter((a) => policyAdmits(ctx.policy, obj(a, 'an alert').labels));
        rules.push({ ...rule, alerts });
      }
    }
    if (rules.length > 0) groups.push({ ...group, rules });
  }
  return { ...envelope, data: { ...data, groups } };
}

/**
 * `GET /api/v1/alerts`: keeps the alerts whose labels the policy admits.
 *
 * @throws FilterShapeError when `data.alerts` is malformed
 */
export function filterAlerts(body: unknown, ctx: FilterContext): unknown {
  if (ctx.policy.selectors === undefined) return body;
  const { envelope, data } = success(body);
  const alerts = arr(data.alerts, 'data.alerts').filter((a) => policyAdmits(ctx.policy, obj(a, 'an alert').labels));
  return { ...envelope, data: { ...data, alerts } };
}

/**
 * The `limit` of a metadata request, with Prometheus's rules (web/api/v1 `metricMetadata`): an
 * integer; negative = no limit; absent = no limit.
 *
 * @returns the limit, or undefined for none
 * @throws RangeError with Prometheus's message when it is not an integer
 */
export function metadataLimit(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[+-]?\d+$/.test(value)) throw new RangeError('limit must be a number');
  const n = Number(value);
  return n < 0 ? undefined : n;
}

/**
 * Suffixes of the series of one metric family (Prometheus text format and OpenMetrics): the
 * metadata of a histogram `x` is keyed `x` while its series are `x_bucket`, `x_sum`,
 * `x_count`; an OpenMetrics counter `x` has series `x_total` (and `x_created`).
 */
export const FAMILY_SUFFIXES: readonly string[] = Object.freeze(['_total', '_created', '_bucket', '_sum', '_count', '_info', '_gcount', '_gsum']);

/** Whether the metadata name `metric` belongs to a family one of whose series names is visible. */
function familyVisible(metric: string, names: ReadonlySet<string>): boolean {
  return names.has(metric) || FAMILY_SUFFIXES.some((s) => names.has(metric + s));
}

/**
 * `GET /api/v1/metadata`: keeps the metrics among `ctx.metricNames` (all when the policy is
 * unrestricted; a family name counts when one of its series names is there, see
 * {@link FAMILY_SUFFIXES}), then applies the request's `limit` (the number of metrics; promfence applies
 * it after filtering, so it never forwards it: the upstream would cut before the filter).
 *
 * @throws FilterShapeError when `data` is not an object, or when the policy is restricted and
 *   no metric names were looked up (a wiring bug; never answered unfiltered)
 */
export function filterMetadata(body: unknown, ctx: FilterContext): unknown {
  const { envelope, data } = success(body);
  const names = ctx.metricNames;
  if (ctx.policy.selectors !== undefined && names === undefined) throw new FilterShapeError('no metric names to filter metadata with');
  const limit = metadataLimit(ctx.params?.find(([k]) => k === 'limit')?.[1]);
  const out: Json = {};
  let n = 0;
  for (const [metric, entries] of Object.entries(data)) {
    if (limit !== undefined && n >= limit) break;
    if (names !== undefined && !familyVisible(metric, names)) continue;
    out[metric] = entries;
    n++;
  }
  return { ...envelope, data: out };
}
