/**
 * Unit tests of the Go-rule lexeme decoders (numbers, durations, strings) and the regex
 * helpers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatDuration, formatNumber, goDurationSeconds, LexemeError, parseGoDurationNs, parseGoNumber, quoteGoString,
  secondsToDurationMs, unquoteGoString,
} from '../../src/promql/lexemes.ts';
import { escapeRegex, regexMatchesEmpty } from '../../src/promql/regex.ts';
import { positionAt, utf8Length } from '../../src/promql/parse.ts';

describe('parseGoNumber (ParseInt base 0, then ParseFloat)', () => {
  const ok: Array<[string, number]> = [
    ['1', 1], ['0755', 493], ['0', 0], ['00', 0], ['08', 8], ['0789.5', 789.5], ['0x1F', 31], ['0xc', 12],
    ['1_000', 1000], ['0_755', 493], ['1e3', 1000], ['1E3', 1000], ['.5', 0.5], ['5.', 5], ['1.5e-3', 0.0015],
    ['inf', Infinity], ['INF', Infinity], ['NaN', NaN], ['9223372036854775807', 2 ** 63], ['99999999999999999999', 1e20],
    ['1e-400', 0],
  ];
  for (const [s, v] of ok) it(`${s} = ${v}`, () => assert.ok(Object.is(parseGoNumber(s), v) || (Number.isNaN(v) && Number.isNaN(parseGoNumber(s)))));
  for (const s of ['999e999', '1e309', '0x8000000000000000', '1__0', '_1', '1_', '1._5', '1e', '', 'abc']) {
    it(`${JSON.stringify(s)} is refused`, () => assert.throws(() => parseGoNumber(s), LexemeError));
  }
});

describe('durations (model.ParseDuration)', () => {
  it('units and order', () => {
    assert.equal(parseGoDurationNs('1h30m'), 5_400_000_000_000n);
    assert.equal(parseGoDurationNs('1y'), 365n * 86_400_000_000_000n);
    assert.equal(parseGoDurationNs('2w3d'), 17n * 86_400_000_000_000n);
    assert.equal(parseGoDurationNs('5s200ms'), 5_200_000_000n);
  });
  for (const s of ['', '5m1h', '1ms1s', '5mm', '1.5h', '-1m', '1y1y', '300y']) {
    it(`${JSON.stringify(s)} is refused`, () => assert.throws(() => parseGoDurationNs(s), LexemeError));
  }
  it('Prometheus 3 seconds conversion keeps whole milliseconds', () => {
    for (const ms of [1, 999, 1001, 1003, 4018, 90030, 86_400_001, 31_536_000_001]) {
      assert.equal(secondsToDurationMs(goDurationSeconds(BigInt(ms) * 1_000_000n)), ms);
    }
    assert.equal(secondsToDurationMs(4.018), 4018);
    assert.throws(() => secondsToDurationMs(4.0185), LexemeError);
    assert.throws(() => secondsToDurationMs(9.5e10), LexemeError);
    assert.throws(() => secondsToDurationMs(NaN), LexemeError);
  });
  it('canonical formatting', () => {
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(-420_000), '-7m');
    assert.equal(formatDuration(365 * 86_400_000 + 14 * 86_400_000 + 1), '1y2w1ms');
  });
});

describe('formatNumber', () => {
  const cases: Array<[number, string]> = [[1, '1'], [-1, '-1'], [0.5, '0.5'], [1e21, '1e+21'], [Infinity, 'Inf'], [-Infinity, '-Inf'], [NaN, 'NaN'], [-0, '-0'], [5e-324, '5e-324']];
  for (const [v, s] of cases) it(`${v} → ${s}`, () => assert.equal(formatNumber(v), s));
  it('round-trips through parseGoNumber', () => {
    for (const v of [0.1, 123.456, 2 ** 60, 2 ** 64, 1.7976931348623157e308, 123456789012345680000]) {
      assert.equal(parseGoNumber(formatNumber(v)), v);
    }
  });
});

describe('strings (strutil.Unquote + lexer checks)', () => {
  const ok: Array<[string, string]> = [
    ['"a"', 'a'], ["'a'", 'a'], ['`a\\n`', 'a\\n'], ['"\\n\\t\\\\"', '\n\t\\'], ["'\\''", "'"], ['"\\""', '"'],
    ['"\\x41\\101\\u00e9\\U0001F600"', 'AAé😀'], ['"\\xc3\\xa9"', 'é'], ['`a\nb`', 'a\nb'], ['"a\rb"', 'a\rb'], ['""', ''],
  ];
  for (const [t, v] of ok) it(`${t} → ${JSON.stringify(v)}`, () => assert.equal(unquoteGoString(t), v));
  const bad: Array<[string, string]> = [
    ['"a', 'parse_error'], ['"', 'parse_error'], ['"a\nb"', 'parse_error'], ['"\\c"', 'parse_error'], ['"\\\'"', 'parse_error'],
    ["'\\\"'", 'parse_error'], ['"\\x4"', 'parse_error'], ['"\\400"', 'parse_error'], ['"\\uD800"', 'parse_error'],
    ['"\\U00110000"', 'parse_error'], ['"\uFFFD"', 'parse_error'], ['`\uFFFD`', 'parse_error'], ['"\uDC00"', 'parse_error'],
    ['"a"b"', 'parse_error'], ['"\\xff"', 'unsupported_syntax'], ['"\\200"', 'unsupported_syntax'],
  ];
  for (const [t, code] of bad) {
    it(`${JSON.stringify(t)} is refused (${code})`, () => assert.throws(() => unquoteGoString(t), (e: unknown) => e instanceof LexemeError && e.code === code));
  }
  it('quoteGoString round-trips', () => {
    for (const s of ['', 'plain', '"q"', 'back\\slash', '\n\r\t\v\f\b\x07', '\x00\x1f\x7f', 'é☺😀', '\u00a0\u2028\u200b', '#{}[]']) {
      assert.equal(unquoteGoString(quoteGoString(s)), s);
    }
    assert.equal(quoteGoString('a"b\\c\n'), '"a\\"b\\\\c\\n"');
    assert.equal(quoteGoString('\u00a0'), '"\\u00a0"');
  });
});

describe('regex helpers', () => {
  it('escapeRegex escapes every RE2 metacharacter', () => {
    assert.equal(escapeRegex('a.b'), 'a\\.b');
    assert.equal(escapeRegex('x|y'), 'x\\|y');
    assert.equal(escapeRegex('\\.+*?()|[]{}^$'), '\\\\\\.\\+\\*\\?\\(\\)\\|\\[\\]\\{\\}\\^\\$');
    assert.equal(escapeRegex('team-fruit_1'), 'team-fruit_1');
  });
  const cases: Array<[string, boolean | undefined]> = [
    ['', true], ['.*', true], ['.+', false], ['a|', true], ['a', false], ['a?', true], ['(a|b)*', true], ['a{0}', true],
    ['(?i)foo', false], ['(?i)', true], ['(?i:foo)?', true], ['(?s).*', true], ['[(?i)]', false], ['\\(?i', false],
    ['\\pL', undefined], ['[[:alpha:]]', undefined], ['\\Qa\\E', undefined], ['(', undefined], ['\\z', undefined],
  ];
  for (const [re, want] of cases) it(`${JSON.stringify(re)} matches empty: ${want}`, () => assert.equal(regexMatchesEmpty(re), want));
});

describe('positions and sizes', () => {
  it('positionAt counts lines and code points', () => {
    assert.deepEqual(positionAt('ab\ncd', 4), { line: 2, column: 2, offset: 4 });
    assert.deepEqual(positionAt('😀x', 2), { line: 1, column: 2, offset: 2 });
  });
  it('utf8Length', () => {
    assert.equal(utf8Length('abc'), 3);
    assert.equal(utf8Length('é'), 2);
    assert.equal(utf8Length('☺'), 3);
    assert.equal(utf8Length('😀'), 4);
  });
});
