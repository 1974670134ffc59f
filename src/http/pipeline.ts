/**
 * The gateway's fixed middleware chain as one Express layer (issue #10): Express's router
 * matches the path of every `app.use` layer and wraps each call; for a chain that is the
 * same for every request, one layer that calls the steps in order does the same work with
 * one match per request instead of six.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs `steps` in order, as Express would run them as separate `app.use` layers: a step
 * continues the chain with `next()`, ends it by answering, or fails with `next(err)`, a
 * synchronous throw or a rejected promise (Express 5 semantics); an error skips the remaining
 * steps and goes to Express's error handlers through the outer `next(err)`. After the last
 * step, `next()` goes on to the layers after this one.
 *
 * @param steps the middleware, in order
 * @returns one middleware
 */
export function sequence(steps: readonly RequestHandler[]): RequestHandler {
  const n = steps.length;
  return function promfencePipeline(req: Request, res: Response, done: NextFunction): void {
    let i = 0;
    const fail = (err: unknown): void => done(err ?? new Error('a middleware rejected without a reason'));
    const next = (err?: unknown): void => {
      if (err !== undefined && err !== null) return done(err);
      if (i >= n) return done();
      const step = steps[i++] as RequestHandler;
      try {
        const r: unknown = step(req, res, next);
        if (r instanceof Promise) r.then(undefined, fail);
      } catch (e) {
        fail(e);
      }
    };
    next();
  };
}
