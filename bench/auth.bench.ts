/**
 * Benchmark of authentication providers (`npm run bench:auth`): the cost per request of
 * each credential kind, measured on the provider itself (no HTTP).
 *
 * Measures per-call µs (median, p99, mean) of:
 * - static bearer token (SHA-256 + constant-time compare against 100 entries);
 * - JWT, verified-token cache hit (SHA-256 of the token + LRU lookup);
 * - JWT, cache miss: HS256, ES256 and RS256 (2048-bit) signature and claims checks
 *   (every token is distinct, so each call verifies);
 * - JWT refusal of a made-up token (bad signature), first time and remembered.
 *
 * Env: BENCH_N (calls per case, default 2000).
 */
import { cpus } from 'node:os';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { parseAuthorization } from '../src/auth/header.ts';
import type { AuthInput, AuthProvider } from '../src/auth/provider.ts';
import { bearerTokensProvider } from '../src/auth/providers/bearer-tokens.ts';
import { jwtProvider } from '../src/auth/providers/jwt.ts';
import { parseConfig } from '../src/config/load.ts';
import { providerConfig } from '../src/config/types.ts';

const N = Number(process.env['BENCH_N'] ?? 2000);
const SECRET = 'bench-hmac-secret-0123456789-0123456789';

function stats(samples: number[]): { median: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { median: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const input = (token: string): AuthInput => ({ authorization: parseAuthorization(`Bearer ${token}`), headers: {}, rawHeaders: [], socket: {} as AuthInput['socket'] });

async function measure(name: string, provider: AuthProvider, tokens: readonly string[], expect: 'success' | 'fail'): Promise<void> {
  const inputs = tokens.map(input);
  for (const i of inputs.slice(0, 50)) await provider.authenticate(i); // warm-up (JIT; first cache fill for repeated tokens)
  const samples: number[] = [];
  for (let k = 0; k < N; k++) {
    const i = inputs[k % inputs.length]!;
    const t0 = performance.now();
    const o = await provider.authenticate(i);
    samples.push((performance.now() - t0) * 1000);
    if (o.kind !== expect) throw new Error(`${name}: expected ${expect}, got ${JSON.stringify(o)}`);
  }
  const s = stats(samples);
  console.log(`${name.padEnd(44)} median ${s.median.toFixed(1).padStart(8)} µs   p99 ${s.p99.toFixed(1).padStart(8)} µs   mean ${s.mean.toFixed(1).padStart(8)} µs`);
}

async function main(): Promise<void> {
  console.log(`auth bench: Node ${process.version}, ${cpus()[0]?.model ?? '?'} ×${cpus().length}, ${N} calls per case\n`);
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const esJwk = { ...(await exportJWK(es.publicKey)), kid: 'es' };
  const rsJwk = { ...(await exportJWK(rs.publicKey)), kid: 'rs' };
  const config = parseConfig(`
upstream: {url: "http://127.0.0.1:9090"}
auth:
  bearer_tokens:
${Array.from({ length: 100 }, (_, i) => `    - {subject: user${i}, token: static-token-${i}}`).join('\n')}
  jwt:
    - {issuer: "https://hs.example", hmac_secret: "${SECRET}", tenants_claim: tenants}
    - {issuer: "https://es.example", public_keys: [${JSON.stringify(esJwk)}], tenants_claim: tenants}
    - {issuer: "https://rs.example", public_keys: [${JSON.stringify(rsJwk)}], tenants_claim: tenants}
`, { baseDir: '/', env: {} });
  const jwt = providerConfig(config.auth, 'jwt')!;
  const fresh = () => jwtProvider({ issuers: jwt.issuers, realm: 'promfence', cacheSize: jwt.cache_size, cacheMaxBytes: jwt.cache_max_bytes, prefetch: false });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const mint = async (iss: string, alg: string, key: CryptoKey | Uint8Array, kid: string | undefined, i: number) =>
    new SignJWT({ iss, sub: `svc-${i}`, tenants: ['team-fruit'], exp, jti: String(i) }).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).sign(key);
  const many = async (n: number, f: (i: number) => Promise<string>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));

  await measure('static bearer token (100 entries)', bearerTokensProvider(providerConfig(config.auth, 'bearer_tokens')!.tokens, 'promfence'), ['static-token-57'], 'success');
  const hsKey = new TextEncoder().encode(SECRET);
  const cached = fresh();
  await measure('JWT, verified-token cache hit', cached, [await mint('https://hs.example', 'HS256', hsKey, undefined, 0)], 'success');
  const count = N + 50;
  await measure('JWT HS256, cache miss', fresh(), await many(count, (i) => mint('https://hs.example', 'HS256', hsKey, undefined, i)), 'success');
  await measure('JWT ES256, cache miss', fresh(), await many(count, (i) => mint('https://es.example', 'ES256', es.privateKey, 'es', i)), 'success');
  await measure('JWT RS256 (2048 bit), cache miss', fresh(), await many(count, (i) => mint('https://rs.example', 'RS256', rs.privateKey, 'rs', i)), 'success');
  const forged = await many(count, (i) => mint('https://rs.example', 'HS256', hsKey, undefined, i));
  await measure('JWT refusal (HS256 vs RS issuer), first time', fresh(), forged, 'fail');
  const badSignature = await many(count, async (i) => `${(await mint('https://es.example', 'ES256', es.privateKey, 'es', i)).slice(0, -4)}AAAA`);
  await measure('JWT refusal (bad ES256 signature), first time', fresh(), badSignature, 'fail');
  await measure('JWT refusal (bad ES256 signature), remembered', fresh(), [badSignature[0]!], 'fail');
}

await main();
