/**
 * `promfence check-config --config FILE`: validates a configuration and prints a summary.
 */
import { probeIssuers } from '../auth/jwt/probe.ts';
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
 * With `probe`, every JWT issuer with remote keys is then fetched once (discovery document and
 * JWK Set, with its `ca_file` and `fetch_timeout`) and reported on its own line (`probe: jwt
 * "k8s": OK, 2 keys from …` or `probe: jwt "k8s": FAILED: …`); a failed probe makes the exit
 * code 1 (the configuration itself is still reported valid).
 *
 * @param opts.config path of the YAML file
 * @param opts.probe fetch the issuers' keys too (default false)
 * @param io streams
 * @param env environment for `${env:NAME}` (default `process.env`)
 * @returns 0 when valid (warnings do not fail it) and every probe succeeded; 1 with every
 *   `config: …` problem (or any other error) on stderr, or when a probe failed
 * @example promfence check-config --config examples/promfence.example.yaml
 */
export async function checkConfigCommand(
  opts: { config: string; probe?: boolean },
  io: CommandIO,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  try {
    const config = await loadConfig(opts.config, env);
    io.stdout.write(`${opts.config}:\n`);
    for (const line of summarizeConfig(config)) io.stdout.write(`${line}\n`);
    io.stdout.write('config OK\n');
    if (opts.probe !== true) return EXIT_OK;
    const probes = await probeIssuers(config);
    if (probes.length === 0) io.stdout.write('probe: no JWT issuer configured, nothing to probe\n');
    for (const p of probes) (p.ok ? io.stdout : io.stderr).write(`probe: ${p.line}\n`);
    const failed = probes.filter((p) => !p.ok).length;
    if (failed > 0) {
      io.stderr.write(`${opts.config}: ${failed} issuer${failed === 1 ? '' : 's'} unreachable\n`);
      return EXIT_ERROR;
    }
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
