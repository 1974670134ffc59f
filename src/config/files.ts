/**
 * The files a configuration reads while it is parsed (`_file` secrets, public keys, CA
 * bundles), through one reader that can record them or serve them from a snapshot. A
 * cluster's primary records what it read when it accepted a configuration and hands the
 * snapshot to its workers with the text (src/cluster.ts), so a worker started later never
 * reads a secret file as it is on disk then: a staged secret reaches no worker before a
 * reload, and every worker of one generation runs the same secrets (red-team finding).
 */
import { readFileSync } from 'node:fs';

/** Contents of the files a configuration read, by absolute path (UTF-8 text). */
export type ConfigFiles = Readonly<Record<string, string>>;

let recording: Record<string, string> | undefined;
let serving: ConfigFiles | undefined;

/**
 * Reads a file of the configuration (absolute path, UTF-8): from the snapshot being served,
 * else from disk (recorded when a recording runs).
 *
 * @throws an Error with `code` (`ENOENT` when the snapshot lacks the file; else fs's)
 */
export function readConfigText(abs: string): string {
  if (serving !== undefined) {
    const text = serving[abs];
    if (text === undefined) throw Object.assign(new Error(`${abs} is not among the configuration's files`), { code: 'ENOENT' });
    return text;
  }
  const text = readFileSync(abs, 'utf8');
  if (recording !== undefined) recording[abs] = text;
  return text;
}

/**
 * Runs `parse` (synchronous) reading configuration files from disk, and returns its result
 * with every file it read.
 */
export function recordingFiles<T>(parse: () => T): { readonly result: T; readonly files: ConfigFiles } {
  const files: Record<string, string> = {};
  const before = recording;
  recording = files;
  try {
    return { result: parse(), files };
  } finally {
    recording = before;
  }
}

/** Runs `parse` (synchronous) with every configuration file read from `files` instead of disk. */
export function servingFiles<T>(files: ConfigFiles, parse: () => T): T {
  const before = serving;
  serving = files;
  try {
    return parse();
  } finally {
    serving = before;
  }
}
