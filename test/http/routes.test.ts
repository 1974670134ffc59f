/** Unit tests of the route table (src/routes/table.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../src/http/errors.ts';
import { matchRoute, resolveRoute } from '../../src/routes/table.ts';

describe('route table', () => {
  const ok: Array<[string, string, string]> = [
    ['/api/v1/query', 'query', '/api/v1/query'],
    ['/api/v1/query_range', 'query_range', '/api/v1/query_range'],
    ['/api/v1/query_exemplars', 'query_exemplars', '/api/v1/query_exemplars'],
    ['/api/v1/format_query', 'format_query', '/api/v1/format_query'],
    ['/api/v1/series', 'series', '/api/v1/series'],
    ['/api/v1/labels', 'labels', '/api/v1/labels'],
    ['/federate', 'federate', '/federate'],
    ['/api/v1/status/buildinfo', 'buildinfo', '/api/v1/status/buildinfo'],
    ['/api/v1/label/job/values', 'label_values', '/api/v1/label/job/values'],
    ['/api/v1/label/__name__/values', 'label_values', '/api/v1/label/__name__/values'],
    ['/api/v1/label/U__http_2e_status/values', 'label_values', '/api/v1/label/U__http_2e_status/values'],
    ['/api/v1/label/%6a%6Fb/values', 'label_values', '/api/v1/label/job/values'],
    ['/api/v1/label/a+b/values', 'label_values', '/api/v1/label/a%2Bb/values'],
    ['/api/v1/label/caf%C3%A9/values', 'label_values', '/api/v1/label/caf%C3%A9/values'],
  ];
  for (const [raw, name, path] of ok) {
    it(`${raw} → ${name} ${path}`, () => {
      const m = matchRoute(raw);
      assert.ok(m);
      assert.equal(m.route.name, name);
      assert.equal(m.path, path);
    });
  }
  const tricks = [
    '//api/v1/query', '/api/v1//query', '/api/v1/./query', '/api/v1/query/', '/api/v1/%71uery', '/api/v1%2Fquery',
    '/API/v1/query', '/api/V1/query', '/api/v1/x/../query', '/api/v1/query/..', '/api/v1/query%00', '/api/v1/query%20',
    'http://evil/api/v1/query', '/prometheus/api/v1/query', '/api/v1/query#x', '*', '', '/api/v1/label//values',
    '/api/v1/label/a%2Fb/values', '/api/v1/label/../values', '/api/v1/label/%2E%2E/values', '/api/v1/label/./values',
    '/api/v1/label/%zz/values', '/api/v1/label/%ff/values', '/api/v1/label/a/b/values', '/api/v1/label/job/values/',
    '/api/v1/status/tsdb', '/api/v1/read', '/api/v1/rules/x', '/tenants/a/api/v1/query',
  ];
  for (const raw of tricks) {
    it(`${JSON.stringify(raw)} is not in the table`, () => assert.equal(matchRoute(raw), undefined));
  }
  it('resolveRoute: 404 unknown, 405 with Allow', () => {
    assert.throws(() => resolveRoute('/api/v1/nope?x', 'GET'), (e: unknown) => e instanceof HttpError && e.code === 'unknown_route');
    assert.throws(() => resolveRoute('/api/v1/query', 'PUT'), (e: unknown) => e instanceof HttpError && e.code === 'method_not_allowed' && e.headers.Allow === 'GET, POST');
    assert.throws(() => resolveRoute('/api/v1/query', 'HEAD'), (e: unknown) => e instanceof HttpError && e.code === 'method_not_allowed');
    assert.equal(resolveRoute('/api/v1/query?query=up', 'POST').route.name, 'query');
  });
  it('singular parameters: query routes know query; match[] is never singular', () => {
    assert.deepEqual(matchRoute('/api/v1/query')?.route.singular, ['query', 'time', 'timeout', 'limit', 'lookback_delta', 'stats']);
    assert.ok(!matchRoute('/api/v1/series')?.route.singular.includes('match[]'));
  });
});
