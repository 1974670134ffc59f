/**
 * examples/kubernetes/ and examples/grafana/: every manifest parses; kinds, ports and probes
 * match the promfence configuration each one carries (validated by the real loader with the
 * Secret's values as environment); the Service exposes promfence only; Grafana data sources
 * point at per-team paths their credentials are granted, with secrets from the environment.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { splitHostPort } from '../../src/config/values.ts';
import { splitTarget } from '../../src/routes/target.ts';

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function docs(file: string): Obj[] {
  const all = YAML.parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of all) assert.deepEqual(d.errors, [], `${file}: YAML errors`);
  return all.map((d) => d.toJS() as Obj);
}

const manifests = readdirSync(join(EXAMPLES, 'kubernetes')).filter((f) => f.endsWith('.yaml'));

describe('examples/kubernetes', () => {
  it('holds the Thanos Query sidecar and the Mimir gateway', () => {
    assert.deepEqual(manifests.sort(), ['mimir-gateway.yaml', 'thanos-query-sidecar.yaml']);
  });

  for (const file of manifests) {
    describe(file, () => {
      const objs = docs(join(EXAMPLES, 'kubernetes', file));
      const byKind = (k: string) => objs.filter((o) => o.kind === k);
      const [cm] = byKind('ConfigMap');
      const [secret] = byKind('Secret');
      const [deploy] = byKind('Deployment');
      const [svc] = byKind('Service');
      const pod = deploy?.spec?.template?.spec as Obj;
      const promfence = (pod?.containers as Obj[]).find((c) => c.name === 'promfence') as Obj;
      let config: Config;

      it('has one ConfigMap, Secret, Deployment and Service, with API versions', () => {
        assert.deepEqual(objs.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'Secret', 'Service']);
        for (const o of objs) assert.equal(o.apiVersion, o.kind === 'Deployment' ? 'apps/v1' : 'v1');
      });

      it('the ConfigMap\'s promfence.yaml is a valid configuration with the Secret as environment', () => {
        config = parseConfig(cm?.data?.['promfence.yaml'] as string, { baseDir: EXAMPLES, env: secret?.stringData as Record<string, string> });
        assert.equal(splitHostPort(config.server.listen)?.host, '0.0.0.0', 'a container listens on every interface');
      });

      it('the container mounts that ConfigMap where its --config points, and reads the Secret', () => {
        assert.deepEqual(promfence.args, ['serve', '--config', '/etc/promfence/promfence.yaml']);
        const mount = (promfence.volumeMounts as Obj[]).find((m) => m.mountPath === '/etc/promfence');
        const volume = (pod.volumes as Obj[]).find((v) => v.name === mount?.name);
        assert.equal(volume?.configMap?.name, cm?.metadata?.name);
        assert.deepEqual(promfence.envFrom, [{ secretRef: { name: secret?.metadata?.name } }]);
        assert.match(String(promfence.image), /^promfence:/);
        assert.equal(promfence.securityContext?.runAsNonRoot, true);
      });

      it('the container port is the configured listen port; probes hit /-/ready and /-/healthy on it', () => {
        const port = splitHostPort(config.server.listen)?.port;
        assert.deepEqual(promfence.ports, [{ name: 'http', containerPort: port, protocol: 'TCP' }]);
        assert.deepEqual(promfence.readinessProbe?.httpGet, { path: '/-/ready', port: 'http' });
        assert.deepEqual(promfence.livenessProbe?.httpGet, { path: '/-/healthy', port: 'http' });
      });

      it('the Service selects the pod and exposes promfence only', () => {
        assert.deepEqual(svc?.spec?.selector, deploy?.spec?.template?.metadata?.labels);
        assert.deepEqual(deploy?.spec?.selector?.matchLabels, deploy?.spec?.template?.metadata?.labels);
        const named = new Map((pod.containers as Obj[]).flatMap((c) => ((c.ports ?? []) as Obj[]).map((p) => [p.name, c.name])));
        for (const p of svc?.spec?.ports as Obj[]) assert.equal(named.get(p.targetPort), 'promfence', `Service port ${p.name} targets promfence`);
      });

      if (file === 'thanos-query-sidecar.yaml') {
        it('Thanos Query listens on the pod loopback, where promfence\'s upstream points', () => {
          const thanos = (pod.containers as Obj[]).find((c) => c.name === 'thanos-query') as Obj;
          const http = (thanos.args as string[]).find((a) => a.startsWith('--http-address='))?.split('=')[1];
          assert.equal(http, new URL(config.upstreams.prometheus.url).host);
          assert.equal(thanos.ports, undefined, 'no Thanos port declared for a Service to reach');
        });
      } else {
        it('header mode against Mimir\'s /prometheus prefix, with the explicit tenant list for "*"', () => {
          assert.equal(config.enforce.mode, 'header');
          assert.equal(new URL(config.upstreams.prometheus.url).pathname, '/prometheus');
          assert.deepEqual(config.enforce.all_tenants, ['team-fruit', 'team-veggie']);
        });
      }
    });
  }
});

describe('examples/grafana', () => {
  const [prov] = docs(join(EXAMPLES, 'grafana', 'datasources.yaml'));
  const sidecar = docs(join(EXAMPLES, 'kubernetes', 'thanos-query-sidecar.yaml'));
  const cm = sidecar.find((o) => o.kind === 'ConfigMap') as Obj;
  const secret = sidecar.find((o) => o.kind === 'Secret') as Obj;
  const config = parseConfig(cm.data['promfence.yaml'] as string, { baseDir: EXAMPLES, env: secret.stringData as Record<string, string> });
  const sources = prov?.datasources as Obj[];

  it('provisioning format 1, Prometheus data sources with unique uids', () => {
    assert.equal(prov?.apiVersion, 1);
    assert.ok(sources.length >= 4);
    assert.equal(new Set(sources.map((s) => s.uid)).size, sources.length);
    for (const s of sources) assert.equal(s.type, 'prometheus');
  });

  it('bearer and basic data sources per team, secrets only from the environment', () => {
    const kinds = new Set<string>();
    for (const s of sources) {
      const bearer = s.jsonData?.httpHeaderName1 === 'Authorization';
      assert.notEqual(bearer, s.basicAuth === true, `${s.name}: exactly one credential`);
      if (bearer) {
        assert.match(String(s.secureJsonData?.httpHeaderValue1), /^Bearer \$__env\{[A-Z_]+\}$/);
        kinds.add('bearer');
      } else {
        assert.match(String(s.secureJsonData?.basicAuthPassword), /^\$__env\{[A-Z_]+\}$/);
        kinds.add('basic');
      }
    }
    assert.deepEqual([...kinds].sort(), ['basic', 'bearer']);
  });

  it('each URL is the promfence Service, optionally a per-team path of a tenant its user is granted', () => {
    const svc = sidecar.find((o) => o.kind === 'Service') as Obj;
    for (const s of sources) {
      const url = new URL(String(s.url));
      assert.equal(url.host, `${svc.metadata.name}.monitoring.svc:${svc.spec.ports[0].port}`);
      const target = splitTarget(url.pathname === '/' ? '/api/v1/query' : `${url.pathname}/api/v1/query`, '');
      assert.equal(target.url, '/api/v1/query');
      if (target.tenant === undefined) continue;
      const granted = s.basicAuth === true ? config.access.subjects[s.basicAuthUser as string] : Object.values(config.access.subjects).flat();
      assert.ok(granted?.includes(target.tenant), `${s.name}: ${target.tenant} is granted`);
    }
  });
});
