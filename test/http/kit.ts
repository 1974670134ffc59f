/**
 * Test kit of the HTTP layer: a recording upstream (a real node:http server), a base
 * configuration, and small fakes for authentication and the PromQL engine so the gateway's
 * wiring is tested independently of the engine's rewriting.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { RequestHandler } from 'express';
import { describePolicy, principal, type AccessPolicy } from '../../src/access/index.ts';
import type { Config } from '../../src/config/types.ts';
import type { PolicyOptions, PrepareOptions, Prepared, TextKind } from '../../src/enforce/index.ts';
import { HttpError } from '../../src/http/errors.ts';
import { state } from '../../src/http/state.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import { PromQLError } from '../../src/promql/errors.ts';

/** What the upstream received. */
export interface Recorded {
  method: string;
  url: string;
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  /** The body's bytes (binary bodies: remote read). */
  bytes: Buffer;
}

/** A responder: writes the upstream's answer. */
export type Responder = (req: http.IncomingMessage, res: http.ServerResponse, rec: Recorded) => void;

/** The canned Prometheus success answer. */
export const CANNED = '{"status":"success","data":{"resultType":"vector","result":[]}}';

export const cannedResponder: Responder = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(CANNED);
};

/** A recording upstream on 127.0.0.1:0. */
export interface RecordingUpstream {
  url: string;
  requests: Recorded[];
  responder: Responder;
  /** Requests whose client connection closed before the response ended. */
  aborted: number;
  close(): Promise<void>;
}

export async function startUpstream(responder: Responder = cannedResponder): Promise<RecordingUpstream> {
  const up: RecordingUpstream = {
    url: '',
    requests: [],
    responder,
    aborted: 0,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const rec: Recorded = {
        method: req.method ?? '',
        url,
        path: q < 0 ? url : url.slice(0, q),
        query: q < 0 ? '' : url.slice(q + 1),
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
        bytes: Buffer.concat(chunks),
      };
      up.requests.push(rec);
      res.on('close', () => {
        if (!res.writableFinished) up.aborted++;
      });
      up.responder(req, res, rec);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return up;
}

/** A base configuration (label mode, fixed syntax so no buildinfo probe runs). */
export function testConfig(upstreamUrl: string, patch: (c: Config) => void = () => {}): Config {
  const c: Config = {
    server: {
      listen: '127.0.0.1:0', internal_listen: undefined, max_header_bytes: 16384, max_request_target_bytes: 262144, max_pipelined_requests: 16,
      watch_config: false, shutdown_timeout_ms: 10_000, headers_timeout_ms: 10_000, request_timeout_ms: 30_000, idle_timeout_ms: 5000, ready_probe_interval_ms: 10_000, cors_allowed_origins: [],
    },
    upstreams: { prometheus: { url: upstreamUrl, timeout_ms: 5000, bearer_token: undefined } },
    enforce: { label: 'tenant', mode: 'label', header: 'X-Scope-OrgID', select_param: 'tenant', select_header: 'X-Promfence-Tenant', reject_foreign_tenant: true, label_policy_header: false },
    promql: { syntax: 'prometheus3', max_query_bytes: 32768, cache_size: 0, cache_max_bytes: 1 << 20, max_enforced_bytes: 262144 },
    limits: {
      max_body_bytes: 4096, max_match_params: 3, max_filtered_response_bytes: 1 << 20,
      max_points: 11_000, max_range_ms: 0, max_tenants: 0, rate: undefined, tenant_rate: undefined, max_inflight_per_subject: 0, store: 'memory', redis: undefined,
    },
    auth: { realm: 'promfence', providers: [] },
    access: {
      subjects: {
        alice: ['team-fruit'],
        tom: ['team-fruit', 'team-veggie'],
        ops: ['*'],
        nobody: [],
        weird: ['team|x'],
      },
      groups: {},
      label_policies: { subjects: {}, groups: {} },
      trust_label_policy_header: [],
    },
    log: { level: 'info', audit: true, audit_file: undefined },
  };
  patch(c);
  return c;
}

/**
 * Fake authentication: `Authorization: Bearer <subject>-token` authenticates `<subject>`;
 * anything else is 401 with WWW-Authenticate; `access_token` in the URL is 400.
 */
export const fakeAuth: RequestHandler = function fakeAuth(req, res, next) {
  if (/[?&]access_token=/.test(req.url)) return next(new HttpError('credentials_in_url', 'access_token in the URL'));
  const m = /^Bearer ([a-z]+)-token$/.exec(req.headers.authorization ?? '');
  if (!m) return next(new HttpError('unauthenticated', 'authentication required', { headers: { 'WWW-Authenticate': 'Bearer realm="promfence"' } }));
  state(res).principal = principal(m[1] as string, 'bearer_tokens');
  return next();
};

/** One call the fake engine saw. */
export interface EngineCall {
  fn: 'query' | 'selector';
  input: string;
  tenants: string;
  syntax: string;
}

/** The two engine steps the gateway calls (src/enforce `Enforcer`). */
export interface FakeEnforcer {
  calls: EngineCall[];
  prepare(kind: TextKind, text: string, opts: PrepareOptions): Prepared;
  apply(prepared: Prepared, policy: AccessPolicy, opts?: PolicyOptions): string;
}

/**
 * Fake engine: a query `q` enforced for tenants `t` prints `E[t](q)`, a selector `S[t](s)`
 * (`*` for unrestricted). Input containing `!!` is a parse_error and `BOOM` an
 * internal_error (both in the validation step), `CRASH` a plain Error, `FOREIGN` a
 * forbidden_tenant (policy step). One call is recorded per enforced text.
 */
export function fakeEnforcer(calls: EngineCall[] = []): FakeEnforcer {
  return {
    calls,
    prepare(kind, text, opts) {
      if (text.includes('!!')) throw new PromQLError('parse_error', '1:1: parse error: unexpected character "!"');
      if (text.includes('BOOM')) throw new PromQLError('internal_error', 'self-check failed: secret details');
      return { kind, text, syntax: opts.syntax, maxQueryBytes: opts.maxQueryBytes ?? 32768, tree: undefined, subqueries: [] };
    },
    apply(p, policy) {
      const tenants = describePolicy(policy);
      calls.push({ fn: p.kind, input: p.text, tenants, syntax: p.syntax });
      if (p.text.includes('CRASH')) throw new Error('engine crashed with secret details');
      if (p.text.includes('FOREIGN')) throw new PromQLError('forbidden_tenant', 'tenant "other" is not granted');
      return p.kind === 'query' ? `E[${tenants}](${p.text})` : `S[${tenants}](${p.text})`;
    },
  };
}

/** A logger whose JSON lines are collected in `lines`. */
export function captureLogger(level: 'debug' | 'info' = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  let buf = '';
  stream.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  return { logger: createLogger(level, { stream }), lines };
}

/** Parses a form/query string into ordered pairs (test-side decoder, WHATWG rules). */
export function pairs(s: string): Array<[string, string]> {
  return [...new URLSearchParams(s)];
}

/** Waits until `cond()` or fails after `ms`. */
export async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends a raw HTTP request (exact bytes) and returns the raw response text. */
export async function rawRequest(url: string, raw: string | Buffer): Promise<string> {
  const { port, hostname } = new URL(url);
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () => sock.write(raw));
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(e)));
  });
}

/** Sends one request with exactly these headers (no client library defaults) to an app on an ephemeral port. */
export async function plainRequest(
  app: http.RequestListener,
  opts: { method: string; path: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: opts.method, path: opts.path, headers: opts.headers ?? {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      if (opts.body !== undefined) req.end(opts.body);
      else req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** One HTTP/1.x response read off a raw connection. */
export interface RawResponse {
  status: number;
  head: string;
  headers: Map<string, string[]>;
  body: string;
}

/** Splits every HTTP/1.1 response on a raw connection (Content-Length or chunked bodies). */
export function parseRawResponses(raw: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.')) {
    const i = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, i);
    rest = rest.slice(i + 4);
    const headers = new Map<string, string[]>();
    for (const line of head.split('\r\n').slice(1)) {
      const c = line.indexOf(':');
      const k = line.slice(0, c).trim().toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), line.slice(c + 1).trim()]);
    }
    let body = '';
    if (headers.get('transfer-encoding')?.[0] === 'chunked') {
      for (;;) {
        const e = rest.indexOf('\r\n');
        const n = Number.parseInt(rest.slice(0, e), 16);
        rest = rest.slice(e + 2);
        if (n === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, n);
        rest = rest.slice(n + 2);
      }
    } else {
      const n = Number(headers.get('content-length')?.[0] ?? rest.length);
      body = rest.slice(0, n);
      rest = rest.slice(n);
    }
    out.push({ status: Number(head.slice(9, 12)), head, headers, body });
  }
  return out;
}
