/**
 * `promfence explain --selector` (issue #12): label policy selectors OR-ed with the tenants,
 * in-process and once through the compiled binary.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { explainCommand, type ExplainArgs } from '../../src/commands/explain.ts';
import type { CommandIO } from '../../src/commands/io.ts';
import { REPO_ROOT } from '../kit/corpus.ts';

function fakeIO(stdin = ''): { io: CommandIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdin: Readable.from([Buffer.from(stdin, 'utf8')]),
      stdout: { write: (s: string) => ((out += s), true) },
      stderr: { write: (s: string) => ((err += s), true) },
    },
    out: () => out,
    err: () => err,
  };
}

const BASE: ExplainArgs = { label: 'tenant', tenants: ['team-fruit'], selectors: ['{tenant="team-veggie", job="api"}'], syntax: 'prometheus3', jsonl: false, maxQueryBytes: 32768 };

describe('explain --selector', () => {
  it('shows the OR rewrite', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, query: 'sum(rate(x[5m]))' }, f.io), 0);
    assert.equal(f.out(), 'sum((rate(x{tenant="team-fruit"}[5m]) or rate(x{tenant="team-veggie", job="api"}[5m])))\n');
  });
  it('selectors alone are a policy; an unsupported construct is exit 1 with its code', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, tenants: [], query: "x[5m]" }, f.io), 0);
    assert.equal(f.out(), 'x{tenant="team-veggie", job="api"}[5m]\n');
    const g = fakeIO();
    assert.equal(await explainCommand({ ...BASE, query: 'x[5m]' }, g.io), 1);
    assert.match(g.err(), /^unsupported_policy: range vector selector outside a function call/);
  });
  it('an invalid selector is a usage error (exit 2) naming it', async () => {
    const f = fakeIO();
    assert.equal(await explainCommand({ ...BASE, selectors: ['{job="api"}'], query: 'up' }, f.io), 2);
    assert.match(f.err(), /^usage: selector "\{job=\\"api\\"\}" has no matcher on the tenant label "tenant"/);
  });
  it('stdin mode, JSON lines', async () => {
    const f = fakeIO('up\nx[5m]\n');
    assert.equal(await explainCommand({ ...BASE }, f.io), 0);
    assert.deepEqual(f.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>), [
      { query: 'up', enforced: '(up{tenant="team-fruit"} or up{tenant="team-veggie", job="api"})' },
      { query: 'x[5m]', error: { code: 'unsupported_policy', message: 'range vector selector outside a function call (x[5m]): a range vector cannot be restricted to an access policy of several label selectors; wrap it in a function (last_over_time, rate, …), or ask for a policy of one selector' } },
    ]);
  });
  it('the compiled binary takes repeated --selector without --tenant', () => {
    const r = spawnSync(process.execPath, [`${REPO_ROOT}/bin/promfence.js`, 'explain', '--label', 'tenant', '--selector', '{tenant="a", job="x"}', '--selector', '{tenant="b", job="x"}', 'up'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'up{tenant=~"a|b", job="x"}\n');
  });
});
