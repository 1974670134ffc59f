import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AccessError, ALL_TENANTS, grantedTenants, narrowTenants, parseTenantHeader, principal, resolvePolicy, tenantIdProblem, tenantList,
  type Grants, type Principal, type TenantSet,
} from '../../src/access/index.ts';

function nullProto(o: Record<string, string[]>): Record<string, string[]> {
  return Object.assign(Object.create(null) as Record<string, string[]>, o);
}
const access: Grants = {
  subjects: nullProto({ alice: ['team-fruit'], tom: ['team-fruit', 'team-veggie'], ops: ['*'], dup: ['b', 'a', 'b'] }),
  groups: nullProto({ 'veggie-devs': ['team-veggie'], admins: ['*'], fruit: ['team-fruit'] }),
};
const who = (subject: string, groups: string[] = [], tenants: string[] = []): Principal => principal(subject, 'bearer_tokens', { groups, tenants });

function throwsHttp(fn: () => unknown, code: string, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AccessError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  });
}

describe('grantedTenants', () => {
  it('one subject, one tenant', () => {
    assert.deepEqual(grantedTenants(who('alice'), access), tenantList(['team-fruit']));
  });
  it('the tomato reads both', () => {
    assert.deepEqual(grantedTenants(who('tom'), access), { kind: 'list', tenants: ['team-fruit', 'team-veggie'] });
  });
  it('union of subject and groups, de-duplicated and sorted', () => {
    assert.deepEqual(grantedTenants(who('alice', ['veggie-devs', 'fruit']), access), { kind: 'list', tenants: ['team-fruit', 'team-veggie'] });
    assert.deepEqual(grantedTenants(who('dup'), access), { kind: 'list', tenants: ['a', 'b'] });
  });
  it('groups alone grant', () => {
    assert.deepEqual(grantedTenants(who('nobody', ['veggie-devs']), access), tenantList(['team-veggie']));
  });
  it('"*" from the subject or any group is ALL', () => {
    assert.equal(grantedTenants(who('ops'), access), ALL_TENANTS);
    assert.equal(grantedTenants(who('alice', ['admins']), access), ALL_TENANTS);
  });
  it('nothing granted is 403 no_tenants with a fix', () => {
    throwsHttp(() => grantedTenants(who('alice-typo', ['unknown-group']), access), 'no_tenants',
      'subject "alice-typo" is authenticated but no tenants are granted to it; add it to access.subjects or one of its groups to access.groups');
  });
  it('never reads Object.prototype (constructor, __proto__, toString)', () => {
    const plain: Grants = { subjects: { alice: ['a'] }, groups: {} };
    for (const s of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.throws(() => grantedTenants(who(s, [s]), plain), (e: unknown) => e instanceof AccessError && e.code === 'no_tenants');
    }
  });
  it('tenants carried by the credential (a JWT claim) add to the configured grant', () => {
    assert.deepEqual(grantedTenants(who('nobody', [], ['team-meat']), access), tenantList(['team-meat']));
    assert.deepEqual(grantedTenants(who('alice', [], ['team-meat']), access), tenantList(['team-fruit', 'team-meat']));
  });
});

describe('narrowTenants', () => {
  const tom = tenantList(['team-fruit', 'team-veggie']);
  it('nothing requested keeps the grant', () => {
    assert.equal(narrowTenants(tom, [], 'tom'), tom);
    assert.equal(narrowTenants(ALL_TENANTS, [], 'ops'), ALL_TENANTS);
  });
  it('selects a subset', () => {
    assert.deepEqual(narrowTenants(tom, ['team-veggie'], 'tom'), tenantList(['team-veggie']));
    assert.deepEqual(narrowTenants(tom, ['team-veggie', 'team-fruit', 'team-veggie'], 'tom'), tom);
  });
  it('a tenant outside the grant is 403 naming it', () => {
    throwsHttp(() => narrowTenants(tenantList(['team-fruit']), ['team-veggie'], 'alice'), 'forbidden_tenant',
      'tenant "team-veggie" is not granted to subject "alice"');
    throwsHttp(() => narrowTenants(tom, ['team-fruit', 'team-meat'], 'tom'), 'forbidden_tenant',
      'tenant "team-meat" is not granted to subject "tom"');
  });
  it('"*" only for an ALL subject', () => {
    throwsHttp(() => narrowTenants(tom, ['*'], 'tom'), 'forbidden_tenant',
      'tenant "*" (all tenants) is not granted to subject "tom"; request one or more of: team-fruit, team-veggie');
    assert.equal(narrowTenants(ALL_TENANTS, ['*'], 'ops'), ALL_TENANTS);
  });
  it('an ALL subject may pick any valid tenants; the result is exactly those', () => {
    assert.deepEqual(narrowTenants(ALL_TENANTS, ['x', 'a'], 'ops'), { kind: 'list', tenants: ['a', 'x'] });
  });
  it('a syntactically invalid tenant is 400 invalid_parameter, even for ALL', () => {
    throwsHttp(() => narrowTenants(ALL_TENANTS, ['a|b'], 'ops'), 'invalid_parameter',
      'invalid tenant "a|b": it contains "|"; allowed characters are 0-9 a-z A-Z ! - _ . * \' ( )');
    throwsHttp(() => narrowTenants(tom, [''], 'tom'), 'invalid_parameter', 'invalid tenant "": it is empty');
    throwsHttp(() => narrowTenants(ALL_TENANTS, ['..'], 'ops'), 'invalid_parameter', 'invalid tenant "..": it is not allowed (Mimir refuses "." and "..")');
  });
  it('property: narrowing a list grant gives exactly the requested subset, and refuses anything else', () => {
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e', '*', 'a|b', '.*', '');
    let narrowed = 0;
    // Half the requests are drawn from the grant itself, so successful narrowings are common.
    const grantAndRequest = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1 })
      .chain((grant) => fc.tuple(fc.constant(grant), fc.oneof(fc.subarray(grant), fc.array(id))));
    fc.assert(fc.property(grantAndRequest, ([grant, req]) => {
      const granted = tenantList(grant);
      const invalid = req.some((t) => tenantIdProblem(t) !== undefined);
      const foreign = req.some((t) => !(grant as string[]).includes(t));
      let out: TenantSet;
      try {
        out = narrowTenants(granted, req, 's');
      } catch (e) {
        assert.ok(e instanceof AccessError);
        assert.equal(e.code, invalid ? 'invalid_parameter' : 'forbidden_tenant');
        assert.ok(invalid || foreign, `refused a subset: ${JSON.stringify(req)} of ${JSON.stringify(grant)}`);
        return;
      }
      assert.ok(!invalid && !foreign, `accepted ${JSON.stringify(req)} for grant ${JSON.stringify(grant)}`);
      assert.deepEqual(out, req.length === 0 ? granted : tenantList(req));
      if (req.length > 0) narrowed++;
    }), { numRuns: 500 });
    assert.ok(narrowed > 100, `only ${narrowed} successful narrowings sampled`);
  });
});

describe('parseTenantHeader', () => {
  it('comma list, trimmed', () => {
    assert.deepEqual(parseTenantHeader('team-a'), ['team-a']);
    assert.deepEqual(parseTenantHeader(' team-a ,\tteam-b'), ['team-a', 'team-b']);
  });
  for (const v of ['', ' ', 'a,,b', 'a,', ',a', ' , ']) {
    it(`refuses empty items: ${JSON.stringify(v)}`, () => {
      throwsHttp(() => parseTenantHeader(v), 'invalid_parameter',
        `invalid X-Promfence-Tenant header ${JSON.stringify(v)}: empty tenant in the list; send a comma-separated list like "team-a,team-b"`);
    });
  }
  it('names the configured header', () => {
    assert.throws(() => parseTenantHeader('', 'X-Team'), /invalid X-Team header/);
  });
});

describe('tenantIdProblem', () => {
  it('accepts Mimir charset and the lone "*"', () => {
    for (const id of ['team-fruit', "a!b_c.d*e'f(g)", '0', '*', 'x'.repeat(150)]) assert.equal(tenantIdProblem(id), undefined, id);
  });
  it('refuses the rest', () => {
    for (const id of ['', '.', '..', 'a|b', 'a b', 'a/b', 'é', 'x'.repeat(151), 'a\nb']) assert.notEqual(tenantIdProblem(id), undefined, id);
    assert.notEqual(tenantIdProblem('*', false), undefined);
  });
});

describe('resolvePolicy', () => {
  it('a tenant grant is one matcher set on the label; narrowing applies; * is unrestricted', () => {
    const p = resolvePolicy(who('tom'), access, ['team-veggie'], 'tenant');
    assert.deepEqual(p.selectors, [[{ name: 'tenant', op: '=', value: 'team-veggie' }]]);
    assert.deepEqual(p.tenants, tenantList(['team-veggie']));
    const both = resolvePolicy(who('tom'), access, [], 'tenant');
    assert.deepEqual(both.selectors, [[{ name: 'tenant', op: '=~', value: 'team-fruit|team-veggie' }]]);
    const ops = resolvePolicy(who('ops'), access, [], 'tenant');
    assert.equal(ops.selectors, undefined);
    assert.notEqual(p.key, both.key);
    assert.notEqual(both.key, ops.key);
  });
  it('refusals are AccessErrors with their codes', () => {
    throwsHttp(() => resolvePolicy(who('alice'), access, ['team-veggie'], 'tenant'), 'forbidden_tenant', 'tenant "team-veggie" is not granted to subject "alice"');
    assert.throws(() => resolvePolicy(who('nobody'), access, [], 'tenant'), (e: unknown) => e instanceof AccessError && e.code === 'no_tenants');
  });
});
