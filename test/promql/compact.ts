/**
 * Test helper: renders a typed tree in the compact notation of
 * test/fixtures/corpus/prometheus-parse-structure.json (see its README): `N`, `S`,
 * `VS{…}` (matchers sorted, values Go-quoted), `+off`/`+at`, `MS(…)`, `SQ(…)`, `B[op …](l, r)`,
 * `U-(…)`, `P(…)`, `A:op by(…)(…)`, `F:name(…)`.
 */
import type { Expr, VectorMatching } from '../../src/promql/ast.ts';
import { effectiveMatchers } from '../../src/promql/ast.ts';
import { quoteGoString } from '../../src/promql/lexemes.ts';

function mods(offset: number | undefined, at: unknown): string {
  return (offset !== undefined && offset !== 0 ? '+off' : '') + (at !== undefined ? '+at' : '');
}

function matching(m: VectorMatching | undefined): string {
  if (m === undefined) return '';
  let s = '';
  if (m.on || m.labels.length > 0) s += ` ${m.on ? 'on' : 'ignoring'}(${m.labels.join(',')})`;
  if (m.card === 'many-to-one') s += ` group_left(${m.include.join(',')})`;
  if (m.card === 'one-to-many') s += ` group_right(${m.include.join(',')})`;
  return s;
}

/** Renders `e` in the corpus's compact notation. */
export function compact(e: Expr): string {
  switch (e.kind) {
    case 'NumberLiteral': return 'N';
    case 'StringLiteral': return 'S';
    case 'VectorSelector': {
      const ms = effectiveMatchers(e).map((m) => `${m.name}${m.op}${quoteGoString(m.value)}`).sort();
      return `VS{${ms.join(',')}}${mods(e.offset, e.at)}`;
    }
    case 'MatrixSelector': return `MS(${compact(e.selector)})`;
    case 'Subquery': return `SQ(${compact(e.expr)})${mods(e.offset, e.at)}`;
    case 'Call': return `F:${e.func}(${e.args.map(compact).join(', ')})`;
    case 'Aggregation': {
      const g = e.grouping !== undefined && (e.grouping.without || e.grouping.labels.length > 0)
        ? ` ${e.grouping.without ? 'without' : 'by'}(${e.grouping.labels.join(',')})` : '';
      const args = e.param === undefined ? [e.expr] : [e.param, e.expr];
      return `A:${e.op}${g}(${args.map(compact).join(', ')})`;
    }
    case 'Binary': return `B[${e.op}${e.bool ? ' bool' : ''}${matching(e.matching)}](${compact(e.lhs)}, ${compact(e.rhs)})`;
    case 'Unary': return `U${e.op}(${compact(e.expr)})`;
    case 'Paren': return `P(${compact(e.expr)})`;
  }
}
