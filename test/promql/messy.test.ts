/**
 * Property test of the *parser*: a generated tree is printed "messily" — every spelling
 * Prometheus accepts for the same tree (random whitespace, newlines and `#` comments between
 * tokens, keyword case, single/double/backtick quotes, hex/octal/underscore/exponent numbers,
 * durations as other units or plain seconds, `by` before or after the body, quoted label and
 * metric names, trailing commas, `group_left` without parentheses) — and must parse back to
 * exactly the canonical tree.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AtModifier, Expr, LabelMatcher, VectorSelector } from '../../src/promql/ast.ts';
import { exprEqual } from '../../src/promql/ast.ts';
import { parseExpr } from '../../src/promql/parse.ts';
import { canonicalize, printExpr } from '../../src/promql/print.ts';
import { formatDuration, formatNumber, quoteGoString } from '../../src/promql/lexemes.ts';
import { RESERVED_WORDS } from '../../src/promql/functions.ts';
import { exprArbitrary } from './generators.ts';

const NUM_RUNS = Number(process.env.PROMFENCE_FC_RUNS ?? 300);

/** Deterministic choices from a fast-check random source. */
class Mess {
  readonly pick: (n: number) => number;
  constructor(pick: (n: number) => number) {
    this.pick = pick;
  }

  one<T>(xs: readonly T[]): T {
    return xs[this.pick(xs.length)] as T;
  }

  ws(): string {
    return this.one([' ', ' ', ' ', '\n', '\t', '  ', ' # comment ) ] } " \n', '\n  # x\n']);
  }

  opt(): string {
    return this.pick(3) === 0 ? this.ws() : '';
  }

  kw(w: string): string {
    return this.one([w, w.toUpperCase(), w[0]?.toUpperCase() + w.slice(1)]);
  }

  str(s: string): string {
    const choice = this.pick(3);
    if (choice === 1 && !/[`\r]/.test(s)) return '`' + s + '`';
    if (choice === 2) {
      const dq = quoteGoString(s);
      // Re-quote with single quotes: unescape \" and escape '.
      return "'" + dq.slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'") + "'";
    }
    return quoteGoString(s);
  }

  /**
   * A spelling of `v`. `unsigned`: no leading `+` for +Inf — before a postfix modifier or
   * `^`, a sign is a unary operator (`+Inf[1m:]` is `+(Inf[1m:])` in Go and here), so the
   * signed spelling is a different tree, not another spelling of the same one.
   */
  num(v: number, unsigned = false): string {
    if (Number.isNaN(v)) return this.one(['NaN', 'nan', 'NAN']);
    if (v === Infinity) return this.one(unsigned ? ['Inf', 'inf', 'INF'] : ['Inf', 'inf', '+Inf', 'INF']);
    if (v === -Infinity) return this.one(['-Inf', '-inf']);
    if (v < 0 || Object.is(v, -0)) return '-' + this.num(-v);
    if (Number.isSafeInteger(v)) {
      switch (this.pick(5)) {
        case 0: return '0x' + v.toString(16);
        case 1: return v === 0 ? '0' : '0' + v.toString(8);
        case 2: return String(v).replace(/^(\d)(\d)/, '$1_$2');
        case 3: return v < 1e15 ? `${v}.0` : String(v);
        default: return String(v);
      }
    }
    return formatNumber(v);
  }

  dur(ms: number): string {
    switch (this.pick(4)) {
      case 0: return `${ms}ms`;
      case 1: return ms % 1000 === 0 ? String(ms / 1000) : formatDuration(ms);
      case 2: return ms % 60000 === 0 ? `${ms / 60000}m` : formatDuration(ms);
      default: return formatDuration(ms);
    }
  }

  at(at: AtModifier): string {
    if (at === 'start' || at === 'end') return `${this.kw(at)}${this.opt()}(${this.opt()})`;
    return this.one([formatNumber(at), String(at), `${at}`]);
  }

  labelName(n: string): string {
    return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n) && this.pick(4) !== 0 ? n : this.str(n);
  }

  groupingName(n: string): string {
    return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(n) && !RESERVED_WORDS.has(n.toLowerCase()) && this.pick(4) !== 0 ? n : this.str(n);
  }

  labels(names: readonly string[]): string {
    const body = names.map((n) => this.opt() + this.groupingName(n) + this.opt()).join(',');
    return `(${body}${names.length > 0 && this.pick(4) === 0 ? ',' : ''}${this.opt()})`;
  }

  matcher(m: LabelMatcher): string {
    return `${this.labelName(m.name)}${this.opt()}${m.op}${this.opt()}${this.str(m.value)}`;
  }

  selector(vs: VectorSelector): string {
    const ms = vs.matchers.map((m) => this.matcher(m));
    let head = '';
    if (vs.name !== undefined) {
      if (/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(vs.name) && !RESERVED_WORDS.has(vs.name.toLowerCase()) && this.pick(3) !== 0) head = vs.name;
      else ms.unshift(this.pick(2) === 0 ? this.str(vs.name) : `__name__${this.opt()}=${this.opt()}${this.str(vs.name)}`);
    }
    if (head !== '' && ms.length === 0 && this.pick(2) === 0) return head;
    const trailing = ms.length > 0 && this.pick(4) === 0 ? ',' : '';
    return `${head}${head === '' ? '' : this.opt()}{${this.opt()}${ms.join(`${this.opt()},${this.opt()}`)}${trailing}${this.opt()}}`;
  }

  mods(offset: number | undefined, at: AtModifier | undefined): string {
    const o = offset === undefined ? '' : `${this.ws()}${this.kw('offset')}${this.ws()}${offset < 0 ? '-' : ''}${this.dur(Math.abs(offset))}`;
    const a = at === undefined ? '' : `${this.ws()}@${this.opt()}${this.at(at)}`;
    return this.pick(2) === 0 ? o + a : a + o;
  }

  /** An operand that a postfix modifier or `^` binds to: number literals without a `+` sign. */
  operand(e: Expr): string {
    return e.kind === 'NumberLiteral' ? this.num(e.value, true) : this.expr(e);
  }

  expr(e: Expr): string {
    switch (e.kind) {
      case 'NumberLiteral': return this.num(e.value);
      case 'StringLiteral': return this.str(e.value);
      case 'VectorSelector': return this.selector(e) + this.mods(e.offset, e.at);
      case 'MatrixSelector':
        return `${this.selector(e.selector)}${this.opt()}[${this.opt()}${this.dur(e.range)}${this.opt()}]${this.mods(e.selector.offset, e.selector.at)}`;
      case 'Subquery':
        return `${this.operand(e.expr)}${this.opt()}[${this.opt()}${this.dur(e.range)}${this.opt()}:${this.opt()}${e.step === undefined ? '' : this.dur(e.step)}${this.opt()}]${this.mods(e.offset, e.at)}`;
      case 'Call':
        return `${e.func}${this.opt()}(${e.args.map((a) => this.opt() + this.expr(a) + this.opt()).join(',')})`;
      case 'Aggregation': {
        const args = (e.param === undefined ? [e.expr] : [e.param, e.expr]).map((a) => this.opt() + this.expr(a) + this.opt()).join(',');
        const op = this.kw(e.op);
        if (e.grouping === undefined) return `${op}${this.opt()}(${args})`;
        const g = `${this.kw(e.grouping.without ? 'without' : 'by')}${this.opt()}${this.labels(e.grouping.labels)}`;
        return this.pick(2) === 0 ? `${op}${this.ws()}${g}${this.opt()}(${args})` : `${op}${this.opt()}(${args})${this.ws()}${g}`;
      }
      case 'Binary': {
        const op = /^[a-z]/.test(e.op) ? this.kw(e.op) : e.op;
        let mods = e.bool ? `${this.ws()}${this.kw('bool')}` : '';
        const rhs = this.expr(e.rhs);
        if (e.matching !== undefined) {
          mods += `${this.ws()}${this.kw(e.matching.on ? 'on' : 'ignoring')}${this.opt()}${this.labels(e.matching.labels)}`;
          if (e.matching.card !== 'one-to-one') {
            mods += `${this.ws()}${this.kw(e.matching.card === 'many-to-one' ? 'group_left' : 'group_right')}`;
            // Without labels the parentheses may be omitted, unless the operand starts with `(`.
            if (e.matching.include.length > 0 || rhs.startsWith('(') || this.pick(2) === 0) mods += this.opt() + this.labels(e.matching.include);
          }
        }
        return `${e.op === '^' ? this.operand(e.lhs) : this.expr(e.lhs)}${this.ws()}${op}${mods}${this.ws()}${rhs}`;
      }
      case 'Unary': return `${e.op}${this.opt()}${this.expr(e.expr)}`;
      case 'Paren': return `(${this.opt()}${this.expr(e.expr)}${this.opt()})`;
    }
  }
}


describe('property: every accepted spelling parses to the canonical tree', () => {
  it('prometheus3', () => {
    fc.assert(fc.property(exprArbitrary(true), fc.infiniteStream(fc.nat()), (t, stream) => {
      const it = stream[Symbol.iterator]();
      const mess = new Mess((n) => (it.next().value as number) % n);
      const canon = canonicalize(t);
      const text = mess.expr(canon);
      let parsed: Expr;
      try {
        parsed = parseExpr(text, { syntax: 'prometheus3', maxQueryBytes: 1 << 22 });
      } catch (err) {
        assert.fail(`${JSON.stringify(text)} did not parse: ${(err as Error).message}`);
      }
      assert.ok(exprEqual(parsed, canon), `${JSON.stringify(text)}\n parsed: ${printExpr(parsed, 'prometheus3')}\n wanted: ${printExpr(canon, 'prometheus3')}`);
    }), { numRuns: NUM_RUNS });
  });
});
