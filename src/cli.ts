/**
 * The promfence command line: `serve`, `explain`, `check-config`, `hash-token`, `hash-password`.
 * Exit codes: 0 success, 1 error, 2 bad usage (README "Quick start", under the commands).
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { processIO, EXIT_USAGE, type CommandIO } from './commands/io.ts';
import { DEFAULT_MAX_QUERY_BYTES } from './promql/parse.ts';
import { VERSION } from './version.ts';

/**
 * Runs the CLI with `argv` as `process.argv` (node, script, args…) and returns the exit code.
 * Never calls process.exit itself, so `serve` can keep running until a signal.
 */
export async function main(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  let code = 0;
  const program = new Command('promfence')
    .description('Tenant-enforcing read gateway for Prometheus-compatible query APIs')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run "promfence --help" for usage)');

  program
    .command('serve')
    .description('run the gateway')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .action(async (opts: { config: string }) => {
      const { serveCommand } = await import('./commands/serve.ts');
      code = await serveCommand(opts, io);
    });

  program
    .command('explain')
    .description('print the enforced form of a PromQL query (or of one query per stdin line)')
    .option('-l, --label <name>', 'tenant label to enforce, e.g. tenant (default: enforce.label of --config)')
    .option('-t, --tenant <id>', "allowed tenant, repeatable; '*' = unrestricted", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--selector <selector>', 'label policy selector OR-ed with the tenants, repeatable, e.g. \'{tenant="b", job="api"}\'', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('-s, --syntax <dialect>', 'upstream PromQL dialect (default: promql.syntax of --config, else prometheus3)').choices(['prometheus2', 'prometheus3']))
    .option('--jsonl', 'stdin holds one JSON object {"query": …} per line', false)
    .option('--max-query-bytes <n>', `query size cap in bytes (default: promql.max_query_bytes of --config, else ${DEFAULT_MAX_QUERY_BYTES})`, (v: string) => Number.parseInt(v, 10))
    .option('-c, --config <file>', 'take the label, syntax and size cap from this configuration')
    .option('--subject <name>', 'take the tenants from the grant of this subject in --config (access.subjects; groups are not known offline)')
    .argument('[query]', 'the PromQL query; omit to read stdin')
    .action(async (query: string | undefined, opts: { label?: string; tenant: string[]; selector: string[]; syntax?: 'prometheus2' | 'prometheus3'; jsonl: boolean; maxQueryBytes?: number; config?: string; subject?: string }) => {
      const { explainCommand, explainArgsFromConfig } = await import('./commands/explain.ts');
      const args = await explainArgsFromConfig({ query, label: opts.label, tenants: opts.tenant, selectors: opts.selector, syntax: opts.syntax, jsonl: opts.jsonl, maxQueryBytes: opts.maxQueryBytes, config: opts.config, subject: opts.subject }, io);
      code = typeof args === 'number' ? args : await explainCommand(args, io);
    });

  program
    .command('check-config')
    .description('validate a configuration file and print a summary')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--probe', "also fetch every JWT issuer's discovery document and keys, and report each", false)
    .action(async (opts: { config: string; probe: boolean }) => {
      const { checkConfigCommand } = await import('./commands/check-config.ts');
      code = await checkConfigCommand(opts, io);
    });

  program
    .command('hash-password')
    .description('read a password on stdin and print its bcrypt hash (for auth.basic_users[].password_hash)')
    .option('--cost <n>', 'bcrypt cost factor, 4-15', (v: string) => Number.parseInt(v, 10), 10)
    .action(async (opts: { cost: number }) => {
      const { hashPasswordCommand } = await import('./commands/hash-password.ts');
      code = await hashPasswordCommand(opts, io);
    });

  program
    .command('hash-token')
    .description("read a token on stdin and print its token_sha256 (lowercase hex)")
    .action(async () => {
      const { hashTokenCommand } = await import('./commands/hash-token.ts');
      code = await hashTokenCommand({}, io);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw err;
  }
  return code;
}

// Run directly (`node dist/cli.js serve --config …`): the bin (bin/promfence.js) imports this
// module and calls main() itself, so only a direct run starts it here.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv);
}
