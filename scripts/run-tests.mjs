#!/usr/bin/env node
// Runs the whole test suite with Node's built-in test runner and tsx (TypeScript, ESM).
// Test files: test/**/*.test.ts and src/**/*.test.ts. Extra arguments are passed to
// `node --test` (e.g. `node scripts/run-tests.mjs --test-name-pattern=explain`), or
// name files/folders to restrict the run: `node scripts/run-tests.mjs test/e2e`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) continue;
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const paths = args.filter((a) => !a.startsWith('--'));
const roots = paths.length > 0 ? paths : ['src', 'test'];
const files = roots.flatMap((r) => (r.endsWith('.ts') ? [r] : collect(r, [])));
if (files.length === 0) {
  console.error('run-tests: no test files found under ' + roots.join(', '));
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files], {
  stdio: 'inherit',
  env: { ...process.env, PROMFENCE_TEST: '1' },
});
process.exit(res.status ?? 1);
