/**
 * Test kit: promfence started the way `promfence serve` starts it — a YAML configuration
 * parsed and validated by src/config, then `startServer` — in front of a given upstream.
 *
 * ```ts
 * const gw = await startGateway(prom.url, { alice: { token: 'fruit-token', tenants: ['team-fruit'] } });
 * after(() => gw.close());
 * ```
 */
import bcrypt from 'bcryptjs';
import { parseConfig } from '../../src/config/load.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { silentLogger } from '../../src/observability/logger.ts';

/** One subject: a bearer token and/or a basic password (hashed with bcrypt cost 4 here), and its tenants (`*` = all). */
export interface TestUser {
  readonly token?: string;
  readonly password?: string;
  readonly tenants: readonly string[];
}

/**
 * Starts promfence on a free loopback port in front of `upstreamUrl` (`promql.syntax: auto`,
 * label `tenant`, upstream timeout 30 s).
 *
 * @param upstreamUrl base URL of the upstream (a real Prometheus or a recording one)
 * @param users subject → credentials and tenants
 * @param extraYaml more top-level YAML sections appended to the generated configuration
 * @throws ConfigError when the generated configuration is invalid
 */
export async function startGateway(upstreamUrl: string, users: Readonly<Record<string, TestUser>>, extraYaml = ''): Promise<RunningServer> {
  const entries = Object.entries(users);
  const q = (s: string) => JSON.stringify(s);
  const bearer = entries.filter(([, u]) => u.token !== undefined).map(([s, u]) => `    - { subject: ${q(s)}, token: ${q(u.token!)} }`);
  const basic = await Promise.all(
    entries.filter(([, u]) => u.password !== undefined).map(async ([s, u]) => `    - { subject: ${q(s)}, password_hash: ${q(await bcrypt.hash(u.password!, 4))} }`),
  );
  const yaml = [
    'server:',
    '  listen: "127.0.0.1:0"',
    'upstream:',
    `  url: ${q(upstreamUrl)}`,
    '  timeout: 30s',
    'enforce:',
    '  label: tenant',
    'promql:',
    '  syntax: auto',
    'auth:',
    ...(bearer.length > 0 ? ['  bearer_tokens:', ...bearer] : []),
    ...(basic.length > 0 ? ['  basic_users:', ...basic] : []),
    'access:',
    '  subjects:',
    ...entries.map(([s, u]) => `    ${q(s)}: [${u.tenants.map(q).join(', ')}]`),
    extraYaml,
  ].join('\n');
  const config = parseConfig(yaml, { baseDir: process.cwd(), env: {} });
  return startServer(config, { logger: silentLogger() });
}
