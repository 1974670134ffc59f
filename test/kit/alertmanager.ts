/**
 * Test kit: a real Alertmanager (Debian's `prometheus-alertmanager` 0.25) on a free loopback
 * port, clustering off, in its own process group under the same watchdog as the Prometheus
 * kit, stopped in `after()`.
 *
 * ```ts
 * const am = await startAlertmanager();
 * after(() => am.stop());
 * await am.api('POST', '/api/v2/alerts', [{ labels: { alertname: 'X', tenant: 'a' } }]);
 * ```
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup, spawnWatched } from '../../scripts/demo-process.ts';
import { findFreePort } from './prometheus.ts';

/** A running Alertmanager. */
export interface RunningAlertmanager {
  /** Base URL, e.g. `http://127.0.0.1:41235`. */
  readonly url: string;
  /** Calls its API directly (not through promfence): status and parsed JSON (undefined when empty). */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Stops it (SIGTERM to its group, SIGKILL after 10 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** The configuration: one receiver, alerts grouped by tenant and alert name. */
const CONFIG = `route:
  receiver: default
  group_by: [tenant, alertname]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: default
`;

/**
 * Finds the binary (default /usr/bin/prometheus-alertmanager, override ALERTMANAGER_BIN).
 *
 * @throws Error naming the Debian package when it is missing
 */
export function requireAlertmanager(): string {
  const bin = process.env['ALERTMANAGER_BIN'] ?? '/usr/bin/prometheus-alertmanager';
  if (!existsSync(bin)) {
    throw new Error(`Alertmanager tests need Debian's prometheus-alertmanager package (0.25); missing ${bin}. Install it with \`apt-get install -y prometheus-alertmanager\` (or run \`bash scripts/ensure-prometheus.sh\`), or set ALERTMANAGER_BIN.`);
  }
  return bin;
}

/**
 * Starts Alertmanager and waits until `/-/ready` answers (60 s at most).
 *
 * @throws Error when the binary is missing or it does not become ready
 */
export async function startAlertmanager(): Promise<RunningAlertmanager> {
  const bin = requireAlertmanager();
  const work = mkdtempSync(join(tmpdir(), 'promfence-am-'));
  writeFileSync(join(work, 'alertmanager.yml'), CONFIG);
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawnWatched(bin, [
    `--config.file=${join(work, 'alertmanager.yml')}`,
    `--storage.path=${join(work, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] }, work);
  child.unref();
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    log = (log + d).slice(-4000);
  });
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => killGroup(child, 'SIGKILL'));
  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(work, { recursive: true, force: true });
  };
  const api: RunningAlertmanager['api'] = async (method, path, body) => {
    const res = await fetch(url + path, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) as unknown };
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const r = await fetch(url + '/-/ready');
      await r.arrayBuffer();
      if (r.ok) return { url, api, stop };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`Alertmanager did not start: ${log}`);
}
