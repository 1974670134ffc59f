/**
 * One JWT checked against one issuer with jose's `jwtVerify`, and jose's errors mapped to
 * promfence's stable refusal reasons.
 */
import {
  errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions,
} from 'jose';
import type { JwtIssuerConfig } from '../../config/types.ts';
import { KeysUnavailableError } from './keys.ts';

/** The outcome of {@link verifyJwt}. */
export type VerifyOutcome =
  | { readonly ok: true; readonly payload: JWTPayload }
  | { readonly ok: false; readonly reason: string; readonly message: string; readonly detail: string };

const iso = (seconds: unknown): string => (typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'an invalid time');

/**
 * Maps an error of jose (or of the key set) to a refusal. Reasons:
 *
 * | reason | when |
 * |---|---|
 * | `expired` | `exp` is past (beyond `clock_tolerance`) |
 * | `not_yet_valid` | `nbf` is in the future (beyond `clock_tolerance`) |
 * | `missing_exp` | no `exp` and the issuer has `require_exp: true` |
 * | `wrong_issuer` | `iss` missing or not the configured `issuer` |
 * | `wrong_audience` | `aud` missing or none of the configured `audience` |
 * | `algorithm_not_allowed` | `alg` outside the issuer's `algorithms` (HS256 against a public-key issuer) |
 * | `bad_signature` | the signature does not verify |
 * | `unknown_kid` | no key of the issuer matches the token (`kid`, `kty`, `alg`) |
 * | `jwks_unavailable` | the issuer's keys cannot be fetched |
 * | `malformed_token` | not a well-formed JWS/JWT |
 * | `invalid_claims` | a registered claim of the wrong type (`exp` not a number) |
 * | `unusable_key` | the matching key cannot verify (an RSA key under 2048 bits) |
 * | `invalid_token` | any other refusal of jose |
 *
 * @param err what `jwtVerify` threw
 * @param cfg the issuer (names it in messages)
 * @param alg the token's `alg`, for the message
 */
export function refusalOf(err: unknown, cfg: JwtIssuerConfig, alg: string): { reason: string; message: string; detail: string } {
  const name = JSON.stringify(cfg.name);
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const r = (reason: string, message: string) => ({ reason, message: `invalid JWT: ${message}`, detail });
  // The cause (URL, network error) goes to the log only: anyone can send a token naming any issuer.
  if (err instanceof KeysUnavailableError) return { reason: 'jwks_unavailable', message: `invalid JWT: the keys of issuer ${name} cannot be fetched right now; try again later`, detail };
  if (err instanceof errors.JWTExpired) return r('expired', `the token expired at ${iso(err.payload['exp'])}; get a new one`);
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return r(err.reason === 'invalid' ? 'invalid_claims' : 'not_yet_valid', err.reason === 'invalid' ? '"nbf" must be a number' : `the token is not valid before ${iso(err.payload['nbf'])} (check the clocks)`);
      case 'exp':
        return err.reason === 'missing' ? r('missing_exp', `the token has no expiry ("exp"), which issuer ${name} requires (require_exp)`) : r('invalid_claims', '"exp" must be a number');
      case 'iss':
        return r('wrong_issuer', `the token's issuer ("iss") is not ${JSON.stringify(cfg.issuer)}`);
      case 'aud':
        return r('wrong_audience', `the token's audience ("aud") does not include ${(cfg.audience ?? []).map((a) => JSON.stringify(a)).join(' or ')}`);
      default:
        return r('invalid_claims', `claim ${JSON.stringify(err.claim)} is invalid`);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return r('algorithm_not_allowed', `algorithm ${JSON.stringify(alg)} is not accepted for issuer ${name} (accepted: ${cfg.algorithms.join(', ')})`);
  if (err instanceof errors.JWSSignatureVerificationFailed) return r('bad_signature', `the signature does not verify with the keys of issuer ${name}`);
  if (err instanceof errors.JWKSNoMatchingKey) return r('unknown_kid', `no key of issuer ${name} matches the token (its "kid", "alg" or key type)`);
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return r('malformed_token', 'the token is not a well-formed JWT');
  if (err instanceof errors.JOSEError) return r('invalid_token', `the token is refused by issuer ${name}`);
  if (err instanceof TypeError) return r('unusable_key', `the key of issuer ${name} that matches the token cannot verify it`);
  throw err;
}

/**
 * Verifies `token` against one issuer: signature (with `key`), `alg` in `algorithms`, `iss`
 * and `aud` when configured (then required), `exp`/`nbf` with `clock_tolerance`, `exp`
 * required unless `require_exp: false`. Several keys matching the token (no `kid`) are
 * tried in turn, as jose documents for `JWKSMultipleMatchingKeys`.
 *
 * @param token the compact JWT
 * @param key the issuer's key or key resolver (./keys.ts)
 * @param cfg the issuer
 * @param nowMs the current time, epoch ms (frozen in tests)
 * @param alg the token's `alg` header (for messages)
 * @returns the verified payload, or a refusal
 * @throws only what is not a refusal (a bug)
 */
export async function verifyJwt(token: string, key: Uint8Array | JWTVerifyGetKey, cfg: JwtIssuerConfig, nowMs: number, alg: string): Promise<VerifyOutcome> {
  const options: JWTVerifyOptions = {
    algorithms: cfg.algorithms,
    clockTolerance: cfg.clock_tolerance_ms / 1000,
    currentDate: new Date(nowMs),
    requiredClaims: cfg.require_exp ? ['exp'] : [],
    ...(cfg.issuer !== undefined ? { issuer: cfg.issuer } : {}),
    ...(cfg.audience !== undefined ? { audience: cfg.audience } : {}),
  };
  try {
    const { payload } = key instanceof Uint8Array ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
    return { ok: true, payload };
  } catch (err) {
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      let last: unknown = err;
      for await (const candidate of err) {
        try {
          const { payload } = await jwtVerify(token, candidate, options);
          return { ok: true, payload };
        } catch (inner) {
          last = inner;
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) break;
        }
      }
      return { ok: false, ...refusalOf(last instanceof errors.JWKSMultipleMatchingKeys ? new errors.JWSSignatureVerificationFailed() : last, cfg, alg) };
    }
    return { ok: false, ...refusalOf(err, cfg, alg) };
  }
}
