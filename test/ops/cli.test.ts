/**
 * The command line's operational surface: `promfence --version`, and `serve` refusing an
 * internal listener it cannot bind (exit 1, the address named).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { main } from '../../src/cli.ts';
import { VERSION } from '../../src/version.ts';
import { configDir, opsYaml } from './kit.ts';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdin: new PassThrough(), stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } } };
}

describe('promfence CLI (operations)', () => {
  it('--version prints the package version and exits 0', async () => {
    const c = io();
    assert.equal(await main(['node', 'promfence', '--version'], c.io), 0);
    assert.equal(c.out.join(''), `${VERSION}\n`);
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
  });

  it('serve exits 1 naming the addresses when the internal listener cannot listen', async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as net.AddressInfo).port;
    const cfg = configDir(opsYaml('http://127.0.0.1:1', { alice: { token: 'alice-real-token', tenants: ['team-fruit'] } }).replace('internal_listen: "127.0.0.1:0"', `internal_listen: "127.0.0.1:${port}"`));
    try {
      const c = io();
      assert.equal(await main(['node', 'promfence', 'serve', '--config', cfg.path], c.io), 1);
      assert.match(c.err.join(''), new RegExp(`cannot listen on 127\\.0\\.0\\.1:0 or 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      taken.close();
      cfg.remove();
    }
  });
});
