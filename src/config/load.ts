/**
 * Loading a configuration file: YAML → `${env:NAME}` substitution → schema (./schema.ts).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import YAML, { isMap, isScalar, LineCounter } from 'yaml';
import { z } from 'zod';
import type { Config } from './types.ts';
import { ConfigError } from './errors.ts';
import { createConfigSchema, formatIssues, formatPath } from './schema.ts';
import { recordingFiles, type ConfigFiles } from './files.ts';
import { substituteEnv, type SecretSources } from './secrets.ts';

export { ConfigError } from './errors.ts';
export { summarizeConfig, configWarnings } from './summary.ts';

/** Largest configuration file accepted, bytes. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * Parses and validates configuration text.
 *
 * Rules: YAML 1.2 (core schema: `yes`/`no` are strings, so booleans must be true/false);
 * duplicate keys, non-string keys (`0123:` would silently become "123") and `__proto__`
 * keys are errors; `${env:NAME}` is substituted inside every string value (a missing
 * variable is an error naming it; `$${` is a literal `${`); then the schema applies
 * (unknown keys are errors; defaults per ./types.ts; `_file` secrets read relative to
 * `baseDir`, one trailing newline trimmed).
 *
 * @param text the YAML text
 * @param sources `baseDir` for `_file` paths; `env` for `${env:NAME}` (default `process.env`)
 * @returns the validated configuration
 * @throws ConfigError (`code: 'config_error'`) listing every problem found, one `config: …` line each
 */
export function parseConfig(text: string, sources: { baseDir: string; env?: SecretSources['env'] }): Config {
  const env = sources.env ?? process.env;
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return '';
    const { line, col } = lineCounter.linePos(offset);
    return ` (line ${line}, column ${col})`;
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => {
      const what = e.code === 'MULTIPLE_DOCS' ? 'the file holds several YAML documents (---); keep exactly one' : (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      return `config: invalid YAML${at(e.pos[0])}: ${what}`;
    }));
  }
  const keyIssues: string[] = [];
  YAML.visit(doc, {
    Pair(_key, pair) {
      const k = pair.key;
      if (isScalar(k) && typeof k.value === 'string') {
        if (k.value === '__proto__') keyIssues.push(`config: key "__proto__"${at(k.range?.[0])} is not allowed`);
        return;
      }
      const range = isScalar(k) || isMap(k) ? k.range : undefined;
      const shown = isScalar(k) ? String(k.source ?? k.value) : 'a complex key';
      keyIssues.push(`config: key ${shown}${at(range?.[0])} must be a string; quote it ("${shown}") so it is not read as a ${isScalar(k) ? (k.value === null ? 'null' : typeof k.value) : 'value'}`);
    },
  });
  if (keyIssues.length > 0) throw new ConfigError(keyIssues);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError([`config: invalid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`]);
  }
  if (raw === null || raw === undefined) {
    throw new ConfigError(['config: the file is empty; at least upstream.url and one auth entry are required (see examples/promfence.example.yaml)']);
  }
  const envIssues: string[] = [];
  const substituted = substituteTree(raw, [], env, envIssues);
  if (envIssues.length > 0) throw new ConfigError(envIssues);

  const schema = createConfigSchema({ baseDir: sources.baseDir });
  const result = z.safeParse(schema, substituted, { reportInput: true });
  // No `cause`: zod issues parsed with reportInput carry the input values, which may be secrets.
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues));
  return result.data;
}

function substituteTree(value: unknown, path: PropertyKey[], env: SecretSources['env'], issues: string[]): unknown {
  if (typeof value === 'string') {
    const r = substituteEnv(value, env);
    if (typeof r === 'string') return r;
    issues.push(`config: ${formatPath(path) || '(top level)'}: ${r.error}`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteTree(v, [...path, i], env, issues));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteTree(v, [...path, k], env, issues);
    return out;
  }
  return value;
}

/**
 * Reads and validates a configuration file (see {@link parseConfig}); `_file` paths are
 * relative to the file's directory.
 *
 * @param path configuration file path (relative to the working directory or absolute)
 * @param env environment for `${env:NAME}`; default `process.env`
 * @throws ConfigError when the file cannot be read (naming the path), is larger than
 *   {@link MAX_CONFIG_BYTES}, or is invalid
 */
export async function loadConfig(path: string, env: SecretSources['env'] = process.env): Promise<Config> {
  return (await loadConfigFile(path, env)).config;
}

/**
 * {@link loadConfig}, also returning the text it parsed and the files that text read (`_file`
 * secrets, keys, CAs): a cluster's primary hands both to its workers (src/cluster.ts).
 *
 * @throws ConfigError as {@link loadConfig}
 */
export async function loadConfigFile(path: string, env: SecretSources['env'] = process.env): Promise<{ readonly config: Config; readonly text: string; readonly files: ConfigFiles }> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError([`config: cannot read ${JSON.stringify(abs)}: ${code === 'ENOENT' ? 'no such file' : code}`], { cause: err });
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    throw new ConfigError([`config: ${JSON.stringify(abs)} is larger than ${MAX_CONFIG_BYTES} bytes`]);
  }
  const { result: config, files } = recordingFiles(() => parseConfig(text, { baseDir: dirname(abs), env }));
  return { config, text, files };
}
