import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Enforcer, enforceQuery, PromQLError } from '../../src/enforce/index.ts';
import { tenantList } from '../../src/access/tenants.ts';
import { topts } from '../kit/policy.ts';

const opts = topts({ label: 'tenant', tenants: tenantList(['team-fruit']), syntax: 'prometheus3' });

function refusal(fn: () => unknown): PromQLError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PromQLError);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('forbidden_tenant carries the tenant the query named', () => {
  it('from enforceQuery', () => {
    const err = refusal(() => enforceQuery('up{tenant="team-veggie"}', opts));
    assert.equal(err.code, 'forbidden_tenant');
    assert.equal(err.tenant, 'team-veggie');
  });

  it('from the cache, on a miss and on a hit', () => {
    const cache = new Enforcer({ maxEntries: 10 });
    for (let i = 0; i < 2; i++) {
      const err = refusal(() => cache.enforceQuery('sum(up{tenant="team-veggie"})', opts));
      assert.equal(err.code, 'forbidden_tenant');
      assert.equal(err.tenant, 'team-veggie');
    }
  });

  it('other refusals carry no tenant', () => {
    assert.equal(refusal(() => enforceQuery('{}', opts)).tenant, undefined);
  });
});
