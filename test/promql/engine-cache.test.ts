/**
 * The enforcement cache keyed by text (issue #10): a text's entry holds its validation and
 * each enforced print; a prepared text carries its entry to step 2 only within the enforcer
 * that prepared it; the bound counts results, whatever the number of policies per text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenantList, tenantPolicy } from '../../src/access/index.ts';
import { Enforcer, type EnforceOptions } from '../../src/enforce/index.ts';

const opts = (tenant: string): EnforceOptions => ({ policy: tenantPolicy('tenant', tenantList([tenant])), syntax: 'prometheus3' });

describe('Enforcer cache keyed by text', () => {
  it('a text prepared by one enforcer is applied by another through that other\'s own cache and steps', () => {
    const a = new Enforcer();
    let applied = 0;
    const b = new Enforcer({ steps: { applyPolicy: () => `B${++applied}` } });
    const prepared = a.prepare('query', 'up', opts('x'));
    assert.equal(a.apply(prepared, opts('x').policy), 'up{tenant="x"}');
    assert.equal(b.apply(prepared, opts('x').policy), 'B1', 'B runs its own step, never A\'s cached result');
    assert.equal(b.apply(prepared, opts('x').policy), 'B1', 'and caches it in its own cache');
    assert.equal(b.stats.misses, 1);
    assert.equal(b.size, 1);
    assert.equal(a.size, 2);
  });

  it('one text under many policies: the bound counts results, the LRU drops whole texts', () => {
    const c = new Enforcer({ maxEntries: 10 });
    for (let i = 0; i < 20; i++) assert.equal(c.enforceQuery('up', opts(`t${i}`)), `up{tenant="t${i}"}`);
    assert.ok(c.size <= 10, `${c.size} results cached`);
    for (let i = 0; i < 4; i++) c.enforceQuery(`x${i}`, opts('a'));
    assert.ok(c.size <= 10, `${c.size} results cached`);
    const before = c.stats.hits;
    c.enforceQuery('x3', opts('a'));
    assert.equal(c.stats.hits - before, 2, 'the most recent text is still cached (both steps)');
  });
});
