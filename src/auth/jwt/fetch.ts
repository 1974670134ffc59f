/**
 * A bounded JSON GET for OIDC discovery documents and JWK Sets: node:http(s) with an optional
 * private CA, one overall deadline, a size cap, no redirects, no cookies, no credentials.
 */
import http from 'node:http';
import https from 'node:https';
import { VERSION } from '../../version.ts';

/** Largest discovery document or JWK Set accepted, bytes. */
export const MAX_KEY_DOCUMENT_BYTES = 1024 * 1024;

/** Stable causes of {@link KeyFetchError}. */
export type KeyFetchErrorCode = 'timeout' | 'network' | 'http_status' | 'too_large' | 'invalid_json' | 'aborted';

/** A discovery or JWKS fetch that failed; `message` names the URL and the cause. */
export class KeyFetchError extends Error {
  readonly code: KeyFetchErrorCode;
  constructor(code: KeyFetchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeyFetchError';
    this.code = code;
  }
}

/** Options of {@link fetchJson}. */
export interface FetchJsonOptions {
  /** Whole-exchange deadline (connect, TLS, headers, body), ms. */
  readonly timeoutMs: number;
  /** PEM CA bundle for https URLs (a Kubernetes API server's CA); default the system's CAs. */
  readonly ca?: string | undefined;
  /** Size cap, bytes. Default {@link MAX_KEY_DOCUMENT_BYTES}. */
  readonly maxBytes?: number;
  /** Aborts the fetch (provider closed). */
  readonly signal?: AbortSignal;
}

/**
 * GETs `url` and parses its body as JSON.
 *
 * - Only a 200 answer is accepted; a redirect is an error (keys are never taken from
 *   wherever a 3xx points).
 * - HTTPS uses TLS ≥ 1.2 and verifies the server against `ca` when given (it replaces the
 *   system CAs, as Kubernetes' `ca.crt` does), else the system CAs.
 * - The whole exchange must finish within `timeoutMs`; the body is capped at `maxBytes`.
 *
 * @param url an http(s) URL (validated by the configuration schema)
 * @returns the parsed JSON value
 * @throws KeyFetchError with code `timeout`, `network`, `http_status`, `too_large`, `invalid_json` or `aborted`
 */
export function fetchJson(url: string, options: FetchJsonOptions): Promise<unknown> {
  const maxBytes = options.maxBytes ?? MAX_KEY_DOCUMENT_BYTES;
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    const u = new URL(url);
    const headers = { Accept: 'application/json, application/jwk-set+json', 'User-Agent': `promfence/${VERSION}` };
    const req = u.protocol === 'https:'
      ? https.request(u, { method: 'GET', headers, agent: false, minVersion: 'TLSv1.2', ...(options.ca !== undefined ? { ca: options.ca } : {}) })
      : http.request(u, { method: 'GET', headers, agent: false });
    const finish = (err: KeyFetchError | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) {
        req.destroy();
        reject(err);
      } else resolve(value);
    };
    const timer = setTimeout(() => finish(new KeyFetchError('timeout', `GET ${url}: no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    timer.unref();
    const onAbort = (): void => finish(new KeyFetchError('aborted', `GET ${url}: aborted`));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => finish(new KeyFetchError('network', `GET ${url}: ${err.code ?? ''} ${err.message}`.replace(/: +/, ': '), { cause: err })));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        const where = res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400 ? ' (redirects are not followed)' : '';
        return finish(new KeyFetchError('http_status', `GET ${url}: answered ${String(res.statusCode)}${where}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) return finish(new KeyFetchError('too_large', `GET ${url}: answer larger than ${maxBytes} bytes`));
        chunks.push(c);
      });
      res.on('error', (err) => finish(new KeyFetchError('network', `GET ${url}: ${err.message}`, { cause: err })));
      res.on('end', () => {
        let value: unknown;
        try {
          value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (err) {
          return finish(new KeyFetchError('invalid_json', `GET ${url}: the answer is not JSON`, { cause: err }));
        }
        finish(undefined, value);
      });
    });
    req.end();
  });
}
