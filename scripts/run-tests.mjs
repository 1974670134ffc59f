#!/usr/bin/env node
// Runs the whole test suite with Node's built-in test runner and tsx (TypeScript, ESM).
// Test files: test/**/*.test.ts and src/**/*.test.ts. Extra arguments are passed to
// `node --test` (e.g. `node scripts/run-tests.mjs --test-name-pattern=explain`), or
// name files/folders to restrict the run: `node scripts/run-tests.mjs test/e2e`.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// Every log line the suite writes, at every level and from every process (silent loggers
// included), is tapped to files here (src/observability/logger.ts) and searched afterwards for
// the suite's credentials (test/fixtures/test-credentials.txt): no secret in any log line.
const tapDir = mkdtempSync(join(tmpdir(), 'promfence-log-tap-'));
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files], {
  stdio: 'inherit',
  env: { ...process.env, PROMFENCE_TEST: '1', PROMFENCE_TEST_LOG_TAP: tapDir },
});
const leaks = scanLogs(tapDir);
rmSync(tapDir, { recursive: true, force: true });
process.exit(leaks > 0 ? 1 : (res.status ?? 1));

/** Searches every tapped log line for every test credential (and base64 of user:password pairs); returns the number of hits. */
function scanLogs(dir) {
  const secrets = [];
  for (const line of readFileSync(new URL('../test/fixtures/test-credentials.txt', import.meta.url), 'utf8').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    secrets.push(t);
    if (t.includes(':')) secrets.push(Buffer.from(t).toString('base64'));
  }
  let lines = 0;
  let hits = 0;
  const logs = readdirSync(dir);
  for (const name of logs) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      lines++;
      for (const secret of secrets) {
        if (line.includes(secret)) {
          hits++;
          console.error(`log scan: a test credential (${JSON.stringify(secret)}) appears in a log line: ${line.slice(0, 400)}`);
        }
      }
    }
  }
  console.log(`# log scan: ${lines} log lines from ${logs.length} processes searched for ${secrets.length} test credentials: ${hits === 0 ? 'none found' : `${hits} found`}`);
  return hits;
}
