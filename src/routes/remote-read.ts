/**
 * Prometheus remote read, `POST /api/v1/read` (docs: Prometheus "Remote read API"): the body
 * is a snappy block-compressed protobuf `prompb.ReadRequest`. promfence decodes it (bounded),
 * checks every query, adds the policy's matchers to each query's matchers, re-encodes a new
 * request from the decoded fields only (docs/security.md invariant 1) and relays the answer —
 * `SAMPLES` (one snappy `ReadResponse`) or `STREAMED_XOR_CHUNKS`
 * (`application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse` frames) — as a
 * stream, without decoding a sample. Hints and accepted response types pass through.
 *
 * A policy of several OR-ed matcher sets is refused (400 `unsupported_policy`) rather than
 * answered with one query per set: merging those answers would mean decoding and
 * de-duplicating samples and chunks, which this relay never does.
 */
import { AccessError } from '../access/errors.ts';
import type { LabelMatcher, MatchOp } from '../access/index.ts';
import { enforceMatchers } from '../enforce/matchers.ts';
import { HttpError } from '../http/errors.ts';
import { toHttpError } from '../http/error-handler.ts';
import { MATCHER_TYPES, RESPONSE_TYPES, decodeReadRequest, encodeReadRequest, snappyDecode, snappyEncode, type PbMatcher, type PbReadRequest } from './prompb.ts';
import type { ForwardTarget, PlanInput, Route } from './types.ts';

/** Media types of the two answers (Prometheus web/api/v1 and storage/remote). */
export const REMOTE_READ_ANSWER_TYPES: readonly string[] = Object.freeze(['application/x-protobuf', 'application/x-streamed-protobuf']);

/** Options of {@link remoteReadRoute} (from `enforce.*` and `remote_read.*`). */
export interface RemoteReadOptions {
  /** `enforce.mode`: `header` adds no matchers (the upstream scopes by the tenant header). */
  readonly mode: 'label' | 'header' | 'label+header';
  /** `enforce.reject_foreign_tenant`. */
  readonly rejectForeignTenant: boolean;
  /** `remote_read.max_queries`. */
  readonly maxQueries: number;
  /** `remote_read.max_decompressed_bytes`. */
  readonly maxDecompressedBytes: number;
}

const OPS: Readonly<Record<number, MatchOp>> = { [MATCHER_TYPES.EQ]: '=', [MATCHER_TYPES.NEQ]: '!=', [MATCHER_TYPES.RE]: '=~', [MATCHER_TYPES.NRE]: '!~' };
const TYPES: Readonly<Record<MatchOp, number>> = { '=': MATCHER_TYPES.EQ, '!=': MATCHER_TYPES.NEQ, '=~': MATCHER_TYPES.RE, '!~': MATCHER_TYPES.NRE };

function invalid(why: string): HttpError {
  return new HttpError('invalid_parameter', `invalid remote read request: ${why}`);
}

function toLabelMatcher(m: PbMatcher, q: number, i: number): LabelMatcher {
  const op = OPS[m.type];
  if (op === undefined) throw invalid(`queries[${q}].matchers[${i}] has unknown type ${m.type} (EQ, NEQ, RE or NRE)`);
  if (m.name === '') throw invalid(`queries[${q}].matchers[${i}] has an empty label name`);
  return { name: m.name, op, value: m.value };
}

/**
 * Decodes, checks and enforces a remote-read request body.
 *
 * @param body the snappy-compressed protobuf as received
 * @param input the planned request (policy)
 * @param opts see {@link RemoteReadOptions}
 * @returns the ReadRequest to send upstream (snappy-compressed protobuf)
 * @throws HttpError `body_too_large` (413: more than `remote_read.max_decompressed_bytes` once
 *   decompressed), `invalid_parameter` (400: bad snappy, bad protobuf, no query, more than
 *   `remote_read.max_queries`, a query without matchers, an unknown matcher or response
 *   type), `empty_selector` (400), `unsupported_policy` (400), `forbidden_tenant` (403)
 */
export function enforceReadRequest(body: Buffer, input: Pick<PlanInput, 'policy'>, opts: RemoteReadOptions): Buffer {
  let decoded: PbReadRequest;
  try {
    decoded = decodeReadRequest(snappyDecode(body, opts.maxDecompressedBytes));
  } catch (err) {
    if (err instanceof RangeError && /^declares/.test(err.message)) {
      throw new HttpError('body_too_large', `remote read request ${err.message} (remote_read.max_decompressed_bytes)`);
    }
    throw invalid('the body is not a snappy block-compressed prometheus.ReadRequest protobuf (send Content-Type: application/x-protobuf, Content-Encoding: snappy)');
  }
  if (decoded.queries.length === 0) throw invalid('no queries');
  if (decoded.queries.length > opts.maxQueries) throw invalid(`${decoded.queries.length} queries, more than remote_read.max_queries (${opts.maxQueries}); split the request`);
  for (const t of decoded.accepted_response_types) {
    if (t !== RESPONSE_TYPES.SAMPLES && t !== RESPONSE_TYPES.STREAMED_XOR_CHUNKS) throw invalid(`unknown accepted response type ${t} (SAMPLES or STREAMED_XOR_CHUNKS)`);
  }
  const policy = opts.mode === 'header' ? { ...input.policy, selectors: undefined } : input.policy;
  const queries = decoded.queries.map((q, qi) => {
    if (q.matchers.length === 0) throw invalid(`queries[${qi}] has no matchers`);
    const user = q.matchers.map((m, i) => toLabelMatcher(m, qi, i));
    let enforced: LabelMatcher[];
    try {
      enforced = enforceMatchers(user, policy, { rejectForeignTenant: opts.rejectForeignTenant });
    } catch (err) {
      const e = toHttpError(err);
      throw e.code === 'empty_selector' ? new HttpError('empty_selector', `invalid remote read request: queries[${qi}]: ${e.message}`) : e;
    }
    return {
      start_timestamp_ms: q.start_timestamp_ms,
      end_timestamp_ms: q.end_timestamp_ms,
      matchers: enforced.map((m) => ({ type: TYPES[m.op], name: m.name, value: m.value })),
      ...(q.hints ? { hints: q.hints } : {}),
    };
  });
  return snappyEncode(encodeReadRequest({ queries, accepted_response_types: decoded.accepted_response_types }));
}

/**
 * The remote-read route: `POST /api/v1/read` on the `prometheus` upstream, body checked by
 * {@link enforceReadRequest}, answer relayed in mode `binary`.
 */
export function remoteReadRoute(opts: RemoteReadOptions): Route {
  return Object.freeze({
    name: 'remote_read',
    path: '/api/v1/read',
    methods: Object.freeze(['POST'] as const),
    singular: Object.freeze([]),
    promql: 'none',
    tenantScoped: true,
    body: Object.freeze({ mediaTypes: ['application/x-protobuf'], encodings: ['snappy'] }),
    response: Object.freeze({ kind: 'binary', contentTypes: REMOTE_READ_ANSWER_TYPES }),
    plan(input: PlanInput): ForwardTarget {
      if (input.body === undefined) throw new AccessError('invalid_parameter', 'remote read needs a POST body');
      const data = enforceReadRequest(input.body, input, opts);
      return {
        upstream: 'prometheus',
        method: 'POST',
        path: '/api/v1/read',
        // URL parameters mean nothing to remote read: none is forwarded.
        params: [],
        body: { contentType: 'application/x-protobuf', data },
        headers: { ...input.tenancyHeaders, 'content-encoding': 'snappy', 'x-prometheus-remote-read-version': '0.1.0' },
      };
    },
  } satisfies Route);
}
