import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { verifyBearerToken } from '../../src/auth/providers/bearer-tokens.ts';
import { createBasicVerifier, verifyBasicCredentials } from '../../src/auth/providers/basic.ts';
import { parseAuthorization } from '../../src/auth/header.ts';
import type { BasicUserEntry, BearerTokenEntry } from '../../src/config/types.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const entries: BearerTokenEntry[] = Array.from({ length: 50 }, (_, i) => ({ subject: `s${i}`, token_sha256: sha(`token-${i}`), groups: i === 49 ? ['g'] : [] }));

describe('verifyBearerToken', () => {
  it('finds the first and the last entry', () => {
    assert.deepEqual(verifyBearerToken('token-0', entries), { subject: 's0', groups: [], tenants: [], method: 'bearer_tokens' });
    assert.deepEqual(verifyBearerToken('token-49', entries), { subject: 's49', groups: ['g'], tenants: [], method: 'bearer_tokens' });
  });
  it('returns null for unknown, empty, prefix, or differently-cased tokens', () => {
    for (const t of ['token-50', '', 'token-', 'TOKEN-1', 'token-1 ', sha('token-1')]) assert.equal(verifyBearerToken(t, entries), null, t);
  });
  it('returns a frozen principal (shared objects cannot be mutated downstream)', () => {
    const p = verifyBearerToken('token-49', entries);
    assert.ok(p && Object.isFrozen(p) && Object.isFrozen(p.groups));
  });
  it('no entries: null', () => {
    assert.equal(verifyBearerToken('x', []), null);
  });
});

describe('verifyBasicCredentials', () => {
  const users: BasicUserEntry[] = [{ subject: 'bob', password_hash: bcrypt.hashSync('pw', 4), groups: ['g'] }];
  it('accepts the right password', async () => {
    assert.deepEqual(await verifyBasicCredentials('bob', 'pw', users), { subject: 'bob', groups: ['g'], tenants: [], method: 'basic' });
  });
  it('refuses a wrong password and a wrong-case username', async () => {
    assert.equal(await verifyBasicCredentials('bob', 'pW', users), null);
    assert.equal(await verifyBasicCredentials('Bob', 'pw', users), null);
  });
  it('an unknown user still runs one compare, against a hash of the same cost', async () => {
    const seen: string[] = [];
    const compare = async (_pw: string, hash: string) => {
      seen.push(hash);
      return bcrypt.compare(_pw, hash);
    };
    assert.equal(await verifyBasicCredentials('mallory', 'pw', users, compare), null);
    assert.equal(seen.length, 1);
    assert.ok(seen[0]?.startsWith('$2b$04$'));
    assert.equal(seen[0]?.length, 60);
  });
  it('empty username or password: null without compare', async () => {
    let n = 0;
    const compare = async () => { n += 1; return true; };
    assert.equal(await verifyBasicCredentials('', 'pw', users, compare), null);
    assert.equal(await verifyBasicCredentials('bob', '', users, compare), null);
    assert.equal(n, 0);
  });
});

describe('createBasicVerifier', () => {
  const users: BasicUserEntry[] = Array.from({ length: 5 }, (_, i) => ({ subject: `u${i}`, password_hash: bcrypt.hashSync(`p${i}`, 4), groups: [] }));
  function counting() {
    let n = 0;
    return { compare: (pw: string, h: string) => { n += 1; return bcrypt.compare(pw, h); }, calls: () => n };
  }
  it('concurrent checks of the same credentials share one bcrypt run', async () => {
    const c = counting();
    const verify = createBasicVerifier({ users, ttlMs: 60_000, compare: c.compare });
    const out = await Promise.all(Array.from({ length: 10 }, () => verify('u1', 'p1')));
    assert.ok(out.every((found) => found?.subject === 'u1'));
    assert.equal(c.calls(), 1);
  });
  it('the cache is bounded: the least recently used entry is evicted', async () => {
    const c = counting();
    const verify = createBasicVerifier({ users, ttlMs: 60_000, compare: c.compare, maxEntries: 2 });
    await verify('u0', 'p0');
    await verify('u1', 'p1');
    await verify('u0', 'p0'); // u0 is now the most recently used
    await verify('u2', 'p2'); // evicts u1 (a FIFO cache would evict u0)
    assert.equal(c.calls(), 3);
    await verify('u2', 'p2');
    await verify('u0', 'p0');
    assert.equal(c.calls(), 3, 'u0 and u2 must still be cached');
    await verify('u1', 'p1');
    assert.equal(c.calls(), 4, 'u1 must have been evicted');
  });
  it('two verifiers (a config reload) do not share a cache', async () => {
    const c = counting();
    await createBasicVerifier({ users, ttlMs: 60_000, compare: c.compare })('u3', 'p3');
    await createBasicVerifier({ users, ttlMs: 60_000, compare: c.compare })('u3', 'p3');
    assert.equal(c.calls(), 2);
  });
});

describe('parseAuthorization', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const cases: Array<[string | undefined, unknown]> = [
    [undefined, { kind: 'none' }],
    ['', { kind: 'none' }],
    ['Bearer abc.def-_~+/=', { kind: 'bearer', token: 'abc.def-_~+/=' }],
    ['BEARER x', { kind: 'bearer', token: 'x' }],
    ['Bearer', { kind: 'malformed', scheme: 'bearer' }],
    ['Bearer a b', { kind: 'malformed', scheme: 'bearer' }],
    ['Bearer tök', { kind: 'malformed', scheme: 'bearer' }],
    [`Basic ${b64('bob:a:b')}`, { kind: 'basic', username: 'bob', password: 'a:b' }],
    [`basic ${b64(':pw')}`, { kind: 'basic', username: '', password: 'pw' }],
    [`Basic ${b64('bob')}`, { kind: 'malformed', scheme: 'basic' }],
    ['Basic a*b', { kind: 'malformed', scheme: 'basic' }],
    ['Negotiate abc', { kind: 'unsupported', scheme: 'Negotiate' }],
    [`XBasicY ${b64('bob:pw')}`, { kind: 'unsupported', scheme: 'XBasicY' }],
    [' Bearer x', { kind: 'unsupported', scheme: '' }],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)}`, () => assert.deepEqual(parseAuthorization(input), expected));
  }
});
