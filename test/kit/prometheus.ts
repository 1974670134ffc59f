/**
 * Test kit: a real Prometheus (Debian's `prometheus` 2.42 package) over backfilled
 * fruit/veggie data, started per test file and stopped in `after()`.
 *
 * ```ts
 * const prom = await startPrometheus({ tenants: ['team-fruit'] });
 * after(() => prom.stop());
 * const res = await promPost(prom.url, '/api/v1/query', { query: 'up', time: String(prom.dataEnd) });
 * ```
 *
 * Data: scripts/generate-data.ts → `promtool tsdb create-blocks-from openmetrics` (blocks
 * cached per generator options for the life of the process) → a fresh copy of the blocks
 * per Prometheus, so instances never share a storage dir. Prometheus runs in its own
 * process group under a watchdog that stops it when this process dies (even by SIGKILL);
 * stop() kills the group; leftovers are killed on process exit.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup, spawnWatched } from '../../scripts/demo-process.ts';
import { generateOpenMetrics } from '../../scripts/generate-data.ts';

/** Paths of the two binaries. Override with PROMETHEUS_BIN / PROMTOOL_BIN. */
export interface PrometheusBinaries {
  readonly prometheus: string;
  readonly promtool: string;
}

/**
 * Finds `prometheus` and `promtool` (default /usr/bin, overridable with PROMETHEUS_BIN and
 * PROMTOOL_BIN).
 *
 * @throws Error naming `apt-get install prometheus` when either is missing
 */
export function requirePrometheus(): PrometheusBinaries {
  const prometheus = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';
  const promtool = process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';
  const missing = [prometheus, promtool].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `real-Prometheus tests need Debian's prometheus package (prometheus + promtool 2.42); missing: ${missing.join(', ')}. ` +
        'Install it with `apt-get install -y prometheus` (or run `bash scripts/ensure-packages.sh`), ' +
        'or point PROMETHEUS_BIN / PROMTOOL_BIN at the binaries.',
    );
  }
  return { prometheus, promtool };
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** Options of {@link startPrometheus}. */
export interface StartPrometheusOptions {
  /** OpenMetrics text to backfill instead of generated data (then give `end` = its last sample time). */
  readonly openMetrics?: string;
  /** Last sample, unix seconds. Default: now rounded down to the step. */
  readonly end?: number;
  /** Hours of data. Default 6. */
  readonly hours?: number;
  /** Seconds between samples. Default 15. */
  readonly stepSeconds?: number;
  /** Generate only these tenants' series (and no untenanted platform series). Default: all tenants + platform. */
  readonly tenants?: readonly string[];
  /**
   * Keep only the generated series this admits (an access policy's oracle data); `key` names
   * the filter in the block cache. Default: every series.
   */
  readonly filter?: { readonly key: string; readonly admits: (labels: Readonly<Record<string, string>>) => boolean };
}

/** A running Prometheus. */
export interface RunningPrometheus {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Port it listens on (127.0.0.1). */
  readonly port: number;
  /** Time of the last sample, unix seconds: instant queries at this time see every series. */
  readonly dataEnd: number;
  /** Time of the first sample, unix seconds. */
  readonly dataStart: number;
  /** Stops Prometheus (SIGTERM to its process group, SIGKILL after 10 s) and removes its data dir. Idempotent. */
  stop(): Promise<void>;
}

let cacheRoot: string | undefined;
const blockCache = new Map<string, string>();
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
    if (cacheRoot !== undefined) rmSync(cacheRoot, { recursive: true, force: true });
  });
}

/**
 * Backfills OpenMetrics text into TSDB blocks with `promtool tsdb create-blocks-from openmetrics`.
 *
 * @param openMetrics the text (must end with `# EOF`)
 * @param dir output directory (created by promtool)
 * @throws Error with promtool's output when it fails
 */
export function backfill(openMetrics: string, dir: string, bins: PrometheusBinaries = requirePrometheus()): void {
  const file = dir + '.om';
  writeFileSync(file, openMetrics);
  const res = spawnSync(bins.promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, dir], { encoding: 'utf8', timeout: 120_000 });
  rmSync(file, { force: true });
  if (res.status !== 0) {
    throw new Error(`promtool tsdb create-blocks-from openmetrics failed (exit ${String(res.status)}): ${res.stderr}${res.stdout}`);
  }
}

/** The process's kit directory: cached blocks and every Prometheus' work dir live under it. */
function kitRoot(): string {
  installExitHook();
  cacheRoot ??= mkdtempSync(join(tmpdir(), 'promfence-kit-'));
  return cacheRoot;
}

function blocksFor(key: string, make: () => string, bins: PrometheusBinaries): string {
  const hit = blockCache.get(key);
  if (hit !== undefined) return hit;
  kitRoot();
  const dir = join(kitRoot(), `blocks-${blockCache.size}`);
  backfill(make(), dir, bins);
  blockCache.set(key, dir);
  return dir;
}

/** Stops a watched child's process group: SIGTERM, SIGKILL after 10 s; resolves once it exited. */
export async function stopGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Result of {@link promPost}: HTTP status and the parsed JSON envelope. */
export interface PromResponse {
  readonly httpStatus: number;
  readonly body: { status: 'success' | 'error'; data?: unknown; errorType?: string; error?: string; warnings?: string[] };
}

/**
 * POSTs a form to a Prometheus API path (`/api/v1/query`, …) and parses the JSON answer.
 *
 * @param base base URL (`http://127.0.0.1:9090`)
 * @param path API path starting with `/`
 * @param params form fields (repeat a key with an array)
 * @param headers extra request headers
 */
export async function promPost(base: string, path: string, params: Record<string, string | readonly string[]>, headers: Record<string, string> = {}): Promise<PromResponse> {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === 'string') form.append(k, v);
    else for (const x of v) form.append(k, x);
  }
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form.toString(),
  });
  const text = await res.text();
  let body: PromResponse['body'];
  try {
    body = JSON.parse(text) as PromResponse['body'];
  } catch {
    body = { status: 'error', errorType: 'not_json', error: text.slice(0, 500) };
  }
  return { httpStatus: res.status, body };
}

/**
 * Starts Prometheus 2.42 on a free loopback port over generated (or given) data and waits
 * until `/-/ready` answers and `count({__name__=~".+"})` at `dataEnd` is positive.
 *
 * The end time defaults to now (rounded down to the step) so backfilled blocks are inside
 * retention (retention is relative to the newest block anyway; 10 years is configured).
 *
 * @throws Error when the binaries are missing, backfill fails, or Prometheus is not ready within 60 s
 */
export async function startPrometheus(opts: StartPrometheusOptions = {}): Promise<RunningPrometheus> {
  const bins = requirePrometheus();
  const step = opts.stepSeconds ?? 15;
  const hours = opts.hours ?? 6;
  const end = Math.floor((opts.end ?? Date.now() / 1000) / step) * step;
  const key = opts.openMetrics !== undefined
    ? 'om:' + opts.openMetrics
    : JSON.stringify({ end, hours, step, tenants: opts.tenants ?? null, filter: opts.filter?.key ?? null });
  const blocks = blocksFor(
    key,
    () => opts.openMetrics ?? generateOpenMetrics({ end, hours, stepSeconds: step, ...(opts.tenants ? { tenants: opts.tenants } : {}), ...(opts.filter ? { filter: opts.filter.admits } : {}) }),
    bins,
  );
  const dataStart = end - Math.floor((hours * 3600) / step) * step;

  const root = kitRoot();
  const work = mkdtempSync(join(root, 'prom-'));
  const storage = join(work, 'data');
  cpSync(blocks, storage, { recursive: true });
  const config = join(work, 'prometheus.yml');
  // No scrape targets: the TSDB holds only the backfilled data.
  writeFileSync(config, 'global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n');

  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawnWatched(
      bins.prometheus,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${storage}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=3650d',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
      root, // removed by the watchdog if this process dies without stopping Prometheus
    );
    installExitHook();
    running.add(child);
    // A test that forgets stop() must not hang on this child: the exit hook (and the
    // watchdog) stop Prometheus when the process ends.
    child.unref();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    let log = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      log = (log + d).slice(-8000);
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => running.delete(child));
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (!stopped) {
        stopped = true;
        await stopGroup(child, exited);
      }
      rmSync(work, { recursive: true, force: true });
    };
    const ready = await waitReady(url, end, () => child.exitCode !== null || child.signalCode !== null);
    if (ready === 'ok') return { url, port, dataEnd: end, dataStart, stop };
    lastError = `${ready}; prometheus log: ${log}`;
    stopped = true;
    killGroup(child, 'SIGKILL');
    await exited;
    // A port taken between findFreePort and bind: retry with another one.
  }
  rmSync(work, { recursive: true, force: true });
  throw new Error(`Prometheus did not start: ${lastError}`);
}

async function waitReady(url: string, time: number, dead: () => boolean): Promise<string> {
  const deadline = Date.now() + 60_000;
  let phase = 'ready';
  while (Date.now() < deadline) {
    if (dead()) return `exited while waiting for ${phase}`;
    try {
      if (phase === 'ready') {
        const r = await fetch(url + '/-/ready');
        await r.arrayBuffer();
        if (r.ok) phase = 'data';
      }
      if (phase === 'data') {
        const r = await promPost(url, '/api/v1/query', { query: 'count({__name__=~".+"})', time: String(time) });
        const data = r.body.data as { result?: Array<{ value: [number, string] }> } | undefined;
        const n = Number(data?.result?.[0]?.value[1] ?? 0);
        if (r.body.status === 'success' && n > 0) return 'ok';
      }
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  return `timed out waiting for ${phase}`;
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight; results in input order.
 */
export async function mapPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
