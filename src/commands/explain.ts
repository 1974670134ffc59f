/**
 * `promfence explain`: prints the enforced form of PromQL queries, exactly as the gateway
 * would forward them.
 *
 * - With a query argument: the enforced text and a newline on stdout, exit 0; a refusal
 *   prints `code: message` on stderr, exit 1.
 * - Without: reads stdin, one query per line (empty lines skipped, a trailing `\r` of a CRLF
 *   line ending removed), or with `--jsonl` one `{"query": "…"}` object per line; writes one
 *   JSON object per line: `{"query":…,"enforced":…}` or
 *   `{"query":…,"error":{"code":…,"message":…}}`. A line that is not valid UTF-8 (or, with
 *   `--jsonl`, not a JSON object with a string `query`) yields
 *   `{"line":N,"error":{"code":"invalid_input","message":…}}`. Exit 0 when every line could
 *   be read (refused queries included), 1 when at least one line could not.
 * - `--tenant '*'` means unrestricted; `--selector '{tenant="b", job="api"}'` (repeatable) adds a
 *   label policy selector OR-ed with the tenants (src/access/label-policy.ts `explainPolicy`, the
 *   function the HTTP explain endpoint calls too); neither tenant nor selector, or an invalid
 *   selector, is a usage error (exit 2).
 */
import { explainPolicy, tenantList, tenantPolicy, type AccessPolicy } from '../access/index.ts';
import { enforceQuery, PromQLError, type EnforceOptions } from '../enforce/index.ts';
import { DEFAULT_MAX_QUERY_BYTES } from '../promql/parse.ts';
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, type CommandIO } from './io.ts';

/** Arguments of {@link explainCommand} (as parsed by src/cli.ts). */
export interface ExplainArgs {
  /** The query; undefined = read stdin. */
  query?: string;
  /** Tenant label, e.g. `tenant`. */
  label: string;
  /** Allowed tenants (repeatable `--tenant`); `*` = unrestricted. */
  tenants: string[];
  /** Label policy selectors OR-ed with the tenants (repeatable `--selector`), e.g. `{tenant="b", job="api"}`. Default none. */
  selectors?: string[];
  /** Upstream dialect. */
  syntax: 'prometheus2' | 'prometheus3';
  /** stdin holds JSON objects `{"query": …}`, one per line. */
  jsonl: boolean;
  /** Query size cap in bytes. */
  maxQueryBytes: number;
}

/** Options of `explain` as given on the command line, before a configuration fills the gaps. */
export interface ExplainOptions extends Omit<ExplainArgs, 'label' | 'syntax' | 'maxQueryBytes'> {
  label?: string | undefined;
  syntax?: 'prometheus2' | 'prometheus3' | undefined;
  maxQueryBytes?: number | undefined;
  /** `--config FILE`: label, syntax and size cap come from it unless given. */
  config?: string | undefined;
  /** `--subject NAME`: the tenants of this subject's grant in the configuration. */
  subject?: string | undefined;
}

/**
 * Completes the command line from `--config`: `--label` defaults to `enforce.label`,
 * `--syntax` to `promql.syntax` (`auto` → `prometheus3`, the UI grammar's own), the size cap
 * to `promql.max_query_bytes`; `--subject` adds the tenants `access.subjects` grants it.
 * Without `--config`: `--label` is required, syntax defaults to `prometheus3`.
 *
 * @returns the arguments, or an exit code (1: the configuration is invalid; 2: usage)
 */
export async function explainArgsFromConfig(o: ExplainOptions, io: CommandIO): Promise<ExplainArgs | number> {
  let label = o.label;
  let syntax = o.syntax;
  let maxQueryBytes = o.maxQueryBytes;
  const tenants = [...o.tenants];
  if (o.config !== undefined) {
    const { loadConfig } = await import('../config/load.ts');
    let config;
    try {
      config = await loadConfig(o.config);
    } catch (err) {
      io.stderr.write(`promfence: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT_ERROR;
    }
    label ??= config.enforce.label;
    syntax ??= config.promql.syntax === 'auto' ? 'prometheus3' : config.promql.syntax;
    maxQueryBytes ??= config.promql.max_query_bytes;
    if (o.subject !== undefined) {
      if (!Object.hasOwn(config.access.subjects, o.subject)) {
        io.stderr.write(`usage: subject ${JSON.stringify(o.subject)} has no entry in access.subjects of ${o.config}\n`);
        return EXIT_USAGE;
      }
      tenants.push(...(config.access.subjects[o.subject] ?? []));
    }
  } else if (o.subject !== undefined) {
    io.stderr.write('usage: --subject needs --config\n');
    return EXIT_USAGE;
  }
  if (label === undefined) {
    io.stderr.write('usage: --label is required (or --config FILE to take enforce.label from it)\n');
    return EXIT_USAGE;
  }
  return { query: o.query, label, tenants, ...(o.selectors === undefined ? {} : { selectors: o.selectors }), syntax: syntax ?? 'prometheus3', jsonl: o.jsonl, maxQueryBytes: maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES };
}

function describe(err: unknown): { code: string; message: string } {
  if (err instanceof PromQLError) return { code: err.code, message: err.message };
  return { code: 'internal_error', message: 'the query could not be processed' };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * Runs `explain`.
 *
 * @param args see {@link ExplainArgs}
 * @param io injected streams (tests pass fakes)
 * @returns exit code: 0 success, 1 refused query (single-query mode) or unreadable input line, 2 usage error
 */
export async function explainCommand(args: ExplainArgs, io: CommandIO): Promise<number> {
  const selectors = args.selectors ?? [];
  let policy: AccessPolicy;
  try {
    // Without --selector: the tenant grant, exactly as before label policies existed.
    policy = selectors.length === 0 ? tenantPolicy(args.label, tenantList(args.tenants)) : explainPolicy({ label: args.label, tenants: args.tenants, selectors });
  } catch (err) {
    io.stderr.write(`usage: ${(err as Error).message} (pass --tenant <id>, --tenant '*' or --selector '{tenant="a", job="api"}')\n`);
    return EXIT_USAGE;
  }
  if (args.label === '') {
    io.stderr.write('usage: --label must not be empty\n');
    return EXIT_USAGE;
  }
  if (!Number.isSafeInteger(args.maxQueryBytes) || args.maxQueryBytes <= 0) {
    io.stderr.write('usage: --max-query-bytes must be a positive integer\n');
    return EXIT_USAGE;
  }
  const opts: EnforceOptions = { policy, syntax: args.syntax, maxQueryBytes: args.maxQueryBytes };

  if (args.query !== undefined) {
    try {
      io.stdout.write(enforceQuery(args.query, opts) + '\n');
      return EXIT_OK;
    } catch (err) {
      const { code, message } = describe(err);
      io.stderr.write(`${code}: ${message}\n`);
      return EXIT_ERROR;
    }
  }

  const input = await readAll(io.stdin);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let exit = EXIT_OK;
  let start = 0;
  let lineNo = 0;
  while (start < input.length) {
    let end = input.indexOf(10, start);
    if (end < 0) end = input.length;
    lineNo++;
    const bytes = input.subarray(start, end);
    start = end + 1;
    let line: string;
    try {
      line = decoder.decode(bytes);
    } catch {
      io.stdout.write(JSON.stringify({ line: lineNo, error: { code: 'invalid_input', message: 'line is not valid UTF-8' } }) + '\n');
      exit = EXIT_ERROR;
      continue;
    }
    if (!args.jsonl && line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    let query: string;
    if (args.jsonl) {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        obj = undefined;
      }
      const q = typeof obj === 'object' && obj !== null ? (obj as { query?: unknown }).query : undefined;
      if (typeof q !== 'string') {
        io.stdout.write(JSON.stringify({ line: lineNo, error: { code: 'invalid_input', message: 'expected a JSON object with a string "query"' } }) + '\n');
        exit = EXIT_ERROR;
        continue;
      }
      query = q;
    } else {
      query = line;
    }
    try {
      io.stdout.write(JSON.stringify({ query, enforced: enforceQuery(query, opts) }) + '\n');
    } catch (err) {
      io.stdout.write(JSON.stringify({ query, error: describe(err) }) + '\n');
    }
  }
  return exit;
}
