/**
 * `GET <upstream>/api/v1/status/buildinfo` through the upstream client (so the probe carries
 * the same credential and prefix as every forwarded request): the dialect detection
 * (./syntax.ts) reads it, and readiness can later.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http/errors.ts';
import type { UpstreamClient } from './client.ts';

/** Largest buildinfo answer read, bytes. */
export const MAX_BUILDINFO_BYTES = 65_536;

/** What the probe learned. */
export interface BuildInfo {
  /** `data.version` when it is a string, e.g. `2.42.0`, `0.37.2` (Thanos), `3.1.0`. */
  readonly version: string | undefined;
}

/** Reads a whole answer, at most `limit` bytes (rejects beyond, or when the answer is cut short). */
export function readBounded(res: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        res.destroy();
        reject(new Error(`buildinfo answer larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.once('end', () => resolve(Buffer.concat(chunks, size)));
    res.once('close', () => {
      if (!res.complete) reject(new Error('buildinfo answer cut short'));
    });
  });
}

/**
 * Probes the upstream's buildinfo.
 *
 * @param client the `prometheus` upstream
 * @param requestId sent as `X-Request-Id` (e.g. `promfence-probe`)
 * @param timeoutMs overall bound in ms (the client's own timeout applies too)
 * @returns the version found
 * @throws Error / HttpError on a network failure, a non-2xx or non-JSON answer, or a timeout;
 *   a redirect is a failure (never followed: it would send the upstream credential elsewhere)
 */
export async function fetchBuildInfo(client: UpstreamClient, requestId: string, timeoutMs: number): Promise<BuildInfo> {
  const signal = AbortSignal.timeout(timeoutMs);
  const res = await client.send(
    { upstream: client.spec.name, method: 'GET', path: '/api/v1/status/buildinfo', params: [], headers: {}, response: { kind: 'stream', body: 'json' } },
    { requestId, clientHeaders: { accept: 'application/json', 'user-agent': 'promfence' }, signal, acceptEncoding: 'identity' },
  );
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) {
    res.destroy();
    throw new HttpError('upstream_unavailable', `buildinfo answered HTTP ${status}`);
  }
  const body = JSON.parse((await readBounded(res, MAX_BUILDINFO_BYTES)).toString('utf8')) as { data?: { version?: unknown } };
  return { version: typeof body.data?.version === 'string' ? body.data.version : undefined };
}
