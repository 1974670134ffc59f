/**
 * The tenant scope of the listener a request arrived on (`server.listeners[]`): set by
 * src/server.ts for each request of a scoped listener, read by the gateway (src/routes) as
 * one of the request's endpoint scopes. A WeakMap keyed by the request: nothing a client
 * sends can set it.
 */
import type { IncomingMessage } from 'node:http';
import type { TenantScope } from '../access/scope.ts';

const scopes = new WeakMap<IncomingMessage, TenantScope>();

/** Marks `req` as received on a listener bound to `scope`. */
export function setListenerScope(req: IncomingMessage, scope: TenantScope): void {
  scopes.set(req, scope);
}

/** The scope of the listener `req` arrived on; undefined for the main listener. */
export function listenerScope(req: IncomingMessage): TenantScope | undefined {
  return scopes.get(req);
}
