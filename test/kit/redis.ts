/**
 * Test kit: a real Redis (Debian's `redis-server`) on a free loopback port, no persistence,
 * under the watchdog of scripts/demo-process.ts; stop() kills it.
 */
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { killGroup, spawnWatched } from '../../scripts/demo-process.ts';
import { findFreePort } from './prometheus.ts';

/** A running redis-server. */
export interface RunningRedis {
  readonly port: number;
  /** `redis://:<password>@127.0.0.1:<port>` (or without password). */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` (REDIS_SERVER_BIN, default /usr/bin/redis-server) and waits for PING.
 *
 * @param opts `password`: `requirepass`; `port`: a fixed port (to restart on the same one)
 * @throws Error naming `apt-get install redis-server` when the binary is missing, or when it does not answer within 20 s
 */
export async function startRedis(opts: { password?: string; port?: number } = {}): Promise<RunningRedis> {
  const bin = process.env['REDIS_SERVER_BIN'] ?? '/usr/bin/redis-server';
  if (!existsSync(bin)) throw new Error(`Redis tests need Debian's redis-server (${bin} is missing): apt-get install -y redis-server, or set REDIS_SERVER_BIN`);
  const port = opts.port ?? (await findFreePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  if (opts.password !== undefined) args.push('--requirepass', opts.password);
  const child = spawnWatched(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://${opts.password === undefined ? '' : `:${encodeURIComponent(opts.password)}@`}127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => {});
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      probe.disconnect();
    }
    if (Date.now() > end || child.exitCode !== null) {
      killGroup(child, 'SIGKILL');
      throw new Error(`redis-server did not answer on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  probe.disconnect();
  let stopped = false;
  return {
    port,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      killGroup(child, 'SIGKILL');
      await exited;
    },
  };
}
