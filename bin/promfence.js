#!/usr/bin/env node
// The promfence command: runs the compiled JavaScript in dist/ (built by `npm run build`,
// which `npm ci` / `npm install` run through the `prepare` script). No TypeScript loader at
// run time.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('promfence: dist/ is missing; build it with "npm run build" (npm ci runs it for you)\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
