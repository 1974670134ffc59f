/**
 * The authentication provider contract: one provider per method (`auth.order` names them),
 * each turning the request's credential into a {@link Principal} or a coded refusal.
 * passport is the registry: every provider is registered as one passport strategy
 * ({@link ProviderStrategy}), and passport tries them in order (./authenticate.ts).
 *
 * Adding a provider (JWT, trusted header, mTLS): one file under ./providers implementing
 * {@link AuthProvider}, one member of the config union `AuthProviderConfig`
 * (src/config/types.ts), one case in ./providers/index.ts. See docs/architecture.md.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import passport from 'passport';
import type { Request } from 'express';
import type { AuthMethod, Principal } from '../access/principal.ts';
import type { AuthorizationHeader } from './header.ts';

/** What a provider may read of a request: parsed once, before any provider runs. */
export interface AuthInput {
  /** The `Authorization` header, parsed once (./header.ts). */
  readonly authorization: AuthorizationHeader;
  /** The request headers (trusted-header providers read theirs; nobody else should). */
  readonly headers: IncomingHttpHeaders;
  /** The raw header lines (name, value, name, value…), to tell a repeated header from a list. */
  readonly rawHeaders: readonly string[];
  /** The TCP/TLS socket (peer address, client certificate). */
  readonly socket: Socket;
}

/**
 * The outcome of one provider on one request:
 * - `success`: the credential is valid;
 * - `skip`: the request carries no credential this provider reads (another may);
 * - `fail`: it carries one, and it is refused; `reason` is a stable token for logs and
 *   metrics (`invalid_bearer_token`, `expired`), `message` what the client reads (never the
 *   credential). `weak: true` marks a refusal that only says "not one of mine" (a static
 *   token that matches no entry, identity headers from an untrusted address): the 401 then
 *   prefers the message of a provider that recognised the credential and refused it (a JWT
 *   that expired), and a weak reason is not recorded when a strong one is. `detail` is for
 *   the debug log only (an issuer, a key id, a library message; never the credential).
 */
export type AuthOutcome =
  | { readonly kind: 'success'; readonly principal: Principal }
  | { readonly kind: 'skip' }
  | { readonly kind: 'fail'; readonly reason: string; readonly message: string; readonly weak?: boolean; readonly detail?: string };

/** One refusal seen by the authentication middleware (./authenticate.ts). */
export interface ProviderRefusal {
  readonly method: AuthMethod;
  readonly reason: string;
  readonly message: string;
  readonly weak: boolean;
  readonly detail: string | undefined;
}

/** One authentication method. */
export interface AuthProvider {
  /** Its name in `auth.order`, logs and metrics. */
  readonly method: AuthMethod;
  /** Its `WWW-Authenticate` challenge (`Bearer realm="promfence"`), or undefined for none. */
  readonly challenge: string | undefined;
  /** Decides on one request. Must not throw for bad input (only for internal failures). */
  authenticate(input: AuthInput): AuthOutcome | Promise<AuthOutcome>;
  /** Releases resources (worker pools, timers) on shutdown or reload. */
  close?(): void;
}

/** The per-request options passport hands every strategy (see ./authenticate.ts). */
export interface StrategyOptions {
  readonly session: false;
  readonly input: AuthInput;
  /** Where refusals are recorded, in order (the middleware copies them to the request state's `authFailures`). */
  readonly refusals: ProviderRefusal[];
}

/**
 * A passport strategy that runs one {@link AuthProvider}: `success` → passport's `success`,
 * `skip`/`fail` → passport's `fail` (passport then tries the next strategy), an exception →
 * passport's `error` (500).
 */
export class ProviderStrategy extends passport.Strategy {
  readonly provider: AuthProvider;
  override name: string;

  /** @param provider the provider this strategy runs */
  constructor(provider: AuthProvider) {
    super();
    this.provider = provider;
    this.name = provider.method;
  }

  override authenticate(_req: Request, options?: StrategyOptions): void {
    if (options === undefined) {
      this.error(new Error('promfence strategies need their per-request options (wiring bug)'));
      return;
    }
    let outcome: AuthOutcome | Promise<AuthOutcome>;
    try {
      outcome = this.provider.authenticate(options.input);
    } catch (err) {
      this.error(err);
      return;
    }
    const settle = (o: AuthOutcome): void => {
      if (o.kind === 'success') return this.success(o.principal);
      if (o.kind === 'fail') {
        options.refusals.push({ method: this.provider.method, reason: o.reason, message: o.message, weak: o.weak === true, detail: o.detail });
      }
      return this.fail(this.provider.challenge ?? '', 401);
    };
    if (outcome instanceof Promise) outcome.then(settle, (err: unknown) => this.error(err));
    else settle(outcome);
  }
}
