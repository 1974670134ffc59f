/**
 * Test kit: `promfence serve` as a real process (the CLI through tsx, so no build is needed),
 * under the watchdog of scripts/demo-process.ts, with its JSON log lines collected.
 *
 * Signals go to the node process itself ({@link PromfenceProcess.signal}), never to the
 * process group: the watchdog would turn a SIGHUP into a SIGTERM, and a SIGTERM into a
 * second one (which cuts the drain short).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killGroup, spawnWatched } from '../../scripts/demo-process.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

/** A running promfence process. */
export interface PromfenceProcess {
  /** Public listener, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Internal listener, when configured. */
  readonly internalUrl: string | undefined;
  /** Every JSON log line written to stdout so far. */
  readonly lines: Array<Record<string, unknown>>;
  /** Resolves with the exit code once the process exited. */
  readonly exited: Promise<number | null>;
  /** Sends a signal to the promfence (node) process. */
  signal(sig: NodeJS.Signals): void;
  /** PIDs of the promfence process's children (a cluster's workers). */
  children(): number[];
  /** Stops reading the process's stdout (its pipe fills up, like a slow log shipper's) until the returned function is called. */
  pauseOutput(): () => void;
  /** Waits for a log line matching `pred` (fails after `ms`). */
  waitForLine(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL to the group after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** The node process the watchdog started (its only child). */
function childPid(watchdog: ChildProcess): number | undefined {
  try {
    const pid = watchdog.pid as number;
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length > 0 ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `promfence serve --config <configPath>` and waits until it listens (and its internal
 * listener, when `expectInternal`).
 *
 * @throws Error with the process's output when it exits or does not listen within 30 s
 */
export async function spawnPromfence(configPath: string, opts: { expectInternal?: boolean } = {}): Promise<PromfenceProcess> {
  const child = spawnWatched(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'serve', '--config', configPath], { cwd: ROOT, env: { ...process.env } });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    out += d;
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
      for (const w of waiters.splice(0)) w();
    }
  });
  child.stderr?.on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    for (const w of waiters.splice(0)) w();
    resolve(code);
  }));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const waitForLine = async (pred: (l: Record<string, unknown>) => boolean, ms = 30_000): Promise<Record<string, unknown>> => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (done) throw new Error(`promfence exited before the expected log line; stderr: ${err}; stdout: ${JSON.stringify(lines).slice(-2000)}`);
      if (Date.now() > end) throw new Error(`promfence: expected log line not seen within ${ms} ms; stderr: ${err}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
  const stop = async (): Promise<void> => {
    if (!done) {
      killGroup(child, 'SIGTERM');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  };
  try {
    const listening = await waitForLine((l) => l['msg'] === 'listening');
    const internal = opts.expectInternal ? await waitForLine((l) => l['msg'] === 'internal listener') : undefined;
    return {
      url: String(listening['url']),
      internalUrl: internal === undefined ? undefined : String(internal['url']),
      lines,
      exited,
      signal(sig) {
        const pid = childPid(child);
        if (pid === undefined) throw new Error('promfence process not found under its watchdog');
        process.kill(pid, sig);
      },
      pauseOutput() {
        child.stdout?.pause();
        return () => child.stdout?.resume();
      },
      children() {
        const pid = childPid(child);
        if (pid === undefined) return [];
        try {
          return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        } catch {
          return [];
        }
      },
      waitForLine,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
