/**
 * Test kit: one HTTPS request with full control of the TLS client side (trusted CA, client
 * certificate, TLS versions, local source address) — what `fetch` cannot set.
 */
import https from 'node:https';
import type { PeerCertificate, SecureVersion, TLSSocket } from 'node:tls';

/** Options of {@link httpsRequest}. */
export interface HttpsRequestOptions {
  /** CA bundle the server certificate must chain to. */
  readonly ca: string;
  /** Client certificate and key (PEM). */
  readonly cert?: string;
  readonly key?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly method?: string;
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  /** Source address of the connection (e.g. `127.0.0.2`, another loopback address). */
  readonly localAddress?: string;
  /** A keep-alive agent to reuse a connection across requests (default: a new connection). */
  readonly agent?: https.Agent;
  /** Request body (set `content-type` in `headers`). */
  readonly body?: string;
}

/** The answer, with the certificate the server presented. */
export interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly serverCert: PeerCertificate;
}

/**
 * Sends one request; rejects when the connection or handshake fails (a refused client
 * certificate, a TLS version the server does not accept).
 */
export function httpsRequest(url: string, options: HttpsRequestOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: options.method ?? 'GET',
      ca: options.ca,
      ...(options.cert !== undefined ? { cert: options.cert, key: options.key } : {}),
      ...(options.minVersion !== undefined ? { minVersion: options.minVersion } : {}),
      ...(options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {}),
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      headers: options.headers ?? {},
      agent: options.agent ?? false,
    }, (res) => {
      const serverCert = (res.socket as TLSSocket).getPeerCertificate();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), serverCert }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('httpsRequest: no answer in 20 s (hang guard)')));
    req.end(options.body);
  });
}
