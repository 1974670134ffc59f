/**
 * Server TLS (`server.tls`): the options of the HTTPS listener, and a watcher that swaps the
 * certificate, key and client CA bundle in when their files change, without a restart
 * (cert-manager, Kubernetes secret mounts and certbot replace the files in place or through
 * symlinks; `tls.Server.setSecureContext` applies to new connections, open ones keep theirs).
 */
import { readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer, type TlsOptions } from 'node:tls';
import type { ServerTlsConfig } from './config/types.ts';
import type { Logger } from './observability/logger.ts';

/** Longest a client may take for its TLS handshake, ms (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Reads the PEM files of `cfg` and builds the secure-context options (TLS ≥ `min_version`,
 * the client CA bundle when client certificates are requested).
 *
 * @throws the fs error when a file cannot be read
 */
export function secureContextOptions(cfg: ServerTlsConfig): SecureContextOptions {
  return {
    cert: readFileSync(cfg.cert_file),
    key: readFileSync(cfg.key_file),
    ...(cfg.client_ca_file !== undefined ? { ca: readFileSync(cfg.client_ca_file) } : {}),
    minVersion: cfg.min_version,
  };
}

/**
 * The options of `https.createServer` for `cfg`: the secure context, and client certificates
 * per `client_auth` — `none`: not requested; `optional`: requested and verified against
 * `client_ca_file`, a connection without one or with a refused one still proceeds (the
 * `mtls` provider then skips or refuses it with a 401 envelope, and other methods still
 * work); `require`: the handshake fails without a valid certificate.
 *
 * @returns the options, and the files' signature taken just BEFORE they were read (pass it to
 *   {@link watchTlsFiles}: a change after that moment is then always noticed)
 * @throws the fs error when a file cannot be read
 */
export function tlsServerOptions(cfg: ServerTlsConfig): { options: TlsOptions; signature: string } {
  const signature = signatureSync(tlsFiles(cfg));
  return {
    options: {
      ...secureContextOptions(cfg),
      requestCert: cfg.client_auth !== 'none',
      rejectUnauthorized: cfg.client_auth === 'require',
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    },
    signature,
  };
}

function tlsFiles(cfg: ServerTlsConfig): string[] {
  return [cfg.cert_file, cfg.key_file, ...(cfg.client_ca_file !== undefined ? [cfg.client_ca_file] : [])];
}

/** A running file watcher. */
export interface TlsWatcher {
  /** Checks the files now; resolves true when a new context was installed. */
  check(): Promise<boolean>;
  /** Stops checking. */
  close(): void;
}

type Stat = { ino: number; size: number; mtimeMs: number; ctimeMs: number };
const describeStat = (s: Stat): string => `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
const describeError = (err: unknown): string => `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`;

/** Inode, size and times of each file (following symlinks, as Kubernetes secret mounts need). */
async function signature(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(files.map((f) => stat(f).then(describeStat, describeError)));
  return parts.join('|');
}

function signatureSync(files: readonly string[]): string {
  return files.map((f) => {
    try {
      return describeStat(statSync(f));
    } catch (err) {
      return describeError(err);
    }
  }).join('|');
}

/**
 * Watches the files of `cfg` (stat every `reload_interval_ms`; a changed inode, size or time
 * counts) and installs a new secure context when they change. A set of files that does not
 * load (a certificate written before its key, a truncated file) is logged at `warn` once and
 * retried at the next change; the previous context keeps serving meanwhile.
 *
 * @param server the HTTPS server
 * @param cfg `server.tls`
 * @param logger `tls certificate reloaded` at `info` (subject, expiry), failures at `warn`
 * @param initial the signature of the files the server was started with ({@link tlsServerOptions})
 */
export function watchTlsFiles(server: TlsServer, cfg: ServerTlsConfig, logger: Logger, initial: string): TlsWatcher {
  const files = tlsFiles(cfg);
  let installed = initial;
  let failed: string | undefined;
  let running: Promise<boolean> | undefined;

  const check = (): Promise<boolean> => {
    running ??= (async () => {
      // Taken before the files are read: a write after this moment changes the next signature.
      const current = await signature(files);
      if (current === installed || current === failed) return false;
      try {
        const options = secureContextOptions(cfg);
        createSecureContext(options); // throws on a mismatched or broken pair, before anything is swapped
        server.setSecureContext(options);
        installed = current;
        failed = undefined;
        let described = {};
        try {
          const c = new X509Certificate(options.cert as Buffer);
          described = { subject: c.subject.replace(/\n/g, ', '), valid_to: new Date(c.validTo).toISOString() };
        } catch {
          // Description only.
        }
        logger.info('tls certificate reloaded', { cert_file: cfg.cert_file, ...described });
        return true;
      } catch (err) {
        failed = current;
        logger.warn('tls files changed but cannot be loaded; the previous certificate stays in use', { cert_file: cfg.cert_file, key_file: cfg.key_file, error: err instanceof Error ? err.message : String(err) });
        return false;
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void check(), cfg.reload_interval_ms);
  timer.unref();
  return {
    check,
    close() {
      clearInterval(timer);
    },
  };
}
