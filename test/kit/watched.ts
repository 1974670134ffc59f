/**
 * Test kit: a long-running helper process (Prometheus, Caddy) under the watchdog of
 * scripts/demo-process.ts — its own process group, killed with its parent — with the tail of
 * its output kept for error messages and a stop() that terminates the group (SIGKILL after
 * 10 s) and removes its work directory.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { rmSync } from 'node:fs';
import { killGroup, spawnWatched } from '../../scripts/demo-process.ts';

/** A running helper. */
export interface WatchedProcess {
  readonly child: ChildProcess;
  /** The last bytes it wrote on stdout/stderr. */
  log(): string;
  /** True once it exited. */
  exited(): boolean;
  /** Stops it and removes `workDir`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `bin args` under the watchdog; the test process never waits on it.
 *
 * @param workDir removed by stop() (and by the watchdog when this process dies first)
 * @param env the child's environment (default: this process's)
 */
export function startWatched(bin: string, args: readonly string[], workDir: string, env?: SpawnOptions['env']): WatchedProcess {
  const child = spawnWatched(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env === undefined ? {} : { env }) }, workDir);
  child.unref();
  let log = '';
  for (const s of [child.stdout, child.stderr]) {
    s?.setEncoding('utf8');
    s?.on('data', (d: string) => {
      log = (log + d).slice(-6000);
    });
    (s as unknown as { unref?: () => void } | null)?.unref?.();
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stopping: Promise<void> | undefined;
  return {
    child,
    log: () => log,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop() {
      stopping ??= (async () => {
        killGroup(child, 'SIGTERM');
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
        rmSync(workDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
