/**
 * The bcrypt worker pool (src/auth/password-pool.ts): comparisons run in worker threads, the
 * event loop keeps turning meanwhile, the queue is bounded, and the gateway's basic provider
 * answers 429 (not 401, not 500) when it is full.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { createAuthenticator } from '../../src/auth/authenticate.ts';
import { createPasswordPool, PasswordPoolBusyError } from '../../src/auth/password-pool.ts';
import { parseConfig } from '../../src/config/load.ts';
import { errorBody, HttpError } from '../../src/http/errors.ts';
import { requestState, state } from '../../src/http/state.ts';
import { silentLogger } from '../../src/observability/logger.ts';

const FAST = bcrypt.hashSync('apple', 4);
const SLOW = bcrypt.hashSync('apple', 11); // ~0.1–0.3 s per compare

describe('password pool', { timeout: 60_000 }, () => {
  it('starts no thread before the first comparison, then compares in one', async () => {
    const pool = createPasswordPool({ workers: 1 });
    try {
      assert.equal(pool.started, 0);
      assert.equal(await pool.compare('apple', FAST), true);
      assert.equal(await pool.compare('pear', FAST), false);
      assert.equal(await pool.compare('apple', 'not a hash'), false);
      assert.equal(pool.started, 1);
      assert.equal(pool.pending, 0);
    } finally {
      pool.close();
    }
  });

  it('the event loop keeps turning while a slow comparison runs', async () => {
    const pool = createPasswordPool({ workers: 1 });
    try {
      let turns = 0;
      let done = false;
      const spin = () => {
        turns++;
        if (!done) setImmediate(spin);
      };
      setImmediate(spin);
      assert.equal(await pool.compare('apple', SLOW), true);
      done = true;
      // bcryptjs's compareSync on the event loop would allow no turn at all.
      assert.ok(turns >= 20, `only ${turns} event-loop turns during a cost-11 compare`);
    } finally {
      pool.close();
    }
  });

  // Red-team finding: 64 connections of random passwords from one address kept the shared
  // queue full, and users from elsewhere got 429 for as long as it lasted.
  it('one address holds at most its share of the queue, and waits its turn round-robin', async () => {
    const pool = createPasswordPool({ workers: 1, maxQueued: 32, maxQueuedPerClient: 3 });
    try {
      const order: string[] = [];
      const track = (who: string, p: Promise<boolean>) => p.then((ok) => {
        order.push(who);
        return ok;
      });
      const flood = [track('a0', pool.compare('x', SLOW, 'attacker')), ...[1, 2, 3].map((i) => track(`a${i}`, pool.compare('x', FAST, 'attacker')))];
      await assert.rejects(pool.compare('x', FAST, 'attacker'), PasswordPoolBusyError);
      const user = track('user', pool.compare('apple', FAST, 'user'));
      assert.equal(await user, true);
      await Promise.all(flood);
      // a0 was running; then one turn each: the user before the attacker's second waiting check.
      assert.deepEqual(order, ['a0', 'a1', 'user', 'a2', 'a3']);
    } finally {
      pool.close();
    }
  });

  it('refuses beyond the queue bound instead of growing it, and keeps serving', async () => {
    const pool = createPasswordPool({ workers: 1, maxQueued: 2 });
    try {
      const running = [pool.compare('apple', SLOW), pool.compare('apple', FAST), pool.compare('pear', FAST)];
      await assert.rejects(pool.compare('apple', FAST), PasswordPoolBusyError);
      assert.equal(pool.pending, 3);
      assert.deepEqual(await Promise.all(running), [true, true, false]);
      assert.equal(await pool.compare('apple', FAST), true);
    } finally {
      pool.close();
    }
  });

  it('close() rejects what is waiting or running, and later calls', async () => {
    const pool = createPasswordPool({ workers: 1 });
    const a = pool.compare('apple', SLOW);
    const b = pool.compare('apple', FAST);
    pool.close();
    await assert.rejects(a, /closed/);
    await assert.rejects(b, /closed/);
    await assert.rejects(pool.compare('apple', FAST), /closed/);
  });
});

describe('basic authentication with the pool', { timeout: 60_000 }, () => {
  const config = parseConfig(`
upstream: {url: "http://127.0.0.1:9090"}
auth:
  basic_users:
    - {subject: bob, password_hash: "${SLOW}"}
access: {subjects: {bob: [team-veggie]}}
`, { baseDir: '/', env: {} });

  function app(maxQueued: number) {
    const auth = createAuthenticator(config, silentLogger(), { passwordPool: { workers: 1, maxQueued } });
    const a = express();
    a.use(requestState());
    a.use(auth.middleware);
    a.use((_req, res) => res.json({ subject: state(res).principal?.subject }));
    a.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const e = err instanceof HttpError ? err : new HttpError('internal_error', String(err));
      res.status(e.status).set(e.headers).json(errorBody(e.code, e.message));
    });
    return { app: a, close: () => auth.close() };
  }
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

  it('a full queue is 429 rate_limited with Retry-After, never 401 or 500; the right password still works after', async () => {
    const { app: a, close } = app(1);
    try {
      const wrong = Array.from({ length: 6 }, (_, i) => request(a).get('/').set('Authorization', basic('bob', `wrong-${i}`)));
      const answers = await Promise.all(wrong);
      const statuses = answers.map((r) => r.status).sort();
      assert.ok(statuses.includes(429), statuses.join(','));
      assert.ok(statuses.every((s) => s === 401 || s === 429), statuses.join(','));
      const limited = answers.find((r) => r.status === 429);
      assert.equal(limited?.body.code, 'rate_limited');
      assert.equal(limited?.headers['retry-after'], '1');
      const ok = await request(a).get('/').set('Authorization', basic('bob', 'apple'));
      assert.equal(ok.status, 200);
      assert.equal(ok.body.subject, 'bob');
    } finally {
      close();
    }
  });
});
