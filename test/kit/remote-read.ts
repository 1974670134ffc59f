/**
 * Test kit for Prometheus remote read: building snappy-compressed `ReadRequest`s, sending
 * them, and decoding both answer types (SAMPLES: one snappy `ReadResponse`;
 * STREAMED_XOR_CHUNKS: frames of uvarint length, CRC32C, `ChunkedReadResponse`) into a
 * comparable form. Chunks are compared as bytes, never decoded.
 */
import {
  chunkedReadResponseType, readResponseType, encodeReadRequest, snappyEncode, type PbReadRequest,
} from '../../src/routes/prompb.ts';
import { uncompressSync } from 'snappy';

/** A matcher in test notation: `['__name__', '=', 'up']`. */
export type M = readonly [string, '=' | '!=' | '=~' | '!~', string];

const TYPE: Record<M[1], number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };

/** One query: matchers and a window in ms. */
export interface Q {
  readonly matchers: readonly M[];
  readonly start: number;
  readonly end: number;
  readonly hints?: PbReadRequest['queries'][number]['hints'];
}

/** The protobuf object of a ReadRequest. */
export function readRequestObject(queries: readonly Q[], types: readonly number[] = []): PbReadRequest {
  return {
    queries: queries.map((q) => ({
      start_timestamp_ms: q.start, end_timestamp_ms: q.end,
      matchers: q.matchers.map(([name, op, value]) => ({ type: TYPE[op], name, value })),
      ...(q.hints ? { hints: q.hints } : {}),
    })),
    accepted_response_types: [...types],
  };
}

/** A snappy-compressed ReadRequest body. */
export function readRequestBody(queries: readonly Q[], types: readonly number[] = []): Buffer {
  return snappyEncode(encodeReadRequest(readRequestObject(queries, types)));
}

/** One series of an answer: its labels (sorted `k=v` list) and its data (samples as `t:v`, or chunks as `min-max:type:base64`). */
export interface ReadSeries {
  readonly labels: string;
  readonly data: readonly string[];
}

const labelKey = (labels: Array<{ name: string; value: string }>) => labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).sort().join(',');

/** Decodes a SAMPLES answer (snappy ReadResponse) into series sorted by labels, per query. */
export function decodeSamples(body: Buffer): ReadSeries[][] {
  const msg = readResponseType().toObject(readResponseType().decode(uncompressSync(body, { asBuffer: true }) as Buffer), { longs: String, arrays: true }) as {
    results: Array<{ timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: string }> }> }>;
  };
  return msg.results.map((r) => r.timeseries.map((ts) => ({ labels: labelKey(ts.labels), data: ts.samples.map((s) => `${s.timestamp}:${s.value}`) }))
    .sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0)));
}

/** Decodes a STREAMED_XOR_CHUNKS answer into series sorted by labels, per query index (chunks kept as bytes). */
export function decodeChunked(body: Buffer): ReadSeries[][] {
  const out: ReadSeries[][] = [];
  let pos = 0;
  while (pos < body.length) {
    let len = 0;
    for (let shift = 0; ; shift += 7) {
      const b = body[pos++] as number;
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    pos += 4; // CRC32C
    const msg = chunkedReadResponseType().toObject(chunkedReadResponseType().decode(body.subarray(pos, pos + len)), { longs: String, arrays: true, bytes: String }) as {
      query_index?: string;
      chunked_series: Array<{ labels: Array<{ name: string; value: string }>; chunks: Array<{ min_time_ms: string; max_time_ms: string; type?: number; data: string }> }>;
    };
    pos += len;
    const qi = Number(msg.query_index ?? 0);
    while (out.length <= qi) out.push([]);
    for (const s of msg.chunked_series) {
      (out[qi] as ReadSeries[]).push({ labels: labelKey(s.labels), data: s.chunks.map((c) => `${c.min_time_ms}-${c.max_time_ms}:${c.type ?? 0}:${c.data}`) });
    }
  }
  return out.map((series) => series.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0)));
}

/** POSTs a ReadRequest body; returns status, headers and the raw answer. */
export async function postRead(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-read-version': '0.1.0', ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
