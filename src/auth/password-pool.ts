/**
 * bcrypt comparisons off the event loop: a small pool of `worker_threads` running
 * bcryptjs's synchronous compare, with a bounded queue (issue #11, "Pre-auth CPU").
 *
 * Why a worker pool and not bcryptjs's async compare or a native binding (measured on the
 * project's 2-core machine, cost 10, see docs/security.md): bcryptjs's `compare()` runs on
 * the event loop in slices — 8 concurrent compares stalled every other request for ~1.5 s;
 * `@node-rs/bcrypt` (a Rust binding whose binary ships in its npm package) is no faster here
 * (~170 ms per compare for both) and runs on libuv's shared thread pool, where a flood of
 * `Basic` headers would queue DNS lookups, file reads and zlib work behind it. A dedicated
 * pool keeps the event loop free, leaves libuv's pool alone, caps the CPU that password checks
 * can take (one core of two by default), and refuses work beyond a bounded queue instead of
 * growing it. It adds no dependency.
 *
 * Waiting comparisons are queued per client address and taken round-robin: a flood of `Basic`
 * headers from one address (a red-team pass sent 64 connections of random passwords) holds at
 * most `maxQueuedPerClient` places and one turn per round, so a user from another address
 * waits for one comparison per busy address, not for the whole flood.
 *
 * Workers start on the first comparison (a configuration without basic users never starts
 * one), keep the process alive only while they compare, and a worker that dies is replaced
 * on the next comparison.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Options of {@link createPasswordPool}. */
export interface PasswordPoolOptions {
  /** Worker threads. Default: one fewer than the cores, at least 1, at most 4 (1 on a 2-core machine). */
  readonly workers?: number;
  /** Comparisons that may wait for a worker; more are refused with {@link PasswordPoolBusyError}. Default 32 per worker. */
  readonly maxQueued?: number;
  /** Comparisons one client address may have waiting; more are refused with {@link PasswordPoolBusyError}. Default {@link DEFAULT_MAX_QUEUED_PER_CLIENT}. */
  readonly maxQueuedPerClient?: number;
}

/** Default of {@link PasswordPoolOptions.maxQueuedPerClient}. */
export const DEFAULT_MAX_QUEUED_PER_CLIENT = 8;

/** A comparison refused because every worker is busy and the queue is full. */
export class PasswordPoolBusyError extends Error {
  constructor(queued: number) {
    super(`${queued} password checks are already waiting`);
    this.name = 'PasswordPoolBusyError';
  }
}

/** The pool. */
export interface PasswordPool {
  /**
   * Resolves whether `password` matches the bcrypt `hash`; rejects with
   * {@link PasswordPoolBusyError} when every worker is busy and the queue, or this client's
   * share of it, is full.
   *
   * @param client the fairness key: the client's address (default `''`, one shared queue)
   */
  compare(password: string, hash: string, client?: string): Promise<boolean>;
  /** Comparisons running or waiting. */
  readonly pending: number;
  /** Worker threads currently started. */
  readonly started: number;
  /** Stops the workers; waiting and running comparisons reject. */
  close(): void;
}

/** Default worker count: one core is left to the event loop. */
export function defaultPasswordWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

// The worker is evaluated source (not a file next to this one), so that it runs the same from
// src/ under a TypeScript loader and from dist/; it imports bcryptjs from the path this module
// resolves.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.bcrypt).then((m) => {
  const bcrypt = m.default ?? m;
  parentPort.on('message', (job) => {
    let ok = false;
    let error;
    try {
      ok = bcrypt.compareSync(job.password, job.hash) === true;
    } catch (e) {
      error = String((e && e.message) || e);
    }
    parentPort.postMessage({ id: job.id, ok, error });
  });
}, (e) => { throw e; });
`;

interface Job {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
  readonly resolve: (ok: boolean) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  job: Job | undefined;
}

/**
 * Creates a pool (no thread starts before the first {@link PasswordPool.compare}).
 *
 * @param options worker count and queue bound ({@link PasswordPoolOptions})
 */
export function createPasswordPool(options: PasswordPoolOptions = {}): PasswordPool {
  const size = Math.max(1, Math.floor(options.workers ?? defaultPasswordWorkers()));
  const maxQueued = Math.max(0, Math.floor(options.maxQueued ?? 32 * size));
  const bcryptUrl = import.meta.resolve('bcryptjs');
  const maxPerClient = Math.max(1, Math.floor(options.maxQueuedPerClient ?? DEFAULT_MAX_QUEUED_PER_CLIENT));
  const slots: Slot[] = Array.from({ length: size }, () => ({ worker: undefined, job: undefined }));
  // Waiting jobs per client; the Map's insertion order is the round-robin ring (a client that
  // still has jobs after its turn is deleted and set again: to the end).
  const queues = new Map<string, Job[]>();
  let waiting = 0;
  let nextId = 1;
  let closed = false;

  const queued = () => waiting;
  const take = (): Job | undefined => {
    const first = queues.entries().next();
    if (first.done === true) return undefined;
    const [client, jobs] = first.value;
    const job = jobs.shift();
    queues.delete(client);
    if (jobs.length > 0) queues.set(client, jobs);
    if (job !== undefined) waiting--;
    return job;
  };

  const start = (slot: Slot): Worker => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcrypt: bcryptUrl }, execArgv: [], env: {} });
    w.on('message', (msg: { id: number; ok: boolean; error?: string }) => {
      const job = slot.job;
      if (job === undefined || job.id !== msg.id) return;
      slot.job = undefined;
      w.unref();
      if (msg.error !== undefined) job.reject(new Error(`bcrypt compare failed: ${msg.error}`));
      else job.resolve(msg.ok);
      dispatch();
    });
    const died = (err: Error) => {
      if (slot.worker !== w) return;
      slot.worker = undefined;
      const job = slot.job;
      slot.job = undefined;
      job?.reject(err);
      dispatch();
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`password worker exited with code ${code}`)));
    // Referenced only while it runs a comparison (attaching a 'message' listener refs it, so
    // unref after): an idle pool never keeps the process alive.
    w.unref();
    slot.worker = w;
    return w;
  };

  const dispatch = () => {
    if (closed) return;
    for (const slot of slots) {
      if (slot.job !== undefined || queued() === 0) continue;
      const job = take();
      if (job === undefined) break;
      slot.job = job;
      const w = slot.worker ?? start(slot);
      w.ref();
      w.postMessage({ id: job.id, password: job.password, hash: job.hash });
    }
  };

  return {
    compare(password, hash, client = '') {
      if (closed) return Promise.reject(new Error('the password pool is closed'));
      const busy = slots.every((s) => s.job !== undefined);
      const mine = queues.get(client);
      if (busy && (queued() >= maxQueued || (mine?.length ?? 0) >= maxPerClient)) return Promise.reject(new PasswordPoolBusyError(queued()));
      return new Promise<boolean>((resolve, reject) => {
        const job = { id: nextId++, password, hash, resolve, reject };
        if (mine === undefined) queues.set(client, [job]);
        else mine.push(job);
        waiting++;
        dispatch();
      });
    },
    get pending() {
      return queued() + slots.filter((s) => s.job !== undefined).length;
    },
    get started() {
      return slots.filter((s) => s.worker !== undefined).length;
    },
    close() {
      if (closed) return;
      closed = true;
      const gone = new Error('the password pool is closed');
      for (const jobs of queues.values()) for (const job of jobs) job.reject(gone);
      queues.clear();
      waiting = 0;
      for (const slot of slots) {
        const w = slot.worker;
        const job = slot.job;
        slot.worker = undefined;
        slot.job = undefined;
        job?.reject(gone);
        void w?.terminate();
      }
    },
  };
}
