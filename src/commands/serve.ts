/**
 * `promfence serve --config FILE`: runs the gateway (src/runtime.ts) until SIGINT/SIGTERM;
 * SIGHUP reloads the configuration file. With `server.workers` > 1 this process becomes the
 * cluster's primary (src/cluster.ts) and each worker runs this same command.
 */
import cluster from 'node:cluster';
import { dirname, resolve } from 'node:path';
import type { ConfigFiles } from '../config/files.ts';
import type { Config } from '../config/types.ts';
import { createLogger, flushLogs, type Logger } from '../observability/logger.ts';
import type { RunningGateway } from '../runtime.ts';
import { EXIT_ERROR, EXIT_OK, type CommandIO } from './io.ts';

/**
 * The `serve` command: loads the configuration, starts the gateway, reloads on SIGHUP, and
 * resolves on SIGINT or SIGTERM after a graceful shutdown (readiness 503, stop accepting,
 * drain up to `server.shutdown_timeout`). A second SIGINT/SIGTERM during the drain cuts the
 * remaining connections at once.
 *
 * @param opts `config`: path of the YAML configuration file
 * @param io where configuration and startup errors are printed (stderr)
 * @returns 0 after a signal-triggered shutdown, 1 when the configuration cannot be loaded
 *   or a listener cannot listen
 */
export async function serveCommand(opts: { config: string }, io: CommandIO): Promise<number> {
  let config: Config;
  let source: { text: string; files: ConfigFiles };
  const [{ loadConfigFile, parseConfig }, { servingFiles }] = await Promise.all([import('../config/load.ts'), import('../config/files.ts')]);
  const { workerChannel, workerCount } = await import('../cluster.ts');
  // A cluster worker runs the text its primary accepted (src/cluster.ts) with the files that
  // text read then (`_file` secrets, keys), never the files as they are on disk when the
  // worker starts.
  const worker = workerChannel();
  const baseDir = dirname(resolve(opts.config));
  const parseFrom = (s: { text: string; files: ConfigFiles }) => servingFiles(s.files, () => parseConfig(s.text, { baseDir }));
  try {
    if (worker !== undefined) {
      source = await worker.configuration();
      config = parseFrom(source);
    } else {
      const loaded = await loadConfigFile(opts.config);
      config = loaded.config;
      source = loaded;
    }
  } catch (err) {
    io.stderr.write(`promfence: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
  const logger = createLogger(config.log.level);
  const workers = workerCount(config.server.workers);
  if (workers > 1 && cluster.isPrimary) return servePrimary(config, source, opts, io, workers);
  const { runGateway } = await import('../runtime.ts');
  // A worker reloads the text (and files) the primary sent with the reload; a single process, the file.
  let latest = source;
  const load = worker === undefined ? async () => (await loadConfigFile(opts.config)).config : () => Promise.resolve(parseFrom(latest));
  let gateway: RunningGateway;
  try {
    gateway = await runGateway(config, { logger, configPath: opts.config, load, ...(worker === undefined ? {} : { worker }) });
  } catch (err) {
    io.stderr.write(`promfence: cannot listen on ${config.server.listen}${config.server.internal_listen === undefined ? '' : ` or ${config.server.internal_listen}`}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
  const onHup = () => {
    logger.info('SIGHUP received: reloading the configuration');
    void gateway.reload('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  const signal = await stopSignal((stop) => {
    // A cluster worker: the primary asks for reloads and the shutdown over IPC.
    worker?.listen({
      reload: (from, text, files) => {
        latest = { text, files };
        return gateway.reload(`${from} (primary)`);
      },
      shutdown: () => stop('primary'),
    });
  });
  logger.info('shutting down', { signal, drain_timeout_ms: gateway.config.server.shutdown_timeout_ms, inflight: gateway.server.inflight });
  await drain(logger, onHup, () => gateway.shutdown(), (s) => {
    logger.warn('second signal: closing the remaining connections now', { signal: s });
    gateway.server.server.closeAllConnections();
  });
  // A worker's IPC channel would keep it running: hand the last log lines to the primary, then let it go.
  if (worker !== undefined) {
    await flushLogs();
    process.disconnect?.();
  }
  return EXIT_OK;
}

/**
 * The cluster primary of `serve` (`server.workers` > 1): starts the workers and the internal
 * listener, turns SIGHUP into a reload of every worker and SIGINT/SIGTERM into a graceful
 * shutdown of every worker (a second signal cuts their remaining connections).
 *
 * @returns 0 after a signal-triggered shutdown, 1 when a worker or the internal listener
 *   could not start
 */
async function servePrimary(config: Config, source: { text: string; files: ConfigFiles }, opts: { config: string }, io: CommandIO, workers: number): Promise<number> {
  const logger = createLogger(config.log.level);
  const [{ runPrimary }, { loadConfigFile }] = await Promise.all([import('../cluster.ts'), import('../config/load.ts')]);
  let primary: Awaited<ReturnType<typeof runPrimary>>;
  try {
    primary = await runPrimary(config, { logger, load: () => loadConfigFile(opts.config), text: source.text, files: source.files, configPath: opts.config, workers });
  } catch (err) {
    io.stderr.write(`promfence: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
  const onHup = () => {
    logger.info('SIGHUP received: reloading the configuration in every worker');
    void primary.reload('SIGHUP');
  };
  process.on('SIGHUP', onHup);
  const signal = await stopSignal();
  logger.info('shutting down every worker', { signal, drain_timeout_ms: config.server.shutdown_timeout_ms });
  await drain(logger, onHup, () => primary.shutdown(), () => void primary.shutdown());
  return EXIT_OK;
}

/**
 * Resolves with the first SIGINT or SIGTERM (its listeners then removed), or with `'primary'`
 * when `also` calls its `stop` (a cluster worker told to stop over IPC).
 */
function stopSignal(also?: (stop: (why: 'primary') => void) => void): Promise<NodeJS.Signals | 'primary'> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals | 'primary') => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
    also?.(on);
  });
}

/**
 * The graceful shutdown after the first stop signal: runs `shutdown`, with a second
 * SIGINT/SIGTERM meanwhile handed to `force`; then removes the signal handlers (`onHup`
 * too) and logs `stopped`.
 */
async function drain(logger: Logger, onHup: () => void, shutdown: () => Promise<void>, force: (signal: NodeJS.Signals) => void): Promise<void> {
  process.on('SIGINT', force);
  process.on('SIGTERM', force);
  await shutdown();
  process.off('SIGHUP', onHup);
  process.off('SIGINT', force);
  process.off('SIGTERM', force);
  logger.info('stopped');
}
