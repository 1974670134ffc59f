#!/usr/bin/env node
// Runs the Dockerfile's build steps as a script in a scratch directory — there is no Docker
// engine on the development machines — so a broken step (a missing file in the build
// context, an npm or tsc failure, a COPY --from of something the build did not produce) is
// found without one. Each stage gets its own directory standing for its filesystem root:
// WORKDIR, ENV, COPY (build context filtered by .dockerignore, or --from=<stage>) and RUN
// (sh -c, in the stage's working directory) are carried out in order; FROM's base image is
// not (the host's Node stands in for node:20). A RUN that names an absolute path is refused:
// it would touch this machine, not the image.
//
//   node scripts/dockerfile-steps.mjs [--out DIR] [--keep]
//
// Prints one JSON line: {"scratch": DIR, "stages": {"build": DIR, "runtime": DIR}, "entrypoint": [...], "cmd": [...], "env": {...}, "user": "node"}.
// Without --keep the scratch directory is removed after a failure only (the caller removes it).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DockerfileParser } from 'dockerfile-ast';
import dockerignore from '@balena/dockerignore';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const scratch = outIdx >= 0 ? resolve(args[outIdx + 1]) : mkdtempSync(join(tmpdir(), 'promfence-dockerfile-'));
mkdirSync(scratch, { recursive: true });

const fail = (msg) => {
  if (!args.includes('--keep')) rmSync(scratch, { recursive: true, force: true });
  console.error(`dockerfile-steps: ${msg}`);
  process.exit(1);
};

const dockerfile = DockerfileParser.parse(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const ignore = dockerignore({ ignorecase: false }).add(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n'));
const ignored = (rel) => rel !== '' && ignore.ignores(rel.split('\\').join('/'));

/** JSON-array (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD, or null for shell form. */
const execForm = (text) => {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
  } catch {
    return null;
  }
};

/** Copies a context path into `dest`, leaving out what .dockerignore excludes; fails when the source itself is excluded or missing. */
function copyFromContext(src, dest) {
  const rel = relative(root, resolve(root, src));
  if (rel.startsWith('..')) fail(`COPY source ${src} is outside the build context`);
  if (!existsSync(join(root, rel))) fail(`COPY source ${src} does not exist`);
  if (!statSync(join(root, rel)).isDirectory() && ignored(rel)) fail(`COPY source ${src} is excluded by .dockerignore`);
  let copied = 0;
  cpSync(join(root, rel), dest, {
    recursive: true,
    filter: (from) => {
      const r = relative(root, from);
      const keep = !ignored(r) || statSync(from).isDirectory();
      if (keep && !statSync(from).isDirectory()) copied++;
      return keep;
    },
  });
  if (copied === 0) fail(`COPY source ${src} is empty once .dockerignore is applied`);
}

const stages = {};
let stage;
let cwd = '/';
let env = {};
let user = 'root';
let entrypoint = null;
let cmd = null;
let healthcheck = null;
const inStage = (p) => join(stage.dir, resolve(cwd, p));

for (const ins of dockerfile.getInstructions()) {
  const kw = ins.getKeyword();
  const text = ins.getArgumentsContent() ?? '';
  if (kw === 'FROM') {
    const from = ins;
    const name = from.getBuildStage() ?? `stage${Object.keys(stages).length}`;
    const base = stages[from.getImageName()];
    const dir = join(scratch, name);
    if (base !== undefined) cpSync(base.dir, dir, { recursive: true });
    else mkdirSync(dir, { recursive: true });
    stage = { name, dir };
    stages[name] = stage;
    cwd = '/';
    env = {};
    user = 'root';
    continue;
  }
  if (stage === undefined) fail(`${kw} before FROM`);
  switch (kw) {
    case 'WORKDIR':
      cwd = resolve(cwd, text.trim());
      mkdirSync(inStage('.'), { recursive: true });
      break;
    case 'ENV':
      for (const p of ins.getProperties()) env[p.getName()] = p.getValue() ?? '';
      break;
    case 'USER':
      user = text.trim();
      break;
    case 'COPY': {
      const fromFlag = ins.getFlags().find((f) => f.getName() === 'from');
      const parts = ins.getArguments().map((a) => a.getValue());
      const dest = parts.pop();
      if (parts.length === 0 || dest === undefined) fail(`COPY without source: ${text}`);
      for (const src of parts) {
        const target = parts.length > 1 || dest.endsWith('/') ? join(inStage(dest), src.split('/').pop()) : inStage(dest);
        mkdirSync(dirname(target), { recursive: true });
        if (fromFlag) {
          const from = stages[fromFlag.getValue()];
          if (from === undefined) fail(`COPY --from=${fromFlag.getValue()}: no such stage`);
          const source = join(from.dir, src);
          if (!existsSync(source)) fail(`COPY --from=${fromFlag.getValue()} ${src}: the stage did not produce it`);
          cpSync(source, target, { recursive: true });
        } else {
          copyFromContext(src, target);
        }
      }
      break;
    }
    case 'RUN': {
      if (/(^|[\s=:])\/[A-Za-z]/.test(text)) fail(`RUN names an absolute path, which would run on this machine: ${text}`);
      const started = Date.now();
      const r = spawnSync('sh', ['-c', text], { cwd: inStage('.'), stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
      if (r.status !== 0) fail(`RUN ${text} failed (exit ${r.status})`);
      process.stderr.write(`dockerfile-steps: [${stage.name}] RUN ${text} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
      break;
    }
    case 'ENTRYPOINT':
      entrypoint = execForm(text);
      break;
    case 'CMD':
      cmd = execForm(text);
      break;
    case 'HEALTHCHECK':
      healthcheck = execForm(text.replace(/^.*?CMD\s+/s, ''));
      break;
    case 'EXPOSE':
      break;
    default:
      fail(`instruction ${kw} is not supported by this script; extend it`);
  }
}

const listing = (dir) => (existsSync(dir) ? readdirSync(dir) : []);
console.log(JSON.stringify({
  scratch,
  stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, v.dir])),
  final: stage.name,
  workdir: cwd,
  entrypoint,
  cmd,
  healthcheck,
  env,
  user,
  files: listing(join(stage.dir, cwd)),
}));
