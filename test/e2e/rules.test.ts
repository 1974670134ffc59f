/**
 * Rules, alerts and metadata end to end: a real Prometheus 2.42 that scrapes our exporter and
 * fires tenant-labelled rules (test/kit/live-prometheus.ts), promfence in front of it, for
 * alice (team-fruit), bob (team-veggie), tom (both) and ops ("*") — directly, and with the
 * upstream behind Caddy's `handle_path /prometheus/*` with `encode gzip` (the Cortex/Mimir
 * layout `http://mimir/prometheus`, a compressed answer): the same filtering either way.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server.ts';
import { startCaddy, type RunningCaddy } from '../kit/caddy.ts';
import { startGateway } from '../kit/gateway.ts';
import { startLivePrometheus, type LivePrometheus } from '../kit/live-prometheus.ts';
import { findFreePort } from '../kit/prometheus.ts';

const USERS = {
  alice: { token: 'fruit-token', tenants: ['team-fruit'] },
  bob: { token: 'veggie-token', tenants: ['team-veggie'] },
  tom: { token: 'tomato-token', tenants: ['team-fruit', 'team-veggie'] },
  ops: { token: 'ops-token', tenants: ['*'] },
} as const;
type User = keyof typeof USERS;

const RULES: Record<User, string[]> = {
  alice: ['FruitStock', 'tenant:fruit_apples:sum'],
  bob: ['VeggieStock'],
  tom: ['FruitStock', 'tenant:fruit_apples:sum', 'VeggieStock'],
  ops: ['FruitStock', 'tenant:fruit_apples:sum', 'VeggieStock', 'QueueDeep', 'PlatformSecret', 'job:up:sum'],
};
/** `alertname/tenant` of every alert each user sees on /api/v1/alerts. */
const ALERTS: Record<User, string[]> = {
  alice: ['FruitStock/team-fruit', 'QueueDeep/team-fruit'],
  bob: ['QueueDeep/team-veggie', 'VeggieStock/team-veggie'],
  tom: ['FruitStock/team-fruit', 'QueueDeep/team-fruit', 'QueueDeep/team-veggie', 'VeggieStock/team-veggie'],
  ops: ['FruitStock/team-fruit', 'PlatformSecret/', 'QueueDeep/team-fruit', 'QueueDeep/team-veggie', 'VeggieStock/team-veggie'],
};
const FRUIT_METRICS = ['fruit_apples', 'fruit_ripeness_seconds', 'shared_queue_depth'];
const VEGGIE_METRICS = ['shared_queue_depth', 'veggie_carrots'];
const METADATA: Record<User, string[]> = {
  alice: FRUIT_METRICS,
  bob: VEGGIE_METRICS,
  tom: [...new Set([...FRUIT_METRICS, ...VEGGIE_METRICS])].sort(),
  ops: [...new Set([...FRUIT_METRICS, ...VEGGIE_METRICS, 'platform_secret_build'])].sort(),
};

interface RuleGroup { name: string; rules: Array<{ name: string; labels?: Record<string, string>; alerts?: Array<{ labels: Record<string, string> }> }> }

let live: LivePrometheus;
let caddy: RunningCaddy;
let caddyUrl: string;
const gateways: Record<string, RunningServer> = {};

before(async () => {
  live = await startLivePrometheus();
  const port = await findFreePort();
  caddyUrl = `http://127.0.0.1:${port}`;
  caddy = await startCaddy(
    `{\n\tadmin off\n\tauto_https off\n}\n:${port} {\n\tbind 127.0.0.1\n\thandle_path /prometheus/* {\n\t\tencode gzip\n\t\treverse_proxy ${new URL(live.url).host}\n\t}\n\trespond 404\n}\n`,
    {},
    async () => (await fetch(`${caddyUrl}/prometheus/-/ready`)).ok,
  );
  gateways['direct'] = await startGateway(live.url, USERS);
  gateways['Caddy prefix + gzip'] = await startGateway(`${caddyUrl}/prometheus`, USERS);
});

after(async () => {
  for (const gw of Object.values(gateways)) await gw.close();
  await caddy?.stop();
  await live?.stop();
});

async function get(gw: RunningServer, user: User, path: string): Promise<{ status: number; body: { status: string; data: unknown }; text: string }> {
  const res = await fetch(gw.url + path, { headers: { authorization: `Bearer ${USERS[user].token}`, 'accept-encoding': 'gzip' } });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as { status: string; data: unknown }, text };
}

it('Caddy really serves the upstream under /prometheus, gzip-compressed', async () => {
  const res = await fetch(`${caddyUrl}/prometheus/api/v1/rules`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  assert.equal((await fetch(`${caddyUrl}/api/v1/rules`)).status, 404);
});

for (const setup of ['direct', 'Caddy prefix + gzip']) {
  describe(`rules, alerts and metadata (${setup})`, () => {
    for (const user of Object.keys(USERS) as User[]) {
      it(`${user}: /api/v1/rules holds exactly its rules and their alerts`, async () => {
        const r = await get(gateways[setup]!, user, '/api/v1/rules');
        assert.equal(r.status, 200, r.text);
        const groups = (r.body.data as { groups: RuleGroup[] }).groups;
        assert.deepEqual(groups.flatMap((g) => g.rules.map((x) => x.name)).sort(), [...RULES[user]].sort());
        assert.ok(groups.every((g) => g.rules.length > 0), 'no empty group');
        for (const rule of groups.flatMap((g) => g.rules)) {
          if (user !== 'ops') assert.ok(USERS[user].tenants.includes(rule.labels?.['tenant'] as never), `${rule.name} carries a granted tenant`);
          for (const a of rule.alerts ?? []) if (user !== 'ops') assert.ok(USERS[user].tenants.includes(a.labels['tenant'] as never));
        }
        if (user !== 'ops') assert.equal(r.text.includes('s3cr3t') || r.text.includes('PlatformSecret'), false);
        const firing = groups.flatMap((g) => g.rules).find((x) => x.name === RULES[user][0]);
        assert.ok((firing?.alerts ?? []).length > 0, 'the alerting rule carries its firing alert');
      });

      it(`${user}: /api/v1/alerts holds exactly its alerts`, async () => {
        const r = await get(gateways[setup]!, user, '/api/v1/alerts');
        assert.equal(r.status, 200, r.text);
        const alerts = (r.body.data as { alerts: Array<{ labels: Record<string, string> }> }).alerts;
        assert.deepEqual(alerts.map((a) => `${a.labels['alertname']}/${a.labels['tenant'] ?? ''}`).sort(), ALERTS[user]);
      });

      it(`${user}: /api/v1/metadata only for its metric names`, async () => {
        const r = await get(gateways[setup]!, user, '/api/v1/metadata');
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(Object.keys(r.body.data as object).sort(), METADATA[user]);
      });
    }

    it('rules parameters reach Prometheus (type=record)', async () => {
      const r = await get(gateways[setup]!, 'tom', '/api/v1/rules?type=record');
      assert.deepEqual((r.body.data as { groups: RuleGroup[] }).groups.flatMap((g) => g.rules.map((x) => x.name)), ['tenant:fruit_apples:sum']);
    });

    it('metadata limit and metric are honoured', async () => {
      const one = await get(gateways[setup]!, 'tom', '/api/v1/metadata?limit=1');
      assert.equal(Object.keys(one.body.data as object).length, 1);
      const m = await get(gateways[setup]!, 'alice', '/api/v1/metadata?metric=veggie_carrots');
      assert.deepEqual(m.body.data, {});
      const own = await get(gateways[setup]!, 'alice', '/api/v1/metadata?metric=fruit_apples');
      assert.deepEqual(Object.keys(own.body.data as object), ['fruit_apples']);
    });

    it('refused endpoints stay refused behind a prefix', async () => {
      for (const path of ['/api/v1/targets', '/api/v1/targets/metadata', '/api/v1/status/tsdb', '/api/v1/status/config', '/api/v1/status/flags']) {
        const r = await get(gateways[setup]!, 'alice', path);
        assert.equal(r.status, 403, `${path}: ${r.text}`);
      }
    });
  });
}
