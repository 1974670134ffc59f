/**
 * The identity lines of `check-config`'s summary and warnings: server TLS, JWT issuers, mTLS
 * and trusted headers. Never prints a secret (HMAC secrets are only described by length).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { providerConfig, type Config, type JwtIssuerConfig } from './types.ts';
import { formatDurationMs } from './values.ts';

/** Warn when the server certificate expires within this many days. */
export const CERT_EXPIRY_WARNING_DAYS = 14;

/** True when subjects are known only per request (JWT, client certificates, proxy headers). */
export function hasDynamicSubjects(config: Config): boolean {
  return config.auth.providers.some((p) => p.kind === 'jwt' || p.kind === 'mtls' || p.kind === 'trusted_header');
}

function keysLine(i: JwtIssuerConfig): string {
  const k = i.keys;
  const ca = i.ca_file !== undefined ? `, CA ${i.ca_file}` : '';
  switch (k.kind) {
    case 'hmac':
      return `HMAC secret (${Buffer.byteLength(k.secret, 'utf8')} bytes)`;
    case 'public_keys':
      return `${k.keys.length} static public key${k.keys.length === 1 ? '' : 's'}`;
    case 'jwks_url':
      return `JWKS ${k.url}${ca}`;
    case 'discovery':
      return `OIDC discovery ${k.url}${ca}`;
  }
}

/** Describes one issuer on one line. */
export function describeIssuer(i: JwtIssuerConfig): string {
  const claims = [`subject "${i.subject_claim}"`, ...(i.groups_claim !== undefined ? [`groups "${i.groups_claim}"`] : []), ...(i.tenants_claim !== undefined ? [`tenants "${i.tenants_claim}"`] : [])];
  return [
    `jwt ${JSON.stringify(i.name)}: iss ${i.issuer !== undefined ? JSON.stringify(i.issuer) : 'any (HMAC)'}`,
    `aud ${i.audience !== undefined ? i.audience.map((a) => JSON.stringify(a)).join('|') : 'not checked'}`,
    `keys: ${keysLine(i)}`,
    `alg ${i.algorithms.join(',')}`,
    `claims: ${claims.join(', ')}`,
    `exp ${i.require_exp ? 'required' : 'optional'}, tolerance ${formatDurationMs(i.clock_tolerance_ms)}`,
    ...(i.allow_unrestricted_claim ? ['"*" in the tenants claim grants ALL tenants'] : []),
  ].join('; ');
}

function certificate(path: string): X509Certificate | undefined {
  try {
    return new X509Certificate(readFileSync(path));
  } catch {
    return undefined;
  }
}

/** The identity lines of the summary (TLS listener, then each identity provider in order). */
export function identitySummaryLines(config: Config): string[] {
  const lines: string[] = [];
  const tls = config.server.tls;
  if (tls !== undefined) {
    const cert = certificate(tls.cert_file);
    const certPart = cert === undefined ? tls.cert_file : `${tls.cert_file}, ${cert.subject.replace(/\n/g, ', ')}, valid until ${new Date(cert.validTo).toISOString()}`;
    lines.push(`tls: HTTPS (certificate ${certPart}; min ${tls.min_version}; files checked every ${formatDurationMs(tls.reload_interval_ms)}); client certificates: ${tls.client_auth}${tls.client_ca_file !== undefined ? ` (CA ${tls.client_ca_file})` : ''}`);
  }
  for (const p of config.auth.providers) {
    if (p.kind === 'jwt') for (const i of p.issuers) lines.push(describeIssuer(i));
    if (p.kind === 'mtls') lines.push(`mtls: subject from ${p.subject_from === 'cn' ? 'the CN' : `the first ${p.subject_from.slice(4).toUpperCase()} SAN`}, groups from ${p.groups_from.join(', ') || 'nothing'}`);
    if (p.kind === 'trusted_header') lines.push(`trusted_header: user ${p.user_header}${p.groups_header !== undefined ? `, groups ${p.groups_header}` : ''} accepted only from ${p.trusted_cidrs.join(', ')}`);
  }
  if (hasDynamicSubjects(config)) lines.push('subjects of JWTs, client certificates and proxy headers are resolved per request against access.subjects and access.groups');
  return lines;
}

/**
 * Identity configurations that are valid but probably not intended:
 * - an HMAC secret shorter than 32 bytes (RFC 7518 §3.2 asks for a key at least as long as
 *   the hash: 32 bytes for HS256);
 * - keys fetched over plain HTTP (anyone on the path can substitute them);
 * - an issuer without `iss` and `aud` checks that accepts tokens without `exp`;
 * - a server certificate that expired or expires within {@link CERT_EXPIRY_WARNING_DAYS} days.
 *
 * @param now current time, epoch ms (default `Date.now()`)
 */
export function identityWarnings(config: Config, now = Date.now()): string[] {
  const warnings: string[] = [];
  const jwt = providerConfig(config.auth, 'jwt');
  jwt?.issuers.forEach((i, n) => {
    const at = `auth.jwt[${n}]`;
    if (i.keys.kind === 'hmac' && Buffer.byteLength(i.keys.secret, 'utf8') < 32) {
      warnings.push(`${at}.hmac_secret: shorter than 32 bytes, so tokens can be forged by guessing it; use at least 32 random bytes (openssl rand -base64 32)`);
    }
    const fetched = i.keys.kind === 'jwks_url' || i.keys.kind === 'discovery' ? i.keys.url : undefined;
    if (fetched !== undefined && fetched.startsWith('http:')) {
      warnings.push(`${at}: keys are fetched over plain HTTP (${fetched}); anyone on the path could substitute them; use https`);
    }
    if (i.issuer === undefined && i.audience === undefined && !i.require_exp) {
      warnings.push(`${at}: accepts tokens that never expire with no issuer or audience check (cortex-gateway style); rotate hmac_secret to revoke them`);
    }
  });
  const tls = config.server.tls;
  if (tls !== undefined) {
    const cert = certificate(tls.cert_file);
    if (cert !== undefined) {
      const until = Date.parse(cert.validTo);
      if (until <= now) warnings.push(`server.tls.cert_file: the certificate expired on ${new Date(until).toISOString()}; clients will refuse it`);
      else if (until - now < CERT_EXPIRY_WARNING_DAYS * 86_400_000) warnings.push(`server.tls.cert_file: the certificate expires on ${new Date(until).toISOString()}; renew it (promfence reloads it without a restart)`);
    }
  }
  return warnings;
}
