/**
 * Secret indirection: `${env:NAME}` inside string values and `<key>_file` references.
 */
import { resolve } from 'node:path';
import { readConfigText } from './files.ts';

/** Where configuration values come from besides the file itself. */
export interface SecretSources {
  /** Directory `_file` paths are relative to (the config file's directory). */
  baseDir: string;
  /** Environment for `${env:NAME}` (default in loaders: `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
}

/** Result of {@link readSecretFile}: the value, or a message completing `config: <key>: …`. */
export type SecretFileResult = { ok: true; value: string } | { ok: false; message: string };

/**
 * Reads a secret file: path resolved against `baseDir`, UTF-8, ONE trailing newline
 * (`\n` or `\r\n`) removed (what `echo`, editors and Kubernetes secret mounts produce).
 * An empty result is an error; other whitespace is kept so the caller's syntax check
 * refuses it instead of guessing.
 *
 * @param path the configured path (absolute, or relative to `baseDir`)
 * @param baseDir directory of the configuration file
 */
export function readSecretFile(path: string, baseDir: string): SecretFileResult {
  if (path.length === 0) return { ok: false, message: 'is empty; give the path of the file that holds the secret' };
  const abs = resolve(baseDir, path);
  let text: string;
  try {
    text = readConfigText(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code;
    return { ok: false, message: `cannot read ${JSON.stringify(abs)}: ${why} (${code})` };
  }
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0) return { ok: false, message: `file ${JSON.stringify(abs)} is empty` };
  return { ok: true, value };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${env:NAME}` references in one string. `$${` is a literal `${`. Any other
 * `${…}` (a typo like `${FOO}` or `${ENV:FOO}`) is an error rather than a literal, so a
 * mistyped reference never becomes a token or URL silently.
 *
 * @returns the substituted string, or `{ error }` with a message completing `config: <key>: …`
 */
export function substituteEnv(value: string, env: SecretSources['env']): string | { error: string } {
  if (!value.includes('${')) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    if (value.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (value.startsWith('${', i)) {
      const end = value.indexOf('}', i + 2);
      const inner = end < 0 ? value.slice(i + 2) : value.slice(i + 2, end);
      const m = /^env:(.*)$/.exec(inner);
      if (end < 0 || !m || !ENV_NAME.test(m[1] ?? '')) {
        return { error: `${JSON.stringify(end < 0 ? value.slice(i) : value.slice(i, end + 1))} is not a valid reference; write \${env:NAME} (NAME = letters, digits, _), or $\${ for a literal "\${"` };
      }
      const name = m[1] ?? '';
      const v = env[name];
      if (v === undefined) return { error: `environment variable ${name} is not set (referenced as \${env:${name}})` };
      out += v;
      i = end + 1;
      continue;
    }
    out += value[i];
    i += 1;
  }
  return out;
}
