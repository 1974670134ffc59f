/**
 * `promfence check-config --config FILE`: validates a configuration and prints a summary.
 */
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { summarizeConfig } from '../config/summary.ts';
import { EXIT_ERROR, EXIT_OK, type CommandIO } from './io.ts';

/**
 * Loads `opts.config` with the process environment (for `${env:NAME}`), prints
 * {@link summarizeConfig}'s lines (listen, upstream, enforcement, syntax, credential
 * counts, each subject → tenants, warnings) and `config OK` on stdout. Secrets are never
 * printed (tokens and hashes are only counted).
 *
 * @param opts.config path of the YAML file
 * @param io streams
 * @param env environment for `${env:NAME}` (default `process.env`)
 * @returns 0 when valid (warnings do not fail it); 1 with every `config: …` problem (or any
 *   other error) on stderr
 * @example promfence check-config --config examples/promfence.example.yaml
 */
export async function checkConfigCommand(
  opts: { config: string },
  io: CommandIO,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  try {
    const config = await loadConfig(opts.config, env);
    io.stdout.write(`${opts.config}:\n`);
    for (const line of summarizeConfig(config)) io.stdout.write(`${line}\n`);
    io.stdout.write('config OK\n');
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`${err.message}\n`);
      io.stderr.write(`${opts.config}: configuration is invalid (${err.issues.length} problem${err.issues.length === 1 ? '' : 's'})\n`);
      return EXIT_ERROR;
    }
    io.stderr.write(`check-config: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
}
