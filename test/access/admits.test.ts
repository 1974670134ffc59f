/**
 * Policy decisions outside PromQL: label sets (Alertmanager alerts), matcher lists that must
 * pin the tenant label (silences), silence scoping, and matcher-list enforcement (remote read).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policyAdmits, policyCovers, tenantList, tenantPolicy, type AccessPolicy, type LabelMatcher } from '../../src/access/index.ts';
import { enforceMatchers } from '../../src/enforce/matchers.ts';
import { HttpError } from '../../src/http/errors.ts';
import { PromQLError } from '../../src/promql/errors.ts';
import { scopeSilence, silenceVisible, type PostableSilence } from '../../src/routes/silences.ts';
import { filterAlertGroups, filterAlerts, alertmanagerFilter } from '../../src/routes/alertmanager.ts';

const FRUIT = tenantPolicy('tenant', tenantList(['team-fruit']));
const TOMATO = tenantPolicy('tenant', tenantList(['team-fruit', 'team-veggie']));
const ALL = tenantPolicy('tenant', { kind: 'all' });
const m = (name: string, op: LabelMatcher['op'], value: string): LabelMatcher => ({ name, op, value });
/** A label policy of two OR-ed sets (what access.label_policies will build). */
const OR: AccessPolicy = { label: 'tenant', tenants: tenantList(['team-fruit', 'team-veggie']), selectors: [[m('tenant', '=', 'team-fruit')], [m('tenant', '=', 'team-veggie'), m('job', '=', 'api')]], key: 'or' };

describe('policyAdmits (alerts)', () => {
  const cases: Array<[string, AccessPolicy, Record<string, string>, boolean]> = [
    ['own tenant', FRUIT, { tenant: 'team-fruit', alertname: 'X' }, true],
    ['foreign tenant', FRUIT, { tenant: 'team-veggie' }, false],
    ['no tenant label', FRUIT, { alertname: 'NodeDown' }, false],
    ['tomato, veggie', TOMATO, { tenant: 'team-veggie' }, true],
    ['tomato, a tenant whose name is a regex of both', TOMATO, { tenant: 'team-fruit|team-veggie' }, false],
    ['unrestricted, no tenant', ALL, {}, true],
    ['OR policy, second set', OR, { tenant: 'team-veggie', job: 'api' }, true],
    ['OR policy, second set, other job', OR, { tenant: 'team-veggie', job: 'web' }, false],
  ];
  for (const [name, policy, labels, want] of cases) it(name, () => assert.equal(policyAdmits(policy, labels), want));
  it('a label named like an Object.prototype member is read as missing', () => {
    const p = tenantPolicy('constructor', tenantList(['x']));
    assert.equal(policyAdmits(p, {}), false);
  });
});

describe('policyCovers / silenceVisible (silences)', () => {
  const sil = (...ms: Array<[string, string, boolean, boolean?]>) => ({ matchers: ms.map(([name, value, isRegex, isEqual]) => ({ name, value, isRegex, ...(isEqual === undefined ? {} : { isEqual }) })) });
  const cases: Array<[string, AccessPolicy, unknown, boolean]> = [
    ['tenant="team-fruit" for alice', FRUIT, sil(['tenant', 'team-fruit', false], ['alertname', 'X', false]), true],
    ['tenant="team-veggie" for alice', FRUIT, sil(['tenant', 'team-veggie', false]), false],
    ['no tenant matcher', FRUIT, sil(['alertname', 'X', false]), false],
    ['tenant!="team-veggie" (negative: mutes every other tenant)', FRUIT, sil(['tenant', 'team-veggie', false, false]), false],
    ['tenant!="team-fruit" (negative naming the own tenant: mutes everyone else)', FRUIT, sil(['tenant', 'team-fruit', false, false]), false],
    ['tenant!~"team-fruit" (negative regex naming the own tenant)', FRUIT, sil(['tenant', 'team-fruit', true, false]), false],
    ['tenant=~"team-.*" (open regex)', TOMATO, sil(['tenant', 'team-.*', true]), false],
    ['tenant=~"team-fruit|team-veggie" for tom', TOMATO, sil(['tenant', 'team-fruit|team-veggie', true]), true],
    ['tenant=~"team-fruit|team-veggie" for alice', FRUIT, sil(['tenant', 'team-fruit|team-veggie', true]), false],
    ['tenant=~"team-fruit|" (also matches the missing label)', FRUIT, sil(['tenant', 'team-fruit|', true]), false],
    ['tenant=~"team\\.fruit" is not team-fruit', FRUIT, sil(['tenant', 'team\\.fruit', true]), false],
    ['negative regex', FRUIT, sil(['tenant', 'team-veggie', true, false]), false],
    ['malformed matchers', FRUIT, { matchers: [{ name: 'tenant', value: 'team-fruit' }] }, false],
    ['no matchers list', FRUIT, {}, false],
    ['unrestricted sees anything', ALL, sil(['alertname', 'X', false]), true],
  ];
  for (const [name, policy, silence, want] of cases) it(name, () => assert.equal(silenceVisible(silence, policy), want));
  it('OR policy: either set must be pinned entirely', () => {
    assert.equal(policyCovers(OR, [m('tenant', '=', 'team-veggie')]), false);
    assert.equal(policyCovers(OR, [m('tenant', '=', 'team-veggie'), m('job', '=', 'api')]), true);
  });
});

describe('scopeSilence (POST /api/v2/silences)', () => {
  const base: PostableSilence = { matchers: [{ name: 'alertname', value: 'X', isRegex: false, isEqual: true }], startsAt: 's', endsAt: 'e', createdBy: 'c', comment: 'k' };
  const refused = (fn: () => unknown) => assert.throws(fn, (e: unknown) => e instanceof HttpError && e.code === 'forbidden_tenant');
  it('one tenant, no tenant matcher: tenant="team-fruit" is added', () => {
    assert.deepEqual(scopeSilence(base, FRUIT, 'alice').matchers.at(-1), { name: 'tenant', value: 'team-fruit', isRegex: false, isEqual: true });
  });
  it('several tenants must name them', () => {
    refused(() => scopeSilence(base, TOMATO, 'tom'));
    const named = { ...base, matchers: [...base.matchers, { name: 'tenant', value: 'team-fruit|team-veggie', isRegex: true, isEqual: true }] };
    assert.deepEqual(scopeSilence(named, TOMATO, 'tom'), named);
  });
  it('a foreign tenant is named in the refusal', () => {
    assert.throws(() => scopeSilence({ ...base, matchers: [{ name: 'tenant', value: 'team-veggie', isRegex: false }] }, FRUIT, 'alice'),
      (e: unknown) => e instanceof HttpError && e.code === 'forbidden_tenant' && /tenant "team-veggie" is not granted to subject "alice"/.test(e.message));
  });
  it('a tenant matcher that does not pin is not replaced', () => refused(() => scopeSilence({ ...base, matchers: [{ name: 'tenant', value: 'team-veggie', isRegex: false, isEqual: false }] }, FRUIT, 'alice')));
  it('unrestricted: unchanged', () => assert.deepEqual(scopeSilence(base, ALL, 'ops'), base));
});

describe('alert answers', () => {
  const alerts = [{ labels: { tenant: 'team-fruit', alertname: 'A' } }, { labels: { tenant: 'team-veggie', alertname: 'B' } }, { labels: { alertname: 'C' } }, { nolabels: true }];
  it('alerts: only admitted ones', () => {
    assert.deepEqual(filterAlerts(alerts, TOMATO), alerts.slice(0, 2));
    assert.deepEqual(filterAlerts(alerts, ALL), alerts);
  });
  it('groups rebuilt, empty groups removed', () => {
    const groups = [
      { labels: { alertname: 'A' }, receiver: { name: 'r' }, alerts: [alerts[0], alerts[1]] },
      { labels: { alertname: 'C' }, receiver: { name: 'r' }, alerts: [alerts[2]] },
    ];
    assert.deepEqual(filterAlertGroups(groups, FRUIT), [{ labels: { alertname: 'A' }, receiver: { name: 'r' }, alerts: [alerts[0]] }]);
  });
  it('a non-list answer is refused', () => assert.throws(() => filterAlerts({}, FRUIT), HttpError));
  it('filter syntax escapes like Alertmanager unescapes', () => {
    assert.equal(alertmanagerFilter(m('tenant', '=~', 'a\\.b|c"d')), 'tenant=~"a\\\\.b|c\\"d"');
  });
});

describe('enforceMatchers (remote read)', () => {
  const code = (c: string) => (e: unknown) => e instanceof PromQLError && e.code === c;
  it('adds the one set', () => assert.deepEqual(enforceMatchers([m('__name__', '=', 'up')], TOMATO), [m('__name__', '=', 'up'), m('tenant', '=~', 'team-fruit|team-veggie')]));
  it('refuses an OR policy (unsupported_policy)', () => assert.throws(() => enforceMatchers([m('__name__', '=', 'up')], OR), code('unsupported_policy')));
  it('refuses empty selectors', () => {
    assert.throws(() => enforceMatchers([], FRUIT), code('empty_selector'));
    assert.throws(() => enforceMatchers([m('job', '=~', '.*')], FRUIT), code('empty_selector'));
  });
  it('refuses foreign tenants, literal or in a literal alternation', () => {
    assert.throws(() => enforceMatchers([m('tenant', '=', 'team-veggie')], FRUIT), code('forbidden_tenant'));
    assert.throws(() => enforceMatchers([m('tenant', '=~', 'team-fruit|team-veggie')], FRUIT), code('forbidden_tenant'));
    assert.deepEqual(enforceMatchers([m('tenant', '=', 'team-veggie')], FRUIT, { rejectForeignTenant: false }).length, 2);
  });
});
