#!/usr/bin/env node
// Installs what `npm test` and the demo need, so the README's commands work on a fresh
// machine: npm packages (npm ci when node_modules is missing or older than the lock file; its
// `prepare` script builds dist/) and Debian's prometheus/promtool (apt-get as root; otherwise
// prints the one command to run).
// Uses only Node built-ins: it runs before node_modules exists.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 6)) {
  console.error(`promfence needs Node.js >= 20.6 (this is ${process.version}); install a newer Node.js`);
  process.exit(1);
}

const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('setup: installing npm packages (npm ci)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const r = spawnSync('bash', [join(root, 'scripts', 'ensure-packages.sh')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
