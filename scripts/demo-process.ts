/**
 * Child processes that cannot outlive their parent: used by the demo (scripts/demo.ts) and
 * the test kit (test/kit/prometheus.ts) for Prometheus and the gateway.
 *
 * The command runs under a small `sh` watchdog in a new process group. The watchdog polls
 * the parent's pid every second and terminates the command when the parent is gone, so a
 * test runner killed by a timeout (SIGTERM/SIGKILL: no `exit` handlers run) leaves no
 * Prometheus behind. Stop it normally with {@link killGroup} (SIGTERM to the whole group).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const WATCHDOG = [
  'parent=$1; dir=$2; shift 2',
  '"$@" & child=$!',
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT HUP',
  'while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done',
  'kill -TERM "$child" 2>/dev/null',
  'wait "$child"; status=$?',
  // The parent died without cleaning up: remove its temp dir too.
  'if [ -n "$dir" ] && ! kill -0 "$parent" 2>/dev/null; then rm -rf -- "$dir"; fi',
  'exit $status',
].join('\n');

/**
 * Spawns `cmd args` under the watchdog, detached into its own process group.
 * stdin is ignored; stdout/stderr follow `opts.stdio` (default: piped).
 *
 * @param cleanupDir a directory the watchdog removes when the parent died without stopping the command
 * @returns the watchdog's ChildProcess: it exits when the command exits
 */
export function spawnWatched(cmd: string, args: readonly string[], opts: Omit<SpawnOptions, 'detached'> = {}, cleanupDir = ''): ChildProcess {
  return spawn('sh', ['-c', WATCHDOG, 'watchdog', String(process.pid), cleanupDir, cmd, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
    detached: true,
  });
}

/** Sends `signal` to the child's whole process group (watchdog and command); ignores a group already gone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}
