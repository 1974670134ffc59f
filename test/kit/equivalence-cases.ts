/**
 * The engine's table of semantic-equivalence queries over the fruit/veggie data
 * (scripts/generate-data.ts): shared by the tenant equivalence test
 * (test/realprom/equivalence.test.ts) and the label-policy oracle test
 * (test/realprom/label-policy.test.ts).
 */

export interface Case {
  readonly q: string;
  /** absent()/absent_over_time() of nothing: the answer must hold a series. */
  readonly absent?: boolean;
}

/** Queries; `${END}` is replaced by the data's last sample time (unix s). */
export const CASES: readonly Case[] = [
  { q: 'fruit_harvested_total' },
  { q: 'rate(http_requests_total[5m])' },
  { q: 'sum by (code) (rate(http_requests_total[5m]))' },
  { q: 'sum without (instance, method) (rate(http_requests_total[5m]))' },
  { q: 'sum(sum_over_time(up[10m])) by (job)' },
  { q: 'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))' },
  { q: 'histogram_quantile(0.5, sum by (le, instance) (rate(http_request_duration_seconds_bucket{job="shop"}[10m])))' },
  { q: 'topk(3, sum by (fruit, farm) (rate(fruit_harvested_total[5m])))' },
  { q: 'bottomk(2, fruit_basket_items)' },
  { q: 'topk(scalar(count(up)), fruit_basket_items)' },
  { q: 'quantile(0.75, fruit_basket_items)' },
  { q: 'stddev(rate(http_requests_total[5m]))' },
  { q: 'count by (job) (up)' },
  { q: 'count(count by (instance) (http_requests_total))' },
  { q: 'group by (fruit) (fruit_harvested_total)' },
  { q: 'count_values("value", up)' },
  { q: 'sort_desc(sum by (fruit) (increase(fruit_harvested_total[1h])))' },
  { q: 'rate(http_requests_total[5m] offset 30m)' },
  { q: 'sum(rate(http_requests_total[5m])) - sum(rate(http_requests_total[5m] offset 1h))' },
  { q: 'fruit_harvested_total - fruit_harvested_total offset 1h' },
  { q: 'max_over_time(rate(http_requests_total[5m])[30m:1m])' },
  { q: 'min_over_time(sum by (instance) (rate(http_requests_total[5m]))[1h:5m] offset 10m)' },
  { q: 'fruit_harvested_total @ ${END}' },
  { q: 'sum by (fruit) (rate(fruit_harvested_total[5m] @ ${END} offset 1h))' },
  { q: 'sum(fruit_basket_items @ end())' },
  { q: 'fruit_basket_items @ start()' },
  { q: 'sum by (instance) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (instance) (rate(http_requests_total[5m]))' },
  { q: 'http_requests_total / on(instance) group_left sum by (instance) (http_requests_total)' },
  { q: 'sum by (instance) (http_requests_total) * on(instance) group_right() http_requests_total' },
  { q: 'rate(http_requests_total{code="500"}[5m]) / ignoring(code) rate(http_requests_total{code="200"}[5m])' },
  { q: 'up and on(instance) rate(http_requests_total{code="500"}[5m]) > 0' },
  { q: 'fruit_basket_items or fruit_harvested_total' },
  { q: 'rate(http_requests_total[5m]) unless on(code) http_requests_total{code="404"}' },
  { q: 'fruit_basket_items > bool 50' },
  { q: 'fruit_basket_items > 45' },
  { q: '-fruit_basket_items' },
  { q: 'fruit_basket_items % 7 + 2 ^ 3' },
  { q: 'label_replace(up, "host", "$1", "instance", "(.*):.*")' },
  { q: 'label_join(up, "id", "/", "job", "instance")' },
  { q: 'irate(http_requests_total[2m])' },
  { q: 'delta(fruit_basket_items[15m])' },
  { q: 'deriv(fruit_basket_items[15m])' },
  { q: 'predict_linear(fruit_basket_items[30m], 3600)' },
  { q: 'changes(fruit_basket_items[30m])' },
  { q: 'resets(http_requests_total[1h])' },
  { q: 'holt_winters(fruit_basket_items[30m], 0.5, 0.5)' },
  { q: 'clamp_max(fruit_basket_items, 60)' },
  { q: 'timestamp(up)' },
  { q: 'time() - timestamp(up)' },
  { q: 'scalar(sum(up)) * fruit_basket_items' },
  { q: 'sum(up) + vector(1)' },
  { q: 'sum(http_request_duration_seconds_sum) / sum(http_request_duration_seconds_count)' },
  { q: 'rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])' },
  { q: '{__name__=~"fruit_.*"}' },
  { q: '{__name__="up", job="shop"}' },
  { q: 'http_requests_total{method!="GET", code!~"2.."}' },
  { q: 'max by (instance) (max_over_time(up[1h]))' },
  { q: 'last_over_time(fruit_basket_items[10m])' },
  { q: 'quantile_over_time(0.9, fruit_basket_items[30m])' },
  { q: '# a comment\nsum(up)' },
  { q: 'absent(up)' },
  { q: 'absent(up{job="missing"})', absent: true },
  { q: 'absent_over_time(nonexistent_metric{job="x"}[5m])', absent: true },
  { q: 'absent(nonexistent_metric)', absent: true },
  { q: 'absent(nonexistent_metric{tenant="team-fruit", job="x"})', absent: true },
  { q: 'absent_over_time(up{tenant="team-fruit", job="missing"}[5m] offset 1m)', absent: true },
  { q: 'absent(nonexistent_metric{tenant!="team-veggie"})', absent: true },
  { q: 'absent(nonexistent_metric) or absent(up{job="missing"})', absent: true },
];

