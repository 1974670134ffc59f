/** `promfence explain --config FILE [--subject NAME]`: label, syntax and size cap from a configuration. */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli.ts';
import { memoryIO } from '../config/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'promfence-explain-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'promfence.yaml');
writeFileSync(config, [
  'upstream: {url: "http://127.0.0.1:9090"}',
  'enforce: {label: team}',
  'promql: {syntax: prometheus2, max_query_bytes: 64}',
  'auth: {bearer_tokens: [{subject: tom, token: t1}]}',
  'access: {subjects: {tom: [team-fruit, team-veggie]}}',
  '',
].join('\n'));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO();
  const code = await main(['node', 'promfence', 'explain', ...args], io);
  return { code, out: io.out(), err: io.err() };
}

describe('explain --config', () => {
  it('takes the label from the configuration (no --label needed)', async () => {
    assert.deepEqual(await run('--config', config, '--tenant', 'a', 'up'), { code: 0, out: 'up{team="a"}\n', err: '' });
  });
  it('--subject takes the tenants of its grant', async () => {
    assert.deepEqual(await run('--config', config, '--subject', 'tom', 'up'), { code: 0, out: 'up{team=~"team-fruit|team-veggie"}\n', err: '' });
  });
  it('takes the dialect and the size cap from the configuration; flags win', async () => {
    assert.equal((await run('--config', config, '--tenant', 'a', 'holt_winters(x[5m], 0.5, 0.5)')).code, 0, 'prometheus2 knows holt_winters');
    assert.equal((await run('--config', config, '--syntax', 'prometheus3', '--tenant', 'a', 'holt_winters(x[5m], 0.5, 0.5)')).code, 1);
    const big = await run('--config', config, '--tenant', 'a', `x{a="${'b'.repeat(80)}"}`);
    assert.match(big.err, /^query_too_large:/);
    assert.equal((await run('--config', config, '--label', 'tenant', '--tenant', 'a', 'up')).out, 'up{tenant="a"}\n');
  });
  it('usage errors: no label and no config; --subject without --config or unknown', async () => {
    assert.deepEqual(await run('--tenant', 'a', 'up'), { code: 2, out: '', err: 'usage: --label is required (or --config FILE to take enforce.label from it)\n' });
    assert.equal((await run('--subject', 'tom', '--label', 'tenant', 'up')).code, 2);
    assert.equal((await run('--config', config, '--subject', 'nobody', 'up')).code, 2);
    const missing = await run('--config', join(dir, 'missing.yaml'), '--tenant', 'a', 'up');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no such file/);
  });
});
