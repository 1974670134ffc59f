/**
 * Cheap structural limits, checked on the raw text before lezer runs, so that the parse-time
 * budget of ./parse.ts is a backstop and not the limit (issue #11, "per-request enforcement
 * cost bounded by cheap structural limits").
 *
 * lezer's cost is linear in the text for ordinary queries (~10 µs per 100 characters), but
 * grows faster on three shapes, all measured on this project's 2-core machine with
 * `@prometheus-io/lezer-promql` 0.315.0 (figures in docs/security.md):
 *
 * - **many tokens of garbage**: error recovery costs ~10–15 µs per token (`({,=~})` × 800:
 *   ~50–85 ms), so the number of tokens is capped ({@link MAX_TOKENS});
 * - **deep nesting**: brackets and operator chains (`topk(1,` × 1000: ~90 ms; chains deeper
 *   than ~2,500 operators overflow the stack while lezer builds its tree; ~930 `^` exceed
 *   lezer's stack cut-off), so the structural depth is capped ({@link MAX_STRUCTURAL_DEPTH});
 * - **signed numbers before `^`** (`-1^-1^…`): lezer's GLR parser keeps 12 stacks alive and
 *   the cost is quadratic (512 of them: ~110 ms, 8000: seconds), so they are counted
 *   ({@link MAX_SIGNED_POWERS}).
 *
 * The scan is one pass over the UTF-16 text, allocates nothing per token, never throws except
 * the refusal, and stops as soon as a limit is exceeded. It is deliberately an over-estimate
 * (every punctuation character is a token; every operator outside braces counts as a level):
 * it refuses only what is far beyond any real dashboard query (the real-world corpus peaks at
 * ~500 tokens and depth ~20), and it never accepts anything the parser would refuse.
 */
import { PromQLError } from './errors.ts';

/** Most tokens one PromQL text may have (strings, identifiers, numbers and each punctuation character count one). */
export const MAX_TOKENS = 16384;

/**
 * Deepest structure one text may have: each open bracket `(`, `[`, `{` counts 1, and each
 * operator (`+ - * / % ^`, comparisons, `and`/`or`/`unless`/`atan2`) outside braces and
 * brackets counts 1 for as long as its bracket level is open: a chain of 400 `count(x) or …`
 * terms is 400 deep, `-` × 499 is 499 deep. The canonical printer adds a parenthesis per
 * operator level and refuses prints over 1000 tree levels (`MAX_NESTING_DEPTH`), so 500 is
 * the same limit, checked before parsing; it also keeps lezer's own parse stack far from its
 * cut-off (~930 right-associative `^`), so every text within it parses the same with and
 * without error recovery.
 */
export const MAX_STRUCTURAL_DEPTH = 500;

/** Most signed number literals directly before `^` (`-1 ^ x`); write `(-1) ^ x` or `-(1 ^ x)`. */
export const MAX_SIGNED_POWERS = 32;

/** Most tokens of all PromQL texts of one request together (`query`, or every `match[]`). */
export const MAX_REQUEST_TOKENS = 2 * MAX_TOKENS;

/** What {@link scanStructure} measured. */
export interface Structure {
  /** Tokens counted (at most one past the limit: the scan stops there). */
  readonly tokens: number;
  /** Deepest structural depth reached (see {@link MAX_STRUCTURAL_DEPTH}). */
  readonly depth: number;
  /** Signed number literals directly before `^`. */
  readonly signedPowers: number;
}

/** Limits of one scan; each defaults to the exported constant. */
export interface StructureLimits {
  readonly maxTokens?: number;
  readonly maxDepth?: number;
  readonly maxSignedPowers?: number;
}

const OPERATOR_WORDS: ReadonlySet<string> = new Set(['and', 'or', 'unless', 'atan2']);

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Kinds of the previous two significant tokens, for the signed-power count. */
const Tok = { None: 0, Sign: 1, Number: 2, Other: 3 } as const;
type Tok = (typeof Tok)[keyof typeof Tok];

/**
 * Measures the structure of a PromQL text in one pass (see the module comment), stopping as
 * soon as `limits` are exceeded.
 *
 * @param text the query or selector as received
 * @param limits stop thresholds (defaults: the exported constants)
 */
export function scanStructure(text: string, limits: StructureLimits = {}): Structure {
  const maxTokens = limits.maxTokens ?? MAX_TOKENS;
  const maxDepth = limits.maxDepth ?? MAX_STRUCTURAL_DEPTH;
  const maxSigned = limits.maxSignedPowers ?? MAX_SIGNED_POWERS;
  // Per open bracket: its character and the operators seen at its level.
  const open: number[] = [];
  const ops: number[] = [0];
  let current = 0; // open brackets + operators of every open level
  let depth = 0;
  let tokens = 0;
  let signed = 0;
  let prev = Tok.None as Tok;
  let prev2 = Tok.None as Tok;
  const n = text.length;
  let i = 0;
  const push = (kind: Tok) => {
    prev2 = prev;
    prev = kind;
    tokens++;
  };
  const operator = () => {
    const top = open[open.length - 1];
    if (top === 0x7b /* { */ || top === 0x5b /* [ */) return;
    ops[ops.length - 1] = (ops[ops.length - 1] as number) + 1;
    current++;
    if (current > depth) depth = current;
  };
  while (i < n && tokens <= maxTokens && depth <= maxDepth && signed <= maxSigned) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
    } else if (c === 0x23 /* # */) {
      while (i < n && text.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x22 || c === 0x27 || c === 0x60) {
      // A string: one token; `\` escapes the next character except in backtick strings.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === c) break;
        i += d === 0x5c && c !== 0x60 ? 2 : 1;
      }
      i++;
      push(Tok.Other);
    } else if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      if (i - start <= 6 && OPERATOR_WORDS.has(text.slice(start, i).toLowerCase())) operator();
      push(Tok.Other);
    } else if (isDigit(c) || c === 0x2e /* . */) {
      while (i < n && (isIdentPart(text.charCodeAt(i)) || text.charCodeAt(i) === 0x2e)) i++;
      push(Tok.Number);
    } else if (c === 0x28 || c === 0x7b || c === 0x5b) {
      open.push(c);
      ops.push(0);
      current += 1;
      if (current > depth) depth = current;
      i++;
      push(Tok.Other);
    } else if (c === 0x29 || c === 0x7d || c === 0x5d) {
      if (open.length > 0) {
        open.pop();
        current -= 1 + (ops.pop() as number);
      }
      i++;
      push(Tok.Other);
    } else {
      // Operators and other punctuation, one character at a time (`==`, `=~`, `!=` count two).
      const next = i + 1 < n ? text.charCodeAt(i + 1) : -1;
      const comparison = (c === 0x3d /* = */ && next === 0x3d) || (c === 0x21 /* ! */ && next === 0x3d)
        || c === 0x3c /* < */ || c === 0x3e /* > */;
      if (c === 0x5e /* ^ */ && prev === Tok.Number && prev2 === Tok.Sign) signed++;
      if (c === 0x2b || c === 0x2d || c === 0x2a || c === 0x2f || c === 0x25 || c === 0x5e || comparison) operator();
      i++;
      push(c === 0x2b || c === 0x2d ? Tok.Sign : Tok.Other);
    }
  }
  return { tokens, depth, signedPowers: signed };
}

/**
 * Refuses a text whose structure exceeds the limits ({@link scanStructure}).
 *
 * @returns the measured structure (tokens are needed for the per-request total)
 * @throws PromQLError `query_too_large` naming the limit that was exceeded and what to do
 */
export function checkStructure(text: string, limits: StructureLimits = {}): Structure {
  const s = scanStructure(text, limits);
  const maxTokens = limits.maxTokens ?? MAX_TOKENS;
  const maxDepth = limits.maxDepth ?? MAX_STRUCTURAL_DEPTH;
  const maxSigned = limits.maxSignedPowers ?? MAX_SIGNED_POWERS;
  if (s.tokens > maxTokens) {
    throw new PromQLError('query_too_large', `query has more than ${maxTokens} tokens; simplify or split it`);
  }
  if (s.depth > maxDepth) {
    throw new PromQLError('query_too_large', `query nests too deeply (brackets and operator chains deeper than ${maxDepth}); simplify or split it`);
  }
  if (s.signedPowers > maxSigned) {
    throw new PromQLError('query_too_large', `query has more than ${maxSigned} signed numbers directly before "^" (their parse cost grows quadratically); write -(1 ^ x) instead of -1 ^ x`);
  }
  return s;
}

/**
 * Refuses a request whose PromQL texts (every `match[]` of a series, labels or federate
 * request) have more than `maxTokens` tokens together: each text within its own limits can
 * still add up (49 `match[]` of 32 KB cost ~0.5 s before issue #11). One linear scan per
 * text, stopping at the limit.
 *
 * @param texts the request's PromQL texts
 * @param maxTokens default {@link MAX_REQUEST_TOKENS}
 * @throws PromQLError `query_too_large`
 */
export function checkRequestTokens(texts: readonly string[], maxTokens: number = MAX_REQUEST_TOKENS): void {
  let left = maxTokens;
  for (const text of texts) {
    left -= scanStructure(text, { maxTokens: left, maxDepth: Infinity, maxSignedPowers: Infinity }).tokens;
    if (left < 0) {
      throw new PromQLError('query_too_large', `the PromQL selectors of this request have more than ${maxTokens} tokens together; split the request`);
    }
  }
}
