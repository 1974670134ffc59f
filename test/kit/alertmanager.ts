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
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startService } from './service.ts';

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
    throw new Error(`Alertmanager tests need Debian's prometheus-alertmanager package (0.25); missing ${bin}. Install it with \`apt-get install -y prometheus-alertmanager\` (or run \`bash scripts/ensure-packages.sh\`), or set ALERTMANAGER_BIN.`);
  }
  return bin;
}

/**
 * Starts Alertmanager and waits until `/-/ready` answers (60 s at most).
 *
 * @throws Error when the binary is missing or it does not become ready
 */
export async function startAlertmanager(): Promise<RunningAlertmanager> {
  const svc = await startService(requireAlertmanager(), { 'alertmanager.yml': CONFIG }, (port, work) => [
    `--config.file=${join(work, 'alertmanager.yml')}`,
    `--storage.path=${join(work, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
  const api: RunningAlertmanager['api'] = async (method, path, body) => {
    const res = await fetch(svc.url + path, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) as unknown };
  };
  return { url: svc.url, api, stop: svc.stop };
}
