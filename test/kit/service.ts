/**
 * Test kit: one server binary (Alertmanager, a client Prometheus) on a free loopback port,
 * in its own process group under the watchdog of scripts/demo-process.ts, ready when
 * `/-/ready` answers, stopped by `stop()` (or when this process exits).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup, spawnWatched } from '../../scripts/demo-process.ts';
import { findFreePort, stopGroup } from './prometheus.ts';

/** A running service. */
export interface RunningService {
  /** Base URL, e.g. `http://127.0.0.1:41235`. */
  readonly url: string;
  /** Stops it (SIGTERM to its group, SIGKILL after 10 s) and removes its work directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `bin` with the arguments `args(port, workDir)` after writing `files` (name →
 * content) into a fresh work directory; waits 60 s at most for `/-/ready`.
 *
 * @throws Error with the end of its log when it exits or does not become ready
 */
export async function startService(bin: string, files: Readonly<Record<string, string>>, args: (port: number, work: string) => string[]): Promise<RunningService> {
  const work = mkdtempSync(join(tmpdir(), 'promfence-svc-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(work, name), content);
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawnWatched(bin, args(port, work), { stdio: ['ignore', 'ignore', 'pipe'] }, work);
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
      await stopGroup(child, exited);
    }
    rmSync(work, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const r = await fetch(url + '/-/ready');
      await r.arrayBuffer();
      if (r.ok) return { url, stop };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${bin} did not start: ${log}`);
}
