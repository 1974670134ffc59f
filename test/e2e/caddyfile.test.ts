/**
 * `Caddyfile.example`, unchanged, run by Debian's Caddy 2.6 in front of promfence and a real
 * scraping Prometheus: TLS from Caddy's internal CA on the shared endpoint, and the per-team
 * ports mapped to `/tenants/<id>/` — a tomato user reads one team per port and both on the
 * shared endpoint; a single-team user is refused the other team's port.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { RunningServer } from '../../src/server.ts';
import { startCaddy, type RunningCaddy } from '../kit/caddy.ts';
import { startGateway } from '../kit/gateway.ts';
import { startLivePrometheus, type LivePrometheus } from '../kit/live-prometheus.ts';
import { findFreePort } from '../kit/prometheus.ts';

const CADDYFILE = readFileSync(new URL('../../Caddyfile.example', import.meta.url), 'utf8');

let live: LivePrometheus;
let gw: RunningServer;
let caddy: RunningCaddy;
const ports = { shared: 0, fruit: 0, veggie: 0 };
let rootCA = '';

interface Answer { status: number; body: { status: string; data?: { result: Array<{ metric: Record<string, string> }> }; code?: string } }

/** GET through Caddy over TLS (server name localhost), trusting only `ca` (null: the system CAs). */
function get(port: number, path: string, token: string, ca: string | null = rootCA): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, servername: 'localhost', ...(ca === null ? {} : { ca }), headers: { authorization: `Bearer ${token}`, host: `localhost:${port}` }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

const QUERY = `/api/v1/query?query=${encodeURIComponent('sum by (tenant) (shared_queue_depth)')}`;
const tenants = (a: Answer) => (a.body.data?.result ?? []).map((r) => r.metric['tenant']).sort();

before(async () => {
  live = await startLivePrometheus();
  gw = await startGateway(live.url, {
    alice: { token: 'fruit-token', tenants: ['team-fruit'] },
    tom: { token: 'tomato-token', tenants: ['team-fruit', 'team-veggie'] },
  });
  ports.shared = await findFreePort();
  ports.fruit = await findFreePort();
  ports.veggie = await findFreePort();
  caddy = await startCaddy(CADDYFILE, {
    PROMFENCE_ADDR: new URL(gw.url).host,
    PROMFENCE_PUBLIC_HOST: 'localhost',
    CADDY_HTTPS_PORT: String(ports.shared),
    FRUIT_PORT: String(ports.fruit),
    VEGGIE_PORT: String(ports.veggie),
    CADDY_ADMIN: 'off',
  }, async (dataDir) => {
    const root = join(dataDir, 'caddy/pki/authorities/local/root.crt');
    if (!existsSync(root)) return false;
    rootCA = readFileSync(root, 'utf8');
    return (await get(ports.veggie, QUERY, 'tomato-token')).status === 200 && (await get(ports.shared, QUERY, 'tomato-token')).status === 200;
  });
});

after(async () => {
  await caddy?.stop();
  await gw?.close();
  await live?.stop();
});

describe('Caddyfile.example', () => {
  it('the shared endpoint serves TLS from Caddy\'s internal CA (untrusted without it)', async () => {
    await assert.rejects(get(ports.shared, QUERY, 'tomato-token', null), /self[- ]signed|unable to (get|verify)|certificate/i);
    const r = await get(ports.shared, QUERY, 'tomato-token');
    assert.equal(r.status, 200);
    assert.deepEqual(tenants(r), ['team-fruit', 'team-veggie']);
  });

  it('each team port reads one team; the tomato user gets one data source per team', async () => {
    assert.deepEqual(tenants(await get(ports.fruit, QUERY, 'tomato-token')), ['team-fruit']);
    assert.deepEqual(tenants(await get(ports.veggie, QUERY, 'tomato-token')), ['team-veggie']);
    assert.deepEqual(tenants(await get(ports.fruit, QUERY, 'fruit-token')), ['team-fruit']);
  });

  it('a team port of a team the caller lacks is 403; bad credentials 401', async () => {
    const r = await get(ports.veggie, QUERY, 'fruit-token');
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'forbidden_tenant');
    assert.equal((await get(ports.fruit, QUERY, 'wrong')).status, 401);
  });

  it('rules through a team port are that team\'s', async () => {
    const r = (await get(ports.veggie, '/api/v1/rules', 'tomato-token')) as unknown as { body: { data: { groups: Array<{ name: string }> } } };
    assert.deepEqual(r.body.data.groups.map((g) => g.name), ['veggie']);
  });
});
