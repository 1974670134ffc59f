/**
 * Decoding of PromQL lexemes with the Go parser's rules (prometheus/prometheus
 * promql/parser/lex.go, parse.go `number()`, util/strutil/quote.go `Unquote`,
 * prometheus/common model.ParseDuration). lezer recognises a superset of these spellings
 * (unterminated strings, any `\x` escape, `999e999`); everything here refuses what Go refuses,
 * and refuses (fail closed) what Go accepts but promfence cannot represent exactly.
 *
 * Every function throws a plain {@link LexemeError}; ./parse.ts turns it into a
 * `PromQLError` with the position of the token.
 */

/** A lexeme Go rejects (`parse_error`) or promfence refuses (`unsupported_syntax`). */
export class LexemeError extends Error {
  readonly code: 'parse_error' | 'unsupported_syntax';
  constructor(code: 'parse_error' | 'unsupported_syntax', message: string) {
    super(message);
    this.name = 'LexemeError';
    this.code = code;
  }
}

const INT64_MAX = (1n << 63n) - 1n;

/** Largest duration Go can hold (`time.Duration` is int64 nanoseconds), in whole ms. */
export const MAX_DURATION_MS = Number(INT64_MAX / 1_000_000n);

/**
 * Value of a number token the way Go's parser computes it: `strconv.ParseInt(s, 0, 64)`
 * (so `0755` is octal 493, `0x1f` hex), else `strconv.ParseFloat(s, 64)`; `Inf`/`NaN` in any
 * case. Source: promql/parser/parse.go `(*parser).number`.
 *
 * @param lexeme an unsigned number token as lezer's `number` rule spells it (digits, `.`,
 *   `_` between digits, `e`/`E` exponent, `0x` hex) or `inf`/`nan` in any case
 * @returns the float64 value
 * @throws LexemeError `parse_error` on overflow (`999e999`, `0x` beyond int64) or bad syntax
 */
export function parseGoNumber(lexeme: string): number {
  const lower = lexeme.toLowerCase();
  if (lower === 'inf') return Infinity;
  if (lower === 'nan') return NaN;
  if (/^0[xX][0-9a-fA-F]+$/.test(lexeme)) {
    const big = BigInt(lexeme);
    // ParseInt overflows; ParseFloat refuses a hex mantissa without a `p` exponent.
    if (big > INT64_MAX) throw new LexemeError('parse_error', `error parsing number: value out of range: ${JSON.stringify(lexeme)}`);
    return Number(big);
  }
  // Underscores: only between digits (lezer's token already guarantees it; Go's
  // underscoreOK agrees for these shapes). Checked again so this function stands alone.
  if (!/^(?:\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?|\d+(?:_\d+)*\.|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?$/.test(lexeme)) {
    throw new LexemeError('parse_error', `bad number syntax: ${JSON.stringify(lexeme)}`);
  }
  const digits = lexeme.replace(/_/g, '');
  if (/^\d+$/.test(digits)) {
    // ParseInt(base 0): a leading 0 means octal when every digit is 0-7.
    let big: bigint | undefined;
    if (digits.length > 1 && digits.startsWith('0')) {
      if (/^[0-7]+$/.test(digits)) big = BigInt('0o' + digits.slice(1));
    } else {
      big = BigInt(digits);
    }
    if (big !== undefined && big <= INT64_MAX) return Number(big); // float64(int64): round to nearest even
    // ParseInt failed (range or non-octal digit): ParseFloat reads it as decimal.
  }
  const v = Number(digits);
  if (!Number.isFinite(v)) {
    throw new LexemeError('parse_error', `error parsing number: value out of range: ${JSON.stringify(lexeme)}`);
  }
  return v;
}

const UNIT_NS: Record<string, bigint> = {
  y: 365n * 24n * 3600n * 1_000_000_000n,
  w: 7n * 24n * 3600n * 1_000_000_000n,
  d: 24n * 3600n * 1_000_000_000n,
  h: 3600n * 1_000_000_000n,
  m: 60n * 1_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
};

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;

/** True when `lexeme` is spelled like a duration (`5m`, `1h30m`), not a plain number. */
export function isDurationLexeme(lexeme: string): boolean {
  // Number tokens hold no unit letters except inside a `0x` hex literal.
  return !/^0[xX]/.test(lexeme) && /[ywdhms]/.test(lexeme);
}

/**
 * Parses a duration lexeme with model.ParseDuration's rules (prometheus/common model/time.go):
 * units `y w d h m s ms` in this order, each at most once, integer amounts, no overflow of
 * int64 nanoseconds.
 *
 * @returns nanoseconds as a bigint (≥ 0)
 * @throws LexemeError `parse_error` on bad syntax or overflow
 */
export function parseGoDurationNs(lexeme: string): bigint {
  const m = DURATION_RE.exec(lexeme);
  if (lexeme === '' || m === null) throw new LexemeError('parse_error', `not a valid duration string: ${JSON.stringify(lexeme)}`);
  let ns = 0n;
  DURATION_UNITS.forEach((unit, i) => {
    const part = m[i + 1];
    if (part !== undefined) ns += BigInt(part) * (UNIT_NS[unit] as bigint);
  });
  if (ns > INT64_MAX) throw new LexemeError('parse_error', `duration out of range: ${JSON.stringify(lexeme)}`);
  return ns;
}

/**
 * A duration lexeme as a number literal value in seconds, exactly as Go computes it:
 * `time.Duration.Seconds()` = whole seconds + nanosecond remainder / 1e9 (float64).
 */
export function goDurationSeconds(ns: bigint): number {
  const sec = ns / 1_000_000_000n;
  const nsec = ns % 1_000_000_000n;
  return Number(sec) + Number(nsec) / 1e9;
}

/**
 * Converts a number-literal value in seconds (`foo[90]`, `offset 1.5`) to whole ms. Prometheus 3
 * computes `time.Duration(math.Round(val * float64(time.Second)))` (generated_parser.y) after
 * `durationLiteralOutOfRange`; promfence keeps ms, so a value that is not a whole number of
 * milliseconds (beyond float noise) is refused.
 *
 * @throws LexemeError `parse_error` when out of range or not finite; `unsupported_syntax`
 *   for sub-millisecond precision
 */
export function secondsToDurationMs(seconds: number): number {
  if (!Number.isFinite(seconds) || Math.abs(seconds) > 2 ** 63 / 1e9) {
    throw new LexemeError('parse_error', 'duration out of range');
  }
  const exact = seconds * 1000;
  const ms = Math.round(exact);
  if (Math.abs(exact - ms) > 1e-6 * Math.max(1, Math.abs(exact)) && Math.abs(exact - ms) > 1e-3) {
    throw new LexemeError('unsupported_syntax', 'durations with sub-millisecond precision are not supported');
  }
  if (Math.abs(ms) > MAX_DURATION_MS) throw new LexemeError('parse_error', 'duration out of range');
  return ms === 0 ? 0 : ms; // never -0
}

/** Whole ms of a duration lexeme's nanoseconds (units are ≥ 1 ms, so this is exact). */
export function durationNsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

/**
 * Formats a duration in ms in Go's canonical form (prometheus/common model.Duration.String):
 * `1y2w3d4h5m6s7ms`, `0s` for zero; negative values get a leading `-`. Every Prometheus
 * version since 2.x parses this spelling back to the same value.
 *
 * @throws RangeError when `ms` is not a safe integer
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`duration is not a whole number of ms: ${ms}`);
  if (ms === 0) return '0s';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '';
  const units: ReadonlyArray<readonly [string, number]> = [
    ['y', 365 * 86_400_000], ['w', 7 * 86_400_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1],
  ];
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * Formats a float64 so that both Go's `ParseInt`-then-`ParseFloat` and lezer's number token
 * read back exactly `v`: JavaScript's shortest round-trip form (`1e+21`, `0.5`, never a
 * leading `0` before digits, so never octal), `Inf`, `-Inf`, `NaN`; `-0` for negative zero.
 */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

function hexVal(c: string): number {
  const v = Number.parseInt(c, 16);
  return /^[0-9a-fA-F]$/.test(c) ? v : -1;
}

const DECODER = new TextDecoder('utf-8', { fatal: true });

function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

// A lone surrogate cannot come from UTF-8 text; U+FFFD is what Go's lexer sees for invalid
// UTF-8 (lex.go lexString/lexRawString refuse utf8.RuneError, even a literal U+FFFD).
const BAD_RAW = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\uFFFD/;

/**
 * Decodes a string literal token with Go's rules: Prometheus's `strutil.Unquote` plus the
 * lexer's checks (lex.go lexString/lexEscape/lexRawString). `"…"` and `'…'`: escapes
 * `\a \b \f \n \r \t \v \\`, the opening quote, `\NNN` octal (≤ 255), `\xNN`, `\uNNNN`,
 * `\UNNNNNNNN` (no surrogates, ≤ U+10FFFF); no raw newline. `` `…` ``: raw, no escapes.
 *
 * @param token the token text including its quotes
 * @returns the decoded value
 * @throws LexemeError `parse_error` (unterminated, bad escape, newline, invalid UTF-8);
 *   `unsupported_syntax` when `\x`/octal escapes produce bytes that are not valid UTF-8
 *   (Go accepts such byte strings; a JavaScript string cannot hold them)
 */
export function unquoteGoString(token: string): string {
  const q = token[0];
  if (token.length < 2 || (q !== '"' && q !== "'" && q !== '`') || token[token.length - 1] !== q) {
    throw new LexemeError('parse_error', 'unterminated quoted string');
  }
  const body = token.slice(1, -1);
  if (BAD_RAW.test(body)) throw new LexemeError('parse_error', 'invalid UTF-8 rune in string');
  if (q === '`') {
    if (body.includes('`')) throw new LexemeError('parse_error', 'unterminated raw string');
    return body;
  }
  if (body.includes('\n')) throw new LexemeError('parse_error', 'unterminated quoted string (newline)');
  if (!body.includes('\\')) {
    if (body.includes(q)) throw new LexemeError('parse_error', 'unterminated quoted string');
    return body;
  }
  const out: number[] = [];
  let i = 0;
  while (i < body.length) {
    const c = body[i] as string;
    if (c === q) throw new LexemeError('parse_error', 'unterminated quoted string');
    if (c !== '\\') {
      const cp = body.codePointAt(i) as number;
      pushUtf8(out, cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw new LexemeError('parse_error', 'escape sequence not terminated');
    i += 2;
    switch (e) {
      case 'a': out.push(7); break;
      case 'b': out.push(8); break;
      case 'f': out.push(12); break;
      case 'n': out.push(10); break;
      case 'r': out.push(13); break;
      case 't': out.push(9); break;
      case 'v': out.push(11); break;
      case '\\': out.push(92); break;
      case '"':
      case "'":
        if (e !== q) throw new LexemeError('parse_error', `unknown escape sequence \\${e}`);
        out.push(e.charCodeAt(0));
        break;
      case 'x':
      case 'u':
      case 'U': {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        let v = 0;
        for (let j = 0; j < n; j++) {
          const d = hexVal(body[i + j] ?? '');
          if (d < 0) throw new LexemeError('parse_error', `illegal character in escape sequence \\${e}`);
          v = v * 16 + d;
        }
        i += n;
        if (e === 'x') {
          out.push(v);
        } else {
          if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) {
            throw new LexemeError('parse_error', 'escape sequence is an invalid Unicode code point');
          }
          pushUtf8(out, v);
        }
        break;
      }
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        let v = e.charCodeAt(0) - 48;
        for (let j = 0; j < 2; j++) {
          const d = (body[i + j] ?? '').charCodeAt(0) - 48;
          if (!(d >= 0 && d <= 7)) throw new LexemeError('parse_error', 'illegal character in octal escape sequence');
          v = v * 8 + d;
        }
        i += 2;
        if (v > 255) throw new LexemeError('parse_error', 'octal escape value > 255');
        out.push(v);
        break;
      }
      default:
        throw new LexemeError('parse_error', `unknown escape sequence \\${e}`);
    }
  }
  try {
    return DECODER.decode(Uint8Array.from(out));
  } catch {
    throw new LexemeError('unsupported_syntax', 'string escapes that produce invalid UTF-8 bytes are not supported');
  }
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/**
 * Quotes `s` as a double-quoted PromQL string that Go's `strutil.Unquote` and lezer both
 * read back as exactly `s` (like Go's `strconv.Quote`): `\\`, `\"`, `\a\b\f\n\r\t\v`,
 * other non-printable code points (and U+FFFD) as `\xNN` / `\uNNNN` / `\UNNNNNNNN`.
 *
 * @throws RangeError when `s` holds a lone surrogate (not representable in UTF-8)
 */
export function quoteGoString(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s) && !/["\\]/.test(s)) return `"${s}"`;
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
      default:
    }
    if (cp >= 0xd800 && cp < 0xe000) throw new RangeError('lone surrogate in string');
    if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    // U+FFFD is printable, but Go's lexer reads a literal one as an invalid UTF-8 rune and
    // refuses the query (promql/parser/lex.go lexString): always escape it.
    else if (cp < 0x7f || (PRINTABLE.test(ch) && cp !== 0xfffd)) out += ch;
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}
