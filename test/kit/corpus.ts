/**
 * Loader of the shared real-world query corpus (`../shared/corpus/realworld-queries.jsonl`,
 * resolved from the repository root), used by the real-Prometheus tests and the benchmark.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above test/kit). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared corpus directory: `<repo>/../shared/corpus`. */
export const CORPUS_DIR = resolve(REPO_ROOT, '..', 'shared', 'corpus');

/** One line of realworld-queries.jsonl. */
export interface RealWorldQuery {
  readonly query: string;
  /** `owner/repo:path[#key]` the text was taken from. */
  readonly source: string;
  /** What a real Prometheus 2.42.0 answered for the text (empty TSDB). */
  readonly prometheus_2_42: 'accepts' | 'rejects';
}

/**
 * Reads every query of the real-world corpus, in file order.
 *
 * @throws Error naming the path when the corpus is missing
 */
export function loadRealWorldQueries(): RealWorldQuery[] {
  const file = resolve(CORPUS_DIR, 'realworld-queries.jsonl');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`real-world corpus not found at ${file} (shared/ must sit beside the repository)`, { cause: err });
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RealWorldQuery);
}
