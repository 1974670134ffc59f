/** Unit tests of Go-semantics parameter parsing (src/http/params.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpError } from '../../src/http/errors.ts';
import { bodyIsForm, decodeForm, encodeComponent, encodeForm, isAccessTokenName } from '../../src/http/params.ts';

const dec = (s: string) => decodeForm(Buffer.from(s, 'latin1'), 'url').map((p) => [p.name, p.value]);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err.code;
    throw err;
  }
  return undefined;
}

describe('decodeForm mirrors Go url.ParseQuery', () => {
  const cases: Array<[string, string[][]]> = [
    ['', []],
    ['a=1&b=2', [['a', '1'], ['b', '2']]],
    ['a=1&&b=2&', [['a', '1'], ['b', '2']]],
    ['a', [['a', '']]],
    ['a=', [['a', '']]],
    ['=v', [['', 'v']]],
    ['a=b=c', [['a', 'b=c']]],
    ['q=up+%2B+1', [['q', 'up + 1']]],
    ['match%5B%5D=x&match[]=y', [['match[]', 'x'], ['match[]', 'y']]],
    ['q=caf%C3%A9', [['q', 'café']]],
    ['q=%7Bjob%3D%22a%22%7D', [['q', '{job="a"}']]],
  ];
  for (const [input, want] of cases) {
    it(JSON.stringify(input), () => assert.deepEqual(dec(input), want));
  }
  for (const bad of ['a=1;b=2', ';', 'q=%', 'q=%2', 'q=%zz', '%g1=x', 'q=%ff', 'q=%C3', 'q=%ED%A0%80']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(code(() => dec(bad)), 'invalid_parameter'));
  }
  it('raw UTF-8 bytes (latin1 request target) decode as UTF-8', () => {
    assert.deepEqual(dec(Buffer.from('q=café', 'utf8').toString('latin1')), [['q', 'café']]);
  });
});

describe('encodeForm', () => {
  it('escapes everything but unreserved characters', () => {
    assert.equal(encodeComponent(`a b!'()*;&=+%/?#[]"{}~._-`), 'a%20b%21%27%28%29%2A%3B%26%3D%2B%25%2F%3F%23%5B%5D%22%7B%7D~._-');
  });
  it('round-trips through decodeForm for any pairs (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' })), { maxLength: 8 }), (pairs) => {
        const encoded = encodeForm(pairs);
        assert.ok(!encoded.includes(';'));
        // Every pair survives, even an empty name with an empty value: "=" is not an empty segment.
        assert.deepEqual(dec(encoded), pairs.map(([k, v]) => [k, v]));
      }),
    );
  });
});

describe('bodyIsForm', () => {
  const form = 'application/x-www-form-urlencoded';
  const table: Array<[string, string | undefined, string | undefined, number, boolean | string]> = [
    ['POST', form, undefined, 5, true],
    ['POST', 'Application/X-WWW-Form-Urlencoded; charset="UTF-8"', undefined, 5, true],
    ['POST', form + '; charset=latin1', undefined, 5, 'unsupported_media_type'],
    ['POST', form, 'gzip', 5, 'unsupported_media_type'],
    ['POST', form, 'identity', 5, true],
    ['POST', undefined, undefined, 0, false],
    ['POST', 'text/plain', undefined, 0, false],
    ['POST', 'text/plain', undefined, 1, 'unsupported_media_type'],
    ['POST', undefined, undefined, 1, 'unsupported_media_type'],
    ['POST', 'multipart/form-data; boundary=x', undefined, 0, 'unsupported_media_type'],
    ['GET', 'multipart/form-data; boundary=x', undefined, 0, 'unsupported_media_type'],
    ['GET', form, undefined, 3, 'unsupported_media_type'],
    ['GET', undefined, undefined, 0, false],
    ['POST', 'garbage', undefined, 0, 'unsupported_media_type'],
    ['POST', form + '; x', undefined, 5, 'unsupported_media_type'],
    ['POST', form + '; =x', undefined, 5, 'unsupported_media_type'],
    ['POST', 'a b/c', undefined, 0, 'unsupported_media_type'],
  ];
  for (const [method, ct, ce, len, want] of table) {
    it(`${method} ${ct} ${ce ?? ''} ${len} → ${want}`, () => {
      if (typeof want === 'boolean') assert.equal(bodyIsForm(method, ct, ce, len), want);
      else assert.equal(code(() => bodyIsForm(method, ct, ce, len)), want);
    });
  }
});

describe('isAccessTokenName', () => {
  it('matches access_token in any case and bracket/dot forms only', () => {
    for (const n of ['access_token', 'ACCESS_TOKEN', 'access_token[]', 'access_token.x']) assert.ok(isAccessTokenName(n));
    for (const n of ['access_tokens', 'token', 'xaccess_token']) assert.ok(!isAccessTokenName(n));
  });
});
