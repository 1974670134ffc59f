/**
 * The upstream client (framework-free, node:http/https): one per named upstream, with its
 * base URL parsed once, its credential header built once and a keep-alive agent.
 *
 * It sends exactly what a {@link ForwardPlan} says (docs/security.md invariants 1 and 5):
 * - path: the upstream's path prefix + the plan's canonical path
 *   (`http://mimir/prometheus` → `/prometheus/api/v1/query`);
 * - GET/DELETE: the query string re-encoded from the plan's parameters; POST without a
 *   built body: the parameters as an `application/x-www-form-urlencoded` body with its
 *   exact `Content-Length` and an empty URL query (Go merges both, so one place is enough and
 *   there is nothing to disagree with); POST with a built body: that body, parameters in the URL;
 * - headers: the header policy's allow-list of client headers (./headers.ts), `Host` (the
 *   URL's, or `upstream.host`), `X-Request-Id`, the upstream credential (bearer or basic),
 *   the static `upstream.headers`, the plan's tenancy headers (which win). Nothing else.
 * - TLS (https): `upstream.tls` CA bundle, client certificate, server name, verification.
 *
 * Timeouts: no response head within `timeoutMs` → the request is destroyed and
 * {@link UpstreamClient.send} rejects with 504 `upstream_timeout`; after the head, an idle gap
 * longer than `timeoutMs` destroys the response stream (the relay cuts the client).
 *
 * Why node:http and not http-proxy-middleware: promfence never pipes the client's request
 * (it rebuilds it from parsed values) and validates or filters every answer before writing
 * it, so a proxy middleware's work (copying requests, rewriting headers and paths, piping)
 * is unused, while a plain client keeps the relay framework-free and lets it buffer and
 * filter answers (rules, alerts, metadata). See docs/architecture.md.
 */
import http from 'node:http';
import https from 'node:https';
import tls, { type PeerCertificate } from 'node:tls';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ForwardPlan, UpstreamName } from '../routes/types.ts';
import { encodeForm } from '../http/params.ts';
import { HttpError } from '../http/errors.ts';
import { TIMEOUT_CODE, networkError } from './errors.ts';
import { forwardedClientHeaders } from './headers.ts';

/** What a named upstream is (from `config.upstreams`). */
export interface UpstreamSpec {
  /** Its name in routes and logs. */
  readonly name: UpstreamName;
  /** Base URL, http(s), may carry a path prefix; no trailing `/`, query or credentials. */
  readonly url: string;
  /** Request timeout in ms (response head, then idle gaps while streaming). */
  readonly timeoutMs: number;
  /** Bearer token promfence sends upstream (never the client's), if any. */
  readonly bearerToken: string | undefined;
  /** HTTP basic credentials sent upstream instead of a bearer token, if any. */
  readonly basicAuth?: { readonly username: string; readonly password: string } | undefined;
  /** TLS settings of an https upstream (PEM texts). */
  readonly tls?: { readonly ca: string | undefined; readonly cert: string | undefined; readonly key: string | undefined; readonly server_name: string | undefined; readonly insecure_skip_verify: boolean } | undefined;
  /** Static headers sent with every request (plan headers win on a clash). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `Host` header (default the URL's host); also the TLS server name unless `tls.server_name`. */
  readonly host?: string | undefined;
}

/**
 * What {@link UpstreamClient.send} reads of an abort signal. An `AbortSignal` is one; the
 * gateway passes a lighter object per request (an AbortController and its EventTarget cost
 * ~2 % of a proxied request, issue #10).
 */
export interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Per-request inputs of {@link UpstreamClient.send}. */
export interface SendOptions {
  /** promfence's request id, sent as `X-Request-Id`. */
  readonly requestId: string;
  /** The client's headers; only the allow-list is read. */
  readonly clientHeaders: IncomingHttpHeaders;
  /** Aborts the upstream request (the client went away): an AbortSignal or a lighter {@link AbortLike}. */
  readonly signal?: AbortLike;
  /** Overrides the client's `Accept-Encoding` (filtered answers ask for what the relay can decode). */
  readonly acceptEncoding?: string;
}

/** One upstream. */
export interface UpstreamClient {
  readonly spec: UpstreamSpec;
  /** The parsed base URL. */
  readonly base: URL;
  /** The exact header set and request line for a plan (tests and the audit use it). */
  build(plan: ForwardPlan, opts: SendOptions): { path: string; headers: Record<string, string>; body: Buffer | undefined };
  /**
   * Sends a plan; resolves with the upstream's response once its head arrived.
   *
   * @throws HttpError 504 `upstream_timeout`, 502 `upstream_unavailable` (refused, reset,
   *   unreachable), 499-like `bad_request` when aborted by `signal`
   */
  send(plan: ForwardPlan, opts: SendOptions): Promise<IncomingMessage>;
  /** Destroys the keep-alive sockets (shutdown, reload). */
  close(): void;
}

/** The https agent's TLS options of `upstream.tls` and `upstream.host`. */
function tlsOptions(spec: UpstreamSpec): https.AgentOptions {
  const t = spec.tls;
  const hostOnly = (h: string) => (h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.replace(/:\d+$/, ''));
  const servername = t?.server_name !== undefined ? hostOnly(t.server_name) : spec.host !== undefined ? hostOnly(spec.host) : undefined;
  return {
    ...(t?.ca !== undefined ? { ca: t.ca } : {}),
    ...(t?.cert !== undefined ? { cert: t.cert, key: t.key } : {}),
    ...(servername !== undefined && !/^[0-9.]+$|:/.test(servername) ? { servername } : {}),
    ...(servername !== undefined ? { checkServerIdentity: (_host: string, cert: PeerCertificate) => tls.checkServerIdentity(servername, cert) } : {}),
    ...(t?.insecure_skip_verify === true ? { rejectUnauthorized: false } : {}),
  };
}

/**
 * Creates the client of one upstream.
 *
 * @param spec the upstream (see {@link UpstreamSpec}); validated by the config schema
 * @throws TypeError when `spec.url` is not an http(s) URL (a configuration bug)
 */
export function createUpstreamClient(spec: UpstreamSpec): UpstreamClient {
  const base = new URL(spec.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError(`upstream ${spec.name}: URL must be http or https, got ${base.protocol}`);
  const prefix = base.pathname.replace(/\/+$/, '');
  const transport = base.protocol === 'https:' ? https : http;
  const agent = base.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...tlsOptions(spec) }) : new http.Agent({ keepAlive: true });
  const fixed: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers ?? {})) fixed[name.toLowerCase()] = value;
  fixed.host = spec.host ?? base.host;
  if (spec.bearerToken !== undefined) fixed.authorization = `Bearer ${spec.bearerToken}`;
  else if (spec.basicAuth !== undefined) fixed.authorization = `Basic ${Buffer.from(`${spec.basicAuth.username}:${spec.basicAuth.password}`, 'utf8').toString('base64')}`;
  const port = base.port === '' ? undefined : Number(base.port);
  const hostname = base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname;

  const build: UpstreamClient['build'] = (plan, opts) => {
    const formBody = plan.method === 'POST' && plan.body === undefined;
    const query = formBody || plan.params.length === 0 ? '' : `?${encodeForm(plan.params)}`;
    const body = plan.body !== undefined ? plan.body.data : formBody ? Buffer.from(encodeForm(plan.params), 'utf8') : undefined;
    const headers: Record<string, string> = { ...forwardedClientHeaders(opts.clientHeaders), ...fixed, 'x-request-id': opts.requestId, ...plan.headers };
    if (opts.acceptEncoding !== undefined) headers['accept-encoding'] = opts.acceptEncoding;
    if (body !== undefined) {
      headers['content-type'] = plan.body?.contentType ?? 'application/x-www-form-urlencoded';
      headers['content-length'] = String(body.length);
    }
    return { path: prefix + plan.path + query, headers, body };
  };

  return {
    spec,
    base,
    build,
    send(plan, opts) {
      const { path, headers, body } = build(plan, opts);
      return new Promise<IncomingMessage>((resolve, reject) => {
        if (opts.signal?.aborted) {
          reject(new HttpError('bad_request', 'the client closed the connection before the request was sent upstream'));
          return;
        }
        const req = transport.request({ protocol: base.protocol, hostname, port, method: plan.method, path, headers, agent, setHost: false });
        let settled = false;
        const fail = (err: HttpError) => {
          if (settled) return;
          settled = true;
          reject(err);
        };
        const timeoutError = () => Object.assign(new Error(`upstream did not answer within ${spec.timeoutMs} ms`), { code: TIMEOUT_CODE });
        const timer = setTimeout(() => req.destroy(timeoutError()), spec.timeoutMs);
        const onAbort = () => req.destroy(Object.assign(new Error('client went away'), { code: 'PROMFENCE_CLIENT_GONE' }));
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        req.once('response', (res) => {
          clearTimeout(timer);
          settled = true;
          // Idle gaps while the answer streams: cut it (the relay turns that into a cut client).
          res.setTimeout(spec.timeoutMs, () => res.destroy(timeoutError()));
          // A stream destroyed with an error emits 'error': the relay reacts to 'close' and
          // `complete`, so the error itself needs no handling beyond not crashing the process.
          res.on('error', () => {});
          res.once('close', () => opts.signal?.removeEventListener('abort', onAbort));
          resolve(res);
        });
        req.once('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          if (err.code === 'PROMFENCE_CLIENT_GONE') fail(new HttpError('bad_request', 'the client closed the connection while waiting for the upstream', { cause: err }));
          else fail(networkError(err, spec.name, spec.timeoutMs));
        });
        req.end(body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
