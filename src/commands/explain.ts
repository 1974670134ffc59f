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
