/**
 * Table-driven tests of the enforcement engine: `{in, out}` (enforced canonical print),
 * `{in}` (prints as the input), or `{in, code}` (refused with that PromQLError code).
 * Defaults: label `tenant`, tenants `['a']` (so `T` = `tenant="a"`), syntax prometheus3,
 * foreign tenants rejected. Rows are grouped by the attack class / syntax form they cover
 * (docs/security.md).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_TENANTS, tenantList, tenantPolicy, type TenantSet } from '../../src/access/index.ts';
import {
  Enforcer, enforceQuery, enforceSeriesSelector, policySelectors, PromQLError,
  type EnforceOptions, type PromQLErrorCode,
} from '../../src/enforce/index.ts';
import { topts } from '../kit/policy.ts';

interface Row {
  readonly in: string;
  readonly out?: string;
  readonly code?: PromQLErrorCode;
  /** Tenants; `['*']` = all. Default `['a']`. */
  readonly t?: readonly string[];
  readonly syntax?: 'prometheus2' | 'prometheus3';
  readonly reject?: boolean;
  /** Substring the error message must contain. */
  readonly msg?: string;
  readonly max?: number;
}

const ALL = ['*'];

const ROWS: readonly Row[] = [
  // --- selectors ---
  { in: 'up', out: 'up{tenant="a"}' },
  { in: 'up{job="api"}', out: 'up{job="api", tenant="a"}' },
  { in: '{job="api"}', out: '{job="api", tenant="a"}' },
  { in: '{__name__="up"}', out: '{__name__="up", tenant="a"}' },
  { in: '{__name__=~"up|down"}', out: '{__name__=~"up|down", tenant="a"}' },
  { in: 'foo:bar{a="bc"}', out: 'foo:bar{a="bc", tenant="a"}' },
  { in: 'foo{a="b", foo!="bar", test=~"test", bar!~"baz",}', out: 'foo{a="b", foo!="bar", test=~"test", bar!~"baz", tenant="a"}' },
  { in: "foo{bar='}'}", out: 'foo{bar="}", tenant="a"}' },
  { in: 'foo{NaN="bc"}', out: 'foo{NaN="bc", tenant="a"}' },
  { in: 'up{job="api"}', t: ALL },
  { in: 'up', t: ALL },
  { in: 'foo{__name__="bar"}', code: 'parse_error', msg: 'metric name must not be set twice' },
  { in: '{__name__="bar", __name__="baz"}', t: ALL },
  // --- functions and aggregations (every selector, every argument, every parameter) ---
  { in: 'rate(x[5m])', out: 'rate(x{tenant="a"}[5m])' },
  { in: 'sum(rate(x[5m])) by (job)', out: 'sum by (job) (rate(x{tenant="a"}[5m]))' },
  { in: 'sum by (job) (rate(x[5m]))', t: ALL },
  { in: 'sum without (a) (x)', t: ALL },
  { in: 'sum by () (x)', t: ALL },
  { in: 'SUM BY (job) (x)', out: 'sum by (job) (x{tenant="a"})' },
  { in: 'sum without(and, by, avg, count, alert, annotations)(x)', t: ALL, out: 'sum without ("and", "by", "avg", "count", alert, annotations) (x)' },
  { in: 'sum without(and, by, avg, count, alert, annotations)(x)', syntax: 'prometheus2', t: ALL, out: 'sum without (and, by, avg, count, alert, annotations) (x)' },
  { in: 'sum by (inf, step) (x)', t: ALL, out: 'sum by ("inf", "step") (x)' },
  { in: 'sum by (foo,bar,)(x)', t: ALL, out: 'sum by (foo, bar) (x)' },
  { in: 'topk(5, x)', out: 'topk(5, x{tenant="a"})' },
  { in: 'topk(scalar(x), y)', out: 'topk(scalar(x{tenant="a"}), y{tenant="a"})' },
  { in: 'bottomk(scalar(x), y)', out: 'bottomk(scalar(x{tenant="a"}), y{tenant="a"})' },
  { in: 'quantile(scalar(secret), mine)', out: 'quantile(scalar(secret{tenant="a"}), mine{tenant="a"})' },
  { in: 'count_values("l", x)', out: 'count_values("l", x{tenant="a"})' },
  { in: 'avg(x)', t: ALL },
  { in: 'min(x)', t: ALL },
  { in: 'max(x)', t: ALL },
  { in: 'count(x)', t: ALL },
  { in: 'group(x)', t: ALL },
  { in: 'stddev(x)', t: ALL },
  { in: 'stdvar(x)', t: ALL },
  { in: 'sum()', code: 'parse_error', msg: 'no arguments' },
  { in: 'topk(x)', code: 'parse_error', msg: 'expected 2' },
  { in: 'sum(x, y)', code: 'parse_error', msg: 'expected 1' },
  { in: 'label_replace(up, "dst", "$1", "src", "(.*)")', out: 'label_replace(up{tenant="a"}, "dst", "$1", "src", "(.*)")' },
  { in: 'histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))', out: 'histogram_quantile(0.9, sum by (le) (rate(h_bucket{tenant="a"}[5m])))' },
  // absent()/absent_over_time() copy their argument's equality matchers into the result's
  // labels: the added tenant matcher is written as an equivalent regex (no label), and left
  // out where the user's own tenant="x" already implies it (the label stays, as on a
  // Prometheus holding only the caller's tenants).
  { in: 'absent(nonexistent{job="x"})', out: 'absent(nonexistent{job="x", tenant=~"a"})' },
  { in: 'absent(up)', t: ['a.b'], out: 'absent(up{tenant=~"a\\\\.b"})' },
  { in: 'absent(up{tenant="a"})', out: 'absent(up{tenant="a"})' },
  { in: 'absent(up{tenant="a"})', t: ['a', 'b'], out: 'absent(up{tenant="a"})' },
  { in: 'absent(up)', t: ['a', 'b'], out: 'absent(up{tenant=~"a|b"})' },
  { in: 'absent(up{tenant!="b"})', t: ['a', 'b'], out: 'absent(up{tenant!="b", tenant=~"a|b"})' },
  { in: 'absent(up{tenant="b"})', code: 'forbidden_tenant' },
  // With foreign tenants allowed, no series of tenant b can be visible: a Prometheus holding
  // only tenant a answers 1 with the label tenant="b" at every step, which is what this prints.
  { in: 'absent(up{tenant="b"})', reject: false, out: 'label_replace(vector(1), "tenant", "b", "", "")' },
  { in: 'absent_over_time(up{job="x"}[5m] offset 1m)', out: 'absent_over_time(up{job="x", tenant=~"a"}[5m] offset 1m)' },
  { in: 'absent_over_time(up[5m:1m])', out: 'absent_over_time(up{tenant="a"}[5m:1m])' },
  // Prometheus removes the parentheses of a function argument before evaluating it
  // (engine.go unwrapParenExpr): absent((up)) takes its labels from up's matchers.
  { in: 'absent((up))', out: 'absent((up{tenant=~"a"}))' },
  { in: 'absent(sum(up))', out: 'absent(sum(up{tenant="a"}))' },
  { in: 'absent(up) or absent(nonexistent)', out: 'absent(up{tenant=~"a"}) or absent(nonexistent{tenant=~"a"})' },
  { in: 'rate(up{tenant="a"}[5m])', out: 'rate(up{tenant="a", tenant="a"}[5m])' },
  { in: 'time()', t: ALL },
  { in: 'vector(1)', t: ALL },
  { in: 'round(x, 5)', t: ALL },
  { in: 'clamp(x, 0, 1)', t: ALL },
  // --- binary operators and matching ---
  { in: 'a + b', out: 'a{tenant="a"} + b{tenant="a"}' },
  { in: 'a * on(x) group_left(y) b', out: 'a{tenant="a"} * on(x) group_left(y) b{tenant="a"}' },
  { in: 'a * on(x) group_left b', t: ALL, out: 'a * on(x) group_left() b' },
  { in: 'a - on(x) group_right(y, z) b', t: ALL },
  { in: 'a / ignoring(x) b', t: ALL },
  { in: 'a and on() b', t: ALL },
  { in: 'a and b', t: ALL },
  { in: 'a or b', t: ALL },
  { in: 'a unless b', t: ALL },
  { in: 'a > bool 1', t: ALL },
  { in: 'a == bool b', t: ALL },
  { in: 'a atan2 b', t: ALL },
  { in: 'a % b', t: ALL },
  { in: 'a ^ b', t: ALL },
  { in: 'a AND b', t: ALL, out: 'a and b' },
  { in: 'a + bool b', code: 'parse_error', msg: 'bool modifier' },
  { in: 'a and on(x) group_left(y) b', code: 'parse_error', msg: 'no grouping' },
  { in: 'a + on(x) group_left(x) b', code: 'parse_error', msg: 'ON and GROUP' },
  { in: 'a - on(b) ignoring(c) d', code: 'parse_error' },
  { in: 'a </ b', code: 'unsupported_syntax' },
  { in: 'a + fill(0) b', code: 'unsupported_syntax', msg: 'fill' },
  // --- precedence: explicit parentheses in the canonical print ---
  { in: 'a + b * c', t: ALL, out: 'a + (b * c)' },
  { in: 'a * b + c', t: ALL, out: '(a * b) + c' },
  { in: 'a - b - c', t: ALL, out: '(a - b) - c' },
  { in: 'a or b and c', t: ALL, out: 'a or (b and c)' },
  { in: 'foo + bar or bla and blub', t: ALL, out: '(foo + bar) or (bla and blub)' },
  { in: '1 + 2 ^ 3 ^ 4', t: ALL, out: '1 + (2 ^ (3 ^ 4))' },
  { in: '1 + 2/(3*1)', t: ALL, out: '1 + (2 / (3 * 1))' },
  { in: '1 < bool 2 - 1 * 2', t: ALL, out: '1 < bool (2 - (1 * 2))' },
  // --- postfix modifiers bind to the nearest operand (Go), not to the whole expression (lezer) ---
  { in: 'a + b offset 5m', out: 'a{tenant="a"} + b{tenant="a"} offset 5m' },
  { in: 'x - x offset 1d', out: 'x{tenant="a"} - x{tenant="a"} offset 1d' },
  { in: 'a * b @ 100', out: 'a{tenant="a"} * b{tenant="a"} @ 100.000' },
  { in: 'a + b[5m]', t: ALL },
  { in: 'a + b[5m:1m]', t: ALL },
  { in: 'a + b offset 5m + c', t: ALL, out: '(a + b offset 5m) + c' },
  { in: 'a + b * c offset 1h', t: ALL, out: 'a + (b * c offset 1h)' },
  { in: 'a + b[5m] offset 1m', t: ALL },
  { in: '-foo offset 5m', t: ALL },
  { in: 'a - -b offset 5m', t: ALL, out: 'a - (-b offset 5m)' },
  { in: 'a + (b) offset 5m', code: 'parse_error', msg: 'offset modifier must be preceded' },
  // --- unary minus and signed numbers ---
  { in: '-1^2', t: ALL, out: '-(1 ^ 2)' },
  { in: '- 1 ^ 2', t: ALL, out: '-(1 ^ 2)' },
  { in: '-1^-2', t: ALL, out: '-(1 ^ -2)' },
  { in: '-1 ^ 2 ^ 3', t: ALL, out: '-(1 ^ (2 ^ 3))' },
  { in: '2 * -1 ^ 2', t: ALL, out: '2 * (-(1 ^ 2))' },
  { in: '-1*2', t: ALL, out: '-1 * 2' },
  { in: '-1+2', t: ALL, out: '-1 + 2' },
  { in: '+1 + -2 * 1', t: ALL, out: '1 + (-2 * 1)' },
  { in: '--1', t: ALL, out: '1' },
  { in: '-(1)', t: ALL },
  { in: '(-1) ^ 2', t: ALL },
  { in: '2 ^ -1', t: ALL },
  { in: '-foo', out: '-foo{tenant="a"}' },
  { in: '+foo', t: ALL },
  { in: '-(-foo)', t: ALL },
  { in: '- -foo', t: ALL, out: '-(-foo)' },
  { in: '-(a + b)', t: ALL },
  { in: '-0', t: ALL },
  { in: '-1[5m:]', t: ALL },
  { in: 'a + -1[5m:]', t: ALL, out: 'a + (-1[5m:])' },
  { in: '(-1)[5m:]', t: ALL },
  { in: '- -1[5m:]', t: ALL, out: '-(-1[5m:])' },
  // --- numbers with Go's rules ---
  { in: '0755', t: ALL, out: '493' },
  { in: '-0755', t: ALL, out: '-493' },
  { in: '08', t: ALL, out: '8' },
  { in: '0x1f', t: ALL, out: '31' },
  { in: '0xc', t: ALL, out: '12' },
  { in: '1_000', t: ALL, out: '1000' },
  { in: '1_000.5e1_0', t: ALL, out: '10005000000000' },
  { in: '1e3', t: ALL, out: '1000' },
  { in: '5e-3', t: ALL, out: '0.005' },
  { in: '.5', t: ALL, out: '0.5' },
  { in: '+5.5e-3', t: ALL, out: '0.0055' },
  { in: 'Inf', t: ALL },
  { in: '+Inf', t: ALL, out: 'Inf' },
  { in: '-inf', t: ALL, out: '-Inf' },
  { in: 'nAn', t: ALL, out: 'NaN' },
  { in: '1e21', t: ALL, out: '1e+21' },
  { in: '9223372036854775807', t: ALL, out: '9223372036854776000' },
  { in: '1.7976931348623157e308', t: ALL, out: '1.7976931348623157e+308' },
  { in: '999e999', code: 'parse_error', msg: 'out of range' },
  { in: '9'.repeat(400), code: 'parse_error', msg: 'out of range' },
  { in: '0xffffffffffffffffff', code: 'parse_error', msg: 'out of range' },
  { in: '2.5.', code: 'parse_error' },
  { in: '100..4', code: 'parse_error' },
  { in: '0deadbeef', code: 'parse_error' },
  { in: '1_', code: 'parse_error' },
  // --- strings with Go's strconv.Unquote rules ---
  { in: '"a\\nb"', t: ALL },
  { in: "'single'", t: ALL, out: '"single"' },
  { in: '`raw\\n`', t: ALL, out: '"raw\\\\n"' },
  { in: '"\\u00e9"', t: ALL, out: '"é"' },
  { in: '"\\xc3\\xa9"', t: ALL, out: '"é"' },
  { in: '"\\101\\x42"', t: ALL, out: '"AB"' },
  { in: '"\\a\\b\\f\\n\\r\\t\\v\\\\\\""', t: ALL },
  { in: "'it\\'s'", t: ALL, out: '"it\'s"' },
  { in: '"\\U0001F600"', t: ALL, out: '"😀"' },
  { in: '"\\u00a0"', t: ALL },
  { in: '"\\x00"', t: ALL },
  { in: '"\\xFF"', code: 'unsupported_syntax', msg: 'invalid UTF-8' },
  { in: '"\\377"', code: 'unsupported_syntax' },
  { in: '"\\c"', code: 'parse_error', msg: 'unknown escape' },
  { in: '"\\\'"', code: 'parse_error' },
  { in: "'\\\"'", code: 'parse_error' },
  { in: '"abc', code: 'parse_error' },
  { in: '"a\\"', code: 'parse_error' },
  { in: 'foo{a="b', code: 'parse_error' },
  { in: 'foo{a="b\nc"}', code: 'parse_error' },
  { in: '"\\uD800"', code: 'parse_error', msg: 'invalid Unicode' },
  { in: '"\\U00110000"', code: 'parse_error' },
  { in: '"\\400"', code: 'parse_error' },
  { in: '"\\x4g"', code: 'parse_error' },
  { in: '"\\"', code: 'parse_error' },
  { in: 'foo{a="\uFFFD"}', code: 'parse_error', msg: 'UTF-8' },
  // An escaped U+FFFD is a valid value; printed raw, Go's lexer would refuse it as an invalid rune.
  { in: 'foo{a="\\uFFFD"}', out: 'foo{a="\\ufffd", tenant="a"}' },
  { in: 'foo{a="\uD800"}', code: 'parse_error' },
  { in: '`a`b`', code: 'parse_error' },
  { in: 'foo{a=`x\ny`}', t: ALL, out: 'foo{a="x\\ny"}' },
  // --- comments ---
  { in: 'up # comment', out: 'up{tenant="a"}' },
  { in: '# c\nup', out: 'up{tenant="a"}' },
  { in: 'up # c\r or down', code: 'parse_error', msg: 'carriage return' },
  { in: 'up # c\r\nor down', code: 'parse_error', msg: 'carriage return' },
  { in: 'sum(\n  x # the x\n)', t: ALL, out: 'sum(x)' },
  { in: 'up{a="b", # c\n c="d"}', t: ALL, out: 'up{a="b", c="d"}' },
  { in: '# just a comment\n\n', code: 'parse_error' },
  // --- durations ---
  { in: 'x[90m]', t: ALL, out: 'x[1h30m]' },
  { in: 'x[1h30m]', t: ALL },
  { in: 'x[5y]', t: ALL },
  { in: 'x[14d]', t: ALL, out: 'x[2w]' },
  { in: 'x[1000ms]', t: ALL, out: 'x[1s]' },
  { in: 'x[4s180ms]', t: ALL },
  { in: 'x[4.5]', t: ALL, out: 'x[4s500ms]' },
  { in: 'x[5]', t: ALL, out: 'x[5s]' },
  { in: 'x[4.0185]', code: 'unsupported_syntax', msg: 'sub-millisecond' },
  { in: 'x[0m]', code: 'parse_error', msg: 'greater than 0' },
  { in: 'x[5m1h]', code: 'parse_error' },
  { in: 'x[5mm]', code: 'parse_error' },
  { in: 'x[5m1]', code: 'parse_error' },
  { in: 'x[1000y]', code: 'parse_error', msg: 'out of range' },
  { in: 'x offset 1000y', code: 'parse_error', msg: 'out of range' },
  { in: 'x offset 9.5e10', code: 'parse_error', msg: 'out of range' },
  { in: 'x[]', code: 'parse_error' },
  { in: 'x["5m"]', code: 'parse_error' },
  { in: 'x[5m:0s]', code: 'unsupported_syntax' },
  { in: 'x[5m+1m]', code: 'unsupported_syntax', msg: 'duration expressions' },
  { in: 'x[step()]', code: 'unsupported_syntax' },
  { in: 'x offset (5m)', code: 'unsupported_syntax' },
  { in: 'x offset +5m', code: 'unsupported_syntax' },
  // --- offset and @ placement (Go's rules) ---
  { in: 'foo offset -7m', out: 'foo{tenant="a"} offset -7m' },
  { in: 'foo OFFSET 1h30m', t: ALL, out: 'foo offset 1h30m' },
  { in: 'foo offset 3600', t: ALL, out: 'foo offset 1h' },
  { in: 'foo offset 1m offset 2m', code: 'parse_error', msg: 'multiple times' },
  { in: '(foo) offset 5m', code: 'parse_error' },
  { in: '1 offset 1d', code: 'parse_error' },
  { in: 'foo @ 1 @ 2', code: 'parse_error', msg: 'multiple times' },
  { in: 'foo offset 1m[5m]', code: 'parse_error', msg: 'before range' },
  { in: 'foo @ 1 [5m]', code: 'parse_error', msg: 'before range' },
  { in: '(foo + bar)[5m]', code: 'parse_error', msg: 'ranges only allowed' },
  { in: 'rate(x[5m])[1h]', code: 'parse_error' },
  { in: 'rate(x[5m]) offset 1m', code: 'parse_error' },
  { in: 'rate(x[5m]) @ 1', code: 'parse_error' },
  { in: 'sum(x) offset 1m', code: 'parse_error' },
  { in: 'foo @ Inf', code: 'parse_error', msg: 'out of bounds' },
  { in: 'foo @ NaN', code: 'parse_error' },
  { in: 'foo @ 9223372036854775808.0', code: 'parse_error' },
  { in: 'foo @ start()', out: 'foo{tenant="a"} @ start()' },
  { in: 'foo @ end()', t: ALL },
  { in: 'foo @ START()', t: ALL, out: 'foo @ start()' },
  { in: 'foo[5m] @ start()', t: ALL },
  { in: 'foo @ 1603774568', t: ALL, out: 'foo @ 1603774568.000' },
  { in: 'foo @ -100', t: ALL, out: 'foo @ -100.000' },
  { in: 'foo @ 3.3333', t: ALL, out: 'foo @ 3.333' },
  { in: 'foo @ 0xA', t: ALL, out: 'foo @ 10.000' },
  { in: 'foo @ 1m', t: ALL, out: 'foo @ 60.000' },
  { in: 'foo offset 1m @ 123', t: ALL, out: 'foo offset 1m @ 123.000' },
  { in: 'foo @ 123 offset 1m', t: ALL, out: 'foo offset 1m @ 123.000' },
  // --- subqueries ---
  { in: 'foo[10m:]', out: 'foo{tenant="a"}[10m:]' },
  { in: 'foo[10m:6s]', t: ALL },
  { in: 'some_metric[10m:5s] offset 1m @ 123', t: ALL, out: 'some_metric[10m:5s] offset 1m @ 123.000' },
  { in: 'some_metric offset 1m [10m:5s]', t: ALL, out: 'some_metric offset 1m[10m:5s]' },
  { in: '(foo + bar)[5m:]', out: '(foo{tenant="a"} + bar{tenant="a"})[5m:]' },
  { in: 'sum(x)[5m:1m]', t: ALL },
  { in: 'min_over_time(rate(x[1m])[5m:])', out: 'min_over_time(rate(x{tenant="a"}[1m])[5m:])' },
  { in: 'max_over_time(deriv(rate(x[1m])[5m:1m])[1h:])', out: 'max_over_time(deriv(rate(x{tenant="a"}[1m])[5m:1m])[1h:])' },
  // --- the empty-selector rule, checked before injection ---
  { in: '{}', code: 'empty_selector' },
  { in: '{job=~".*"}', code: 'empty_selector' },
  { in: '{x=""}', code: 'empty_selector' },
  { in: '{x!~".+"}', code: 'empty_selector' },
  { in: '{x!="a"}', code: 'empty_selector' },
  { in: '{x=~"a|"}', code: 'empty_selector' },
  { in: '{tenant!="a"}', code: 'empty_selector' },
  { in: '{tenant=~".*"}', code: 'empty_selector' },
  { in: 'sum({})', code: 'empty_selector' },
  { in: 'rate({__name__=~".*"}[5m])', code: 'empty_selector' },
  { in: 'topk(scalar({a=""}), x)', code: 'empty_selector' },
  { in: '{x=~"\\\\pL"}', code: 'empty_selector', msg: 'cannot evaluate' },
  { in: '{x=~".+"}', out: '{x=~".+", tenant="a"}' },
  { in: '{x!~""}', t: ALL },
  { in: '{x=~"(?i)foo"}', t: ALL },
  { in: '{x=~"(?i:foo)|bar"}', t: ALL },
  { in: 'foo{x=""}', t: ALL },
  // --- tenants: regex escaping, user matchers kept, foreign tenants refused ---
  { in: 'up', t: ['x|y', 'a.b'], out: 'up{tenant=~"a\\\\.b|x\\\\|y"}' },
  { in: 'up', t: ['b', 'a', 'b'], out: 'up{tenant=~"a|b"}' },
  { in: 'up', t: ['team-fruit'], out: 'up{tenant="team-fruit"}' },
  { in: 'up', t: ['a"b\\c'], out: 'up{tenant="a\\"b\\\\c"}' },
  { in: 'up', t: ['a+b', '(c)'], out: 'up{tenant=~"\\\\(c\\\\)|a\\\\+b"}' },
  { in: 'foo{tenant!="a"}', out: 'foo{tenant!="a", tenant="a"}' },
  { in: 'foo{tenant=~".+"}', out: 'foo{tenant=~".+", tenant="a"}' },
  { in: 'foo{tenant="a"}', out: 'foo{tenant="a", tenant="a"}' },
  { in: 'foo{tenant="team-veggie"}', t: ['team-fruit'], code: 'forbidden_tenant', msg: 'tenant "team-veggie" is not granted (granted: team-fruit)' },
  { in: 'sum(rate(x{tenant="z"}[5m]))', code: 'forbidden_tenant' },
  { in: 'topk(scalar(x{tenant="z"}), y)', code: 'forbidden_tenant' },
  { in: 'foo{tenant="b"}', reject: false, out: 'foo{tenant="b", tenant="a"}' },
  { in: 'foo{tenant="b"}', t: ['a', 'b'], out: 'foo{tenant="b", tenant=~"a|b"}' },
  { in: 'foo{tenant="z"}', t: ALL },
  { in: 'foo{"tenant"="z"}', code: 'forbidden_tenant' },
  // --- functions: policy and dialect whitelist ---
  { in: 'info(x)', code: 'unsupported_function', msg: 'target_info' },
  { in: 'info(x, {a="b"})', code: 'unsupported_function' },
  { in: 'holt_winters(x[5m], 0.5, 0.5)', code: 'unsupported_function', msg: 'double_exponential_smoothing' },
  { in: 'holt_winters(x[5m], 0.5, 0.5)', syntax: 'prometheus2', out: 'holt_winters(x{tenant="a"}[5m], 0.5, 0.5)' },
  { in: 'holt_winters(x[5m], 0.5, 0.5) + day_of_month(holt_winters)', syntax: 'prometheus2', t: ALL },
  { in: 'holt_winters', out: 'holt_winters{tenant="a"}' },
  { in: 'holt_winters(', syntax: 'prometheus2', code: 'parse_error' },
  { in: 'double_exponential_smoothing(x[5m], 0.5, 0.5)', code: 'unsupported_function', msg: 'experimental' },
  { in: 'double_exponential_smoothing(x[5m], 0.5, 0.5)', syntax: 'prometheus2', code: 'unsupported_function' },
  { in: 'mad_over_time(x[5m])', code: 'unsupported_function' },
  { in: 'sort_by_label(x, "a")', code: 'unsupported_function' },
  { in: 'first_over_time(x[5m])', code: 'unsupported_function' },
  { in: 'start()', code: 'unsupported_function' },
  { in: 'limitk(2, x)', code: 'unsupported_syntax' },
  { in: 'limit_ratio(0.5, x)', code: 'unsupported_syntax' },
  { in: 'histogram_avg(x)', t: ALL },
  { in: 'histogram_avg(x)', syntax: 'prometheus2', code: 'unsupported_function' },
  { in: 'non_existent_function_far_bar()', code: 'parse_error' },
  { in: 'RATE(x[5m])', code: 'parse_error' },
  { in: 'rate(x[5m] anchored)', code: 'unsupported_syntax', msg: 'anchored' },
  { in: 'rate(x[5m] smoothed)', code: 'unsupported_syntax' },
  // --- UTF-8 names: Prometheus 3 only ---
  { in: '{"some.metric"}', out: '{__name__="some.metric", tenant="a"}' },
  { in: '{"some.metric"}', syntax: 'prometheus2', code: 'unsupported_syntax' },
  { in: 'foo{"a b"="c"}', out: 'foo{"a b"="c", tenant="a"}' },
  { in: 'foo{"a b"="c"}', syntax: 'prometheus2', code: 'unsupported_syntax' },
  { in: 'sum by ("foo bar", baz) (x)', t: ALL, out: 'sum by ("foo bar", baz) (x)' },
  { in: 'sum by ("foo bar") (x)', syntax: 'prometheus2', code: 'unsupported_syntax' },
  { in: '{__name__="a.b"}', syntax: 'prometheus2', out: '{__name__="a.b", tenant="a"}' },
  { in: '{"foo"=""}', code: 'empty_selector' },
  { in: '{""="x"}', code: 'parse_error' },
  // --- keywords and function names as metric names ---
  { in: 'min', out: '{__name__="min", tenant="a"}' },
  { in: 'sum(sum)', t: ALL, out: 'sum({__name__="sum"})' },
  { in: 'a + sum', t: ALL, out: 'a + {__name__="sum"}' },
  { in: 'start{end="foo"}', t: ALL, out: '{__name__="start", end="foo"}' },
  { in: 'anchored{job="test"}', t: ALL, out: '{__name__="anchored", job="test"}' },
  { in: 'by', t: ALL, out: '{__name__="by"}' },
  { in: '{__name__="offset"}', t: ALL },
  { in: '{__name__="Inf"}', t: ALL },
  { in: 'rate', t: ALL },
  { in: 'foo unless on(start) bar', t: ALL, out: 'foo unless on("start") bar' },
  { in: 'offset{a="b"}', code: 'parse_error' },
  // --- unicode ---
  { in: 'foo{a="☺"}', out: 'foo{a="☺", tenant="a"}' },
  { in: 'foo{a="é"}', t: ALL },
  { in: 'foo{a="\u2028"}', t: ALL, out: 'foo{a="\\u2028"}' },
  { in: 'foo{a="\u{1F600}"}', t: ALL },
  { in: 'foo\u00a0+ bar', t: ALL, out: 'foo + bar' },
  { in: 'föö', code: 'parse_error' },
  // --- size cap ---
  { in: 'a'.repeat(32768), t: ALL },
  { in: 'a'.repeat(32769), code: 'query_too_large' },
  { in: `foo{a="${'é'.repeat(16380)}"}`, code: 'query_too_large' },
  { in: 'up', max: 1, code: 'query_too_large' },
  { in: 'up', max: 2, out: 'up{tenant="a"}' },
  // --- garbage ---
  { in: '', code: 'parse_error' },
  { in: '   \n\t', code: 'parse_error' },
  { in: '}', code: 'parse_error' },
  { in: '{', code: 'parse_error' },
  { in: 'some{', code: 'parse_error' },
  { in: '@@', code: 'parse_error' },
  { in: '*1', code: 'parse_error' },
  { in: '1+', code: 'parse_error' },
  { in: '((1)', code: 'parse_error' },
  { in: '(1))', code: 'parse_error' },
  { in: 'sum(', code: 'parse_error' },
  { in: 'foo{a=b}', code: 'parse_error' },
  { in: 'foo{1}', code: 'parse_error' },
  { in: 'foo{gibberish}', code: 'parse_error' },
  { in: 'foo bar', code: 'parse_error' },
  { in: 'foo;bar', code: 'parse_error' },
  { in: '\u0000', code: 'parse_error' },
  { in: 'e-+=/(0)', code: 'parse_error' },
  { in: 'topk(some_metric,)', code: 'parse_error' },
  { in: 'sum some_metric by (test)', code: 'parse_error' },
  { in: 'sum (x) without (a) by (b)', code: 'parse_error' },
];

function options(row: Row): EnforceOptions {
  const t = row.t ?? ['a'];
  return topts({
    label: 'tenant',
    tenants: t.includes('*') ? ALL_TENANTS : tenantList(t),
    syntax: row.syntax ?? 'prometheus3',
    rejectForeignTenant: row.reject ?? true,
    maxQueryBytes: row.max,
  });
}

function name(row: Row): string {
  const q = row.in.length > 60 ? `${row.in.slice(0, 40)}…(${row.in.length} chars)` : row.in;
  return `${JSON.stringify(q)}${row.syntax === 'prometheus2' ? ' [p2]' : ''}${row.t !== undefined ? ` [${row.t.join(',')}]` : ''}`;
}

describe('enforcement table', () => {
  it('has at least 150 rows', () => {
    assert.ok(ROWS.length >= 150, `${ROWS.length} rows`);
  });
  for (const row of ROWS) {
    it(row.code === undefined ? `${name(row)} prints ${row.out === undefined ? 'as input' : JSON.stringify(row.out)}` : `${name(row)} is refused: ${row.code}`, () => {
      const opts = options(row);
      if (row.code !== undefined) {
        assert.throws(() => enforceQuery(row.in, opts), (err: unknown) => {
          assert.ok(err instanceof PromQLError, `not a PromQLError: ${String(err)}`);
          assert.equal(err.code, row.code, err.message);
          if (row.msg !== undefined) assert.ok(err.message.includes(row.msg), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(row.msg)}`);
          return true;
        });
        return;
      }
      const out = enforceQuery(row.in, opts);
      assert.equal(out, row.out ?? row.in);
      // The canonical print is a fixed point.
      assert.equal(enforceQuery(out, { ...opts, policy: tenantPolicy('tenant', ALL_TENANTS), maxQueryBytes: 1 << 20 }), out);
    });
  }
});

describe('deep nesting and huge inputs fail closed', () => {
  const opts: EnforceOptions = topts({ label: 'tenant', tenants: tenantList(['a']), syntax: 'prometheus3' });
  const inputs: Array<[string, string]> = [
    ['5000 parentheses', '('.repeat(5000) + '1' + ')'.repeat(5000)],
    ['3000 unary minus', '-'.repeat(3000) + 'foo'],
    ['2000 chained +', 'a+'.repeat(2000) + 'a'],
    ['1000 nested sum', 'sum('.repeat(1000) + 'x' + ')'.repeat(1000)],
    ['unclosed 10000', '('.repeat(10000)],
    ['garbage 30KB', '{[(@'.repeat(7000)],
  ];
  for (const [label, q] of inputs) {
    it(`${label}: only PromQLError`, () => {
      try {
        const out = enforceQuery(q, opts);
        assert.equal(typeof out, 'string');
      } catch (err) {
        assert.ok(err instanceof PromQLError, String(err));
        assert.ok(['parse_error', 'query_too_large', 'internal_error'].includes(err.code), err.code);
      }
    });
  }
});

describe('enforceSeriesSelector', () => {
  const opts: EnforceOptions = topts({ label: 'tenant', tenants: tenantList(['a']), syntax: 'prometheus3' });
  it('enforces a single selector', () => {
    assert.equal(enforceSeriesSelector('up', opts), 'up{tenant="a"}');
    assert.equal(enforceSeriesSelector('{job="x"}', opts), '{job="x", tenant="a"}');
    assert.equal(enforceSeriesSelector('up{tenant!="a"}', opts), 'up{tenant!="a", tenant="a"}');
  });
  for (const q of ['rate(x[5m])', 'up offset 5m', 'up @ 1', 'up[5m]', 'a or b', '1', '"x"', '(up)', 'sum(up)']) {
    it(`refuses ${JSON.stringify(q)} as not a single selector`, () => {
      assert.throws(() => enforceSeriesSelector(q, opts), (e: unknown) => e instanceof PromQLError && e.code === 'parse_error' && /single series selector/.test(e.message));
    });
  }
  it('applies the same checks', () => {
    assert.throws(() => enforceSeriesSelector('{}', opts), (e: unknown) => e instanceof PromQLError && e.code === 'empty_selector');
    assert.throws(() => enforceSeriesSelector('up{tenant="z"}', opts), (e: unknown) => e instanceof PromQLError && e.code === 'forbidden_tenant');
    assert.throws(() => enforceSeriesSelector('up{', opts), (e: unknown) => e instanceof PromQLError && e.code === 'parse_error');
  });
});

describe('policySelectors', () => {
  const sel = (label: string, t: TenantSet) => policySelectors(tenantPolicy(label, t));
  it('one tenant: equality', () => assert.deepEqual(sel('tenant', tenantList(['a'])), ['{tenant="a"}']));
  it('several: escaped, sorted alternation', () => assert.deepEqual(sel('tenant', tenantList(['x|y', 'a.b'])), ['{tenant=~"a\\\\.b|x\\\\|y"}']));
  it('all tenants: none', () => assert.deepEqual(sel('tenant', ALL_TENANTS), []));
  it('a non-identifier label is quoted', () => assert.deepEqual(sel('team.id', tenantList(['a'])), ['{"team.id"="a"}']));
});

describe('Enforcer (the cached enforcer)', () => {
  const opts: EnforceOptions = topts({ label: 'tenant', tenants: tenantList(['a']), syntax: 'prometheus3' });
  const withTenants = (t: TenantSet, label = 'tenant'): EnforceOptions => ({ ...opts, policy: tenantPolicy(label, t) });
  it('returns the same result as enforceQuery, and caches both steps', () => {
    const c = new Enforcer({ maxEntries: 10 });
    assert.equal(c.enforceQuery('up', opts), 'up{tenant="a"}');
    assert.equal(c.enforceQuery('up', opts), 'up{tenant="a"}');
    assert.equal(c.size, 2);
    assert.deepEqual(c.stats, { hits: 2, misses: 2 });
  });
  it('keys on tenants, label, syntax, policy and kind', () => {
    const c = new Enforcer({ maxEntries: 100 });
    assert.equal(c.enforceQuery('up', opts), 'up{tenant="a"}');
    assert.equal(c.enforceQuery('up', withTenants(tenantList(['b']))), 'up{tenant="b"}');
    assert.equal(c.enforceQuery('up', withTenants(tenantList(['a']), 'org')), 'up{org="a"}');
    assert.equal(c.enforceQuery('up', withTenants(ALL_TENANTS)), 'up');
    assert.equal(c.enforceQuery('foo{tenant="b"}', { ...opts, rejectForeignTenant: false }), 'foo{tenant="b", tenant="a"}');
    assert.throws(() => c.enforceQuery('foo{tenant="b"}', opts), (e: unknown) => e instanceof PromQLError && e.code === 'forbidden_tenant');
    assert.throws(() => c.enforceSeriesSelector('rate(x[5m])', opts), (e: unknown) => e instanceof PromQLError && e.code === 'parse_error');
    assert.equal(c.enforceQuery('rate(x[5m])', opts), 'rate(x{tenant="a"}[5m])');
    assert.equal(c.enforceQuery('{"a.b"}', { ...opts, syntax: 'prometheus3' }), '{__name__="a.b", tenant="a"}');
    assert.throws(() => c.enforceQuery('{"a.b"}', { ...opts, syntax: 'prometheus2' }), (e: unknown) => e instanceof PromQLError && e.code === 'unsupported_syntax');
    assert.throws(() => c.enforceQuery('up', { ...opts, maxQueryBytes: 1 }), (e: unknown) => e instanceof PromQLError && e.code === 'query_too_large');
  });
  it('caches refusals and re-throws a fresh PromQLError with the same code, message and position', () => {
    const c = new Enforcer({ maxEntries: 10 });
    let first: PromQLError | undefined;
    let second: PromQLError | undefined;
    try { c.enforceQuery('foo{', opts); } catch (e) { first = e as PromQLError; }
    try { c.enforceQuery('foo{', opts); } catch (e) { second = e as PromQLError; }
    assert.ok(first instanceof PromQLError && second instanceof PromQLError);
    assert.notEqual(first, second);
    assert.equal(second.code, first.code);
    assert.equal(second.message, first.message);
    assert.deepEqual(second.position, first.position);
    assert.equal(c.size, 1);
    assert.deepEqual(c.stats, { hits: 1, misses: 1 });
  });
  it('evicts the least recently used entry, not the oldest', () => {
    // Each query fills two entries (validation, enforced print); room for two queries.
    const c = new Enforcer({ maxEntries: 4 });
    c.enforceQuery('a', opts);
    c.enforceQuery('b', opts);
    c.enforceQuery('a', opts); // a is now the most recently used
    c.enforceQuery('c', opts); // evicts b (a FIFO cache would evict a)
    assert.equal(c.size, 4);
    const before = c.stats.hits;
    c.enforceQuery('a', opts);
    assert.equal(c.stats.hits - before, 2, 'a must still be cached');
    c.enforceQuery('b', opts);
    assert.equal(c.stats.hits - before, 2, 'b must have been evicted');
  });
  it('is bounded in bytes: a budget holds fewer large entries than small ones', () => {
    const c = new Enforcer({ maxEntries: 100_000, maxBytes: 200_000 });
    const big = (i: number) => `sum(x${i}{job="${'j'.repeat(5000)}"})`;
    for (let i = 0; i < 100; i++) c.enforceQuery(big(i), opts);
    assert.ok(c.bytes <= 200_000, `${c.bytes} bytes cached`);
    assert.ok(c.size < 40, `${c.size} entries of ~20 KB each in a 200 KB budget`);
  });
  it('size 0 disables caching', () => {
    const c = new Enforcer({ maxEntries: 0 });
    assert.equal(c.enforceQuery('up', opts), 'up{tenant="a"}');
    assert.equal(c.size, 0);
  });
});

describe('options are checked (fail closed)', () => {
  it('an empty tenant ID is never injected', () => {
    assert.throws(() => enforceQuery('up', topts({ label: 'tenant', tenants: { kind: 'list', tenants: [''] }, syntax: 'prometheus3' })),
      (e: unknown) => e instanceof PromQLError && e.code === 'internal_error');
    assert.throws(() => enforceQuery('up', topts({ label: 'tenant', tenants: { kind: 'list', tenants: [] }, syntax: 'prometheus3' })),
      (e: unknown) => e instanceof PromQLError && e.code === 'internal_error');
  });
  it('an empty label is refused', () => {
    assert.throws(() => enforceQuery('up', topts({ label: '', tenants: tenantList(['a']), syntax: 'prometheus3' })),
      (e: unknown) => e instanceof PromQLError && e.code === 'internal_error');
  });
  it('a label that needs quoting is refused under prometheus2', () => {
    assert.throws(() => enforceQuery('up', topts({ label: 'team.id', tenants: tenantList(['a']), syntax: 'prometheus2' })),
      (e: unknown) => e instanceof PromQLError && e.code === 'unsupported_syntax');
    assert.equal(enforceQuery('up', topts({ label: 'team.id', tenants: tenantList(['a']), syntax: 'prometheus3' })), 'up{"team.id"="a"}');
  });
});

describe('errors carry positions', () => {
  it('parse errors have line and column', () => {
    try {
      enforceQuery('sum(\n  rate(x[5m]) +\n)', topts({ label: 'tenant', tenants: ALL_TENANTS, syntax: 'prometheus3' }));
      assert.fail('accepted');
    } catch (err) {
      assert.ok(err instanceof PromQLError);
      assert.equal(err.code, 'parse_error');
      assert.equal(err.position?.line, 3);
      assert.equal(err.position?.column, 1);
    }
  });
});
