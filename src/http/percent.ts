/**
 * The one percent-decoder of promfence: Go's `url.QueryUnescape` / `url.PathUnescape` on raw
 * bytes, then strict UTF-8. Used for query strings and form bodies (src/http/params.ts) and
 * for the variable path segment of label values (src/routes/table.ts).
 *
 * It never throws and never builds an exception per input: work is one pass over the bytes
 * (a hostile request target of a megabyte of malformed escapes costs one linear scan).
 */

const PERCENT = 0x25;
const PLUS = 0x2b;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function hexValue(b: number | undefined): number {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  return -1;
}

/**
 * Decodes `%XX` escapes (and `+` as a space when `plusAsSpace`), then requires valid UTF-8.
 *
 * @param bytes raw bytes (a query component, a body component, or a path segment)
 * @param plusAsSpace true for query strings and form bodies (Go's QueryUnescape), false for
 *   path segments (PathUnescape: `+` stays `+`)
 * @returns the decoded string, or `null` when an escape is malformed (`%`, `%4`, `%zz`) or
 *   the result is not valid UTF-8
 * @example percentDecode(Buffer.from('a%20b+c'), true) // → 'a b c'
 */
export function percentDecode(bytes: Uint8Array, plusAsSpace: boolean): string | null {
  let needs = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === PERCENT || (plusAsSpace && b === PLUS) || (b as number) >= 0x80) {
      needs = true;
      break;
    }
  }
  // Plain ASCII without escapes: the bytes are the string.
  if (!needs) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === PERCENT) {
      const hi = hexValue(bytes[i + 1]);
      const lo = hexValue(bytes[i + 2]);
      if (hi < 0 || lo < 0) return null;
      out[n++] = hi * 16 + lo;
      i += 2;
    } else if (plusAsSpace && b === PLUS) {
      out[n++] = 0x20;
    } else {
      out[n++] = b;
    }
  }
  try {
    return utf8.decode(out.subarray(0, n));
  } catch {
    return null;
  }
}

/**
 * Percent-encodes one form component. Everything except `A-Z a-z 0-9 - _ . ~` is escaped
 * (Go's `url.QueryEscape` set; a space becomes `%20`, which Go decodes identically).
 *
 * @example encodeComponent('up{a="b"}') // → 'up%7Ba%3D%22b%22%7D'
 */
export function encodeComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
