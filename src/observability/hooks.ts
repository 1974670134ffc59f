/**
 * The one request-finished hook: when a response finishes (or its connection closes first),
 * every registered {@link RequestFinishedHook} receives one {@link FinishedRequest} built
 * from the request state. The access log is one such hook; metrics and audit add theirs.
 */
import type { ServerResponse } from 'node:http';
import { onFinished } from '../http/finished.ts';
import type { RequestState } from '../http/state.ts';

/** A request as it ended. */
export interface FinishedRequest {
  /** Everything the pipeline learned (principal, route, policy, error code, upstream…). */
  readonly state: RequestState;
  /** The client's method. */
  readonly method: string;
  /** Status sent; 499 when the client went away before any response was sent. */
  readonly status: number;
  /** True when the response did not complete (client gone, or cut mid-stream). */
  readonly aborted: boolean;
  /** From the first middleware to the end, ms (float). */
  readonly durationMs: number;
}

/** Receives every finished request, once. Must not throw (errors are swallowed, never affect the request). */
export type RequestFinishedHook = (r: FinishedRequest) => void;

/**
 * Calls every hook once when `res` finishes or closes, whichever comes first.
 *
 * @param res the response
 * @param state the request's state
 * @param method the client's method
 * @param hooks the hooks, in order
 */
export function onRequestFinished(res: ServerResponse, state: RequestState, method: string, hooks: readonly RequestFinishedHook[]): void {
  if (hooks.length === 0) return;
  let done = false;
  const fire = () => {
    if (done) return;
    done = true;
    const aborted = !res.writableFinished;
    const finished: FinishedRequest = {
      state,
      method,
      status: aborted && !res.headersSent ? 499 : res.statusCode,
      aborted,
      durationMs: performance.now() - state.startedAt,
    };
    for (const hook of hooks) {
      try {
        hook(finished);
      } catch {
        // A hook never breaks a request.
      }
    }
  };
  onFinished(res, fire);
}
