/**
 * Request parameters read the way Prometheus (Go's net/http) reads them, so that promfence
 * enforces exactly the values the upstream will use (docs/security.md, "Parameter smuggling").
 *
 * Go's rules mirrored here:
 * - `url.ParseQuery`: pairs split on `&`, key and value split on the first `=`, `+` is a
 *   space, `%XX` is a byte, an empty pair (`a=1&&b=2`) is skipped, a key without `=` has
 *   the empty value. A pair holding a raw `;` is *dropped* by Go (since 1.17) — promfence
 *   refuses the request instead (400 `invalid_parameter`), because the two sides would
 *   otherwise read different parameters. Invalid percent-encoding is 400 too (Go drops
 *   the pair and reports an error).
 * - `Request.ParseForm`: on POST the `application/x-www-form-urlencoded` body is read and
 *   its values come *before* the URL's in `r.Form` (so `FormValue` prefers the body).
 *   `ParseMultipartForm` (called by `FormValue`) also merges a `multipart/form-data` body,
 *   whatever the method: promfence refuses multipart everywhere (415).
 * - Values are byte strings in Go; promfence requires valid UTF-8 after decoding (400),
 *   so that re-encoding the parsed value reproduces the same bytes.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseContentType } from 'content-type';
import { HttpError } from './errors.ts';
import { encodeComponent, percentDecode } from './percent.ts';

export { encodeComponent } from './percent.ts';

/** One decoded parameter and where it came from. */
export interface ParamPair {
  readonly name: string;
  readonly value: string;
  readonly source: 'url' | 'body';
}

/**
 * The merged parameters of one request, in Go's `r.Form` order: body pairs first, then URL
 * pairs, each in request order.
 */
export class RequestParams {
  /** Every pair, body first (Go's `r.Form` order). */
  readonly pairs: readonly ParamPair[];

  /** @param pairs decoded pairs, already in `r.Form` order */
  constructor(pairs: readonly ParamPair[]) {
    this.pairs = pairs;
  }

  /** Every value of `name`, in `r.Form` order (`r.Form[name]`). */
  all(name: string): string[] {
    return this.pairs.filter((p) => p.name === name).map((p) => p.value);
  }

  /** The first value of `name` (`r.FormValue(name)`), or undefined when absent. */
  first(name: string): string | undefined {
    return this.pairs.find((p) => p.name === name)?.value;
  }

  /** How many times `name` was given, URL and body together. */
  count(name: string): number {
    let n = 0;
    for (const p of this.pairs) if (p.name === name) n++;
    return n;
  }

  /** Where `name` was given, for messages: `"URL"`, `"form body"` or `"URL and form body"`. */
  sources(name: string): string {
    const s = new Set(this.pairs.filter((p) => p.name === name).map((p) => p.source));
    return s.size === 2 ? 'URL and form body' : s.has('body') ? 'form body' : 'URL';
  }
}

const SEMICOLON = 0x3b;
const AMPERSAND = 0x26;
const EQUALS = 0x3d;

/**
 * Decodes a query string or form body like Go's `url.ParseQuery`, but fails where Go would
 * silently drop a pair.
 *
 * @param bytes the raw query string (without `?`) or body bytes
 * @param source recorded on each pair (`url` or `body`)
 * @returns pairs in order
 * @throws HttpError `invalid_parameter` (400) on a raw `;`, invalid percent-encoding or
 *   a value that is not UTF-8 after decoding
 * @example decodeForm(Buffer.from('query=up+%3D%3D+1&x'), 'url')
 *   // → [{name:'query', value:'up == 1', source:'url'}, {name:'x', value:'', source:'url'}]
 */
export function decodeForm(bytes: Uint8Array, source: 'url' | 'body'): ParamPair[] {
  const where = source === 'url' ? 'the query string' : 'the form body';
  if (bytes.includes(SEMICOLON)) {
    throw new HttpError('invalid_parameter', `invalid parameter: a raw ";" in ${where} is not allowed (Go drops such pairs, so the upstream would read different parameters); percent-encode it as %3B`);
  }
  const pairs: ParamPair[] = [];
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(AMPERSAND, start);
    if (end < 0) end = bytes.length;
    const seg = bytes.subarray(start, end);
    start = end + 1;
    if (seg.length === 0) continue;
    const eq = seg.indexOf(EQUALS);
    const rawKey = eq < 0 ? seg : seg.subarray(0, eq);
    const rawValue = eq < 0 ? new Uint8Array(0) : seg.subarray(eq + 1);
    const name = percentDecode(rawKey, true);
    const value = name === null ? null : percentDecode(rawValue, true);
    if (name === null || value === null) {
      throw new HttpError('invalid_parameter', `invalid parameter: malformed percent-encoding or non-UTF-8 bytes in ${where}`);
    }
    pairs.push({ name, value, source });
  }
  return pairs;
}

/**
 * Encodes pairs as `application/x-www-form-urlencoded`, keeping their order (so the first
 * value of a name stays first, as Go's `FormValue` reads it).
 *
 * @example encodeForm([['query', 'up{tenant="a"}']]) // → 'query=up%7Btenant%3D%22a%22%7D'
 */
export function encodeForm(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`).join('&');
}

/**
 * Reads the whole request body into memory, refusing more than `limit` bytes.
 *
 * @param req the incoming request (its stream is consumed)
 * @param limit maximum body size in bytes (`limits.max_body_bytes`)
 * @throws HttpError `body_too_large` (413, with `Connection: close`) when `Content-Length`
 *   or the bytes received exceed `limit`; `bad_request` (400) when the client disconnects
 *   or the stream fails before the end of the body
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new HttpError('body_too_large', `request body larger than ${limit} bytes (limits.max_body_bytes)`, { headers: { Connection: 'close' } });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge());
  // A request whose connection already went away (while authentication ran, or while it
  // waited behind a pipelined request) never emits 'end' or 'close' again: refuse it now
  // instead of waiting forever.
  if (req.destroyed && !req.readableEnded) {
    return Promise.reject(new HttpError('bad_request', 'the client closed the connection before the request body was read'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: unknown, value?: Buffer) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) reject(err);
      else resolve(value as Buffer);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        return finish(tooLarge());
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks, size));
    // A client that goes away mid-body is its own fault, not an internal error: 400 (the
    // response will usually not reach it, but the access log records the code).
    const gone = (cause?: unknown) => new HttpError('bad_request', 'the client closed the connection while sending the request body', { cause });
    const onError = (err: Error) => finish(gone(err));
    const onClose = () => finish(gone());
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * A parsed `Content-Type`: lower-cased type and parameters, or null when malformed. The
 * `content-type` package (2.x, the one Express uses) splits the header leniently, skipping
 * what it cannot read; Go's `mime.ParseMediaType` refuses it (and then ignores the body). So
 * the type (`token/token`), the parameter names (tokens, RFC 9110) and the presence of `=` in
 * every parameter are checked here: `garbage`, `a/b; x` and `a/b; =x` are refused.
 */
export function parseMediaType(value: string): { essence: string; params: Record<string, string> } | null {
  const segments = value.split(';').slice(1).filter((p) => p.trim() !== '');
  if (segments.some((p) => !p.includes('='))) return null;
  let parsed: ReturnType<typeof parseContentType>;
  try {
    parsed = parseContentType(value);
  } catch {
    return null;
  }
  const essence = parsed.type.toLowerCase();
  const slash = essence.indexOf('/');
  if (slash <= 0 || !TOKEN.test(essence.slice(0, slash)) || !TOKEN.test(essence.slice(slash + 1))) return null;
  for (const name of Object.keys(parsed.parameters)) if (!TOKEN.test(name)) return null;
  return { essence, params: parsed.parameters };
}

/**
 * Decides whether a request body may be read as a form, mirroring what Go would merge.
 *
 * | method | Content-Type                          | body      | result            |
 * |--------|---------------------------------------|-----------|-------------------|
 * | any    | `multipart/*`                         | any       | 415               |
 * | any    | any, with a `Content-Encoding`≠identity | any     | 415               |
 * | POST   | `application/x-www-form-urlencoded` (charset utf-8/us-ascii or none) | any | parse |
 * | POST   | none or other                         | empty     | no body params    |
 * | POST   | none or other                         | non-empty | 415               |
 * | GET    | any non-multipart                     | empty     | no body params    |
 * | GET    | any                                   | non-empty | 415 (Go ignores a GET body; a client sending one means something promfence cannot honour) |
 *
 * @returns true when the body holds form parameters to decode
 * @throws HttpError `unsupported_media_type` (415)
 */
export function bodyIsForm(method: string, contentType: string | undefined, contentEncoding: string | undefined, bodyLength: number): boolean {
  const refuse = (why: string) => new HttpError('unsupported_media_type', `unsupported request body: ${why}; send parameters in the URL or as an application/x-www-form-urlencoded body`);
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity' && contentEncoding.trim() !== '') {
    throw refuse(`Content-Encoding "${contentEncoding}" is not supported`);
  }
  const media = contentType === undefined || contentType.trim() === '' ? undefined : parseMediaType(contentType);
  if (media === null) throw refuse('malformed Content-Type');
  if (media?.essence.startsWith('multipart/')) throw refuse(`Content-Type ${media.essence} is not accepted`);
  if (method !== 'POST') {
    if (bodyLength > 0) throw refuse(`a ${method} request cannot carry a body`);
    return false;
  }
  if (media?.essence === 'application/x-www-form-urlencoded') {
    const charset = media.params['charset']?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
      throw refuse(`charset "${charset}" is not supported (UTF-8 only)`);
    }
    return true;
  }
  if (bodyLength > 0) throw refuse(media ? `Content-Type ${media.essence} is not accepted` : 'a body without Content-Type');
  return false;
}

/**
 * True for a parameter name that carries an OAuth-style credential: `access_token`, any case,
 * including `access_token[…]` / `access_token.…` forms (the same rule as src/auth).
 */
export function isAccessTokenName(name: string): boolean {
  const k = name.toLowerCase();
  return k === 'access_token' || k.startsWith('access_token[') || k.startsWith('access_token.');
}

/** What {@link readParams} must know about the route and the configuration. */
export interface ParamRules {
  /** Parameters that may appear at most once across URL and body (`query`, `time`, …). */
  readonly singular: readonly string[];
  /** Maximum body bytes (`limits.max_body_bytes`). */
  readonly maxBodyBytes: number;
}

/**
 * Reads and checks the parameters of a request: raw query string (never Express's parser),
 * and for POST the form body.
 *
 * Checks, in order: body size (413) → body type (415) → `;`/percent-encoding/UTF-8 (400
 * `invalid_parameter`) → `access_token` anywhere (400 `credentials_in_url`) → each singular
 * parameter at most once across URL and body (400 `duplicate_parameter`).
 *
 * @param req the request; `req.url` is the raw request target (`/path?query`)
 * @param rules singular parameter names and the body limit
 * @returns the merged parameters, body first (Go's `r.Form` order)
 * @throws HttpError with the codes above
 */
export async function readParams(req: IncomingMessage, rules: ParamRules): Promise<RequestParams> {
  const body = await readBody(req, rules.maxBodyBytes);
  const method = req.method ?? 'GET';
  const isForm = bodyIsForm(method, req.headers['content-type'], req.headers['content-encoding'], body.length);
  const url = req.url ?? '';
  const q = url.indexOf('?');
  // Node hands the request target over as a latin1 string: this recovers the raw bytes.
  const rawQuery = q < 0 ? Buffer.alloc(0) : Buffer.from(url.slice(q + 1), 'latin1');
  const urlPairs = decodeForm(rawQuery, 'url');
  const bodyPairs = isForm ? decodeForm(body, 'body') : [];
  const params = new RequestParams([...bodyPairs, ...urlPairs]);
  checkParams(params, rules.singular);
  return params;
}

/**
 * The checks every request's parameters pass, wherever they came from: `access_token`
 * anywhere (400 `credentials_in_url`), each singular parameter at most once (400
 * `duplicate_parameter`).
 *
 * @throws HttpError with the codes above
 */
export function checkParams(params: RequestParams, singular: readonly string[]): void {
  if (params.pairs.some((p) => isAccessTokenName(p.name))) {
    throw new HttpError('credentials_in_url', 'credentials in the URL or form body (access_token) are refused: send them in the Authorization header, and revoke this token, it may have been logged');
  }
  for (const name of singular) {
    const n = params.count(name);
    if (n > 1) {
      throw new HttpError('duplicate_parameter', `duplicate parameter "${name}": given ${n} times (${params.sources(name)}); send it once`);
    }
  }
}
