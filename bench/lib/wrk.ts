/**
 * wrk (Debian's `wrk`) as the load generator of the end-to-end benchmark: a fixed number of
 * connections for a fixed time, latency percentiles from `--latency`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request shape. */
export interface WrkRequest {
  readonly method: 'GET' | 'POST';
  /** Full URL (GET carries its query string). */
  readonly url: string;
  /** Form body for POST. */
  readonly body?: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** What one wrk run measured. */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Latency percentiles, ms. */
  readonly p50: number;
  readonly p99: number;
  /** Non-2xx answers and socket errors (must be 0 for a valid run). */
  readonly errors: number;
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  if (unit === 'us') return n / 1000;
  if (unit === 'ms') return n;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return NaN;
}

/** Parses wrk's text output (with `--latency`). */
export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([0-9.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? toMs(m[1] as string, m[2] as string) : NaN;
  };
  const m = /(\d+) requests in ([0-9.]+)(us|ms|s|m)/.exec(out);
  const requests = Number(m?.[1] ?? NaN);
  const seconds = m ? toMs(m[2] as string, m[3] as string) / 1000 : NaN;
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/) || 0;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErrors = sock ? [1, 2, 3, 4].reduce((s, i) => s + Number(sock[i]), 0) : 0;
  return { requests, seconds, rps: num(/Requests\/sec:\s+([0-9.]+)/), p50: pct('50'), p99: pct('99'), errors: non2xx + sockErrors };
}

/**
 * Runs wrk against one request shape.
 *
 * @param req the request
 * @param opts connections (default 16), threads (default 2), duration in seconds (default 10)
 * @throws Error when wrk is missing (install Debian's `wrk`) or fails
 */
export async function runWrk(req: WrkRequest, opts: { connections?: number; threads?: number; seconds?: number } = {}): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'promfence-wrk-'));
  const script = join(dir, 'req.lua');
  const lua = [
    `wrk.method = ${JSON.stringify(req.method)}`,
    ...Object.entries(req.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    ...(req.body !== undefined ? [`wrk.body = ${JSON.stringify(req.body)}`, `wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"`] : []),
  ].join('\n');
  writeFileSync(script, lua + '\n');
  const args = ['-t', String(opts.threads ?? 2), '-c', String(opts.connections ?? 16), '-d', `${opts.seconds ?? 10}s`, '--latency', '-s', script, req.url];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.once('error', (e) => reject(new Error(`wrk could not run (${e.message}); install it: apt-get install -y wrk`)));
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${String(code)}: ${text}`))));
  });
  return parseWrk(out);
}
