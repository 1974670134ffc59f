/**
 * The token-bucket step shared by both stores (src/limits/store.ts) and the memory store,
 * with a fake clock: starts full, refills continuously, never above `burst`, and says how
 * long until the next token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore } from '../../src/limits/memory.ts';
import { takeToken } from '../../src/limits/store.ts';

describe('token bucket', () => {
  it('takes a token when one is there, else says when the next one comes', () => {
    const spec = { rate: 2, burst: 3 };
    assert.deepEqual(takeToken(3, 0, 0, spec), { tokens: 2, ts: 0, allowed: true, retryAfterMs: 0 });
    assert.deepEqual(takeToken(0.5, 0, 0, spec), { tokens: 0.5, ts: 0, allowed: false, retryAfterMs: 250 });
    // 0.2 tokens + 400 ms at 2/s = 1.0: exactly one token.
    assert.equal(takeToken(0.2, 0, 400, spec).allowed, true);
    // An hour later the bucket holds burst tokens, not more.
    assert.equal(takeToken(0, 0, 3_600_000, spec).tokens, 2);
    // A clock that went backwards (another replica) refills nothing and keeps the later time.
    assert.deepEqual(takeToken(0, 1000, 500, spec), { tokens: 0, ts: 1000, allowed: false, retryAfterMs: 500 });
  });

  it('memory store: burst requests pass at once, then one per 1/rate seconds', async () => {
    let now = 0;
    const store = createMemoryStore(() => now);
    const spec = { rate: 0.5, burst: 2 };
    const take = async () => store.take('subject:alice', spec);
    assert.deepEqual(await take(), { allowed: true });
    assert.deepEqual(await take(), { allowed: true });
    assert.deepEqual(await take(), { allowed: false, retryAfterMs: 2000 });
    now = 1000;
    assert.deepEqual(await take(), { allowed: false, retryAfterMs: 1000 });
    now = 2000;
    assert.deepEqual(await take(), { allowed: true });
    assert.deepEqual(await store.take('subject:bob', spec), { allowed: true }, 'buckets are per key');
    now = 1_000_000;
    assert.deepEqual(await take(), { allowed: true });
    assert.deepEqual(await take(), { allowed: true });
    assert.equal((await take()).allowed, false, 'refilled to burst, not beyond');
  });

  it('memory store: in-flight slots are counted per key and released once', async () => {
    const store = createMemoryStore(() => 0);
    const a = await store.acquire('subject:alice', 2, 1000);
    const b = await store.acquire('subject:alice', 2, 1000);
    assert.ok(a && b);
    assert.equal(await store.acquire('subject:alice', 2, 1000), undefined);
    assert.ok(await store.acquire('subject:bob', 2, 1000));
    a.release();
    a.release();
    assert.ok(await store.acquire('subject:alice', 2, 1000));
    assert.equal(await store.acquire('subject:alice', 2, 1000), undefined, 'a double release frees one slot only');
  });
});
