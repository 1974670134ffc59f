/**
 * `check-config --probe`: fetches the keys of every JWT issuer that has remote keys (OIDC
 * discovery → JWKS, or a JWKS URL) once, the way the gateway would, and reports each result.
 */
import { providerConfig, type Config } from '../../config/types.ts';
import { createIssuerKeys } from './keys.ts';

/** The probe result of one issuer. */
export interface IssuerProbe {
  readonly name: string;
  /** True when the keys were fetched, or there is nothing to fetch. */
  readonly ok: boolean;
  /** One human line: `jwt "k8s": OK, 2 keys from https://…/openid/v1/jwks`. */
  readonly line: string;
}

/**
 * Probes every issuer of `auth.jwt` concurrently (each bounded by its `fetch_timeout`).
 *
 * @returns one result per issuer, in configuration order (empty without `auth.jwt`)
 */
export async function probeIssuers(config: Config): Promise<IssuerProbe[]> {
  const jwt = providerConfig(config.auth, 'jwt');
  if (jwt === undefined) return [];
  return Promise.all(jwt.issuers.map(async (cfg): Promise<IssuerProbe> => {
    const name = JSON.stringify(cfg.name);
    if (cfg.keys.kind === 'hmac' || cfg.keys.kind === 'public_keys') {
      return { name: cfg.name, ok: true, line: `jwt ${name}: ${cfg.keys.kind === 'hmac' ? 'HMAC secret' : 'static public keys'}, nothing to fetch` };
    }
    let from = cfg.keys.url;
    const keys = createIssuerKeys(cfg, { events: { loaded: (_issuer, url) => { from = url; } } });
    try {
      const n = await keys.load();
      const via = cfg.keys.kind === 'discovery' ? ` (discovery ${cfg.keys.url})` : '';
      return { name: cfg.name, ok: true, line: `jwt ${name}: OK, ${n} key${n === 1 ? '' : 's'} from ${from}${via}` };
    } catch (err) {
      return { name: cfg.name, ok: false, line: `jwt ${name}: FAILED: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      keys.close();
    }
  }));
}
