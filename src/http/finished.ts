/**
 * One pair of `finish`/`close` listeners per response, shared by everything that waits for
 * a response to end (the pipelining queue, the in-flight count, the request-finished hooks,
 * the subject limits, the upstream abort): issue #10 measured five `once` pairs per request
 * as event-listener churn on the hot path.
 */
import type { ServerResponse } from 'node:http';

const CALLBACKS = Symbol('promfence.finished');

type Tracked = ServerResponse & { [CALLBACKS]?: Array<() => void> | null };

/**
 * Calls `fn` once when `res` finishes (its last byte handed to the socket) or closes,
 * whichever comes first — like `res.once('finish', fn); res.once('close', fn)` with a guard.
 * Callbacks run in the order they were registered; one that throws does not stop the
 * others (the error is re-thrown asynchronously, as an event listener's would be). A
 * callback registered after the response ended runs at once.
 *
 * @param res the response
 * @param fn the callback (no arguments; read `res.writableFinished` to tell a complete
 *   response from a closed connection)
 */
export function onFinished(res: ServerResponse, fn: () => void): void {
  const r = res as Tracked;
  const list = r[CALLBACKS];
  if (list === null) {
    fn();
    return;
  }
  if (list !== undefined) {
    list.push(fn);
    return;
  }
  r[CALLBACKS] = [fn];
  const fire = (): void => {
    const fns = r[CALLBACKS];
    if (fns === null || fns === undefined) return;
    r[CALLBACKS] = null;
    res.off('finish', fire);
    res.off('close', fire);
    for (const f of fns) {
      try {
        f();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  };
  res.on('finish', fire);
  res.on('close', fire);
}
