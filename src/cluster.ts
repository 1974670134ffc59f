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
 * - owns the configuration: it reads and validates the file, numbers each accepted text (a
 *   generation) and hands that exact text to the workers — to a new worker when it starts
 *   (never the file as it is on disk then), to every worker on a reload. SIGHUP, `POST
 *   /-/reload` and `server.watch_config` reload every worker; the reload succeeds when every
 *   worker's did. A worker that fails or does not answer while others applied the new
 *   generation is replaced (its replacement starts with it); when none applied it, the
 *   previous generation stays. A worker that reports another generation than the primary's
 *   (a reload that raced its start) is sent the current one again, and `/-/ready` is 503
 *   until every worker runs it (red-team finding: a replacement worker that missed a reload
 *   kept accepting a revoked token);
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
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { ConfigFiles } from './config/files.ts';
import type { Config } from './config/types.ts';
import { startInternalServer, type InternalServer, type ReloadResult } from './internal.ts';
import { droppedLogLines, writeLogLines, type Logger } from './observability/logger.ts';
import type { ReadyState } from './observability/readiness.ts';
import { watchFile, type FileWatch } from './runtime.ts';

/** Messages between the primary and a worker (IPC, `process.send`). */
export type ClusterMessage =
  | { readonly type: 'promfence:ready'; readonly state: ReadyState; readonly generation: number; readonly droppedLogLines: number }
  | { readonly type: 'promfence:config?' }
  | { readonly type: 'promfence:config'; readonly generation: number; readonly text: string; readonly files: ConfigFiles }
  | { readonly type: 'promfence:reload'; readonly id: number; readonly source: string; readonly generation: number; readonly text: string; readonly files: ConfigFiles }
  | { readonly type: 'promfence:reloaded'; readonly id: number; readonly result: ReloadResult; readonly generation: number }
  | { readonly type: 'promfence:shutdown' }
  | { readonly type: 'promfence:log'; readonly data: string };

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
  /** Loads and validates the configuration file (a reload): the configuration, its text and the files it read; rejects with a ConfigError. */
  readonly load: () => Promise<{ readonly config: Config; readonly text: string; readonly files: ConfigFiles }>;
  /** The text of `config` (what the workers start with). */
  readonly text: string;
  /** The files `config` read (`_file` secrets, keys, CAs), as read then: the workers parse with these. */
  readonly files: ConfigFiles;
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
 * @param config the validated configuration (the workers parse the same text, `opts.text`)
 * @param opts logger, loader, configuration path, worker count
 * @throws Error when a worker exits before it listens (its own error is on stderr), or the
 *   internal listener cannot listen
 */
export async function runPrimary(config: Config, opts: PrimaryOptions): Promise<RunningPrimary> {
  const { logger } = opts;
  let applied = config;
  /** The accepted configuration text and its number: what every worker must run. */
  let current: { generation: number; text: string; files: ConfigFiles } = { generation: 1, text: opts.text, files: opts.files };
  let stopping = false;
  const ready = new Map<number, { state: ReadyState; at: number; generation: number }>();
  /** Log lines each live worker dropped (its last report), and those of workers gone. */
  const workerDrops = new Map<number, number>();
  let goneDrops = 0;
  const pendingReloads = new Map<number, { results: Map<number, ReloadResult>; expect: Set<number>; done: () => void }>();
  /** Workers being brought up to the current generation: the id of their sync reload in flight, by worker id. */
  const syncing = new Map<number, number>();
  /** Workers asked to shut down and be replaced (they missed a generation). */
  const replacing = new Set<number>();
  /**
   * Workers that asked for their configuration, so listen to the primary: a message sent to a
   * worker still loading its modules would be lost. One forked later asks for the current
   * generation itself.
   */
  const attached = new Set<number>();
  /** True while a reload runs: a worker asking for its configuration then waits for the outcome. */
  let reloading = false;
  /** Workers that asked for their configuration during a reload. */
  const heldConfigRequests = new Set<Worker>();
  const answerConfig = (worker: Worker): void => {
    attached.add(worker.id);
    send(worker, { type: 'promfence:config', generation: current.generation, text: current.text, files: current.files });
  };
  let nextReload = 1;

  const live = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());

  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isMessage(message)) return;
    if (message.type === 'promfence:ready') {
      ready.set(worker.id, { state: message.state, at: Date.now(), generation: message.generation });
      if (typeof message.droppedLogLines === 'number') workerDrops.set(worker.id, message.droppedLogLines);
      sync(worker, message.generation);
    } else if (message.type === 'promfence:log') {
      if (typeof message.data === 'string') writeLogLines(message.data);
    } else if (message.type === 'promfence:config?') {
      // During a reload the answer waits for its outcome: a worker answered with the previous
      // generation now would miss the reload (it is not among the workers it was sent to).
      if (reloading) heldConfigRequests.add(worker);
      else answerConfig(worker);
    } else if (message.type === 'promfence:reloaded') {
      const r = ready.get(worker.id);
      if (message.result.ok && r !== undefined) r.generation = message.generation;
      if (syncing.get(worker.id) === message.id) {
        syncing.delete(worker.id);
        if (!message.result.ok) logger.error('a worker could not load the current configuration', { worker: worker.id, generation: message.generation, errors: message.result.errors });
        return;
      }
      const p = pendingReloads.get(message.id);
      if (p === undefined) return;
      p.results.set(worker.id, message.result);
      p.expect.delete(worker.id);
      if (p.expect.size === 0) p.done();
    }
  };
  const send = (worker: Worker, message: ClusterMessage): void => {
    if (worker.isConnected()) worker.send(message);
  };
  /** Sends the current generation to a worker that reports another one, unless a reload will. */
  function sync(worker: Worker, generation: number): void {
    if (generation === current.generation || stopping || pendingReloads.size > 0 || replacing.has(worker.id) || syncing.has(worker.id)) return;
    const id = nextReload++;
    syncing.set(worker.id, id);
    logger.warn('a worker runs another configuration generation; sending it the current one', { worker: worker.id, generation, current: current.generation });
    send(worker, { type: 'promfence:reload', id, source: 'sync', generation: current.generation, text: current.text, files: current.files });
  }
  cluster.on('message', onMessage);

  // Structured clone instead of JSON on the channel: the workers' log lines (up to ~1 MB for
  // an audit line of many long selectors) are copied, not escaped and parsed, by the primary,
  // whose event loop also hands every new connection to a worker.
  cluster.setupPrimary({ serialization: 'advanced' });
  const fork = (): Worker => cluster.fork();

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
    attached.delete(w.id);
    goneDrops += workerDrops.get(w.id) ?? 0;
    workerDrops.delete(w.id);
    syncing.delete(w.id);
    if (replacing.delete(w.id) && !stopping) {
      logger.info('worker replaced: it stopped after missing a configuration generation', { worker: w.id });
      fork();
      return;
    }
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
      if (r.generation !== current.generation) return { ready: false, reason: `worker ${w.id} runs configuration generation ${r.generation}, not ${current.generation}` };
      if (Date.now() - r.at > stale) return { ready: false, reason: `worker ${w.id} has not reported its readiness recently` };
    }
    return { ready: true };
  };

  /** Sends one generation to every live worker; resolves with each worker's result (a missing answer is a failure). */
  const reloadWorkers = (source: string, next: { generation: number; text: string; files: ConfigFiles }): Promise<Array<{ worker: Worker; result: ReloadResult }>> => {
    const id = nextReload++;
    const workers = live().filter((w) => attached.has(w.id));
    return new Promise((resolve) => {
      const results = new Map<number, ReloadResult>();
      const timer = setTimeout(() => finish(), WORKER_RELOAD_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        pendingReloads.delete(id);
        resolve(workers.map((w) => ({ worker: w, result: results.get(w.id) ?? { ok: false, errors: [`did not answer within ${WORKER_RELOAD_TIMEOUT_MS} ms`] } })));
      };
      pendingReloads.set(id, { results, expect: new Set(workers.map((w) => w.id)), done: finish });
      if (workers.length === 0) return finish();
      for (const w of workers) send(w, { type: 'promfence:reload', id, source, generation: next.generation, text: next.text, files: next.files });
    });
  };

  let queue: Promise<unknown> = Promise.resolve();
  const reloadOnce = async (source: string): Promise<ReloadResult> => {
    let loaded: { config: Config; text: string; files: ConfigFiles };
    try {
      loaded = await opts.load();
    } catch (err) {
      const errors = err instanceof Error && 'issues' in err ? [...(err as Error & { issues: readonly string[] }).issues] : [err instanceof Error ? err.message : String(err)];
      logger.error('configuration reload failed; the previous configuration keeps running', { source, errors });
      return { ok: false, errors };
    }
    const next = { generation: current.generation + 1, text: loaded.text, files: loaded.files };
    const results = await reloadWorkers(source, next);
    const failed = results.filter((r) => !r.result.ok);
    const errors = failed.flatMap((r) => (r.result.ok ? [] : r.result.errors).map((e) => `worker ${r.worker.id}: ${e}`));
    if (failed.length === 0) {
      current = next;
      applied = loaded.config;
      logger.info('configuration reloaded by every worker', { source, workers: opts.workers, generation: next.generation });
      return { ok: true };
    }
    if (failed.length === results.length) {
      // No worker runs it: the previous generation stays everywhere (a worker that applies it
      // late is sent the previous one again).
      logger.error('configuration reload failed in every worker; the previous configuration keeps running', { source, errors });
      return { ok: false, errors };
    }
    // Some workers run the new generation: it becomes the current one, and the workers that
    // failed are replaced (their replacements start with it) rather than left on the old one.
    current = next;
    applied = loaded.config;
    for (const { worker } of failed) {
      replacing.add(worker.id);
      send(worker, { type: 'promfence:shutdown' });
    }
    logger.error('configuration reload failed in some workers; they are being replaced with workers that start with the new configuration', { source, errors, generation: next.generation });
    return { ok: false, partial: true, errors: [...errors, `the new configuration runs in ${results.length - failed.length} of ${results.length} workers; the others are being replaced (/-/ready is 503 until every worker runs it)`] };
  };
  const reload = (source: string): Promise<ReloadResult> => {
    const r = queue.then(async () => {
      reloading = true;
      try {
        return await reloadOnce(source);
      } finally {
        reloading = false;
        for (const w of heldConfigRequests) if (w.isConnected()) answerConfig(w);
        heldConfigRequests.clear();
      }
    });
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
    new Counter({ name: 'promfence_log_dropped_lines_total', help: 'Log lines dropped because the reader of stdout fell more than 16 MiB behind.', registers: [own], collect() {
      let n = droppedLogLines() + goneDrops;
      for (const d of workerDrops.values()) n += d;
      this.reset();
      this.inc(n);
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

/** What a worker's gateway needs of the cluster: its configuration, readiness reports, and reload/shutdown requests from the primary. */
export interface WorkerChannel {
  /** The configuration text the primary runs now, and the files it read (asked once, at start). */
  configuration(): Promise<{ readonly text: string; readonly files: ConfigFiles }>;
  /** Reports this worker's readiness (and the configuration generation it runs) to the primary. */
  ready(state: ReadyState): void;
  /**
   * Handles the primary's requests: `reload` loads the given text and answers with the
   * result; `shutdown` once. Requests that arrived before this call are handled now, in order.
   */
  listen(handlers: { reload: (source: string, text: string, files: ConfigFiles) => Promise<ReloadResult>; shutdown: () => void }): void;
}

/**
 * The channel of a worker process to its primary (`process.send`); undefined outside a
 * cluster worker. Listens at once: a reload sent while the worker starts waits for
 * {@link WorkerChannel.listen} instead of being lost; reloads run one at a time.
 */
export function workerChannel(): WorkerChannel | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  const send = (m: ClusterMessage) => {
    if (process.connected) process.send?.(m);
  };
  let generation = 0;
  let handlers: Parameters<WorkerChannel['listen']>[0] | undefined;
  const early: ClusterMessage[] = [];
  let answerConfiguration: ((m: { generation: number; text: string; files: ConfigFiles }) => void) | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const handle = (m: ClusterMessage, h: NonNullable<typeof handlers>): void => {
    if (m.type === 'promfence:reload') {
      chain = chain.then(async () => {
        const result = await h.reload(m.source, m.text, m.files);
        if (result.ok) generation = m.generation;
        send({ type: 'promfence:reloaded', id: m.id, result, generation: m.generation });
      });
    } else if (m.type === 'promfence:shutdown') h.shutdown();
  };
  process.on('message', (m: unknown) => {
    if (!isMessage(m)) return;
    if (m.type === 'promfence:config') {
      generation = m.generation;
      answerConfiguration?.(m);
      answerConfiguration = undefined;
    } else if (handlers === undefined) early.push(m);
    else handle(m, handlers);
  });
  return {
    configuration: () => new Promise((resolve) => {
      answerConfiguration = (m) => resolve({ text: m.text, files: m.files });
      send({ type: 'promfence:config?' });
    }),
    ready: (state) => send({ type: 'promfence:ready', state, generation, droppedLogLines: droppedLogLines() }),
    listen(h) {
      handlers = h;
      for (const m of early.splice(0)) handle(m, h);
    },
  };
}
