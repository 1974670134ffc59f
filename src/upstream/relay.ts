/**
 * The relay: writes one upstream answer to the client, or refuses it (docs/security.md
 * invariant 3: never a pass-through, never an empty 200). Three modes (src/routes/types.ts
 * `ResponseMode`):
 *
 * - {@link relayStream}: the answer is checked (status, Content-Type) and streamed chunk by
 *   chunk with backpressure; mode `binary` (remote read) is the same stream with a list of
 *   accepted binary media types instead of JSON;
 * - {@link relayFiltered}: the answer is buffered (at most `maxBytes`), decompressed when the
 *   upstream compressed it (`gzip`, `deflate`, `br`), parsed as JSON, filtered, and
 *   re-encoded as identity JSON with an exact `Content-Length`.
 *
 * Which answers are relayed: a 2xx JSON answer (any 2xx body for the exposition format of
 * `/federate`) and the upstream's own 4xx/5xx JSON errors. Anything else — a redirect, a
 * 1xx/204/3xx, an HTML or text error page (a load balancer's 502, Mimir's text/plain 401
 * "no org id"), a 2xx that is not JSON, a JSON route's empty 2xx — is refused with one
 * envelope (./errors.ts `refusalFor`); the upstream body is discarded (its connection
 * closed), never shown. Response headers are filtered by the header policy (./headers.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import { HttpError } from '../http/errors.ts';
import type { FilterContext, ResponseMode } from '../routes/types.ts';
import { refusalFor } from './errors.ts';
import { isDroppedResponseHeader } from './headers.ts';

/** Callbacks of the relay. */
export interface RelayOptions {
  /** Called once with the refusal when the answer is not relayed (the caller sends the envelope). */
  readonly refuse: (err: HttpError) => void;
}

/** True when a Content-Type names JSON (`application/json`, any parameters). */
export function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  return /^application\/json\s*(;|$)/i.test(value.trim());
}

/** What a relayed success must be: Prometheus JSON, any exposition body, or one of these binary media types. */
export type StreamBody = 'json' | 'exposition' | readonly string[];

/** True when a Content-Type's media type (parameters ignored, any case) is one of `types` (lower-case). */
export function hasMediaType(value: string | undefined, types: readonly string[]): boolean {
  if (value === undefined) return false;
  return types.includes((value.split(';')[0] ?? '').trim().toLowerCase());
}

/**
 * Decides whether an answer may be relayed at all; returns the refusal message otherwise.
 *
 * @param body what a success must be: Prometheus JSON, any exposition body, or (a list) a
 *   binary answer of one of these media types
 */
export function answerProblem(upstream: IncomingMessage, body: StreamBody): string | undefined {
  const status = upstream.statusCode ?? 0;
  const contentType = upstream.headers['content-type'];
  const json = isJsonContentType(contentType);
  const success = status >= 200 && status <= 299 && status !== 204;
  const error = status >= 400 && status <= 599;
  const successOk = typeof body === 'string' ? json || body === 'exposition' : hasMediaType(contentType, body);
  if ((success && successOk) || (error && json)) return undefined;
  const shown = contentType === undefined ? 'no Content-Type' : `Content-Type ${JSON.stringify(contentType.slice(0, 80))}`;
  const expected = typeof body === 'string' ? 'Prometheus JSON answers' : `${body.join(' or ')} answers and JSON errors`;
  return `upstream answered HTTP ${status} with ${shown}; refused (promfence relays only ${expected})`;
}

function copyHeaders(upstream: IncomingMessage, res: ServerResponse, skip: (name: string) => boolean = () => false): void {
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value === undefined || isDroppedResponseHeader(name) || skip(name)) continue;
    res.setHeader(name, value);
  }
}

function refuseWith(upstream: IncomingMessage, opts: RelayOptions, message: string): void {
  opts.refuse(refusalFor(upstream.statusCode ?? 0, upstream.headers, message));
  // Not drained: a hostile upstream could stream an endless error page. The socket is lost.
  upstream.destroy();
}

/**
 * Streams an answer (mode `stream`). After the first byte was written, an upstream that dies
 * (or stays idle past its timeout) cuts the client connection: a second response is
 * impossible, and a truncated body is the only honest signal left.
 */
export function relayStream(upstream: IncomingMessage, res: ServerResponse, body: StreamBody, opts: RelayOptions): void {
  const problem = answerProblem(upstream, body);
  if (problem !== undefined) return refuseWith(upstream, opts, problem);
  const status = upstream.statusCode ?? 0;
  const success = status >= 200 && status <= 299;
  let started = false;
  const start = () => {
    started = true;
    res.statusCode = status;
    copyHeaders(upstream, res);
  };
  upstream.on('data', (chunk: Buffer) => {
    if (chunk.length === 0) return;
    if (!started) start();
    if (!res.write(chunk)) {
      upstream.pause();
      res.once('drain', () => upstream.resume());
    }
  });
  upstream.once('end', () => {
    if (!started) {
      // An empty body: fine for the exposition format (no series) and an upstream error,
      // never for a JSON API success (Prometheus always answers an envelope).
      if (success && body === 'json') return opts.refuse(refusalFor(status, upstream.headers, `upstream answered HTTP ${status} with an empty body; refused (expected a Prometheus JSON answer)`));
      start();
    }
    res.end();
  });
  // An upstream that dies mid-answer: Node destroys the stream without an 'error' (no
  // listener) and the client would wait forever. Cut it instead (or, before the first byte,
  // answer 502).
  upstream.once('close', () => {
    if (upstream.complete) return;
    if (!started && !res.headersSent) return opts.refuse(refusalFor(502, {}, `upstream answered HTTP ${status} with a connection that closed before the answer was complete; refused`));
    res.destroy();
  });
}

/** Options of {@link relayFiltered}. */
export interface FilterOptions extends RelayOptions {
  /** The route's filter. */
  readonly filter: (body: unknown, ctx: FilterContext) => unknown;
  /** Its context (the caller's policy). */
  readonly context: FilterContext;
  /** Largest answer buffered, in bytes after decompression (`limits.max_filtered_response_bytes`). */
  readonly maxBytes: number;
}

function decoderFor(encoding: string | undefined): Transform | null | undefined {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return null;
  if (e === 'gzip' || e === 'x-gzip') return createGunzip();
  if (e === 'deflate') return createInflate();
  if (e === 'br') return createBrotliDecompress();
  return undefined;
}

/**
 * Buffers, decodes, filters and re-encodes an answer (mode `filter`). Errors of the upstream
 * (4xx/5xx JSON) are relayed unfiltered: they carry no series. An answer larger than
 * `maxBytes`, compressed with an unknown encoding, not JSON, or that the filter rejects is
 * refused (502 `upstream_unavailable`).
 */
export function relayFiltered(upstream: IncomingMessage, res: ServerResponse, opts: FilterOptions): void {
  const problem = answerProblem(upstream, 'json');
  if (problem !== undefined) return refuseWith(upstream, opts, problem);
  const status = upstream.statusCode ?? 0;
  const decoder = decoderFor(upstream.headers['content-encoding']);
  if (decoder === undefined) {
    return refuseWith(upstream, opts, `upstream answered with Content-Encoding ${JSON.stringify(String(upstream.headers['content-encoding']).slice(0, 40))}, which promfence cannot decode to filter; refused`);
  }
  const source = decoder === null ? upstream : upstream.pipe(decoder);
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  const fail = (message: string) => {
    if (done) return;
    done = true;
    upstream.destroy();
    decoder?.destroy();
    opts.refuse(refusalFor(502, {}, message));
  };
  source.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > opts.maxBytes) return fail(`upstream answer larger than ${opts.maxBytes} bytes after decompression (limits.max_filtered_response_bytes); refused`);
    chunks.push(chunk);
  });
  source.once('error', () => fail('upstream answer could not be decompressed; refused'));
  upstream.once('close', () => {
    if (!upstream.complete) fail(`upstream answered HTTP ${status} with a connection that closed before the answer was complete; refused`);
  });
  source.once('end', () => {
    if (done) return;
    done = true;
    let out: string;
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
      out = JSON.stringify(status >= 400 ? parsed : opts.filter(parsed, opts.context));
    } catch (err) {
      // A filter may refuse the answer itself with a coded error (a silence the caller cannot see).
      opts.refuse(err instanceof HttpError ? err : refusalFor(502, {}, `upstream answered HTTP ${status} with a body that is not the expected JSON; refused`));
      return;
    }
    res.statusCode = status;
    copyHeaders(upstream, res, (name) => name === 'content-length' || name === 'content-encoding' || name === 'content-type');
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', Buffer.byteLength(out));
    res.end(out);
  });
}

/** Relays an answer in the route's response mode. */
export function relay(upstream: IncomingMessage, res: ServerResponse, mode: ResponseMode, opts: RelayOptions & { context: FilterContext; maxFilteredBytes: number }): void {
  if (mode.kind === 'stream') relayStream(upstream, res, mode.body, opts);
  else if (mode.kind === 'binary') relayStream(upstream, res, mode.contentTypes, opts);
  else relayFiltered(upstream, res, { refuse: opts.refuse, filter: mode.filter, context: opts.context, maxBytes: opts.maxFilteredBytes });
}
