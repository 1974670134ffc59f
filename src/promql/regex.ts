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
const FLAG_GROUP = /\(\?[imsU]*(?:-[imsU]*)?([:)])/g;

/**
 * Whether the RE2 pattern `re`, anchored as Prometheus anchors it, can match the empty
 * string. Computed with JavaScript's RegExp in Unicode mode (which refuses most syntax it
 * does not share with RE2: `\pL`, `\Q…\E`, `[[:alpha:]]`, `\z`), after removing RE2 flag
 * groups. When JavaScript cannot compile the pattern the answer is `undefined` ("unknown");
 * callers treat unknown as "may match the empty string" (fail closed).
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
    return new RegExp(`^(?:${out})$`, 'u').test('');
  } catch {
    return undefined;
  }
}
