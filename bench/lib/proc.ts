/**
 * Process measurements from /proc (Linux): CPU time and resident memory of a process, read by
 * the benchmarks around a load run.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime/stime (USER_HZ; 100 on Linux). */
export const CLOCK_TICKS = 100;

/**
 * CPU time a process used so far, user + system, in ms (resolution 10 ms).
 *
 * @param pid process id
 * @throws Error when the process is gone
 */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}

/** Resident set size of a process, bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The pids of a process and all its descendants (for a server that forks workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let children = '';
    try {
      children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8');
    } catch {
      children = '';
    }
    for (const c of children.trim().split(/\s+/)) if (c !== '') out.push(Number(c));
  }
  return out;
}

/** Sum of `read` over a process tree (a process that exits meanwhile counts 0). */
function treeSum(pid: number, read: (pid: number) => number): number {
  return processTree(pid).reduce((sum, p) => {
    try {
      return sum + read(p);
    } catch {
      return sum;
    }
  }, 0);
}

/** CPU ms of a process tree (a cluster primary and its workers). */
export function treeCpuMs(pid: number): number {
  return treeSum(pid, cpuMs);
}

/** RSS bytes of a process tree. */
export function treeRssBytes(pid: number): number {
  return treeSum(pid, rssBytes);
}
