/**
 * Kit of the operations tests: a YAML configuration in front of a recording upstream, the
 * gateway process started in-process with src/runtime.ts, and the metrics read back with a
 * Prometheus text parser.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { killGroup, spawnWatched } from '../../scripts/demo-process.ts';
import { findFreePort, requirePrometheus } from '../kit/prometheus.ts';
import { cannedResponder, startUpstream, type RecordingUpstream } from '../http/kit.ts';
import { loadConfig, parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import type { Logger } from '../../src/observability/logger.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { runGateway, type RunningGateway } from '../../src/runtime.ts';

/** One configured bearer-token subject. */
export interface OpsUser {
  readonly token: string;
  readonly tenants: readonly string[];
}

/**
 * A complete YAML configuration: both listeners on free ports, `promql.syntax: prometheus3`
 * (no dialect probe), the given users, and `extra` appended as more top-level sections
 * (`server:` keys go through `serverExtra`).
 */
export function opsYaml(upstreamUrl: string, users: Readonly<Record<string, OpsUser>>, opts: { serverExtra?: string; extra?: string } = {}): string {
  const q = (s: string) => JSON.stringify(s);
  const entries = Object.entries(users);
  return [
    'server:',
    '  listen: "127.0.0.1:0"',
    '  internal_listen: "127.0.0.1:0"',
    '  ready_probe_interval: 100ms',
    ...(opts.serverExtra ? opts.serverExtra.split('\n').map((l) => `  ${l}`) : []),
    'upstream:',
    `  url: ${q(upstreamUrl)}`,
    '  timeout: 10s',
    'promql:',
    '  syntax: prometheus3',
    'auth:',
    '  bearer_tokens:',
    ...entries.map(([s, u]) => `    - { subject: ${q(s)}, token: ${q(u.token)} }`),
    'access:',
    '  subjects:',
    ...entries.map(([s, u]) => `    ${q(s)}: [${u.tenants.map(q).join(', ')}]`),
    opts.extra ?? '',
  ].join('\n') + '\n';
}

/** A temporary directory with a config file; `write()` replaces the file's content. */
export function configDir(yaml: string): { dir: string; path: string; write(y: string): void; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'promfence-ops-'));
  const path = join(dir, 'promfence.yaml');
  writeFileSync(path, yaml);
  return { dir, path, write: (y) => writeFileSync(path, y), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the gateway in-process from a config file (reloads read the file again). */
export async function runFromFile(path: string, logger: Logger = silentLogger()): Promise<RunningGateway> {
  const config = await loadConfig(path);
  return runGateway(config, { logger, configPath: path, load: () => loadConfig(path), defaultMetrics: false, auditLogger: silentLogger() });
}

/** Starts the gateway in-process from YAML text. */
export function runFromYaml(yaml: string, logger: Logger = silentLogger()): Promise<RunningGateway> {
  const config: Config = parseConfig(yaml, { baseDir: process.cwd(), env: {} });
  return runGateway(config, { logger, defaultMetrics: false, auditLogger: silentLogger() });
}

/** One sample of a parsed exposition. */
export interface MetricSample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/**
 * The parsed `/metrics` exposition: family name → samples. Counters and gauges only:
 * parse-prometheus-text-format 1.1.1 flattens labelled histograms into one sample, so
 * histograms are read through a scraping Prometheus ({@link startScrapingPrometheus}).
 */
export type Metrics = Map<string, { type: string; samples: MetricSample[] }>;

/** GETs `<internalUrl>/metrics` and parses it with parse-prometheus-text-format. */
export async function scrape(internalUrl: string): Promise<{ text: string; metrics: Metrics }> {
  const res = await fetch(`${internalUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  const metrics: Metrics = new Map();
  for (const f of parsePrometheusTextFormat(text)) {
    if (f.type === 'HISTOGRAM' || f.type === 'SUMMARY') continue;
    metrics.set(f.name, {
      type: f.type,
      samples: f.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })),
    });
  }
  return { text, metrics };
}

/** The value of the sample of `name` whose labels include `labels` (0 when absent). */
export function valueOf(metrics: Metrics, name: string, labels: Record<string, string> = {}): number {
  const f = metrics.get(name);
  if (f === undefined) return 0;
  let sum = 0;
  for (const s of f.samples) {
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Sends a bearer-authenticated GET and returns status, headers and parsed JSON (or text). */
export async function get(url: string, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown>; text: string }> {
  const res = await fetch(url, { headers: { ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }), ...headers } });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A Prometheus 2.42 that scrapes given targets every second (a real parser of our exposition). */
export interface ScrapingPrometheus {
  readonly url: string;
  /** Instant query at now; the vector's samples. */
  query(q: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's Prometheus scraping `targets` (`host:port`, path `/metrics`) every second,
 * job `promfence`, and waits until each target was scraped once with `up == 1`.
 */
export async function startScrapingPrometheus(targets: readonly string[]): Promise<ScrapingPrometheus> {
  const bins = requirePrometheus();
  const dir = mkdtempSync(join(tmpdir(), 'promfence-scrape-'));
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(cfg, [
    'global: { scrape_interval: 1s, scrape_timeout: 900ms }',
    'scrape_configs:',
    '  - job_name: promfence',
    `    static_configs: [{ targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
  ].join('\n') + '\n');
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnWatched(bins.prometheus, [`--config.file=${cfg}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'ignore'] }, dir);
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const t = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
    rmSync(dir, { recursive: true, force: true });
  };
  const query = async (q: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const end = Date.now() + 60_000;
  for (;;) {
    try {
      const upRes = await query('up{job="promfence"} == 1');
      if (upRes.length === targets.length) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > end || child.exitCode !== null) {
      await stop();
      throw new Error('Prometheus did not scrape promfence within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, query, stop };
}

/** A recording upstream that holds every request whose query contains `slow` until {@link HoldingUpstream.release}. */
export interface HoldingUpstream {
  readonly upstream: RecordingUpstream;
  /** Requests held so far and not released. */
  held(): number;
  /** Answers every held request (canned answers). */
  release(): void;
}

/** Starts a {@link HoldingUpstream} (canned answers for everything else). */
export async function startHoldingUpstream(): Promise<HoldingUpstream> {
  const held: Array<() => void> = [];
  const upstream = await startUpstream((req, res, rec) => {
    if (rec.query.includes('slow')) held.push(() => cannedResponder(req, res, rec));
    else cannedResponder(req, res, rec);
  });
  return {
    upstream,
    held: () => held.length,
    release: () => {
      for (const h of held.splice(0)) h();
    },
  };
}
