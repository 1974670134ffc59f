/**
 * Provider `mtls`: the client certificate of a TLS connection (`server.tls.client_auth`
 * `optional` or `require`, verified by Node against `server.tls.client_ca_file`), its subject
 * from the CN or a SAN, its groups from O/OU.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { principal } from '../../access/principal.ts';
import type { MtlsGroupField, MtlsSubjectField } from '../../config/types.ts';
import { groupProblem, subjectProblem } from '../../config/values.ts';
import type { AuthOutcome, AuthProvider } from '../provider.ts';

type Fail = Extract<AuthOutcome, { kind: 'fail' }>;

/**
 * Parses Node's `subjectaltname` string (`DNS:a.example, URI:spiffe://td/ns/x, IP Address:10.0.0.1`)
 * into `[type, value]` pairs. Since Node 17.3/16.13.2 (CVE-2021-44532) a value holding a
 * separator or quote is written as a JSON string (`DNS:"a, b"`); both forms are read.
 *
 * @returns the entries in certificate order; undefined when the string is not in that format
 */
export function parseSubjectAltName(value: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < value.length) {
    const colon = value.indexOf(':', i);
    if (colon < 0) return undefined;
    const type = value.slice(i, colon);
    i = colon + 1;
    let v: string;
    if (value[i] === '"') {
      let j = i + 1;
      while (j < value.length && value[j] !== '"') j += value[j] === '\\' ? 2 : 1;
      if (j >= value.length) return undefined;
      try {
        v = JSON.parse(value.slice(i, j + 1)) as string;
      } catch {
        return undefined;
      }
      i = j + 1;
    } else {
      const end = value.indexOf(', ', i);
      v = end < 0 ? value.slice(i) : value.slice(i, end);
      i = end < 0 ? value.length : end;
    }
    out.push([type, v]);
    if (i < value.length) {
      if (!value.startsWith(', ', i)) return undefined;
      i += 2;
    }
  }
  return out;
}

const SAN_TYPE: Record<Exclude<MtlsSubjectField, 'cn'>, string> = { san_uri: 'URI', san_dns: 'DNS', san_email: 'email' };

/** OpenSSL verification errors → stable reasons. */
function certificateRefusal(code: string): Fail {
  const reason = code === 'CERT_HAS_EXPIRED' ? 'certificate_expired'
    : code === 'CERT_NOT_YET_VALID' ? 'certificate_not_yet_valid'
    : ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_SIGNATURE_FAILURE'].includes(code) ? 'untrusted_certificate'
    : 'invalid_certificate';
  const what = reason === 'certificate_expired' ? 'it has expired'
    : reason === 'certificate_not_yet_valid' ? 'it is not valid yet'
    : reason === 'untrusted_certificate' ? 'it is not issued by a CA in server.tls.client_ca_file'
    : 'it does not verify';
  return { kind: 'fail', reason, message: `client certificate refused: ${what} (${code}); present a valid certificate or other credentials`, detail: code };
}

function attr(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * The subject of a verified certificate: its CN (`cn`, exactly one), or the first SAN of the
 * configured type (`san_uri` for SPIFFE IDs, `san_dns`, `san_email`).
 */
export function certificateSubject(cert: Pick<PeerCertificate, 'subject' | 'subjectaltname'>, from: MtlsSubjectField): { subject: string } | { problem: string } {
  if (from === 'cn') {
    const cn = attr(cert.subject?.CN);
    if (cn.length !== 1) return { problem: cn.length === 0 ? 'the certificate has no subject CN' : 'the certificate has several subject CNs' };
    return { subject: cn[0] as string };
  }
  const type = SAN_TYPE[from];
  const sans = cert.subjectaltname === undefined ? [] : parseSubjectAltName(cert.subjectaltname);
  if (sans === undefined) return { problem: 'the certificate\'s subject alternative names cannot be read' };
  const hit = sans.find(([t]) => t === type);
  if (hit === undefined) return { problem: `the certificate has no ${type} subject alternative name` };
  return { subject: hit[1] };
}

/**
 * The provider: `skip` on a plain-HTTP connection or without a client certificate; `fail`
 * with `certificate_expired`, `certificate_not_yet_valid`, `untrusted_certificate` or
 * `invalid_certificate` when Node's verification refused the certificate (only possible with
 * `client_auth: optional`: `require` refuses it in the handshake), and `invalid_certificate`
 * when the subject field is missing or unusable; else a principal (`method: 'mtls'`) with the
 * groups of the configured attributes (O, OU).
 *
 * @param subjectFrom `auth.mtls.subject_from`
 * @param groupsFrom `auth.mtls.groups_from`
 */
export function mtlsProvider(subjectFrom: MtlsSubjectField, groupsFrom: readonly MtlsGroupField[]): AuthProvider {
  return {
    method: 'mtls',
    challenge: undefined,
    authenticate(input) {
      const sock = input.socket as Partial<TLSSocket>;
      if (typeof sock.getPeerCertificate !== 'function') return { kind: 'skip' };
      const cert = sock.getPeerCertificate();
      if (cert === null || cert === undefined || Object.keys(cert).length === 0) return { kind: 'skip' };
      if (sock.authorized !== true) {
        const e = sock.authorizationError as unknown;
        return certificateRefusal(typeof e === 'string' ? e : e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : 'UNKNOWN');
      }
      const s = certificateSubject(cert, subjectFrom);
      if ('problem' in s) return { kind: 'fail', reason: 'invalid_certificate', message: `client certificate refused: ${s.problem} (auth.mtls.subject_from: ${subjectFrom})` };
      const sp = subjectProblem(s.subject);
      if (sp !== undefined) return { kind: 'fail', reason: 'invalid_certificate', message: `client certificate refused: its subject${sp.startsWith(':') ? sp : ` ${sp.trim()}`}` };
      const groups = [...new Set(groupsFrom.flatMap((f) => attr(cert.subject?.[f])))].filter((g) => groupProblem(g) === undefined);
      return {
        kind: 'success',
        principal: principal(s.subject, 'mtls', { groups, claims: { serial: cert.serialNumber, fingerprint256: cert.fingerprint256, issuer: cert.issuer?.CN } }),
      };
    },
  };
}
