/**
 * The restructured engine (a policy instead of a label and a tenant set) prints exactly what
 * the engine of commit 5f98a98 printed, on the whole real-world corpus and on Prometheus's
 * parser test table, for one tenant, two tenants, a tenant needing regex escaping and `*`, in
 * both dialects (test/fixtures/golden/enforce-digests.json holds a SHA-256 prefix of each
 * output or refusal, made by that engine).
 *
 * The one intended difference is `absent()`/`absent_over_time()`: an added `tenant="x"` is
 * now written `tenant=~"x"` (escaped) inside their argument, and left out where the user's own
 * `tenant="x"` implies it, so their answer carries no tenant label the user did not write.
 * For each differing output the test undoes exactly that rewrite and must then find the old
 * digest; any other difference fails.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ALL_TENANTS, tenantList, tenantPolicy, type AccessPolicy } from '../../src/access/index.ts';
import { enforceQuery, enforceSeriesSelector, PromQLError, type Syntax } from '../../src/enforce/index.ts';
import type { LabelMatcher } from '../../src/promql/ast.ts';
import { mapSelectors } from '../../src/promql/ast.ts';
import { parseExpr } from '../../src/promql/parse.ts';
import { printCanonical } from '../../src/promql/print.ts';
import { escapeRegex } from '../../src/promql/regex.ts';
import { CORPUS_DIR, FIXTURES, loadRealWorldQueries } from '../kit/corpus.ts';

interface Golden {
  readonly engine_commit: string;
  readonly variants: Record<string, { label: string; tenants: string[]; syntax: Syntax }>;
  readonly realworld: Record<string, string[]>;
  readonly parse_cases: Record<string, string[]>;
}

const golden = JSON.parse(readFileSync(`${FIXTURES}/golden/enforce-digests.json`, 'utf8')) as Golden;
const digest = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 16);

function outcome(f: () => string): string {
  try {
    return 'ok ' + f();
  } catch (err) {
    if (err instanceof PromQLError) return `err ${err.code} ${err.message}`;
    throw err;
  }
}

/** The pre-restructure print of an output: absent() arguments get the plain tenant matcher back, appended last. */
function legacyAbsent(out: string, policy: AccessPolicy, syntax: Syntax): string {
  const set = policy.selectors?.[0];
  if (set === undefined || set.length !== 1) return out;
  const m = set[0] as LabelMatcher;
  const tree = mapSelectors(parseExpr(out, { syntax, maxQueryBytes: 1 << 22 }), (vs, call) => {
    if (call !== 'absent' && call !== 'absent_over_time') return vs;
    const regexForm = (x: LabelMatcher) => m.op === '=' && x.name === m.name && x.op === '=~' && x.value === escapeRegex(m.value);
    const last = vs.matchers[vs.matchers.length - 1];
    if (last !== undefined && regexForm(last)) return { ...vs, matchers: [...vs.matchers.slice(0, -1), m] };
    return { ...vs, matchers: [...vs.matchers, m] };
  });
  return printCanonical(tree, syntax);
}

const realworld = loadRealWorldQueries().map((r) => r.query);
const parseCases = (JSON.parse(readFileSync(`${CORPUS_DIR}/prometheus-parse-cases.json`, 'utf8')) as Array<{ input_b64: string }>)
  .map((c) => Buffer.from(c.input_b64, 'base64').toString('utf8'));

describe(`enforced output is byte-identical to engine ${golden.engine_commit} (except absent())`, () => {
  for (const [name, v] of Object.entries(golden.variants)) {
    const policy = tenantPolicy(v.label, v.tenants.includes('*') ? ALL_TENANTS : tenantList(v.tenants));
    const opts = { policy, syntax: v.syntax };
    const sets: Array<[string, readonly string[], string[] | undefined, (q: string) => string]> = [
      ['realworld queries', realworld, golden.realworld[name], (q) => enforceQuery(q, opts)],
      ['parser table queries', parseCases, golden.parse_cases[name], (q) => enforceQuery(q, opts)],
      ['parser table as match[]', parseCases, golden.parse_cases[`${name}-selector`], (q) => enforceSeriesSelector(q, opts)],
    ];
    for (const [what, texts, digests, run] of sets) {
      if (digests === undefined) continue;
      it(`${name}: ${what} (${texts.length})`, (t) => {
        assert.equal(digests.length, texts.length);
        let same = 0;
        let absent = 0;
        texts.forEach((q, i) => {
          const now = outcome(() => run(q));
          if (digest(now) === digests[i]) {
            same++;
            return;
          }
          assert.ok(now.startsWith('ok ') && /absent/.test(q), `#${i} differs and is not an absent() rewrite: ${JSON.stringify(q).slice(0, 200)} → ${now.slice(0, 300)}`);
          assert.equal(digest('ok ' + legacyAbsent(now.slice(3), policy, v.syntax)), digests[i], `#${i}: only the absent() tenant matcher may differ: ${now.slice(0, 300)}`);
          absent++;
        });
        t.diagnostic(`${same} identical, ${absent} differ only inside absent()`);
        assert.equal(same + absent, texts.length);
      });
    }
  }
});
