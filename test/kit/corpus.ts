/**
 * Loader of the vendored real-world query corpus (`test/fixtures/corpus/realworld-queries.jsonl`,
 * sources and licences in test/fixtures/corpus/README.md), used by the real-Prometheus tests,
 * the golden-output test and the benchmark. Nothing here reads outside the repository.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above test/kit). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The test fixtures directory: `<repo>/test/fixtures`. */
export const FIXTURES = resolve(REPO_ROOT, 'test', 'fixtures');

/** The vendored corpus directory: `<repo>/test/fixtures/corpus`. */
export const CORPUS_DIR = resolve(FIXTURES, 'corpus');

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
    throw new Error(`real-world corpus not found at ${file} (it is part of the repository: restore test/fixtures/corpus)`, { cause: err });
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RealWorldQuery);
}
