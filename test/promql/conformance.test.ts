/**
 * Conformance with Prometheus's own parser test table (test/fixtures/corpus, Prometheus 3.14):
 *
 * 1. accept/reject: `enforceQuery(input, tenants *, prometheus3)` agrees with Go's `fail`
 *    except for the documented cases below;
 * 2. structure: for every valid case with a known Go tree, our typed tree rendered in the
 *    corpus's compact notation equals Go's (exceptions: only cases we reject).
 *
 * Differences are of two kinds, each listed with its reason:
 * - WE_REJECT: Go accepts, promfence refuses (fail closed: experimental syntax not enabled on
 *   a production upstream, policy, or a lezer limitation);
 * - UPSTREAM_REJECTS: Go rejects during type checking, promfence leaves type checks to the
 *   upstream (promql-enforcement.md, "Checks that can be left to the upstream"). For each,
 *   the test shows that our canonical print has the same tree as the input, i.e. the
 *   upstream receives the very construct it rejects.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALL_TENANTS } from '../../src/access/index.ts';
import { enforceQuery, PromQLError } from '../../src/enforce/index.ts';
import { topts } from '../kit/policy.ts';
import { FIXTURES } from '../kit/corpus.ts';
import { parseExpr } from '../../src/promql/parse.ts';
import type { Expr } from '../../src/promql/ast.ts';
import { compact } from './compact.ts';

const CORPUS = `${FIXTURES}/corpus`;

interface Case {
  line: number;
  input: string;
  input_b64: string;
  invalid_utf8: boolean;
  fail: boolean;
  err: string | null;
}

interface StructureCase {
  line: number;
  input: string;
  go: string;
}

const DURATION_EXPR = 'experimental duration expression (Go: ExperimentalDurationExpr option, off by default)';

/** Go accepts, promfence refuses. Keyed by parse_test.go line. */
const WE_REJECT: ReadonlyMap<number, string> = new Map([
  [85, 'lezer\'s number token needs a digit after "." (`5.`)'],
  [784, 'lezer reads `offset` as a keyword, never as a metric name'],
  [1716, DURATION_EXPR],
  [1733, DURATION_EXPR],
  [1754, DURATION_EXPR],
  [1771, DURATION_EXPR],
  [1857, 'lezer\'s number token needs a digit after "." (`3.`)'],
  [3679, '`\\xFF`/`\\377` escapes make a string of invalid UTF-8 bytes, which a JavaScript string cannot hold'],
  [3686, '`\\xFF`/`\\377` escapes make a string of invalid UTF-8 bytes, which a JavaScript string cannot hold'],
  [4321, 'start() is an experimental function (functions.go Experimental: true)'],
  [4332, 'end() is an experimental function (functions.go Experimental: true)'],
  [4436, 'info() refused by policy: its target_info lookup is not tenant-scoped'],
  [4474, 'info() refused by policy: its target_info lookup is not tenant-scoped'],
  ...[4511, 4549, 4588, 4614, 4632, 4654, 4672, 4690, 4705, 4720, 4748, 4773, 4811, 4829, 4855, 4873, 4888, 4903, 4931, 5000, 5050, 5077, 5104, 5133]
    .map((l): [number, string] => [l, DURATION_EXPR]),
]);

const TYPES = 'type check left to the upstream';

/** Go rejects in checkAST (types/arity), promfence accepts and forwards the same construct. */
const UPSTREAM_REJECTS: ReadonlyMap<number, string> = new Map([
  [640, `${TYPES}: set operator between scalars`],
  [651, `${TYPES}: comparison between scalars without bool`],
  [662, `${TYPES}: set operator between scalars`],
  [673, `${TYPES}: set operator between scalars`],
  [706, `${TYPES}: unary minus on a string`],
  [717, `${TYPES}: unary minus on a range vector`],
  [1424, `${TYPES}: set operator with a scalar operand`],
  [1435, `${TYPES}: set operator with a scalar operand`],
  [1446, `${TYPES}: set operator with a scalar operand`],
  [1457, `${TYPES}: set operator with a scalar operand`],
  [1468, `${TYPES}: set operator with a scalar operand`],
  [1479, `${TYPES}: set operator with a scalar operand`],
  [1490, `${TYPES}: vector matching with a scalar operand`],
  [1506, `${TYPES}: vector matching with a scalar operand`],
  [3314, `${TYPES}: aggregation parameter must be a scalar`],
  [3325, `${TYPES}: count_values parameter must be a string`],
  [3429, `${TYPES}: function arity`],
  [3440, `${TYPES}: function arity`],
  [3451, `${TYPES}: function arity`],
  [3462, `${TYPES}: function argument type`],
  [3473, `${TYPES}: function arity`],
  [3484, `${TYPES}: function arity`],
  [3506, `${TYPES}: function argument type (range vector expected)`],
  [3589, `${TYPES}: function argument type (range vector expected)`],
  [4182, `${TYPES}: subquery of a range vector`],
  [4193, `${TYPES}: subquery of a range vector`],
]);

const OPTS = topts({ label: 'tenant', tenants: ALL_TENANTS, syntax: 'prometheus3' });

function stripParens(e: string): string {
  // Canonical printing adds parentheses around binary/unary operands; compare without them.
  let s = e;
  for (;;) {
    const next = s.replace(/P\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)/g, '$1');
    if (next === s) return s;
    s = next;
  }
}

function inputOf(c: Case): string {
  // Invalid UTF-8 reaches the engine as U+FFFD (what a non-fatal decoder produces); the HTTP
  // layer should decode strictly, but the engine must refuse either way.
  return c.invalid_utf8 ? new TextDecoder('utf-8').decode(Buffer.from(c.input_b64, 'base64')) : c.input;
}

const cases = JSON.parse(readFileSync(`${CORPUS}/prometheus-parse-cases.json`, 'utf8')) as Case[];
const structure = JSON.parse(readFileSync(`${CORPUS}/prometheus-parse-structure.json`, 'utf8')) as StructureCase[];

describe('conformance: accept/reject vs Prometheus (parse_test.go testExpr)', () => {
  let agree = 0;
  const outcomes = cases.map((c) => {
    const q = inputOf(c);
    try {
      return { c, q, out: enforceQuery(q, OPTS), err: undefined as PromQLError | undefined };
    } catch (err) {
      assert.ok(err instanceof PromQLError, `line ${c.line}: not a PromQLError: ${String(err)}`);
      return { c, q, out: undefined as string | undefined, err };
    }
  });
  for (const { c, q, out, err } of outcomes) {
    const accepted = out !== undefined;
    if (accepted === !c.fail) agree++;
    it(`line ${c.line}: ${JSON.stringify(q.length > 60 ? q.slice(0, 60) + '…' : q)}`, () => {
      if (accepted === !c.fail) {
        assert.ok(!WE_REJECT.has(c.line) && !UPSTREAM_REJECTS.has(c.line), `line ${c.line} now agrees: remove it from the exception lists`);
        return;
      }
      if (!accepted) {
        assert.ok(WE_REJECT.has(c.line), `undocumented rejection of a valid query: ${err?.code}: ${err?.message}`);
        return;
      }
      // We accept what Go rejects: only type checks, and the upstream gets the same construct.
      assert.ok(UPSTREAM_REJECTS.has(c.line), `accepted what Go rejects (${c.err}) and it is not documented`);
      const original = stripParens(compact(parseExpr(q, OPTS)));
      const printed = stripParens(compact(parseExpr(out as string, OPTS)));
      assert.equal(printed, original, 'the canonical print must keep the rejected construct');
    });
  }
  it('prints the agreement figures', () => {
    console.log(`conformance: accept/reject agree ${agree}/${cases.length}; documented: ${WE_REJECT.size} we reject (fail closed), ${UPSTREAM_REJECTS.size} left to upstream type checks`);
    assert.equal(agree + WE_REJECT.size + UPSTREAM_REJECTS.size, cases.length);
  });
});

describe('conformance: tree structure vs Prometheus', () => {
  let same = 0;
  let rejected = 0;
  for (const c of structure) {
    let tree: Expr | undefined;
    try {
      tree = parseExpr(c.input, OPTS);
    } catch {
      tree = undefined;
    }
    const got = tree === undefined ? undefined : compact(tree);
    if (got === c.go) same++;
    if (got === undefined && WE_REJECT.has(c.line)) rejected++;
    it(`line ${c.line}: ${JSON.stringify(c.input)} → ${c.go}`, () => {
      if (got === undefined) {
        assert.ok(WE_REJECT.has(c.line), 'rejected a valid query without documenting it');
        return;
      }
      assert.equal(got, c.go);
    });
  }
  it('prints the agreement figures', () => {
    console.log(`conformance: structure same ${same}/${structure.length} (${rejected} documented rejections, 0 different trees)`);
    assert.equal(same + rejected, structure.length);
  });
});
