/**
 * `promfence serve --config FILE`: runs the gateway until SIGINT/SIGTERM.
 */
import type { Config } from '../config/types.ts';
import { createLogger } from '../observability/logger.ts';
import { startServer, type RunningServer } from '../server.ts';
import { EXIT_ERROR, EXIT_OK, type CommandIO } from './io.ts';

/**
 * The `serve` command: loads the configuration, starts the gateway, and resolves on SIGINT
 * or SIGTERM after a graceful close.
 *
 * @param opts `config`: path of the YAML configuration file
 * @param io where configuration and startup errors are printed (stderr)
 * @returns 0 after a signal-triggered shutdown, 1 when the configuration cannot be loaded
 *   or the server cannot listen
 */
export async function serveCommand(opts: { config: string }, io: CommandIO): Promise<number> {
  let config: Config;
  try {
    const { loadConfig } = await import('../config/load.ts');
    config = await loadConfig(opts.config);
  } catch (err) {
    io.stderr.write(`promfence: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
  const logger = createLogger(config.log.level);
  let running: RunningServer;
  try {
    running = await startServer(config, { logger });
  } catch (err) {
    io.stderr.write(`promfence: cannot listen on ${config.server.listen}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  logger.info('shutting down', { signal });
  await running.close();
  logger.info('stopped');
  return EXIT_OK;
}
