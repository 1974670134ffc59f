/**
 * The first middleware: gives every request an id and its context.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { initContext } from './context.ts';

/** An incoming `X-Request-Id` is kept only when it matches this (≤ 128 chars of `[A-Za-z0-9._-]`). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Accepts a sane incoming `X-Request-Id` (see {@link REQUEST_ID_PATTERN}), else generates a
 * UUID; installs the request context and echoes the id in the `X-Request-Id` response header.
 * A repeated header (Node joins it with `, `) fails the pattern and gets a fresh id.
 *
 * @returns the middleware; it always calls `next()`
 */
export function requestId(): RequestHandler {
  return function promfenceRequestId(req, res, next) {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    initContext(req, res, id);
    res.setHeader('X-Request-Id', id);
    return next();
  };
}
