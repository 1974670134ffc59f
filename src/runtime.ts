/**
 * The running gateway process as an operator sees it: the public server (src/server.ts) plus
 * everything that outlives one configuration — metrics, readiness, the limiter, the audit
 * sink, the internal listener — and the two lifecycle operations:
 *
 * - {@link RunningGateway.reload}: reads the configuration file again, validates it fully,
 *   then swaps the application atomically (in-flight requests finish on the old one). An
 *   invalid file keeps the old configuration, is logged with every reason, and sets
 *   `promfence_config_last_reload_successful` to 0. Triggers: SIGHUP (src/commands/serve.ts),
 *   `POST /-/reload` on the internal listener, and `server.watch_config`.
 * - {@link RunningGateway.shutdown}: readiness turns 503 first, the public listener stops
 *   accepting, in-flight requests drain for up to `server.shutdown_timeout`, then the rest is
 *   closed.
 */
import { createHash } from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';
import type { WorkerChannel } from './cluster.ts';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config/errors.ts';
import type { Config } from './config/types.ts';
import type { AppDeps } from './app.ts';
import { startInternalServer, type InternalServer, type ReloadResult } from './internal.ts';
import { createLimiter, type Limiter } from './limits/limiter.ts';
import { createAuditLogger } from './observability/audit.ts';
import type { Logger } from './observability/logger.ts';
import { createMetrics, type GatewayMetrics } from './observability/metrics.ts';
import { createReadiness, type Readiness } from './observability/readiness.ts';
import { startServer, type RunningServer } from './server.ts';
import { SYNTAX_PROBE_TIMEOUT_MS } from './upstream/syntax.ts';
import { VERSION } from './version.ts';

/** How often a watched configuration file is read, ms (`server.watch_config`). */
export const WATCH_INTERVAL_MS = 1000;

/** Keys a reload cannot change (they are read once at start); a change is logged as needing a restart. */
const RESTART_ONLY: ReadonlyArray<[string, (c: Config) => unknown]> = [
  ['server.listen', (c) => c.server.listen],
  ['server.internal_listen', (c) => c.server.internal_listen],
  ['server.workers', (c) => c.server.workers ?? 1],
  ['server.max_header_bytes', (c) => c.server.max_header_bytes],
  ['log.level', (c) => c.log.level],
  ['log.audit', (c) => c.log.audit],
  ['log.audit_file', (c) => c.log.audit_file],
];

/** Options of {@link runGateway}. */
export interface RunOptions {
  /** Loads and validates the configuration again (a reload); rejects with a ConfigError. Without it, reloads fail. */
  readonly load?: () => Promise<Config>;
  /** The configuration file, for `server.watch_config`. */
  readonly configPath?: string;
  readonly logger: Logger;
  /** Extra collaborators of every application (tests). */
  readonly appDeps?: AppDeps;
  /** Export prom-client's default process metrics. Default true. */
  readonly defaultMetrics?: boolean;
  /** Audit sink. Default: per `log.audit` / `log.audit_file` (src/observability/audit.ts). */
  readonly auditLogger?: Logger;
  /**
   * Set in a cluster worker (`server.workers` > 1, src/cluster.ts): no internal listener and
   * no file watching here (the primary does both), readiness reported to the primary, metrics
   * aggregated by it.
   */
  readonly worker?: WorkerChannel;
}

/** A file polled for content changes ({@link watchFile}). */
export interface FileWatch {
  /** Records a content hash already acted on (a reload that read the file itself). */
  seen(hash: string | undefined): void;
  close(): void;
}

/**
 * `server.watch_config`: reads the file every {@link WATCH_INTERVAL_MS} and calls `onChange`
 * when its content changed (reading follows symlinks, so a Kubernetes ConfigMap's ..data
 * swap is seen; a content hash, unlike mtime polling, cannot miss a change made within the
 * same second). An unreadable file is not a change.
 *
 * @param path the configuration file
 * @param onChange called once per new content
 * @param initial the hash of the content already loaded (default: read now)
 */
export function watchFile(path: string, onChange: () => void, initial: string | undefined = fileHash(path)): FileWatch {
  let last = initial;
  const timer = setInterval(() => {
    const h = fileHash(path);
    if (h === undefined || h === last) return;
    last = h;
    onChange();
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return {
    seen(hash) {
      if (hash !== undefined) last = hash;
    },
    close: () => clearInterval(timer),
  };
}

/** The running process. */
export interface RunningGateway {
  /** The public server. */
  readonly server: RunningServer;
  /** The internal listener, when `server.internal_listen` is set. */
  readonly internal: InternalServer | undefined;
  readonly metrics: GatewayMetrics;
  readonly readiness: Readiness;
  readonly limiter: Limiter;
  /** The configuration currently applied. */
  readonly config: Config;
  /**
   * Reloads the configuration (one reload at a time; concurrent calls wait their turn).
   *
   * @param source why (`SIGHUP`, `endpoint`, `watch`), logged
   * @returns `{ ok: true }`, or `{ ok: false, errors }` (one line per problem; the old configuration keeps running)
   */
  reload(source: string): Promise<ReloadResult>;
  /** Graceful shutdown (idempotent); resolves once everything is closed. */
  shutdown(): Promise<void>;
}

function errorLines(err: unknown): string[] {
  if (err instanceof ConfigError) return [...err.issues];
  // createApp's own errors (a bad upstream URL the schema missed): the message, never a stack.
  return [err instanceof Error ? err.message : String(err)];
}

function fileHash(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Starts the gateway with everything around it.
 *
 * @param config the validated configuration
 * @param opts loader for reloads, config path (watching), logger
 * @throws the listen errors of the public or internal listener
 */
export async function runGateway(config: Config, opts: RunOptions): Promise<RunningGateway> {
  const { logger } = opts;
  let applied = config;
  const metrics = createMetrics(VERSION, { defaultMetrics: opts.defaultMetrics ?? true });
  metrics.configure(config);
  const limiter = createLimiter(config, { logger, onStoreError: (a) => metrics.limiterError(a) });
  const auditLogger = config.log.audit ? (opts.auditLogger ?? createAuditLogger(config.log)) : undefined;
  const started: { server?: RunningServer } = {};
  const readiness = createReadiness({
    intervalMs: config.server.ready_probe_interval_ms,
    probe: () => {
      if (started.server === undefined) return Promise.reject(new Error('the configuration is not loaded yet'));
      return started.server.app.probeUpstream(Math.min(applied.server.ready_probe_interval_ms, applied.upstreams.prometheus.timeout_ms, SYNTAX_PROBE_TIMEOUT_MS));
    },
    onChange: (s) => {
      // Before the listener is up the probe has not run: not a failure worth a warning.
      if (s.ready) logger.info('ready');
      else if (started.server === undefined) logger.info('starting, not ready yet');
      else logger.warn('not ready', { reason: s.reason });
      opts.worker?.ready(s);
    },
  });
  let running: RunningServer;
  try {
    running = await startServer(config, {
      ...opts.appDeps,
      logger,
      hooks: [...(opts.appDeps?.hooks ?? []), metrics.hook],
      readiness: readiness.state,
      limiter,
      ...(auditLogger === undefined ? {} : { auditLogger }),
    });
  } catch (err) {
    readiness.stop();
    await limiter.close();
    throw err;
  }
  started.server = running;
  metrics.trackEnforcer(running.app.enforcer);
  metrics.inflightFrom(() => running.inflight);
  metrics.reloaded(true);
  void readiness.probeNow();

  let lastHash = opts.configPath === undefined ? undefined : fileHash(opts.configPath);
  let queue: Promise<unknown> = Promise.resolve();
  const reloadOnce = async (source: string): Promise<ReloadResult> => {
    if (opts.load === undefined) return { ok: false, errors: ['promfence was started without a configuration file'] };
    let next: Config;
    try {
      if (opts.configPath !== undefined) {
        lastHash = fileHash(opts.configPath);
        watcher?.seen(lastHash);
      }
      next = await opts.load();
      running.reload(next);
    } catch (err) {
      const errors = errorLines(err);
      metrics.reloaded(false);
      logger.error('configuration reload failed; the previous configuration keeps running', { source, errors });
      return { ok: false, errors };
    }
    for (const [key, read] of RESTART_ONLY) {
      if (JSON.stringify(read(next)) !== JSON.stringify(read(applied))) logger.warn('configuration key changed; it takes effect at the next restart', { key });
    }
    applied = next;
    running.server.headersTimeout = next.server.headers_timeout_ms;
    running.server.requestTimeout = next.server.request_timeout_ms;
    running.server.keepAliveTimeout = next.server.idle_timeout_ms;
    limiter.update(next);
    metrics.configure(next);
    metrics.trackEnforcer(running.app.enforcer);
    metrics.reloaded(true);
    watch();
    logger.info('configuration reloaded', { source });
    void readiness.probeNow();
    return { ok: true };
  };
  const reload = (source: string): Promise<ReloadResult> => {
    const r = queue.then(() => reloadOnce(source));
    queue = r.catch(() => undefined);
    return r;
  };

  // server.watch_config (a cluster's primary watches for its workers).
  let watcher: FileWatch | undefined;
  function watch(): void {
    const want = applied.server.watch_config && opts.configPath !== undefined && opts.worker === undefined;
    if (want === (watcher !== undefined)) return;
    watcher?.close();
    watcher = want && opts.configPath !== undefined ? watchFile(opts.configPath, () => void reload('watch'), lastHash) : undefined;
  }
  watch();

  // A cluster worker: its primary serves the internal listener, aggregates this registry
  // (prom-client's AggregatorRegistry answers the primary's requests), and reads this
  // worker's readiness from its reports (on every change and every probe interval).
  let reportTimer: NodeJS.Timeout | undefined;
  const channel = opts.worker;
  if (channel !== undefined) {
    AggregatorRegistry.setRegistries([metrics.registry]);
    new AggregatorRegistry();
    channel.ready(readiness.state());
    reportTimer = setInterval(() => channel.ready(readiness.state()), config.server.ready_probe_interval_ms);
    reportTimer.unref();
  }

  let internal: InternalServer | undefined;
  if (config.server.internal_listen !== undefined && channel === undefined) {
    try {
      internal = await startInternalServer(config.server.internal_listen, { metrics, readiness: readiness.state, reload, logger });
    } catch (err) {
      readiness.stop();
      await running.close();
      await limiter.close();
      throw err;
    }
    logger.info('internal listener', { url: internal.url });
  }

  let closing: Promise<void> | undefined;
  return {
    server: running,
    internal,
    metrics,
    readiness,
    limiter,
    get config() {
      return applied;
    },
    reload,
    shutdown() {
      closing ??= (async () => {
        readiness.shuttingDown();
        opts.worker?.ready(readiness.state());
        if (reportTimer !== undefined) clearInterval(reportTimer);
        watcher?.close();
        watcher = undefined;
        await running.close();
        await internal?.close();
        await limiter.close();
      })();
      return closing;
    },
  };
}
