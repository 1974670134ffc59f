/**
 * Requests whose POST body is not a form: remote read's snappy-compressed protobuf and an
 * Alertmanager silence's JSON. The body is read raw (bounded by `limits.max_body_bytes`) and
 * handed to the route's `plan()`, which decodes, checks and rebuilds it; parameters come from
 * the URL only, with the same rules as every other request (./params.ts).
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.ts';
import { RequestParams, bodyIsForm, checkParams, decodeForm, parseMediaType, readBody, type ParamRules } from './params.ts';

/**
 * A request body a route reads itself instead of a form (remote read's protobuf, an
 * Alertmanager silence's JSON). Only POST bodies are read this way; its media type must be one
 * of `mediaTypes` and its `Content-Encoding` one of `encodings` (absent = identity), else 415.
 */
export interface RawBodySpec {
  /** Accepted media types, lower-case, e.g. `application/json`. */
  readonly mediaTypes: readonly string[];
  /** Accepted `Content-Encoding` values besides none/identity, lower-case (e.g. `snappy`); not decoded here. */
  readonly encodings?: readonly string[];
}

/** A request with a raw body: URL parameters and, for POST, the body bytes. */
export interface RawRequest {
  readonly params: RequestParams;
  /** The POST body (possibly empty); undefined for other methods. */
  readonly body: Buffer | undefined;
}

/**
 * Checks a raw body's headers against the route's {@link RawBodySpec}.
 *
 * @throws HttpError `unsupported_media_type` (415) for a missing or other media type, or a
 *   `Content-Encoding` the route does not accept
 */
export function checkRawBodyHeaders(contentType: string | undefined, contentEncoding: string | undefined, spec: RawBodySpec): void {
  const want = spec.mediaTypes.join(' or ');
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity' && !(spec.encodings ?? []).includes(encoding)) {
    throw new HttpError('unsupported_media_type', `unsupported request body: Content-Encoding ${JSON.stringify(contentEncoding)} is not accepted here; send ${want}${spec.encodings?.length ? ` (Content-Encoding: ${spec.encodings.join(' or ')})` : ''}`);
  }
  const media = contentType === undefined || contentType.trim() === '' ? undefined : parseMediaType(contentType);
  if (media === undefined || media === null || !spec.mediaTypes.includes(media.essence)) {
    const got = media === undefined ? 'no Content-Type' : media === null ? 'a malformed Content-Type' : `Content-Type ${media.essence}`;
    throw new HttpError('unsupported_media_type', `unsupported request body: ${got}; this endpoint takes ${want}`);
  }
}

/**
 * Reads a request of a route that takes a raw POST body.
 *
 * Order of checks: body size (413) → body headers (415; a non-POST request with a body is
 * 415 like everywhere else) → URL parameters (400, see ./params.ts `checkParams`).
 *
 * @param req the request
 * @param rules singular parameters and `limits.max_body_bytes`
 * @param spec the accepted media types and encodings
 * @throws HttpError `body_too_large`, `unsupported_media_type`, `invalid_parameter`,
 *   `credentials_in_url`, `duplicate_parameter`, `bad_request`
 */
export async function readRawRequest(req: IncomingMessage, rules: ParamRules, spec: RawBodySpec): Promise<RawRequest> {
  const raw = await readBody(req, rules.maxBodyBytes);
  const method = req.method ?? 'GET';
  if (method === 'POST') checkRawBodyHeaders(req.headers['content-type'], req.headers['content-encoding'], spec);
  else bodyIsForm(method, req.headers['content-type'], req.headers['content-encoding'], raw.length);
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const params = new RequestParams(decodeForm(q < 0 ? Buffer.alloc(0) : Buffer.from(url.slice(q + 1), 'latin1'), 'url'));
  checkParams(params, rules.singular);
  return { params, body: method === 'POST' ? raw : undefined };
}
