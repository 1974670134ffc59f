/**
 * Test kit: a Prometheus 2.42 that *scrapes* — backfilled blocks carry no metadata,
 * exemplars or firing alerts, so this one scrapes a small exporter of ours every second
 * (OpenMetrics with exemplars, a histogram, series of team-fruit, team-veggie and untenanted
 * platform series) and evaluates a rule file with tenant-labelled rules that fire.
 *
 * ```ts
 * const live = await startLivePrometheus();
 * after(() => live.stop());
 * ```
 *
 * Same process discipline as ./prometheus.ts (own process group, watchdog, free ports).
 */
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWatched } from './watched.ts';
import { findFreePort, requirePrometheus } from './prometheus.ts';

/** The exporter's exposition (OpenMetrics 1.0): what each tenant owns. */
export const EXPOSITION = `# HELP fruit_apples Apples picked.
# TYPE fruit_apples counter
fruit_apples_total{tenant="team-fruit",orchard="north"} 42.0 # {trace_id="fruit-trace"} 1.0
# HELP fruit_ripeness_seconds How long fruit takes to ripen.
# TYPE fruit_ripeness_seconds histogram
fruit_ripeness_seconds_bucket{tenant="team-fruit",le="1.0"} 1
fruit_ripeness_seconds_bucket{tenant="team-fruit",le="+Inf"} 2
fruit_ripeness_seconds_sum{tenant="team-fruit"} 3.0
fruit_ripeness_seconds_count{tenant="team-fruit"} 2
# HELP veggie_carrots Carrots pulled.
# TYPE veggie_carrots counter
veggie_carrots_total{tenant="team-veggie"} 7.0 # {trace_id="veggie-trace"} 1.0
# HELP shared_queue_depth Queue depth of both teams.
# TYPE shared_queue_depth gauge
shared_queue_depth{tenant="team-fruit"} 3.0
shared_queue_depth{tenant="team-veggie"} 5.0
# HELP platform_secret_build Untenanted platform build information.
# TYPE platform_secret_build gauge
platform_secret_build{version="s3cr3t"} 1.0
# EOF
`;

/** Tenant-labelled rules that fire at their first evaluation, plus untenanted ones. */
export const RULE_FILE = `groups:
  - name: fruit
    interval: 1s
    rules:
      - alert: FruitStock
        expr: fruit_apples_total > 0
        labels: {tenant: team-fruit, severity: info}
        annotations: {summary: "apples in stock"}
      - record: tenant:fruit_apples:sum
        expr: sum by (tenant) (fruit_apples_total)
        labels: {tenant: team-fruit}
  - name: veggie
    interval: 1s
    rules:
      - alert: VeggieStock
        expr: veggie_carrots_total > 0
        labels: {tenant: team-veggie}
  - name: platform
    interval: 1s
    rules:
      - alert: QueueDeep
        expr: shared_queue_depth > 0
      - alert: PlatformSecret
        expr: platform_secret_build > 0
      - record: job:up:sum
        expr: sum by (job) (up)
`;

/** Alerts the rule file fires once everything was scraped and evaluated: 2 team rules, QueueDeep for each team, PlatformSecret. */
export const FIRING_ALERTS = 5;

/** A running scraping Prometheus and its exporter. */
export interface LivePrometheus {
  readonly url: string;
  /** The exporter's base URL (serves /metrics). */
  readonly exporterUrl: string;
  stop(): Promise<void>;
}

async function json(url: string): Promise<{ status?: string; data?: unknown } | undefined> {
  try {
    const r = await fetch(url);
    return (await r.json()) as { status?: string; data?: unknown };
  } catch {
    return undefined;
  }
}

/**
 * Starts the exporter and Prometheus (scrape and evaluation every 1 s, exemplar storage on)
 * and waits until every alert fires and metadata is known.
 *
 * @throws Error when Prometheus does not get there within 60 s
 */
export async function startLivePrometheus(): Promise<LivePrometheus> {
  const bins = requirePrometheus();
  const exporter = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
    res.end(EXPOSITION);
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
  const exporterUrl = `http://127.0.0.1:${(exporter.address() as AddressInfo).port}`;
  const work = mkdtempSync(join(tmpdir(), 'promfence-live-'));
  writeFileSync(join(work, 'rules.yml'), RULE_FILE);
  writeFileSync(join(work, 'prometheus.yml'), [
    'global: {scrape_interval: 1s, evaluation_interval: 1s}',
    'rule_files: [rules.yml]',
    'scrape_configs:',
    '  - job_name: exporter',
    '    honor_labels: true',
    `    static_configs: [{targets: ["${new URL(exporterUrl).host}"]}]`,
    '',
  ].join('\n'));
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startWatched(bins.prometheus, [
    `--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--enable-feature=exemplar-storage', '--log.level=warn',
  ], work);
  const stop = async () => {
    await proc.stop();
    exporter.closeAllConnections();
    await new Promise((r) => exporter.close(r));
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exited()) break;
    const alerts = await json(`${url}/api/v1/alerts`);
    const meta = await json(`${url}/api/v1/metadata`);
    const firing = ((alerts?.data as { alerts?: Array<{ state: string }> } | undefined)?.alerts ?? []).filter((a) => a.state === 'firing').length;
    if (firing >= FIRING_ALERTS && Object.keys((meta?.data as object | undefined) ?? {}).length > 0) {
      // Tests ask for ranges ending at the current whole second: when the first scrape was
      // less than a second ago, that end precedes every sample and answers are empty.
      await new Promise((r) => setTimeout(r, 1100));
      return { url, exporterUrl, stop };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`live Prometheus did not fire its alerts in time; log: ${proc.log()}`);
}
