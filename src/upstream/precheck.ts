/**
 * Runs a plan's precheck (src/routes/types.ts `Precheck`): one bounded request whose JSON
 * answer decides whether the forwarded request may be sent (an Alertmanager silence is
 * updated or expired only when the caller can see the current one).
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http/errors.ts';
import type { Precheck } from '../routes/types.ts';
import type { SendOptions, UpstreamClient } from './client.ts';

/**
 * Reads an answer into memory, at most `limit` bytes (the precheck and the buildinfo probe).
 *
 * @throws HttpError `upstream_unavailable` (502) when larger or cut short
 */
export function readAnswer(res: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        res.destroy();
        reject(new HttpError('upstream_unavailable', `upstream answer larger than ${limit} bytes; refused`));
        return;
      }
      chunks.push(c);
    });
    res.once('end', () => resolve(Buffer.concat(chunks, size)));
    res.once('close', () => {
      if (!res.complete) reject(new HttpError('upstream_unavailable', 'upstream answer cut short; refused'));
    });
  });
}

/**
 * Sends `precheck.target` and calls `precheck.check(status, json)` with its answer (`json` is
 * `undefined` when the body is not JSON or is compressed: the request asks for identity).
 *
 * @param client the upstream the target names
 * @param precheck the target and its check
 * @param opts the forwarded request's send options (request id, client headers, abort signal)
 * @param maxBytes largest answer read (`limits.max_filtered_response_bytes`)
 * @throws HttpError from the network (502/504), an oversized answer (502), or `check`
 */
export async function runPrecheck(client: UpstreamClient, precheck: Precheck, opts: SendOptions, maxBytes: number): Promise<void> {
  const res = await client.send({ ...precheck.target, response: { kind: 'stream', body: 'json' } }, { ...opts, acceptEncoding: 'identity' });
  const status = res.statusCode ?? 0;
  const raw = await readAnswer(res, maxBytes);
  let body: unknown;
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
  }
  precheck.check(status, body);
}
