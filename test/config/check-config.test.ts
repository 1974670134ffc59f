import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigCommand } from '../../src/commands/check-config.ts';
import { loadConfig, ConfigError } from '../../src/config/load.ts';
import { configWarnings, summarizeConfig } from '../../src/config/summary.ts';
import { main } from '../../src/cli.ts';
import { memoryIO } from './helpers.ts';
import { providerConfig } from '../../src/config/types.ts';

const HASH = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.tc0DlVVKb6PbexJ3mr/5eeGyOp09Uc2';
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'promfence-check-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const GOOD = `upstream: {url: "http://127.0.0.1:9090", bearer_token: upstream-secret-value}
auth:
  bearer_tokens:
    - {subject: alice, token: fruit-secret-value, groups: [fruit-devs]}
    - {subject: tom, token: tomato-secret-value}
    - {subject: ops, token: ops-secret-value}
    - {subject: carol, token: carol-secret-value}
  basic_users:
    - {subject: bob, password_hash: "${HASH}", groups: [veggie-devs]}
access:
  subjects:
    alice: [team-fruit]
    tom: [team-fruit, team-veggie]
    ops: ["*"]
    dave: [team-x]
  groups:
    veggie-devs: [team-veggie]
    nobody-has-it: [team-y]
`;

describe('check-config', () => {
  it('prints the summary and "config OK", exit 0, without secrets', async () => {
    const io = memoryIO();
    const code = await checkConfigCommand({ config: file('good.yaml', GOOD) }, io, {});
    assert.equal(code, 0, io.err());
    const out = io.out();
    assert.equal(io.err(), '');
    assert.match(out, /^listen: 127\.0\.0\.1:9095 \(no internal listener\)$/m);
    assert.match(out, /^upstream: http:\/\/127\.0\.0\.1:9090 \(timeout 2m, sends its own bearer token\)$/m);
    assert.match(out, /^enforce: label "tenant", mode label;/m);
    assert.match(out, /^promql: syntax auto,/m);
    assert.match(out, /^auth: 4 bearer tokens, 1 basic user /m);
    assert.match(out, /^ {2}alice \(bearer; groups: fruit-devs\) -> team-fruit$/m);
    assert.match(out, /^ {2}tom \(bearer\) -> team-fruit, team-veggie$/m);
    assert.match(out, /^ {2}ops \(bearer\) -> ALL tenants \(unrestricted\)$/m);
    assert.match(out, /^ {2}bob \(basic; groups: veggie-devs\) -> team-veggie$/m);
    assert.match(out, /^ {2}carol \(bearer\) -> NO tenants \(requests get 403 no_tenants\)$/m);
    assert.match(out, /warnings \(3\):/);
    assert.match(out, /access\.subjects\.dave: no auth entry defines subject "dave"/);
    assert.match(out, /access\.groups\.nobody-has-it: no auth entry has group "nobody-has-it"/);
    assert.match(out, /auth\.bearer_tokens\[3\]: subject "carol" has no tenants/);
    assert.ok(out.endsWith('config OK\n'));
    for (const secret of ['secret-value', HASH, 'CCCCCCCC']) assert.ok(!out.includes(secret), `summary leaks ${secret}`);
  });

  it('prints every problem on stderr and returns 1', async () => {
    const io = memoryIO();
    const code = await checkConfigCommand({ config: file('bad.yaml', 'upstream: {url: x}\nauth: {bearer_tokens: [{subject: a, token: ""}]}\n') }, io, {});
    assert.equal(code, 1);
    assert.equal(io.out(), '');
    assert.match(io.err(), /^config: upstream\.url: must be an http\(s\) URL like http:\/\/127\.0\.0\.1:9090/m);
    assert.match(io.err(), /^config: auth\.bearer_tokens\[0\]\.token is empty$/m);
    assert.match(io.err(), /configuration is invalid \(2 problems\)/);
  });

  it('a missing file is exit 1 naming the path', async () => {
    const io = memoryIO();
    assert.equal(await checkConfigCommand({ config: join(dir, 'nope.yaml') }, io, {}), 1);
    assert.match(io.err(), /config: cannot read ".*nope\.yaml": no such file/);
  });

  it('is wired in the CLI: check-config --config F', async () => {
    const io = memoryIO();
    const code = await main(['node', 'promfence', 'check-config', '--config', file('cli.yaml', GOOD)], io);
    assert.equal(code, 0);
    assert.match(io.out(), /config OK/);
  });

  it('the example configuration is valid', async () => {
    const io = memoryIO();
    const code = await checkConfigCommand({ config: new URL('../../examples/promfence.example.yaml', import.meta.url).pathname }, io, {});
    assert.equal(code, 0, io.err());
    assert.match(io.out(), /ops \(bearer\) -> ALL tenants \(unrestricted\)/);
    assert.doesNotMatch(io.out(), /warnings/);
  });
});

describe('loadConfig', () => {
  it('resolves _file paths against the config file directory', async () => {
    mkdirSync(join(dir, 'conf', 'secrets'), { recursive: true });
    writeFileSync(join(dir, 'conf', 'secrets', 'tok'), 'from-file-token\n');
    const p = join(dir, 'conf', 'c.yaml');
    writeFileSync(p, 'upstream: {url: "http://u:1"}\nauth: {bearer_tokens: [{subject: a, token_file: secrets/tok}]}\n');
    const c = await loadConfig(p, {});
    assert.equal(providerConfig(c.auth, 'bearer_tokens')?.tokens.length, 1);
  });

  it('uses the given env for ${env:NAME}', async () => {
    const p = file('env.yaml', 'upstream: {url: "${env:U}"}\nauth: {bearer_tokens: [{subject: a, token: t0123456}]}\n');
    assert.equal((await loadConfig(p, { U: 'http://x:1/' })).upstreams.prometheus.url, 'http://x:1');
    await assert.rejects(loadConfig(p, {}), (e: unknown) => e instanceof ConfigError && e.message === 'config: upstream.url: environment variable U is not set (referenced as ${env:U})');
  });
});

describe('configWarnings', () => {
  it('warns about a literal "*" inside a tenant ID and a redundant "*"', async () => {
    const c = await loadConfig(file('w.yaml', `upstream: {url: "http://u:1"}
auth: {bearer_tokens: [{subject: a, token: t0123456}]}
access: {subjects: {a: ["team-*", "*"]}}
`), {});
    assert.deepEqual(configWarnings(c), [
      'access.subjects.a[0]: tenant "team-*" contains "*" but is a literal tenant ID, not a wildcard; only a lone "*" means all tenants',
      'access.subjects.a: lists "*" (all tenants) and other tenants; the others are redundant',
    ]);
    assert.ok(summarizeConfig(c).includes('  a (bearer) -> ALL tenants (unrestricted)'));
  });

  it('a subject granted only through a group gets no warning', async () => {
    const c = await loadConfig(file('g.yaml', `upstream: {url: "http://u:1"}
auth: {bearer_tokens: [{subject: a, token: t0123456, groups: [g]}]}
access: {groups: {g: [t]}}
`), {});
    assert.deepEqual(configWarnings(c), []);
  });
});
