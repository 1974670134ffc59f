/**
 * The Prometheus remote-read wire format (`prompb`, Prometheus's prompb/remote.proto and
 * types.proto): a snappy **block**-compressed protobuf `ReadRequest`. Decoded with protobufjs
 * from a schema written here as data (only the messages promfence reads or writes) and
 * snappy (napi-rs, binary shipped in its npm package).
 *
 * Field numbers are Prometheus's wire format; `ReadHints` carries the fields of Prometheus
 * 2.42 (step, func, start, end, grouping, by, range). Answers (`ReadResponse`,
 * `ChunkedReadResponse`) are never decoded by the gateway: the relay streams them. Their
 * schema is here for tests and tools that check what a client received.
 *
 * protobufjs and snappy are loaded on the first remote-read request, not at start (issue
 * #10: most deployments never use remote read; together they are ~7 MB of resident memory).
 */
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';
import type * as Snappy from 'snappy';

const require = createRequire(import.meta.url);
let protobufjs: typeof Protobuf | undefined;
let snappy: typeof Snappy | undefined;
/** snappy (a CommonJS package with a native binding), loaded on first use. */
function snappyLib(): typeof Snappy {
  snappy ??= require('snappy') as typeof Snappy;
  return snappy;
}

const LABEL = { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } };

/** The schema, as protobufjs JSON (package `prometheus`). */
const SCHEMA = {
  nested: {
    prometheus: {
      nested: {
        ReadRequest: {
          fields: {
            queries: { rule: 'repeated', type: 'Query', id: 1 },
            accepted_response_types: { rule: 'repeated', type: 'ResponseType', id: 2 },
          },
          nested: { ResponseType: { values: { SAMPLES: 0, STREAMED_XOR_CHUNKS: 1 } } },
        },
        Query: {
          fields: {
            start_timestamp_ms: { type: 'int64', id: 1 },
            end_timestamp_ms: { type: 'int64', id: 2 },
            matchers: { rule: 'repeated', type: 'LabelMatcher', id: 3 },
            hints: { type: 'ReadHints', id: 4 },
          },
        },
        LabelMatcher: {
          fields: { type: { type: 'Type', id: 1 }, name: { type: 'string', id: 2 }, value: { type: 'string', id: 3 } },
          nested: { Type: { values: { EQ: 0, NEQ: 1, RE: 2, NRE: 3 } } },
        },
        ReadHints: {
          fields: {
            step_ms: { type: 'int64', id: 1 },
            func: { type: 'string', id: 2 },
            start_ms: { type: 'int64', id: 3 },
            end_ms: { type: 'int64', id: 4 },
            grouping: { rule: 'repeated', type: 'string', id: 5 },
            by: { type: 'bool', id: 6 },
            range_ms: { type: 'int64', id: 7 },
          },
        },
        ReadResponse: { fields: { results: { rule: 'repeated', type: 'QueryResult', id: 1 } } },
        QueryResult: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
        TimeSeries: { fields: { labels: { rule: 'repeated', type: 'Label', id: 1 }, samples: { rule: 'repeated', type: 'Sample', id: 2 } } },
        Label: LABEL,
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
        ChunkedReadResponse: { fields: { chunked_series: { rule: 'repeated', type: 'ChunkedSeries', id: 1 }, query_index: { type: 'int64', id: 2 } } },
        ChunkedSeries: { fields: { labels: { rule: 'repeated', type: 'Label', id: 1 }, chunks: { rule: 'repeated', type: 'Chunk', id: 2 } } },
        Chunk: {
          fields: {
            min_time_ms: { type: 'int64', id: 1 },
            max_time_ms: { type: 'int64', id: 2 },
            type: { type: 'int32', id: 3 },
            data: { type: 'bytes', id: 4 },
          },
        },
      },
    },
  },
};

let root: Protobuf.Root | undefined;
/** The protobufjs types of the remote-read messages (`prometheus.ReadRequest`, …), built on first use. */
export function prompb(): Protobuf.Root {
  protobufjs ??= require('protobufjs') as typeof Protobuf;
  root ??= protobufjs.Root.fromJSON(SCHEMA);
  return root;
}

/** `prometheus.ReadRequest`. */
export const readRequestType = (): Protobuf.Type => prompb().lookupType('prometheus.ReadRequest');
/** `prometheus.ReadResponse` (SAMPLES answers). */
export const readResponseType = (): Protobuf.Type => prompb().lookupType('prometheus.ReadResponse');
/** `prometheus.ChunkedReadResponse` (STREAMED_XOR_CHUNKS frames). */
export const chunkedReadResponseType = (): Protobuf.Type => prompb().lookupType('prometheus.ChunkedReadResponse');

/** `ReadRequest.ResponseType` values. */
export const RESPONSE_TYPES = Object.freeze({ SAMPLES: 0, STREAMED_XOR_CHUNKS: 1 });
/** `LabelMatcher.Type` values. */
export const MATCHER_TYPES = Object.freeze({ EQ: 0, NEQ: 1, RE: 2, NRE: 3 });

/** An int64 as protobufjs decodes it (a number, or a `Long` for values beyond 2^53). */
export type Int64 = number | { low: number; high: number; unsigned: boolean; toString(): string };

/** A decoded `prometheus.LabelMatcher`. */
export interface PbMatcher {
  type: number;
  name: string;
  value: string;
}

/** A decoded `prometheus.ReadHints` (all fields optional on the wire). */
export interface PbHints {
  step_ms?: Int64;
  func?: string;
  start_ms?: Int64;
  end_ms?: Int64;
  grouping?: string[];
  by?: boolean;
  range_ms?: Int64;
}

/** A decoded `prometheus.Query`. */
export interface PbQuery {
  start_timestamp_ms: Int64;
  end_timestamp_ms: Int64;
  matchers: PbMatcher[];
  hints?: PbHints | null;
}

/** A decoded `prometheus.ReadRequest`. */
export interface PbReadRequest {
  queries: PbQuery[];
  accepted_response_types: number[];
}

/**
 * The uncompressed length a snappy block declares in its header (a uvarint of at most 32
 * bits), read without decompressing; `undefined` when the header is malformed.
 */
export function snappyDeclaredLength(block: Uint8Array): number | undefined {
  let result = 0;
  for (let i = 0, shift = 0; i < 5 && i < block.length; i++, shift += 7) {
    const b = block[i] as number;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return result <= 0xffffffff ? result : undefined;
  }
  return undefined;
}

/**
 * Decompresses a snappy block after checking its declared length against `maxBytes`.
 *
 * @throws RangeError `too large` (declared length over `maxBytes`), Error on a malformed block
 */
export function snappyDecode(block: Uint8Array, maxBytes: number): Buffer {
  const declared = snappyDeclaredLength(block);
  if (declared === undefined) throw new Error('malformed snappy block header');
  if (declared > maxBytes) throw new RangeError(`declares ${declared} bytes uncompressed, more than ${maxBytes}`);
  return snappyLib().uncompressSync(block, { asBuffer: true }) as Buffer;
}

/** Snappy block compression. */
export function snappyEncode(data: Uint8Array): Buffer {
  return snappyLib().compressSync(data);
}

/**
 * Decodes a `ReadRequest` protobuf (not compressed).
 *
 * @throws Error when the bytes are not a valid protobuf of that message
 */
export function decodeReadRequest(bytes: Uint8Array): PbReadRequest {
  const type = readRequestType();
  const msg = type.decode(bytes);
  return type.toObject(msg, { enums: Number, arrays: true, defaults: true }) as PbReadRequest;
}

/** Encodes a `ReadRequest` protobuf (not compressed); only the schema's fields are written. */
export function encodeReadRequest(req: PbReadRequest): Uint8Array {
  const type = readRequestType();
  return type.encode(type.fromObject(req)).finish();
}
