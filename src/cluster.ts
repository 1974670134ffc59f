/**
 * `server.workers`: several worker processes (node:cluster) serving the public listeners,
 * so one gateway uses every core (issue #10).
 *
 * The primary process serves no request itself. It:
 * - forks the workers (each runs `promfence serve` with the same arguments, see
 *   src/commands/serve.ts, and has its own caches: enforcement, JWT, basic credentials,
 *   the limiter's memory store) and forks a new one when a worker dies unexpectedly;
 * - hosts the internal listener (`server.internal_listen`): `/metrics` aggregates every
 *   worker's registry with prom-client's `AggregatorRegistry` (counters and histograms
 *   summed; gauges per their `aggregator`), plus `promfence_workers`; `/-/ready` is 200 while
 *   every worker reports ready; `POST /-/reload` reloads every worker;
 * - passes SIGHUP (and `server.watch_config` changes) on as a reload of every worker: it
 *   validates the file first, then each worker loads it and swaps its application, and the
 *   reload succeeds when every worker's did;
 * - on SIGINT/SIGTERM asks every worker to shut down gracefully (readiness 503, drain up to
 *   `server.shutdown_timeout`), waits for them, and exits 0; a second signal cuts the
 *   remaining connections at once.
 *
 * Node's cluster module shares the listening sockets: the primary accepts connections and
 * hands them to the workers in turn (round robin), so one keep-alive connection stays on one
 * worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry, Gauge, Registry } from 'prom-client';
import type { Config } from './config/types.ts';
import { startInternalServer, type InternalServer, type ReloadResult } from './internal.ts';
import type { Logger } from './observability/logger.ts';
import type { ReadyState } from './observability/readiness.ts';
import { watchFile, type FileWatch } from './runtime.ts';

/** Messages between the primary and a worker (IPC, `process.send`). */
export type ClusterMessage =
  | { readonly type: 'promfence:ready'; readonly state: ReadyState }
  | { readonly type: 'promfence:reload'; readonly id: number; readonly source: string }
  | { readonly type: 'promfence:reloaded'; readonly id: number; readonly result: ReloadResult }
  | { readonly type: 'promfence:shutdown' };

/** How long the primary waits for every worker to answer a reload, ms. */
export const WORKER_RELOAD_TIMEOUT_MS = 60_000;
/** Delay before a worker that died is replaced, ms (a crash loop forks at most once per this). */
export const WORKER_RESTART_DELAY_MS = 1000;

/**
 * The number of worker processes `server.workers` asks for.
 *
 * @param workers `server.workers` (a number, `auto`, or absent = 1)
 * @param cores cores available (default `os.availableParallelism()`)
 * @returns `auto` → `cores`; a number as is; absent → 1
 */
export function workerCount(workers: number | 'auto' | undefined, cores: number = availableParallelism()): number {
  if (workers === 'auto') return Math.max(1, cores);
  return workers ?? 1;
}

function isMessage(m: unknown): m is ClusterMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('promfence:');
}

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  readonly logger: Logger;
  /** Loads and validates the configuration file (a reload); rejects with a ConfigError. */
  readonly load: () => Promise<Config>;
  /** The configuration file (`server.watch_config`). */
  readonly configPath: string;
  /** Worker processes to run (≥ 2). */
  readonly workers: number;
}

/** The running primary. */
export interface RunningPrimary {
  /** The internal listener, when `server.internal_listen` is set. */
  readonly internal: InternalServer | undefined;
  /** Reloads every worker (after validating the file here); one reload at a time. */
  reload(source: string): Promise<ReloadResult>;
  /** Graceful shutdown of every worker; resolves once they all exited. The second call cuts connections. */
  shutdown(): Promise<void>;
}

/**
 * Starts the workers and waits until each one listens.
 *
 * @param config the validated configuration (the workers load the same file themselves)
 * @param opts logger, loader, configuration path, worker count
 * @throws Error when a worker exits before it listens (its own error is on stderr), or the
 *   internal listener cannot listen
 */
export async function runPrimary(config: Config, opts: PrimaryOptions): Promise<RunningPrimary> {
  const { logger } = opts;
  let applied = config;
  let stopping = false;
  const ready = new Map<number, { state: ReadyState; at: number }>();
  const pendingReloads = new Map<number, { results: Map<number, ReloadResult>; expect: Set<number>; done: () => void }>();
  let nextReload = 1;

  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());

  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isMessage(message)) return;
    if (message.type === 'promfence:ready') ready.set(worker.id, { state: message.state, at: Date.now() });
    else if (message.type === 'promfence:reloaded') {
      const p = pendingReloads.get(message.id);
      if (p === undefined) return;
      p.results.set(worker.id, message.result);
      p.expect.delete(worker.id);
      if (p.expect.size === 0) p.done();
    }
  };
  cluster.on('message', onMessage);

  const fork = (): Worker => cluster.fork({ PROMFENCE_WORKER: '1' });

  // Start: every worker must listen, or the start fails (a port in use, a bad file).
  await new Promise<void>((resolve, reject) => {
    let listening = 0;
    const onListening = () => {
      if (++listening === opts.workers) {
        cluster.off('listening', onListening);
        cluster.off('exit', onEarlyExit);
        resolve();
      }
    };
    const onEarlyExit = (w: Worker, code: number | null, signal: string | null) => {
      cluster.off('listening', onListening);
      cluster.off('exit', onEarlyExit);
      for (const other of live()) other.process.kill('SIGKILL');
      reject(new Error(`worker ${w.id} exited before it listened (${signal ?? `exit code ${String(code)}`})`));
    };
    cluster.on('listening', onListening);
    cluster.on('exit', onEarlyExit);
    for (let i = 0; i < opts.workers; i++) fork();
  });
  logger.info('workers started', { workers: opts.workers });

  const exited = new Set<() => void>();
  cluster.on('exit', (w, code, signal) => {
    ready.delete(w.id);
    for (const [, p] of pendingReloads) {
      if (p.expect.delete(w.id)) {
        p.results.set(w.id, { ok: false, errors: [`worker ${w.id} exited during the reload`] });
        if (p.expect.size === 0) p.done();
      }
    }
    if (stopping) {
      if (live().length === 0) for (const f of exited) f();
      return;
    }
    logger.error('worker exited unexpectedly; starting another', { worker: w.id, code, signal });
    setTimeout(() => {
      if (!stopping) fork();
    }, WORKER_RESTART_DELAY_MS).unref();
  });

  const readiness = (): ReadyState => {
    if (stopping) return { ready: false, reason: 'shutting down' };
    const workers = live();
    if (workers.length < opts.workers) return { ready: false, reason: `${workers.length} of ${opts.workers} workers are running` };
    const stale = 3 * applied.server.ready_probe_interval_ms;
    for (const w of workers) {
      const r = ready.get(w.id);
      if (r === undefined) return { ready: false, reason: `worker ${w.id} has not reported its readiness yet` };
      if (!r.state.ready) return { ready: false, reason: `worker ${w.id}: ${r.state.reason}` };
      if (Date.now() - r.at > stale) return { ready: false, reason: `worker ${w.id} has not reported its readiness recently` };
    }
    return { ready: true };
  };

  const reloadWorkers = (source: string): Promise<ReloadResult> => {
    const id = nextReload++;
    const workers = live();
    return new Promise<ReloadResult>((resolve) => {
      const results = new Map<number, ReloadResult>();
      const timer = setTimeout(() => finish(), WORKER_RELOAD_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        pendingReloads.delete(id);
        const errors: string[] = [];
        for (const w of workers) {
          const r = results.get(w.id) ?? { ok: false, errors: [`worker ${w.id} did not answer within ${WORKER_RELOAD_TIMEOUT_MS} ms`] };
          if (!r.ok) errors.push(...r.errors.map((e) => `worker ${w.id}: ${e}`));
        }
        resolve(errors.length === 0 ? { ok: true } : { ok: false, errors });
      };
      pendingReloads.set(id, { results, expect: new Set(workers.map((w) => w.id)), done: finish });
      if (workers.length === 0) return finish();
      const message: ClusterMessage = { type: 'promfence:reload', id, source };
      for (const w of workers) w.send(message);
    });
  };

  let queue: Promise<unknown> = Promise.resolve();
  const reloadOnce = async (source: string): Promise<ReloadResult> => {
    let next: Config;
    try {
      next = await opts.load();
    } catch (err) {
      const errors = err instanceof Error && 'issues' in err ? [...(err as Error & { issues: readonly string[] }).issues] : [err instanceof Error ? err.message : String(err)];
      logger.error('configuration reload failed; the previous configuration keeps running', { source, errors });
      return { ok: false, errors };
    }
    const result = await reloadWorkers(source);
    if (result.ok) {
      applied = next;
      logger.info('configuration reloaded by every worker', { source, workers: opts.workers });
    } else {
      logger.error('configuration reload failed in a worker', { source, errors: result.errors });
    }
    return result;
  };
  const reload = (source: string): Promise<ReloadResult> => {
    const r = queue.then(() => reloadOnce(source));
    queue = r.catch(() => undefined);
    return r;
  };

  let watch: FileWatch | undefined;
  if (config.server.watch_config) watch = watchFile(opts.configPath, () => void reload('watch'));

  let internal: InternalServer | undefined;
  if (config.server.internal_listen !== undefined) {
    const own = new Registry();
    new Gauge({ name: 'promfence_workers', help: 'Worker processes running (server.workers).', registers: [own], collect() {
      this.set(live().length);
    } });
    const aggregator = new AggregatorRegistry();
    const registry = {
      contentType: aggregator.contentType,
      metrics: async () => (await aggregator.clusterMetrics()) + (await own.metrics()),
    };
    try {
      internal = await startInternalServer(config.server.internal_listen, { metrics: { registry }, readiness, reload, logger });
    } catch (err) {
      stopping = true;
      for (const w of live()) w.process.kill('SIGKILL');
      throw err;
    }
    logger.info('internal listener', { url: internal.url });
  }

  let closing: Promise<void> | undefined;
  return {
    internal,
    reload,
    shutdown() {
      if (closing !== undefined) {
        // A second signal: the workers cut their remaining connections.
        for (const w of live()) w.process.kill('SIGTERM');
        return closing;
      }
      stopping = true;
      watch?.close();
      closing = new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(kill);
          void (internal?.close() ?? Promise.resolve()).then(() => {
            cluster.off('message', onMessage);
            resolve();
          });
        };
        exited.add(finish);
        // Workers that do not finish draining in time (plus a margin) are killed.
        const kill = setTimeout(() => {
          for (const w of live()) w.process.kill('SIGKILL');
        }, (applied.server.shutdown_timeout_ms ?? 10_000) + 5000);
        kill.unref();
        const workers = live();
        if (workers.length === 0) return finish();
        const message: ClusterMessage = { type: 'promfence:shutdown' };
        for (const w of workers) w.send(message);
      });
      return closing;
    },
  };
}

/** What a worker's gateway needs of the cluster: readiness reports and reload/shutdown requests from the primary. */
export interface WorkerChannel {
  /** Reports this worker's readiness to the primary. */
  ready(state: ReadyState): void;
  /** Handles the primary's requests: `reload` answers with the result; `shutdown` once. */
  listen(handlers: { reload: (source: string) => Promise<ReloadResult>; shutdown: () => void }): void;
}

/**
 * The channel of a worker process to its primary (`process.send`); undefined outside a
 * cluster worker.
 */
export function workerChannel(): WorkerChannel | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  const send = (m: ClusterMessage) => {
    if (process.connected) process.send?.(m);
  };
  return {
    ready: (state) => send({ type: 'promfence:ready', state }),
    listen(handlers) {
      process.on('message', (m: unknown) => {
        if (!isMessage(m)) return;
        if (m.type === 'promfence:reload') void handlers.reload(m.source).then((result) => send({ type: 'promfence:reloaded', id: m.id, result }));
        else if (m.type === 'promfence:shutdown') handlers.shutdown();
      });
    },
  };
}
