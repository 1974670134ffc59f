/**
 * Test kit: X.509 certificates generated in the test with Debian's `openssl` CLI (OpenSSL 3):
 * a CA, and leaf certificates it signs with any subject, SANs and validity window (an expired
 * one included: `openssl ca -startdate/-enddate`, since `openssl x509` of OpenSSL 3.0 cannot
 * backdate). Keys are EC P-256 (fast to generate).
 *
 * ```ts
 * const ca = createCa(dir, 'Test CA');
 * const server = ca.issue('server', { cn: 'localhost', sans: ['DNS:localhost', 'IP:127.0.0.1'] });
 * const alice = ca.issue('alice', { cn: 'alice', o: ['fruit-devs'] });
 * const old = ca.issue('old', { cn: 'alice', notBefore: '20200101000000Z', notAfter: '20200102000000Z' });
 * ```
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A key pair and certificate on disk. */
export interface IssuedCert {
  readonly certPath: string;
  readonly keyPath: string;
  /** PEM texts. */
  readonly cert: string;
  readonly key: string;
}

/** What a leaf certificate holds. */
export interface LeafOptions {
  /** Subject CN. */
  readonly cn?: string;
  /** Subject O values (each its own RDN). */
  readonly o?: readonly string[];
  /** Subject OU values. */
  readonly ou?: readonly string[];
  /** subjectAltName entries as OpenSSL writes them: `DNS:localhost`, `IP:127.0.0.1`, `URI:spiffe://td/x`. */
  readonly sans?: readonly string[];
  /** Validity start, `YYYYMMDDHHMMSSZ` (default: now). */
  readonly notBefore?: string;
  /** Validity end, `YYYYMMDDHHMMSSZ` (default: 30 days from now). */
  readonly notAfter?: string;
}

/** A certificate authority that issues leaves into its directory. */
export interface TestCa extends IssuedCert {
  readonly dir: string;
  /** Issues a leaf named `name` (files `<name>.pem`, `<name>.key`), usable for server and client auth. */
  issue(name: string, options?: LeafOptions): IssuedCert;
}

function openssl(args: readonly string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

function subject(o: LeafOptions): string {
  const esc = (v: string) => v.replace(/[/\\=+]/g, (c) => `\\${c}`);
  return [...(o.o ?? []).map((v) => `/O=${esc(v)}`), ...(o.ou ?? []).map((v) => `/OU=${esc(v)}`), ...(o.cn !== undefined ? [`/CN=${esc(o.cn)}`] : [])].join('') || '/CN=unnamed';
}

/**
 * Creates a self-signed CA (EC P-256, 10 years) in `dir` (created if needed).
 *
 * @param dir output directory (also holds the `openssl ca` database)
 * @param name the CA's CN
 * @throws Error with openssl's stderr when openssl fails or is missing (`apt-get install openssl`)
 */
export function createCa(dir: string, name: string): TestCa {
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  const base = name.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase();
  const certPath = join(dir, `${base}.pem`);
  const keyPath = join(dir, `${base}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '3650',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const db = join(dir, `${base}.index.txt`);
  if (!existsSync(db)) writeFileSync(db, '');
  writeFileSync(join(dir, `${base}.serial`), `${Math.floor(Math.random() * 1e6).toString(16).padStart(6, '0')}01\n`);
  const cnf = join(dir, `${base}.cnf`);
  writeFileSync(cnf, [
    '[ ca ]', 'default_ca = ca_default',
    '[ ca_default ]', `database = ${db}`, `new_certs_dir = ${join(dir, 'newcerts')}`, `serial = ${join(dir, `${base}.serial`)}`,
    'default_md = sha256', 'policy = policy_any', 'unique_subject = no', 'copy_extensions = none',
    '[ policy_any ]', 'commonName = optional', 'organizationName = optional', 'organizationalUnitName = optional',
    '',
  ].join('\n'));
  return {
    dir,
    certPath,
    keyPath,
    cert: readFileSync(certPath, 'utf8'),
    key: readFileSync(keyPath, 'utf8'),
    issue(leaf, options = {}) {
      const lc = join(dir, `${leaf}.pem`);
      const lk = join(dir, `${leaf}.key`);
      const csr = join(dir, `${leaf}.csr`);
      const ext = join(dir, `${leaf}.ext`);
      openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', lk, '-out', csr, '-subj', subject(options)], dir);
      writeFileSync(ext, [
        'basicConstraints = CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        'extendedKeyUsage = serverAuth, clientAuth',
        ...(options.sans !== undefined && options.sans.length > 0 ? [`subjectAltName = ${options.sans.join(', ')}`] : []),
        '',
      ].join('\n'));
      const now = Date.now();
      openssl(['ca', '-batch', '-notext', '-preserveDN', '-config', cnf, '-cert', certPath, '-keyfile', keyPath, '-in', csr, '-out', lc, '-extfile', ext,
        '-startdate', options.notBefore ?? stamp(new Date(now - 60_000)), '-enddate', options.notAfter ?? stamp(new Date(now + 30 * 86_400_000))], dir);
      return { certPath: lc, keyPath: lk, cert: readFileSync(lc, 'utf8'), key: readFileSync(lk, 'utf8') };
    },
  };
}
