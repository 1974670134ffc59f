/**
 * Test kit: a real local OIDC issuer (node:http or node:https on 127.0.0.1) serving an OpenID
 * Provider configuration (`/.well-known/openid-configuration`, shaped like Keycloak's, Dex's
 * or a Kubernetes API server's) and a JWK Set (`/jwks`), with keys made and tokens signed by
 * jose. The suite controls it: rotate keys, make it fail (500) or hang, count fetches.
 *
 * ```ts
 * const idp = await startIssuer({ tls: { cert, key } });       // https://localhost:PORT
 * const token = await idp.sign({ sub: 'alice', aud: 'promfence', exp: now + 300 });
 * ```
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** One signing key of the issuer. */
export interface IssuerKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** How the issuer answers. */
export type IssuerMode = 'ok' | 'down' | 'hang';

/** A running issuer. */
export interface TestIssuer {
  /** The issuer identifier (`iss`): `http(s)://<host>:<port>` (no trailing slash). */
  readonly url: string;
  readonly jwksUrl: string;
  readonly discoveryUrl: string;
  /** Keys published in the JWK Set (the first signs by default). */
  published: IssuerKey[];
  /** `ok` (default), `down` (every request answered 500), `hang` (requests held until `release()`). */
  mode: IssuerMode;
  /** Paths requested, in order. */
  readonly fetches: string[];
  /** The `issuer` the discovery document claims (default: `url`); set it to test the OIDC issuer check. */
  advertisedIssuer: string | undefined;
  /** Creates a key (RS256 unless `alg` says otherwise); not published until you add it to `published`. */
  newKey(kid: string, alg?: string): Promise<IssuerKey>;
  /** Signs `claims` (`iss` defaults to the issuer URL; pass `iss: undefined` to leave it out) with `key` (default `published[0]`). */
  sign(claims: JWTPayload, key?: IssuerKey, header?: Record<string, unknown>): Promise<string>;
  /** Answers every held request (mode `hang`) with 500 and returns to `ok`. */
  release(): void;
  /** Number of requests currently held. */
  held(): number;
  close(): Promise<void>;
}

/** Options of {@link startIssuer}. */
export interface StartIssuerOptions {
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Host name in the issuer URL (default `127.0.0.1`; use `localhost` with a certificate for it). */
  readonly host?: string;
  /** Algorithm of the first key (default RS256). */
  readonly alg?: string;
  /** Discovery document shape: `kubernetes` (API server: id_token, public subjects, RS256) or `keycloak` (default). */
  readonly flavour?: 'kubernetes' | 'keycloak';
}

/**
 * Starts an issuer with one published key (`kid` "key-1").
 *
 * @param options TLS, host name, algorithm, discovery flavour
 */
export async function startIssuer(options: StartIssuerOptions = {}): Promise<TestIssuer> {
  const held: http.ServerResponse[] = [];
  const sockets = new Set<Socket>();
  let url = '';
  const handler: http.RequestListener = (req, res) => {
    issuer.fetches.push(req.url ?? '');
    if (issuer.mode === 'hang') {
      held.push(res);
      return;
    }
    if (issuer.mode === 'down') {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('down');
      return;
    }
    const json = (v: unknown) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (req.url === '/.well-known/openid-configuration') {
      const iss = issuer.advertisedIssuer ?? url;
      return json(options.flavour === 'kubernetes'
        ? { issuer: iss, jwks_uri: `${url}/openid/v1/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'] }
        : { issuer: iss, jwks_uri: `${url}/protocol/openid-connect/certs`, authorization_endpoint: `${url}/auth`, token_endpoint: `${url}/token`, response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256', 'ES256'] });
    }
    if (req.url === '/openid/v1/jwks' || req.url === '/protocol/openid-connect/certs' || req.url === '/jwks') {
      return json({ keys: issuer.published.map((k) => k.publicJwk) });
    }
    res.writeHead(404);
    res.end();
  };
  const server = options.tls !== undefined ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler) : http.createServer(handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  url = `${options.tls !== undefined ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${port}`;
  const jwksPath = options.flavour === 'kubernetes' ? '/openid/v1/jwks' : '/protocol/openid-connect/certs';

  const newKey = async (kid: string, alg = 'RS256'): Promise<IssuerKey> => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  };

  const issuer: TestIssuer = {
    url,
    jwksUrl: `${url}${jwksPath}`,
    discoveryUrl: `${url}/.well-known/openid-configuration`,
    published: [await newKey('key-1', options.alg ?? 'RS256')],
    mode: 'ok',
    fetches: [],
    advertisedIssuer: undefined,
    newKey,
    async sign(claims, key, header = {}) {
      const k = key ?? issuer.published[0];
      if (k === undefined) throw new Error('no key to sign with');
      const payload: JWTPayload = { iss: url, ...claims };
      if (Object.hasOwn(claims, 'iss') && claims.iss === undefined) delete payload.iss;
      return new SignJWT(payload).setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'JWT', ...header }).sign(k.privateKey);
    },
    release() {
      issuer.mode = 'ok';
      for (const res of held.splice(0)) {
        res.writeHead(500);
        res.end();
      }
    },
    held: () => held.length,
    async close() {
      issuer.release();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return issuer;
}

/** Base64url of a JSON value (for hand-made tokens: `alg: none`, tampering). */
export function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}
