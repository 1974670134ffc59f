/**
 * The Dockerfile and .dockerignore (no Docker engine here): the file's structure (stages,
 * slim runtime, non-root USER, HEALTHCHECK on /-/healthy, the entrypoint runs dist/, config at
 * /etc/promfence/promfence.yaml), what the build context keeps out, and its build steps run as
 * a script in a scratch directory (scripts/dockerfile-steps.mjs); the runtime stage it
 * produced then serves and answers its own health check.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerfileParser, type Copy, type From } from 'dockerfile-ast';
import dockerignore from '@balena/dockerignore';
import { findFreePort } from '../kit/prometheus.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const instructions = dockerfile.getInstructions();
const froms = dockerfile.getFROMs() as From[];
const runtimeStart = instructions.indexOf(froms[1]!);
const runtime = instructions.slice(runtimeStart);
const build = instructions.slice(0, runtimeStart);
const kw = (list: typeof instructions, k: string) => list.filter((i) => i.getKeyword() === k);
const json = (s: string | null | undefined) => JSON.parse(s ?? 'null') as string[];

describe('Dockerfile structure', () => {
  it('two stages: build, then a slim Node 20 runtime', () => {
    assert.deepEqual(froms.map((f) => [f.getImageName(), f.getImageTag(), f.getBuildStage()]), [['node', '20-bookworm-slim', 'build'], ['node', '20-bookworm-slim', 'runtime']]);
  });
  it('the build stage installs the locked dependencies and builds dist/', () => {
    const runs = kw(build, 'RUN').map((r) => r.getArgumentsContent() ?? '');
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)), 'npm ci (the lock file, exactly)');
    assert.ok(runs.some((r) => /\bnpm run build\b/.test(r) && /npm prune --omit=dev/.test(r)));
  });
  it('the runtime stage copies dist/ and production node_modules from the build, never the sources', () => {
    const copies = kw(runtime, 'COPY') as Copy[];
    const fromBuild = copies.filter((c) => c.getFromFlag()?.getValue() === 'build').map((c) => c.getArguments()[0]?.getValue());
    assert.deepEqual(fromBuild.sort(), ['/src/dist', '/src/node_modules', '/src/package.json']);
    assert.ok(!copies.some((c) => c.getArguments().some((a) => /^(\.\/)?src\b/.test(a.getValue()))));
  });
  it('runs as a non-root user, with a health check on /-/healthy', () => {
    const users = kw(runtime, 'USER').map((u) => u.getArgumentsContent());
    assert.deepEqual(users, ['node']);
    const idx = (k: string) => runtime.findIndex((i) => i.getKeyword() === k);
    assert.ok(idx('USER') < idx('ENTRYPOINT'), 'USER before the entrypoint');
    const hc = kw(runtime, 'HEALTHCHECK')[0]?.getArgumentsContent() ?? '';
    assert.match(hc, /CMD \["node", "-e", .*PROMFENCE_HEALTH_URL/);
    assert.match(kw(runtime, 'ENV').map((e) => e.getArgumentsContent()).join(' '), /PROMFENCE_HEALTH_URL=http:\/\/127\.0\.0\.1:9095\/-\/healthy/);
    assert.deepEqual(kw(runtime, 'EXPOSE').map((e) => e.getArgumentsContent()), ['9095']);
  });
  it('the entrypoint runs dist/cli.js with the config at /etc/promfence/promfence.yaml', () => {
    assert.deepEqual(json(kw(runtime, 'ENTRYPOINT')[0]?.getArgumentsContent()), ['node', '/app/dist/cli.js']);
    assert.deepEqual(json(kw(runtime, 'CMD')[0]?.getArgumentsContent()), ['serve', '--config', '/etc/promfence/promfence.yaml']);
  });
});

describe('.dockerignore', () => {
  const ig = dockerignore.default({ ignorecase: false }).add(readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n'));
  for (const p of ['node_modules/x/index.js', 'dist/cli.js', '.git/HEAD', 'test/e2e/x.test.ts', 'src/a.test.ts', '.env', 'examples/promfence.example.yaml', 'secrets/token', 'coverage/x', 'npm-debug.log']) {
    it(`leaves out ${p}`, () => assert.equal(ig.ignores(p), true));
  }
  for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/cli.ts', 'src/routes/table.ts', 'bin/promfence.js', 'LICENSE']) {
    it(`keeps ${p}`, () => assert.equal(ig.ignores(p), false));
  }
});

describe('Dockerfile build steps, run as a script in a scratch directory', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'promfence-docker-'));
  let result: { stages: Record<string, string>; workdir: string; entrypoint: string[]; cmd: string[]; healthcheck: string[]; env: Record<string, string>; user: string; files: string[] };
  before(() => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/dockerfile-steps.mjs'), '--out', join(scratch, 'fs')], { encoding: 'utf8', timeout: 480_000, env: { ...process.env, npm_config_prefer_offline: 'true' } });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as typeof result;
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('produces the runtime layout with production dependencies only', () => {
    assert.deepEqual(result.files.sort(), ['LICENSE', 'bin', 'dist', 'node_modules', 'package.json']);
    const app = join(result.stages['runtime']!, result.workdir);
    assert.ok(existsSync(join(app, 'dist/cli.js')));
    assert.ok(existsSync(join(app, 'node_modules/express')));
    assert.equal(existsSync(join(app, 'node_modules/typescript')), false, 'devDependencies pruned');
    assert.equal(existsSync(join(app, 'dist/cli.test.js')), false);
  });

  it('the entrypoint serves from the runtime stage, and the HEALTHCHECK command passes', async () => {
    const app = result.stages['runtime']!;
    const port = await findFreePort();
    const config = join(scratch, 'promfence.yaml');
    writeFileSync(config, `server: {listen: "127.0.0.1:${port}"}\nupstream: {url: "http://127.0.0.1:1"}\nauth: {bearer_tokens: [{subject: a, token: t1}]}\naccess: {subjects: {a: [x]}}\n`);
    const [node, entry] = result.entrypoint;
    assert.equal(node, 'node');
    const args = result.cmd.map((a) => (a === '/etc/promfence/promfence.yaml' ? config : a));
    const env = { ...process.env, ...result.env, PROMFENCE_HEALTH_URL: `http://127.0.0.1:${port}/-/healthy` };
    const version = spawnSync(process.execPath, [join(app, entry!), '--version'], { encoding: 'utf8', env });
    assert.equal(version.status, 0);
    const server = spawn(process.execPath, [join(app, entry!), ...args], { env, stdio: 'ignore' });
    try {
      const health = () => spawnSync(process.execPath, result.healthcheck.slice(1), { env, timeout: 10_000 }).status;
      const deadline = Date.now() + 30_000;
      while (health() !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.equal(health(), 0);
    } finally {
      server.kill('SIGTERM');
    }
  });
});
