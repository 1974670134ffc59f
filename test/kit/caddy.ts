/**
 * Test kit: Debian's Caddy (`/usr/bin/caddy`, 2.6) run from a Caddyfile, in its own process
 * group under the watchdog, with HOME and XDG directories of its own (its local CA and state
 * live there, never in the real home; nothing reaches an ACME server: sites use `tls internal`
 * or plain HTTP).
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWatched } from './watched.ts';

/** A running Caddy. */
export interface RunningCaddy {
  /** Its private data directory (`$XDG_DATA_HOME`): the local CA is under `caddy/pki/authorities/local/`. */
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * Finds Caddy (default /usr/bin/caddy, or CADDY_BIN).
 *
 * @throws Error naming `apt-get install caddy` when it is missing
 */
export function requireCaddy(): string {
  const bin = process.env['CADDY_BIN'] ?? '/usr/bin/caddy';
  if (!existsSync(bin)) throw new Error(`these tests need Debian's caddy package (missing ${bin}); install it with \`apt-get install -y caddy\` or set CADDY_BIN`);
  return bin;
}

/**
 * Starts `caddy run` on a Caddyfile and waits until `ready()` resolves true.
 *
 * @param caddyfile the Caddyfile text
 * @param env environment for `{$NAME}` placeholders
 * @param ready polled every 100 ms (60 s at most), with Caddy's data directory
 * @throws Error with Caddy's log when it exits or is not ready in time
 */
export async function startCaddy(caddyfile: string, env: Record<string, string>, ready: (dataDir: string) => Promise<boolean>): Promise<RunningCaddy> {
  const bin = requireCaddy();
  const work = mkdtempSync(join(tmpdir(), 'promfence-caddy-'));
  const file = join(work, 'Caddyfile');
  writeFileSync(file, caddyfile);
  const dataDir = join(work, 'data');
  const proc = startWatched(bin, ['run', '--adapter', 'caddyfile', '--config', file], work,
    { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, XDG_DATA_HOME: dataDir, XDG_CONFIG_HOME: join(work, 'config'), ...env });
  const stop = () => proc.stop();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !proc.exited()) {
    try {
      if (await ready(dataDir)) return { dataDir, stop };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`caddy did not become ready: ${proc.log()}`);
}
