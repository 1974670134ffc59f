/**
 * Regular-expression helpers. Prometheus matches label regexes with Go's RE2, fully anchored
 * (`=~"a|b"` means `^(?:a|b)$`).
 */

/** RE2 metacharacters (Go regexp.QuoteMeta's set). */
const RE2_META = /[\\.+*?()|[\]{}^$]/g;

/**
 * Escapes `s` so that, as an RE2 pattern, it matches exactly `s` (Go: `regexp.QuoteMeta`).
 * `a.b` → `a\.b`, `x|y` → `x\|y`.
 */
export function escapeRegex(s: string): string {
  return s.replace(RE2_META, '\\$&');
}

// RE2 flag groups `(?i)`, `(?s:`, `(?-m)`: flags i/m/s/U cannot change whether the empty
// string matches (no letters, no newline, ^/$ both match at 0, greediness irrelevant), so the
// test below may drop them. JavaScript (Node 20) does not accept them.
const FLAG_GROUP = /\(\?[imsU]*(?:-[imsU]*)?([:)])/y; // sticky: tried at lastIndex only (a global search made this walk quadratic)

/**
 * Whether the RE2 pattern `re`, anchored as Prometheus anchors it, can match the empty
 * string. Only patterns that JavaScript's RegExp in Unicode mode can *compile* (after removing
 * RE2 flag groups) are answered; it refuses most syntax it does not share with RE2 (`\pL`,
 * `\Q…\E`, `[[:alpha:]]`, `\z`), and then the answer is `undefined` ("unknown"); callers
 * treat unknown as "may match the empty string" (fail closed). The answer itself comes from
 * the linear structural walk {@link re2Nullable}, never from running the regex.
 *
 * @param re the pattern as the user wrote it (decoded string value)
 * @returns true / false, or undefined when unknown
 */
export function regexMatchesEmpty(re: string): boolean | undefined {
  // Only strip flag groups that are not escaped: walk the pattern once.
  let out = '';
  for (let i = 0; i < re.length; i++) {
    const c = re[i] as string;
    if (c === '\\') {
      out += c + (re[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '[') {
      // Copy a character class verbatim (a `]` right after `[` or `[^` is literal in RE2).
      let j = i + 1;
      if (re[j] === '^') j++;
      if (re[j] === ']') j++;
      while (j < re.length && re[j] !== ']') j += re[j] === '\\' ? 2 : 1;
      out += re.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(' && re[i + 1] === '?') {
      FLAG_GROUP.lastIndex = i;
      const m = FLAG_GROUP.exec(re);
      if (m !== null && m.index === i) {
        out += m[1] === ':' ? '(?:' : '';
        i += m[0].length - 1;
        continue;
      }
    }
    out += c;
  }
  try {
    // Compile only (linear): which patterns count as "unknown" is decided by what JavaScript
    // can read. Never *run* it: a backtracking test of '' is exponential on patterns such as
    // `(?:|)(?:|)…(?:|)\b` (40 groups block the event loop for hours) — red-team finding.
    new RegExp(`^(?:${out})$`, 'u');
  } catch {
    return undefined;
  }
  return re2Nullable(re);
}

/**
 * Whether the RE2 pattern `re` (Go regexp/syntax, Perl flags) matches the empty string,
 * computed structurally in linear time: a concatenation is nullable when every item is, an
 * alternation when one branch is, a repetition with minimum 0 always, `^ $ \A \z \B` and
 * empty groups match empty, `\b` and anything that consumes a character do not. Returns
 * undefined for syntax this walk does not recognise (lookarounds, backreference-like
 * groups, unbalanced parentheses, dangling repetition): callers fail closed.
 */
export function re2Nullable(re: string): boolean | undefined {
  let i = 0;
  const n = re.length;
  // Last `:]`: a `[:` with none after it is a plain `[` (and never searched for again: linear).
  const posixEnd = re.lastIndexOf(':]');
  const DIGITS = /^(\d+)(?:(,)(\d*))?\}/;

  // Reads a `{n}`, `{n,}`, `{n,m}` repetition at i (RE2: anything else is a literal `{`).
  const repeatAt = (at: number): { min: number; end: number } | undefined => {
    if (re[at] !== '{') return undefined;
    const m = DIGITS.exec(re.slice(at + 1, at + 24));
    if (m === null) return undefined;
    return { min: Number(m[1]), end: at + 1 + m[0].length };
  };

  // One atom at i; returns its nullability, or undefined when unrecognised. Advances i.
  let flagsOnly = false;
  let depth = 0;
  const atom = (): boolean | undefined => {
    flagsOnly = false;
    const c = re[i] as string;
    if (c === '(') {
      i++;
      if (re[i] === '?') {
        i++;
        if (re[i] === 'P' && re[i + 1] === '<') i = skipName(i + 2);
        else if (re[i] === '<') i = skipName(i + 1);
        else {
          while (i < n && /[imsU-]/.test(re[i] as string)) i++;
          if (re[i] === ')') {
            i++;
            flagsOnly = true;
            return true; // a bare flag group matches empty (and cannot be repeated)
          }
          if (re[i] !== ':') return undefined;
          i++;
        }
        if (i < 0) return undefined;
      }
      // Go's regexp/syntax refuses nesting deeper than 1000; so does this recursive walk.
      if (++depth > 1000) return undefined;
      const inner = alternation();
      depth--;
      if (inner === undefined || re[i] !== ')') return undefined;
      i++;
      return inner;
    }
    if (c === '[') {
      i++;
      if (re[i] === '^') i++;
      if (re[i] === ']') i++;
      while (i < n && re[i] !== ']') {
        if (re[i] === '[' && re[i + 1] === ':' && posixEnd > i) {
          const close = re.indexOf(':]', i + 2);
          if (close >= 0) {
            i = close + 2;
            continue;
          }
        }
        if (re[i] === '\\') {
          i = skipEscape(i);
          if (i < 0) return undefined;
          continue;
        }
        i++;
      }
      if (i >= n) return undefined;
      i++;
      return false;
    }
    if (c === '\\') {
      const e = re[i + 1];
      if (e === undefined) return undefined;
      if (e === 'Q') {
        const end = re.indexOf('\\E', i + 2);
        const lit = end < 0 ? re.slice(i + 2) : re.slice(i + 2, end);
        i = end < 0 ? n : end + 2;
        return lit === '';
      }
      if (e === 'A' || e === 'z' || e === 'B') {
        i += 2;
        return true;
      }
      if (e === 'b') {
        i += 2;
        return false;
      }
      i = skipEscape(i);
      return i < 0 ? undefined : false;
    }
    if (c === '^' || c === '$') {
      i++;
      return true;
    }
    if (c === '*' || c === '+' || c === '?' || c === ')' || c === '|') return undefined;
    if (c === '{' && repeatAt(i) !== undefined) return undefined; // missing argument to repetition
    i += (re.codePointAt(i) as number) > 0xffff ? 2 : 1;
    return false;
  };

  // A concatenation of repeated atoms up to `|`, `)` or the end.
  const concat = (): boolean | undefined => {
    let all = true;
    while (i < n && re[i] !== '|' && re[i] !== ')') {
      let a = atom();
      if (a === undefined) return undefined;
      let repeated = false;
      for (;;) {
        const c = re[i];
        let min: number | undefined;
        if (c === '*' || c === '?') {
          min = 0;
          i++;
        } else if (c === '+') {
          min = 1;
          i++;
        } else {
          const r = repeatAt(i);
          if (r === undefined) break;
          min = r.min;
          i = r.end;
        }
        if (repeated || flagsOnly) return undefined; // RE2: invalid nested repetition / missing argument
        repeated = true;
        if (re[i] === '?') i++; // non-greedy
        if (min === 0) a = true;
      }
      if (!a) all = false;
    }
    return all;
  };

  function alternation(): boolean | undefined {
    let any = false;
    for (;;) {
      const c = concat();
      if (c === undefined) return undefined;
      if (c) any = true;
      if (re[i] !== '|') return any;
      i++;
    }
  }

  function skipName(at: number): number {
    const close = re.indexOf('>', at);
    return close < 0 ? -1 : close + 1;
  }

  // An escape other than \Q \A \z \b \B at `at`: index after it, -1 when malformed.
  function skipEscape(at: number): number {
    const e = re[at + 1];
    if (e === undefined) return -1;
    if ((e === 'p' || e === 'P' || e === 'x') && re[at + 2] === '{') {
      const close = re.indexOf('}', at + 3);
      return close < 0 ? -1 : close + 1;
    }
    if (e === 'p' || e === 'P') return re[at + 2] === undefined ? -1 : at + 3;
    if (e === 'x') return at + 4;
    return at + 1 + ((re.codePointAt(at + 1) as number) > 0xffff ? 2 : 1);
  }

  const result = alternation();
  return i === n ? result : undefined;
}
