/**
 * The promfence demo (run through `npm run demo` → scripts/demo.sh, which checks Node,
 * node_modules and the prometheus package first).
 *
 * 1. generates fruit/veggie data (scripts/generate-data.ts) from 6 h ago to 2 h ahead, so
 *    instant queries at "now" keep hitting data for the next two hours;
 * 2. backfills it with `promtool tsdb create-blocks-from openmetrics` into a temp dir;
 * 3. starts its own Prometheus on 127.0.0.1:19090 (or a free port) over that dir;
 * 4. writes a promfence config from examples/demo/promfence.yaml and starts
 *    `node bin/promfence.js serve --config …` on 127.0.0.1:9095 (or a free port);
 * 5. runs isolation checks and prints them with ready-to-paste curl/promtool lines;
 * 6. waits for Ctrl-C, then stops both processes and removes the temp dir.
 *
 * `--check` (or DEMO_EXIT_AFTER_READY=1) exits after step 5: 0 when every check passed,
 * 1 otherwise (tests and CI). Ports: DEMO_PROMETHEUS_PORT, DEMO_PROMFENCE_PORT (0 = any
 * free port; in --check mode free ports are the default).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { killGroup, spawnWatched } from './demo-process.ts';
import { generateOpenMetrics } from './generate-data.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROMETHEUS = process.env['PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';
const PROMTOOL = process.env['PROMTOOL_BIN'] ?? '/usr/bin/promtool';
const STEP = 15;
const HISTORY_HOURS = 6;
const AHEAD_HOURS = 2;

/** Demo users: subject, bearer token, basic password, what they may read. */
export const DEMO_USERS = [
  { user: 'alice', token: 'fruit-secret', password: 'apple', reads: 'team-fruit' },
  { user: 'bob', token: 'veggie-secret', password: 'broccoli', reads: 'team-veggie' },
  { user: 'tom', token: 'tomato-secret', password: 'tomato', reads: 'team-fruit + team-veggie (the "tomato")' },
  { user: 'ops', token: 'ops-secret', password: 'ops-pass', reads: '* (everything, also series without a tenant label)' },
] as const;

type DemoUser = (typeof DEMO_USERS)[number]['user'];

const checkMode = process.argv.includes('--check') || process.env['DEMO_EXIT_AFTER_READY'] === '1';
const children: ChildProcess[] = [];
let workDir: string | undefined;
let cleanedUp = false;
let stopWaiting: (() => void) | undefined;

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string) => (process.stdout.isTTY ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(s + '\n');
const step = (s: string) => say('\n' + bold('==> ' + s));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Stops the children (SIGTERM, SIGKILL after 5 s) and removes the temp dir. */
async function cleanup(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  const waits = children.map(
    (c) =>
      new Promise<void>((r) => {
        if (c.exitCode !== null || c.signalCode !== null) return r();
        c.once('exit', () => r());
        killGroup(c, 'SIGTERM');
        setTimeout(() => {
          killGroup(c, 'SIGKILL');
          r();
        }, 5000).unref();
      }),
  );
  await Promise.all(waits);
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
}

process.on('exit', () => {
  // Last resort (an uncaught error): never leave the processes running.
  for (const c of children) killGroup(c, 'SIGKILL');
  if (workDir !== undefined && !cleanedUp) rmSync(workDir, { recursive: true, force: true });
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.once('error', () => resolvePort(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolvePort(true)));
  });
}

async function pickPort(envName: string, preferred: number): Promise<number> {
  const wanted = process.env[envName] !== undefined ? Number(process.env[envName]) : checkMode ? 0 : preferred;
  if (wanted > 0 && (await portFree(wanted))) return wanted;
  if (wanted > 0) say(`    port ${wanted} is busy; using a free one (set ${envName} to choose)`);
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolvePort(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

function startChild(name: string, cmd: string, args: string[], log: string): ChildProcess {
  const out = createWriteStream(log);
  // Under a watchdog: the process dies with the demo even if the demo is killed hard.
  const child = spawnWatched(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }, workDir ?? '');
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  children.push(child);
  child.once('exit', (code, signal) => {
    if (!cleanedUp) say(red(`!! ${name} exited (code ${String(code)}, signal ${String(signal)}); log: ${log}`));
  });
  return child;
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitFor(what: string, child: ChildProcess, log: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before it was ready. Last lines of ${log}:\n${tail(log)}`);
    try {
      if (await probe()) return;
    } catch {
      /* not up yet */
    }
    await sleep(150);
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000} s. Last lines of ${log}:\n${tail(log)}`);
}

interface ApiResult {
  status: number;
  body: { status?: string; data?: unknown; error?: string; errorType?: string; code?: string };
}

async function api(base: string, path: string, opts: { user?: DemoUser; basic?: boolean; password?: string; form?: Record<string, string>; query?: Record<string, string> }): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  const u = DEMO_USERS.find((x) => x.user === opts.user);
  if (u !== undefined) {
    headers['authorization'] = opts.basic
      ? 'Basic ' + Buffer.from(`${u.user}:${opts.password ?? u.password}`).toString('base64')
      : `Bearer ${u.token}`;
  }
  let url = base + path;
  if (opts.query !== undefined) url += '?' + new URLSearchParams(opts.query).toString();
  const init: RequestInit = { headers };
  if (opts.form !== undefined) {
    init.method = 'POST';
    headers['content-type'] = 'application/x-www-form-urlencoded';
    init.body = new URLSearchParams(opts.form).toString();
  }
  const res = await fetch(url, init);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as ApiResult['body'] };
  } catch {
    return { status: res.status, body: { error: text.slice(0, 200) } };
  }
}

type Sample = { metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> };

function resultOf(r: ApiResult): Sample[] {
  const d = r.body.data as { result?: Sample[] } | undefined;
  return d?.result ?? [];
}

function showSamples(samples: Sample[]): string {
  if (samples.length === 0) return '      (empty result)';
  return samples
    .map((s) => {
      const labels = Object.entries(s.metric).map(([k, v]) => `${k}="${v}"`).join(', ');
      const v = s.value !== undefined ? s.value[1] : `${s.values?.length ?? 0} points`;
      return `      {${labels}} ${v}`;
    })
    .join('\n');
}

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function curlQuery(base: string, who: string, query: string): string {
  return `curl -s ${who} ${base}/api/v1/query --data-urlencode ${sq('query=' + query)}`;
}

const bearerFlag = (u: DemoUser) => `-H 'Authorization: Bearer ${DEMO_USERS.find((x) => x.user === u)?.token ?? ''}'`;
const basicFlag = (u: DemoUser) => `-u ${u}:${DEMO_USERS.find((x) => x.user === u)?.password ?? ''}`;

async function main(): Promise<number> {
  say(bold('promfence demo') + ' — one Prometheus, three teams, each sees only its own series');
  for (const bin of [PROMETHEUS, PROMTOOL]) {
    if (!existsSync(bin)) {
      say(red(`missing ${bin}: run \`bash scripts/ensure-packages.sh\` (or sudo apt-get install -y prometheus)`));
      return 1;
    }
  }
  workDir = mkdtempSync(join(tmpdir(), 'promfence-demo-'));
  say(`    working directory: ${workDir} (removed on exit)`);

  step('1. Generating fruit/veggie data');
  const now = Math.floor(Date.now() / 1000);
  const end = Math.floor((now + AHEAD_HOURS * 3600) / STEP) * STEP;
  const text = generateOpenMetrics({ end, hours: HISTORY_HOURS + AHEAD_HOURS, stepSeconds: STEP });
  const omFile = join(workDir, 'data.om');
  writeFileSync(omFile, text);
  const start = end - (HISTORY_HOURS + AHEAD_HOURS) * 3600;
  say(`    team-fruit (fruit_harvested_total, http_requests_total, http_request_duration_seconds, up, its node fruit-1, two pods),`);
  say(`    team-veggie (veggie_harvested_total, … with replica="a"|"b"), platform series WITHOUT a tenant label`);
  say(`    (node_cpu_seconds_total, node_memory_*, up{job="node"}): ${new Date(start * 1000).toISOString()} .. ${new Date(end * 1000).toISOString()}, every ${STEP} s`);
  say(`    (samples run ${AHEAD_HOURS} h into the future so queries at "now" find data while the demo runs)`);

  step('2. Backfilling with promtool');
  const dataDir = join(workDir, 'prometheus-data');
  say(`    $ promtool tsdb create-blocks-from openmetrics ${omFile} ${dataDir}`);
  const bf = spawnSync(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', omFile, dataDir], { encoding: 'utf8' });
  if (bf.status !== 0) {
    say(red(`promtool failed: ${bf.stderr}${bf.stdout}`));
    return 1;
  }

  step('3. Starting Prometheus (our own instance, own port and data dir)');
  const promPort = await pickPort('DEMO_PROMETHEUS_PORT', 19090);
  const promUrl = `http://127.0.0.1:${promPort}`;
  const promCfg = join(workDir, 'prometheus.yml');
  writeFileSync(promCfg, '# demo: no scrape targets, only the backfilled data\nglobal:\n  scrape_interval: 1m\n');
  const promLog = join(workDir, 'prometheus.log');
  const promArgs = [`--config.file=${promCfg}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${promPort}`, '--storage.tsdb.retention.time=3650d'];
  say(`    $ prometheus ${promArgs.join(' ')}`);
  const prom = startChild('prometheus', PROMETHEUS, promArgs, promLog);
  await waitFor('Prometheus', prom, promLog, async () => {
    const r = await api(promUrl, '/api/v1/query', { form: { query: 'count({__name__=~".+"})', time: String(now) } });
    return Number(resultOf(r)[0]?.value?.[1] ?? 0) > 0;
  });
  say(`    Prometheus is ready at ${promUrl} (log: ${promLog})`);

  step('4. Starting promfence in front of it');
  const pfPort = await pickPort('DEMO_PROMFENCE_PORT', 9095);
  const pf = `http://127.0.0.1:${pfPort}`;
  const cfg = parseYaml(readFileSync(join(ROOT, 'examples', 'demo', 'promfence.yaml'), 'utf8')) as {
    server: { listen: string };
    upstream: { url: string };
  };
  cfg.server.listen = `127.0.0.1:${pfPort}`;
  cfg.upstream.url = promUrl;
  const cfgFile = join(workDir, 'promfence.yaml');
  writeFileSync(cfgFile, stringifyYaml(cfg));
  const pfLog = join(workDir, 'promfence.log');
  say(`    config: ${cfgFile} (from examples/demo/promfence.yaml)`);
  say(`    $ node bin/promfence.js serve --config ${cfgFile}`);
  const gw = startChild('promfence', process.execPath, [join(ROOT, 'bin', 'promfence.js'), 'serve', '--config', cfgFile], pfLog);
  await waitFor('promfence', gw, pfLog, async () => (await fetch(pf + '/-/ready')).ok, 30_000);
  say(`    promfence is ready at ${pf} (log: ${pfLog})`);

  say('\n' + bold('Credentials') + ' (demo only):');
  say('    user   bearer token    basic password  reads');
  for (const u of DEMO_USERS) say(`    ${u.user.padEnd(6)} ${u.token.padEnd(15)} ${u.password.padEnd(15)} ${u.reads}`);

  step('5. Isolation, live');
  let failures = 0;
  const check = (ok: boolean, what: string) => {
    say(`    ${ok ? green('PASS') : red('FAIL')} ${what}`);
    if (!ok) failures++;
  };
  const tenantsOf = (s: Sample[]) => [...new Set(s.map((x) => x.metric['tenant'] ?? '(none)'))].sort().join(',');
  const q = 'sum by (tenant) (http_requests_total)';
  for (const [user, basic, expect] of [
    ['alice', false, 'team-fruit'],
    ['bob', false, 'team-veggie'],
    ['tom', true, 'team-fruit,team-veggie'],
    ['ops', false, 'team-fruit,team-veggie'],
  ] as const) {
    say(`\n    $ ${curlQuery(pf, basic ? basicFlag(user) : bearerFlag(user), q)}`);
    const r = await api(pf, '/api/v1/query', { user, basic, form: { query: q, time: String(now) } });
    say(showSamples(resultOf(r)));
    check(r.status === 200 && tenantsOf(resultOf(r)) === expect, `${user} sees ${expect}`);
  }

  const up = 'count by (job) (up)';
  for (const [user, expect] of [['alice', 'node,shop'], ['ops', 'market,node,prometheus,shop']] as const) {
    say(`\n    $ ${curlQuery(pf, bearerFlag(user), up)}`);
    const r = await api(pf, '/api/v1/query', { user, form: { query: up, time: String(now) } });
    say(showSamples(resultOf(r)));
    const jobs = resultOf(r).map((s) => s.metric['job'] ?? '').sort().join(',');
    const n = resultOf(r).reduce((a, x) => a + Number(x.value?.[1] ?? 0), 0);
    check(r.status === 200 && jobs === expect && n === (user === 'ops' ? 8 : 3), `${user}'s up: ${n} targets, jobs ${expect}${user === 'ops' ? ' (the untenanted platform series are visible only to *)' : ''}`);
  }

  say(`\n    $ ${curlQuery(pf, bearerFlag('alice'), 'node_load1')}`);
  let r = await api(pf, '/api/v1/query', { user: 'alice', form: { query: 'node_load1', time: String(now) } });
  say(showSamples(resultOf(r)));
  check(r.status === 200 && resultOf(r).map((s) => s.metric['instance']).join(',') === 'fruit-1:9100', 'alice sees her node fruit-1, not the platform nodes (no tenant label)');

  const foreign = 'sum(rate(http_requests_total{tenant="team-veggie"}[5m]))';
  say(`\n    $ ${curlQuery(pf, bearerFlag('alice'), foreign)}`);
  r = await api(pf, '/api/v1/query', { user: 'alice', form: { query: foreign } });
  say(`      HTTP ${r.status} ${JSON.stringify(r.body)}`);
  check(r.status === 403, 'alice asking for tenant="team-veggie" gets 403');

  say(`\n    $ curl -s ${pf}/api/v1/query --data-urlencode 'query=up'`);
  r = await api(pf, '/api/v1/query', { form: { query: 'up' } });
  say(`      HTTP ${r.status} ${JSON.stringify(r.body)}`);
  check(r.status === 401, 'no credentials: 401');

  r = await api(pf, '/api/v1/query', { user: 'alice', basic: true, password: 'wrong', form: { query: 'up' } });
  check(r.status === 401, 'wrong basic password: 401');

  say(`\n    $ curl -s ${bearerFlag('alice')} -G ${pf}/api/v1/series --data-urlencode 'match[]=up'`);
  r = await api(pf, '/api/v1/series', { user: 'alice', query: { 'match[]': 'up', start: String(now - 3600), end: String(now) } });
  const series = (r.body.data as Array<Record<string, string>> | undefined) ?? [];
  for (const s of series) say(`      ${JSON.stringify(s)}`);
  check(r.status === 200 && series.length > 0 && series.every((s) => s['tenant'] === 'team-fruit'), 'alice\'s /api/v1/series?match[]=up: only team-fruit');

  say(`\n    $ curl -s ${bearerFlag('bob')} ${pf}/api/v1/label/tenant/values`);
  r = await api(pf, '/api/v1/label/tenant/values', { user: 'bob' });
  say(`      ${JSON.stringify(r.body.data)}`);
  check(r.status === 200 && JSON.stringify(r.body.data) === '["team-veggie"]', 'bob\'s tenant label values: ["team-veggie"]');

  say(`\n    $ curl -s ${bearerFlag('alice')} ${pf}/api/v1/labels`);
  r = await api(pf, '/api/v1/labels', { user: 'alice' });
  const labels = (r.body.data as string[] | undefined) ?? [];
  say(`      ${JSON.stringify(labels)}`);
  check(r.status === 200 && labels.includes('fruit') && !labels.includes('veggie') && !labels.includes('replica'), 'alice\'s label names: fruit ones, no veggie ones');

  const range = 'sum by (tenant) (rate(veggie_harvested_total[5m]))';
  say(`\n    $ curl -s ${bearerFlag('bob')} ${pf}/api/v1/query_range --data-urlencode ${sq('query=' + range)} -d start=${now - 3600} -d end=${now} -d step=60`);
  r = await api(pf, '/api/v1/query_range', { user: 'bob', form: { query: range, start: String(now - 3600), end: String(now), step: '60' } });
  say(showSamples(resultOf(r)));
  check(r.status === 200 && tenantsOf(resultOf(r)) === 'team-veggie', 'bob\'s query_range: team-veggie only');

  const pq = 'sum by (tenant) (fruit_harvested_total) or sum by (tenant) (veggie_harvested_total)';
  const authUrl = `http://alice:apple@127.0.0.1:${pfPort}`;
  say(`\n    $ promtool query instant ${authUrl} ${sq(pq)}`);
  const pt = spawnSync(PROMTOOL, ['query', 'instant', authUrl, pq], { encoding: 'utf8', timeout: 30_000 });
  say((pt.stdout + pt.stderr).trimEnd().split('\n').map((l) => '      ' + l).join('\n'));
  check(pt.status === 0 && pt.stdout.includes('team-fruit') && !pt.stdout.includes('team-veggie'), 'promtool with basic auth in the URL (alice): team-fruit only');

  say('\n' + bold('Try it yourself') + ` (promfence ${pf}, Prometheus itself ${promUrl}):`);
  say(`    ${curlQuery(pf, bearerFlag('alice'), 'sum by (tenant) (rate(http_requests_total[5m]))')}`);
  say(`    ${curlQuery(pf, bearerFlag('bob'), 'sum by (veggie, replica) (veggie_harvested_total)')}`);
  say(`    ${curlQuery(pf, basicFlag('tom'), 'histogram_quantile(0.9, sum by (le, tenant) (rate(http_request_duration_seconds_bucket[5m])))')}`);
  say(`    ${curlQuery(pf, bearerFlag('tom'), 'sum by (tenant) (up)')} -d tenant=team-veggie   # narrow to one tenant`);
  say(`    ${curlQuery(pf, bearerFlag('ops'), 'sum by (mode) (rate(node_cpu_seconds_total[5m]))')}`);
  say(`    ${curlQuery(pf, bearerFlag('alice'), 'node_load1')}   # only fruit-1: the platform nodes carry no tenant label`);
  say(`    ${curlQuery(pf, bearerFlag('alice'), 'up{tenant="team-veggie"}')}   # 403`);
  say(`    curl -s ${pf}/api/v1/query --data-urlencode 'query=up'   # 401`);
  say(`    curl -s ${bearerFlag('alice')} -G ${pf}/api/v1/series --data-urlencode 'match[]={__name__=~"http_.*"}'`);
  say(`    curl -s ${bearerFlag('tom')} ${pf}/api/v1/label/tenant/values`);
  say(`    curl -s ${basicFlag('bob')} ${pf}/api/v1/labels`);
  say(`    promtool query instant http://bob:broccoli@127.0.0.1:${pfPort} 'sum by (veggie) (veggie_harvested_total)'`);
  say(`    promtool query range --start=$(($(date +%s)-3600)) --step=5m http://tom:tomato@127.0.0.1:${pfPort} 'sum by (tenant) (rate(http_requests_total[5m]))'`);
  say(`    Grafana: add a Prometheus data source with URL ${pf} and basic auth alice / apple.`);
  say(`    Data covers ${new Date(start * 1000).toISOString()} .. ${new Date(end * 1000).toISOString()}; after that pass time=<unix s> inside it, or restart the demo.`);

  if (failures > 0) {
    say('\n' + red(`${failures} isolation check(s) FAILED`) + ` — logs: ${promLog}, ${pfLog}`);
    say(tail(pfLog));
    return 1;
  }
  say('\n' + green('All isolation checks passed.'));
  if (checkMode) return 0;
  say(bold('\npromfence demo is ready — press Ctrl-C to stop'));
  await new Promise<void>((resolveWait) => {
    stopWaiting = resolveWait;
  });
  say('\nstopping promfence and Prometheus, removing ' + workDir);
  return 0;
}

let interrupted = false;
const onSignal = () => {
  if (interrupted) return;
  interrupted = true;
  // Once ready, Ctrl-C is the normal way out (exit 0); during startup it aborts (130).
  if (stopWaiting !== undefined) stopWaiting();
  else void cleanup().then(() => process.exit(130));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

main()
  .catch((err: unknown) => {
    say(red(`demo failed: ${err instanceof Error ? err.message : String(err)}`));
    return 1;
  })
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  });
