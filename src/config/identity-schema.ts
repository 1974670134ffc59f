/**
 * The identity part of the configuration schema (issue #7): `auth.jwt[]`, `auth.mtls`,
 * `auth.trusted_header`, `auth.order`, and `server.tls`. ./schema.ts wires these pieces into
 * the `server` and `auth` sections and calls {@link finishAuth} once the whole document is
 * known (mTLS needs `server.tls`, the order needs every method).
 *
 * Message convention as in ./schema.ts: each message starts with `" is …"` or `": …"`.
 */
import { X509Certificate, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import type { AuthMethod } from '../access/principal.ts';
import type {
  AuthProviderConfig, Config, JsonWebKeyEntry, JwtIssuerConfig, JwtKeySource, MtlsGroupField, MtlsSubjectField, ServerTlsConfig,
} from './types.ts';
import { checked, duration, exactlyOne, resolveSecret, strict, type Ctx, type SchemaContext } from './schema.ts';
import { headerNameProblem } from './values.ts';
import { readConfigText } from './files.ts';

/** Defaults of the identity keys (ms for durations, bytes for sizes). */
export const IDENTITY_DEFAULTS = Object.freeze({
  order: Object.freeze(['mtls', 'bearer_tokens', 'jwt', 'basic', 'trusted_header'] as const),
  jwt_cache_size: 10_000,
  jwt_cache_max_bytes: 16 * 1024 * 1024,
  subject_claim: 'sub',
  clock_tolerance_ms: 30_000,
  fetch_timeout_ms: 5_000,
  refresh_interval_ms: 600_000,
  user_header: 'X-Forwarded-User',
  subject_from: 'cn' as const,
  groups_from: Object.freeze(['O', 'OU'] as const),
  tls_min_version: '1.2' as const,
  tls_reload_interval_ms: 10_000,
});

/** The JWS algorithms of HMAC issuers (RFC 7518 §3.2). */
export const HMAC_ALGORITHMS: readonly string[] = Object.freeze(['HS256', 'HS384', 'HS512']);
/** The asymmetric JWS algorithms jose verifies (RFC 7518 §3.3-3.5, RFC 8037, RFC 9864). */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

const METHODS: readonly AuthMethod[] = ['mtls', 'bearer_tokens', 'jwt', 'basic', 'trusted_header'];
/** Headers the trusted-header provider must never read (promfence strips or sets them itself). */
const TENANCY_HEADERS = new Set(['x-scope-orgid', 'thanos-tenant', 'x-prom-label-policy', 'x-forwarded-for', 'forwarded', 'x-real-ip']);

function hasControlChar(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A claim name or dot path: non-empty, ≤ 256 characters, no control characters. */
const claimName = z.string().superRefine((v, ctx) => {
  if (v.length === 0) ctx.addIssue({ code: 'custom', message: ' is empty; name a claim like "sub" or a dot path like "realm_access.roles"' });
  else if (v.length > 256 || hasControlChar(v)) ctx.addIssue({ code: 'custom', message: ': must be a claim name or dot path of at most 256 printable characters' });
});

/** A subject/group prefix: ≤ 64 printable characters. */
const prefix = z.string().superRefine((v, ctx) => {
  if (v.length > 64 || hasControlChar(v)) ctx.addIssue({ code: 'custom', message: ': must be at most 64 printable characters' });
});

/** Reads a non-secret file (certificates, CA bundles, public keys), relative to the config file. */
function readConfigFile(ctx: Ctx, sc: SchemaContext, key: string, path: string): { abs: string; text: string } | undefined {
  if (path.length === 0) {
    ctx.addIssue({ code: 'custom', path: [key], message: ' is empty; give a file path' });
    return undefined;
  }
  const abs = resolve(sc.baseDir, path);
  try {
    return { abs, text: readConfigText(abs) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code;
    ctx.addIssue({ code: 'custom', path: [key], message: `: cannot read ${JSON.stringify(abs)}: ${why} (${code})` });
    return undefined;
  }
}

/** The PEM blocks of a text, with their labels (`CERTIFICATE`, `PUBLIC KEY`, …). */
export function pemBlocks(text: string): Array<{ label: string; pem: string }> {
  const out: Array<{ label: string; pem: string }> = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g)) out.push({ label: m[1] ?? '', pem: m[0] });
  return out;
}

/** Problem with a PEM CA bundle (no certificate, or one that does not parse), if any. */
export function caBundleProblem(text: string): string | undefined {
  const certs = pemBlocks(text).filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) return ': holds no PEM certificate ("-----BEGIN CERTIFICATE-----")';
  for (const [i, c] of certs.entries()) {
    try {
      new X509Certificate(c.pem);
    } catch (err) {
      return `: certificate ${i + 1} does not parse (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  return undefined;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const KEY_TYPES = new Set(['rsa', 'rsa-pss', 'ec', 'ed25519']);

/**
 * Converts one configured public key to a JWK: a PEM public key (SPKI or PKCS#1), a PEM
 * certificate (its key), or a JWK object (kept as given: `kid`, `alg`, `use` matter).
 *
 * @returns the JWK, or a problem completing `config: <key>…` (never echoes key material)
 */
export function publicJwk(entry: unknown): { jwk: JsonWebKeyEntry } | { problem: string } {
  let key: KeyObject;
  let jwk: Record<string, unknown>;
  try {
    if (typeof entry === 'string') {
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(entry)) return { problem: ': is a private key; configure its public key instead (openssl pkey -in key.pem -pubout)' };
      if (!entry.includes('-----BEGIN ')) return { problem: ': must be a PEM public key ("-----BEGIN PUBLIC KEY-----"), a PEM certificate, or a JWK object' };
      key = entry.includes('-----BEGIN CERTIFICATE-----') ? new X509Certificate(entry).publicKey : createPublicKey(entry);
      jwk = key.export({ format: 'jwk' }) as Record<string, unknown>;
    } else if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
      const obj = entry as Record<string, unknown>;
      if (obj['kty'] === 'oct') return { problem: ': is a symmetric (oct) key; configure a shared secret as hmac_secret' };
      const priv = PRIVATE_JWK_MEMBERS.filter((m) => Object.hasOwn(obj, m));
      if (priv.length > 0) return { problem: `: holds private key members (${priv.join(', ')}); configure only the public key` };
      key = createPublicKey({ key: obj as JsonWebKey, format: 'jwk' });
      jwk = { ...obj };
    } else {
      return { problem: ': must be a PEM public key, a PEM certificate, or a JWK object' };
    }
  } catch (err) {
    return { problem: `: is not a usable public key (${err instanceof Error ? err.message.split('\n')[0] : String(err)})` };
  }
  if (!KEY_TYPES.has(key.asymmetricKeyType ?? '')) return { problem: `: key type ${JSON.stringify(key.asymmetricKeyType)} is not supported; use RSA, EC (P-256/384/521) or Ed25519` };
  if (typeof jwk['kty'] !== 'string') return { problem: ': has no "kty"' };
  return { jwk: Object.freeze(jwk) as JsonWebKeyEntry };
}

/** The public keys of a `public_keys_file`: PEM blocks, or a JSON JWK Set (`{"keys": […]}`). */
function keysOfFile(text: string): unknown[] | { problem: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const set = JSON.parse(trimmed) as { keys?: unknown };
      if (!Array.isArray(set.keys)) return { problem: ': a JSON file must be a JWK Set ({"keys": […]})' };
      return set.keys;
    } catch {
      return { problem: ': is neither PEM nor valid JSON' };
    }
  }
  const blocks = pemBlocks(text);
  if (blocks.length === 0) return { problem: ': holds no PEM block and no JWK Set' };
  return blocks.map((b) => b.pem);
}

/** An http(s) URL without credentials or fragment, or a problem. */
function fetchUrlProblem(v: string): string | undefined {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return ': must be an http(s) URL like https://issuer.example/keys';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return ': must be an http(s) URL like https://issuer.example/keys';
  if (u.username !== '' || u.password !== '') return ': must not contain credentials';
  if (u.hash !== '') return ': must not have a fragment';
  return undefined;
}

/**
 * One `auth.jwt[]` entry → {@link JwtIssuerConfig}.
 *
 * Rules: exactly one key source (`hmac_secret`/`hmac_secret_file`, `public_keys`/
 * `public_keys_file`, `jwks_url`, `discovery: true`); `issuer` is required except for HMAC
 * issuers (tokens are routed by their `iss`); `audience` is required with `jwks_url` and
 * `discovery` (a shared identity provider issues tokens for many clients); `algorithms` must
 * fit the key kind (HMAC issuers only HS*, key issuers never HS*: no key confusion);
 * `ca_file` only with a fetched key source.
 */
export function jwtIssuerSchema(sc: SchemaContext) {
  return strict({
    name: z.string().optional(),
    issuer: z.string().optional(),
    audience: z.union([z.string(), z.array(z.string())], { error: ': must be a string or a list of strings' }).optional(),
    discovery: z.boolean().optional(),
    jwks_url: z.string().optional(),
    public_keys: z.array(z.unknown()).optional(),
    public_keys_file: z.string().optional(),
    hmac_secret: z.string().optional(),
    hmac_secret_file: z.string().optional(),
    ca_file: z.string().optional(),
    algorithms: z.array(z.string()).optional(),
    subject_claim: claimName.default(IDENTITY_DEFAULTS.subject_claim),
    groups_claim: claimName.optional(),
    tenants_claim: claimName.optional(),
    subject_prefix: prefix.default(''),
    groups_prefix: prefix.default(''),
    clock_tolerance: duration({ allowZero: true }).default(IDENTITY_DEFAULTS.clock_tolerance_ms),
    require_exp: z.boolean().default(true),
    allow_unrestricted_claim: z.boolean().default(false),
    fetch_timeout: duration({ allowZero: false }).default(IDENTITY_DEFAULTS.fetch_timeout_ms),
    refresh_interval: duration({ allowZero: false }).default(IDENTITY_DEFAULTS.refresh_interval_ms),
  }).transform((e, ctx): Omit<JwtIssuerConfig, 'name'> & { name: string | undefined } => {
    const source = exactlyOne(ctx, { ...e, discovery: e.discovery === true ? true : undefined, hmac_secret: e.hmac_secret ?? e.hmac_secret_file, public_keys: e.public_keys ?? e.public_keys_file }, ['hmac_secret', 'public_keys', 'jwks_url', 'discovery']);
    if (e.hmac_secret !== undefined && e.hmac_secret_file !== undefined) ctx.addIssue({ code: 'custom', message: ': has hmac_secret and hmac_secret_file; keep one' });
    if (e.public_keys !== undefined && e.public_keys_file !== undefined) ctx.addIssue({ code: 'custom', message: ': has public_keys and public_keys_file; keep one' });
    if (e.name !== undefined && (e.name.length === 0 || e.name.length > 64 || hasControlChar(e.name))) ctx.addIssue({ code: 'custom', path: ['name'], message: ': must be 1-64 printable characters' });
    if (e.issuer !== undefined && (e.issuer.length === 0 || e.issuer.length > 1024 || hasControlChar(e.issuer))) ctx.addIssue({ code: 'custom', path: ['issuer'], message: ': must be the exact "iss" value of the tokens (1-1024 printable characters)' });
    const audience = e.audience === undefined ? undefined : [...new Set(typeof e.audience === 'string' ? [e.audience] : e.audience)];
    if (audience !== undefined && (audience.length === 0 || audience.some((a) => a.length === 0))) ctx.addIssue({ code: 'custom', path: ['audience'], message: ': must be a non-empty string or a non-empty list of non-empty strings' });

    let keys: JwtKeySource | undefined;
    const hmac = source === 'hmac_secret';
    if (source === 'hmac_secret') {
      const secret = resolveSecret(ctx, sc, 'hmac_secret', e.hmac_secret, e.hmac_secret_file, (v) => (v.length === 0 ? ' is empty' : undefined));
      if (secret !== undefined) keys = { kind: 'hmac', secret };
    } else if (source === 'public_keys') {
      let entries: unknown[] | undefined = e.public_keys;
      let at: string = 'public_keys';
      if (e.public_keys_file !== undefined) {
        at = 'public_keys_file';
        const f = readConfigFile(ctx, sc, at, e.public_keys_file);
        if (f !== undefined) {
          const r = keysOfFile(f.text);
          if ('problem' in r) ctx.addIssue({ code: 'custom', path: [at], message: r.problem });
          else entries = r;
        }
      }
      if (entries !== undefined) {
        if (entries.length === 0) ctx.addIssue({ code: 'custom', path: [at], message: ' is empty; list at least one public key' });
        const jwks: JsonWebKeyEntry[] = [];
        entries.forEach((entry, i) => {
          const r = publicJwk(entry);
          if ('problem' in r) ctx.addIssue({ code: 'custom', path: at === 'public_keys' ? [at, i] : [at], message: at === 'public_keys' ? r.problem : `: key ${i + 1}${r.problem.slice(1)}` });
          else jwks.push(r.jwk);
        });
        if (jwks.length === entries.length && jwks.length > 0) keys = { kind: 'public_keys', keys: jwks };
      }
    } else if (source === 'jwks_url') {
      const p = fetchUrlProblem(e.jwks_url ?? '');
      if (p !== undefined) ctx.addIssue({ code: 'custom', path: ['jwks_url'], message: p });
      else keys = { kind: 'jwks_url', url: e.jwks_url ?? '' };
    } else if (source === 'discovery') {
      const p = e.issuer === undefined ? undefined : fetchUrlProblem(e.issuer);
      if (e.issuer !== undefined && p !== undefined) ctx.addIssue({ code: 'custom', path: ['issuer'], message: `${p} (discovery reads <issuer>/.well-known/openid-configuration)` });
      else if (e.issuer !== undefined) keys = { kind: 'discovery', url: `${e.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration` };
    }
    if (source !== undefined && !hmac && e.issuer === undefined) {
      ctx.addIssue({ code: 'custom', message: ': needs issuer (the exact "iss" of its tokens): tokens are routed to an issuer by their "iss"; only hmac_secret issuers may leave it out' });
    }
    if ((source === 'jwks_url' || source === 'discovery') && audience === undefined) {
      ctx.addIssue({ code: 'custom', message: ': needs audience: an identity provider issues tokens for many clients, and only those meant for promfence may be accepted (e.g. audience: "promfence")' });
    }

    const family = hmac ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
    let algorithms = [...family];
    if (e.algorithms !== undefined) {
      if (e.algorithms.length === 0) ctx.addIssue({ code: 'custom', path: ['algorithms'], message: ' is empty; leave it out for the default, or list algorithms like ["RS256"]' });
      e.algorithms.forEach((alg, i) => {
        if (alg === 'none') ctx.addIssue({ code: 'custom', path: ['algorithms', i], message: ': "none" (unsigned tokens) is never accepted' });
        else if (!family.includes(alg)) {
          const other = hmac ? ASYMMETRIC_ALGORITHMS.includes(alg) : HMAC_ALGORITHMS.includes(alg);
          ctx.addIssue({
            code: 'custom', path: ['algorithms', i],
            message: other
              ? `: ${JSON.stringify(alg)} does not fit this issuer's keys (${hmac ? 'an hmac_secret issuer verifies only HS256, HS384, HS512' : 'a public-key issuer never accepts HMAC algorithms: that is the key-confusion attack'})`
              : `: ${JSON.stringify(alg)} is not a JWS algorithm promfence verifies; use one of ${family.join(', ')}`,
          });
        }
      });
      algorithms = [...new Set(e.algorithms)];
    }

    let ca: string | undefined;
    let caFile: string | undefined;
    if (e.ca_file !== undefined) {
      if (source !== 'jwks_url' && source !== 'discovery') ctx.addIssue({ code: 'custom', path: ['ca_file'], message: ': is only used to fetch keys over HTTPS (jwks_url or discovery); remove it' });
      const f = readConfigFile(ctx, sc, 'ca_file', e.ca_file);
      if (f !== undefined) {
        const p = caBundleProblem(f.text);
        if (p !== undefined) ctx.addIssue({ code: 'custom', path: ['ca_file'], message: p });
        ca = f.text;
        caFile = f.abs;
      }
    }
    if (keys === undefined) return z.NEVER;
    return {
      name: e.name,
      issuer: e.issuer,
      audience,
      keys,
      algorithms,
      subject_claim: e.subject_claim,
      groups_claim: e.groups_claim,
      tenants_claim: e.tenants_claim,
      subject_prefix: e.subject_prefix,
      groups_prefix: e.groups_prefix,
      clock_tolerance_ms: e.clock_tolerance,
      require_exp: e.require_exp,
      allow_unrestricted_claim: e.allow_unrestricted_claim,
      fetch_timeout_ms: e.fetch_timeout,
      refresh_interval_ms: e.refresh_interval,
      ca,
      ca_file: caFile,
    };
  });
}

/**
 * Names each issuer (`name`, else `issuer`, else `auth.jwt[i]`) and refuses two entries with
 * the same `issuer` or name.
 */
export function finishIssuers(list: ReadonlyArray<Omit<JwtIssuerConfig, 'name'> & { name: string | undefined }>, ctx: Ctx): JwtIssuerConfig[] {
  const byIssuer = new Map<string, number>();
  const byName = new Map<string, number>();
  return list.map((e, i) => {
    if (e.issuer !== undefined) {
      const j = byIssuer.get(e.issuer);
      if (j === undefined) byIssuer.set(e.issuer, i);
      else ctx.addIssue({ code: 'custom', path: ['jwt', i, 'issuer'], message: `: ${JSON.stringify(e.issuer)} is already configured by auth.jwt[${j}]; list each issuer once (several keys go in one entry)` });
    }
    const name = e.name ?? e.issuer ?? `auth.jwt[${i}]`;
    const k = byName.get(name);
    if (k === undefined) byName.set(name, i);
    else if (e.name !== undefined) ctx.addIssue({ code: 'custom', path: ['jwt', i, 'name'], message: `: ${JSON.stringify(name)} is already used by auth.jwt[${k}]` });
    return { ...e, name };
  });
}

/**
 * Parses one CIDR (`10.0.0.0/8`, `::1/128`) or a bare address (one host).
 *
 * @returns the normalised `address/prefix` and family, or undefined when invalid
 */
export function parseCidr(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  let prefixLen = max;
  if (slash >= 0) {
    const p = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefixLen = Number(p);
    if (prefixLen > max) return undefined;
  }
  return { address, prefix: prefixLen, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * A matcher of peer addresses against CIDRs (node:net BlockList; IPv4-mapped IPv6 peers such
 * as `::ffff:10.1.2.3` match IPv4 ranges).
 *
 * @param cidrs valid CIDRs (see {@link parseCidr})
 */
export function cidrMatcher(cidrs: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (p !== undefined) list.addSubnet(p.address, p.prefix, p.family);
  }
  return (address) => {
    if (address === undefined || address === '') return false;
    const v = isIP(address);
    if (v === 0) return false;
    return list.check(address, v === 4 ? 'ipv4' : 'ipv6');
  };
}

function identityHeaderProblem(v: string): string | undefined {
  const p = headerNameProblem(v);
  if (p !== undefined) return p;
  if (TENANCY_HEADERS.has(v.toLowerCase())) return `: ${JSON.stringify(v)} is a tenancy or forwarding header promfence strips or sets itself; use the proxy's identity header like "X-Forwarded-User"`;
  return undefined;
}

/** `auth.trusted_header`: header names and the proxies' addresses (required, never `/0`). */
export const trustedHeaderSchema = () => strict({
  user_header: checked(identityHeaderProblem).default(IDENTITY_DEFAULTS.user_header),
  groups_header: checked(identityHeaderProblem).optional(),
  trusted_cidrs: z.array(z.string()),
}).transform((t, ctx): Extract<AuthProviderConfig, { kind: 'trusted_header' }> => {
  if (t.trusted_cidrs.length === 0) ctx.addIssue({ code: 'custom', path: ['trusted_cidrs'], message: ' is empty; list the address(es) of the auth proxy, e.g. ["10.0.3.7/32"]' });
  const cidrs: string[] = [];
  t.trusted_cidrs.forEach((c, i) => {
    const p = parseCidr(c);
    if (p === undefined) ctx.addIssue({ code: 'custom', path: ['trusted_cidrs', i], message: `: ${JSON.stringify(c)} is not an IP address or CIDR like 10.0.0.0/8 or fd00::/8` });
    else if (p.prefix === 0) ctx.addIssue({ code: 'custom', path: ['trusted_cidrs', i], message: `: ${JSON.stringify(c)} trusts every address, so anyone could claim any identity; list only the auth proxy's addresses` });
    else cidrs.push(`${p.address}/${p.prefix}`);
  });
  if (t.groups_header !== undefined && t.groups_header.toLowerCase() === t.user_header.toLowerCase()) {
    ctx.addIssue({ code: 'custom', path: ['groups_header'], message: ': must differ from user_header' });
  }
  return { kind: 'trusted_header', user_header: t.user_header, groups_header: t.groups_header, trusted_cidrs: cidrs };
});

/** `auth.mtls`: where the subject and groups of a client certificate come from. */
export const mtlsSchema = () => strict({
  subject_from: z.enum(['cn', 'san_uri', 'san_dns', 'san_email']).default(IDENTITY_DEFAULTS.subject_from),
  groups_from: z.array(z.enum(['O', 'OU'])).default([...IDENTITY_DEFAULTS.groups_from]),
}).transform((m): { subject_from: MtlsSubjectField; groups_from: MtlsGroupField[] } => ({ subject_from: m.subject_from, groups_from: [...new Set(m.groups_from)] }));

/** `auth.order`: the methods in the order they are tried (unique, known names). */
export const authOrderSchema = z.array(z.enum(METHODS as [AuthMethod, ...AuthMethod[]])).superRefine((v, ctx) => {
  const seen = new Set<string>();
  v.forEach((m, i) => {
    if (seen.has(m)) ctx.addIssue({ code: 'custom', path: [i], message: `: ${JSON.stringify(m)} is listed twice` });
    seen.add(m);
  });
});

/**
 * `server.tls` → {@link ServerTlsConfig}. The files are read once here so that a wrong path,
 * a certificate that does not match its key, or an unreadable CA bundle is a configuration
 * error (the server reads them again, and on every change).
 */
export function serverTlsSchema(sc: SchemaContext) {
  return strict({
    cert_file: z.string(),
    key_file: z.string(),
    client_ca_file: z.string().optional(),
    client_auth: z.enum(['none', 'optional', 'require']).default('none'),
    min_version: z.preprocess((v) => (typeof v === 'number' ? v.toFixed(1) : v), z.enum(['1.2', '1.3'])).default(IDENTITY_DEFAULTS.tls_min_version),
    reload_interval: duration({ allowZero: false }).default(IDENTITY_DEFAULTS.tls_reload_interval_ms),
  }).transform((t, ctx): ServerTlsConfig => {
    const cert = readConfigFile(ctx, sc, 'cert_file', t.cert_file);
    const key = readConfigFile(ctx, sc, 'key_file', t.key_file);
    const ca = t.client_ca_file === undefined ? undefined : readConfigFile(ctx, sc, 'client_ca_file', t.client_ca_file);
    if (cert !== undefined && key !== undefined) {
      try {
        createSecureContext({ cert: cert.text, key: key.text });
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['key_file'], message: `: the certificate and key cannot be used together (${err instanceof Error ? err.message : String(err)})` });
      }
    }
    if (ca !== undefined) {
      const p = caBundleProblem(ca.text);
      if (p !== undefined) ctx.addIssue({ code: 'custom', path: ['client_ca_file'], message: p });
    }
    if (t.client_auth !== 'none' && t.client_ca_file === undefined) {
      ctx.addIssue({ code: 'custom', path: ['client_auth'], message: `: ${t.client_auth} needs client_ca_file (the CA bundle client certificates must chain to)` });
    }
    if (t.client_auth === 'none' && t.client_ca_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['client_ca_file'], message: ': is set but client_auth is "none"; set client_auth: optional (certificates verified when sent) or require' });
    }
    if (cert === undefined || key === undefined) return z.NEVER;
    return {
      cert_file: cert.abs,
      key_file: key.abs,
      client_ca_file: ca?.abs,
      client_auth: t.client_auth,
      min_version: t.min_version === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
      reload_interval_ms: t.reload_interval,
    };
  });
}

/** The identity keys of `auth`, as parsed by the `auth` section of ./schema.ts. */
export interface AuthDraft {
  readonly realm: string;
  /** Providers configured in the `auth` section itself (not mTLS), in any order. */
  readonly providers: readonly AuthProviderConfig[];
  readonly order: readonly AuthMethod[] | undefined;
  readonly mtls: { subject_from: MtlsSubjectField; groups_from: MtlsGroupField[] } | undefined;
}

const ORDER_KEY: Record<AuthMethod, string> = {
  mtls: 'server.tls.client_auth', bearer_tokens: 'auth.bearer_tokens', jwt: 'auth.jwt', basic: 'auth.basic_users', trusted_header: 'auth.trusted_header',
};

/**
 * Completes `auth` once `server.tls` is known: adds the mTLS provider when
 * `server.tls.client_auth` is `optional` or `require`, sorts the providers by `auth.order`
 * (default {@link IDENTITY_DEFAULTS}.order), and refuses a configuration without any
 * credential, `auth.mtls` without client certificates, and a configured method missing from
 * an explicit `auth.order`.
 */
export function finishAuth(draft: AuthDraft, tls: ServerTlsConfig | undefined, ctx: Ctx): Config['auth'] {
  const providers = [...draft.providers];
  const clientCerts = tls !== undefined && tls.client_auth !== 'none';
  if (clientCerts) {
    const m = draft.mtls ?? { subject_from: IDENTITY_DEFAULTS.subject_from, groups_from: [...IDENTITY_DEFAULTS.groups_from] };
    providers.push({ kind: 'mtls', subject_from: m.subject_from, groups_from: m.groups_from });
  } else if (draft.mtls !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['auth', 'mtls'], message: ': client certificates are not requested; set server.tls.client_ca_file and server.tls.client_auth (optional or require), or remove auth.mtls' });
  }
  if (providers.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['auth'], message: ': no credentials are configured, so every request would be refused; add auth.bearer_tokens, auth.basic_users, auth.jwt, auth.trusted_header or client certificates (server.tls.client_auth)' });
  }
  const order = draft.order ?? IDENTITY_DEFAULTS.order;
  for (const p of providers) {
    if (!order.includes(p.kind)) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'order'], message: `: ${JSON.stringify(p.kind)} is configured (${ORDER_KEY[p.kind]}) but not listed; add it, or remove its configuration` });
    }
  }
  providers.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  return { realm: draft.realm, providers };
}
