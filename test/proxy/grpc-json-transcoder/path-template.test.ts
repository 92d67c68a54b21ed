import { describe, expect, it } from 'vitest';
import { PathMatcher, PathTemplateError, parsePathTemplate } from '../../../src/proxy/http/filters/grpc-json-transcoder/index.js';

describe('parsePathTemplate', () => {
  it('reads literals, variables, wildcards and a verb', () => {
    expect(parsePathTemplate('/v1/{name=users/*/fortunes/*}:archive')).toEqual({
      segments: [
        { kind: 'literal', value: 'v1' },
        { kind: 'literal', value: 'users' },
        { kind: 'wildcard' },
        { kind: 'literal', value: 'fortunes' },
        { kind: 'wildcard' },
      ],
      variables: [{ fieldPath: ['name'], startSegment: 1, endSegment: 5 }],
      verb: 'archive',
    });
  });

  it('treats {var} as {var=*} and splits nested field paths', () => {
    const template = parsePathTemplate('/v1/users/{user_id}/fortunes/{fortune.id}');
    expect(template.segments.map((s) => s.kind)).toEqual(['literal', 'literal', 'wildcard', 'literal', 'wildcard']);
    expect(template.variables).toEqual([
      { fieldPath: ['user_id'], startSegment: 2, endSegment: 3 },
      { fieldPath: ['fortune', 'id'], startSegment: 4, endSegment: 5 },
    ]);
    expect(template.verb).toBeUndefined();
  });

  it('marks a variable that ends in ** as running to the end of the path', () => {
    expect(parsePathTemplate('/v1/scrolls/{path=**}').variables).toEqual([{ fieldPath: ['path'], startSegment: 2, endSegment: -1 }]);
  });

  it.each([
    ['v1/fortunes', "must start with '/'"],
    ['/v1/{name', "unterminated '{'"],
    ['/v1/{na-me}', 'is not a field path'],
    ['/v1/**/fortunes', "'**' must be the last segment"],
    ['/v1/{a={b}}', 'cannot be nested'],
    ['/v1/fortunes:', 'verb'],
    ['/v1//x', 'expected a segment'],
    ['/v1/{id}/{id}', "variable 'id' appears twice"],
  ])('rejects %s', (template, reason) => {
    expect(() => parsePathTemplate(template)).toThrow(PathTemplateError);
    expect(() => parsePathTemplate(template)).toThrow(reason);
  });
});

function matcherOf(entries: [method: string, template: string][]): PathMatcher<string> {
  const matcher = new PathMatcher<string>();
  for (const [method, template] of entries) {
    expect(matcher.register(method, parsePathTemplate(template), `${method} ${template}`)).toBeUndefined();
  }
  return matcher;
}

describe('PathMatcher', () => {
  const matcher = matcherOf([
    ['GET', '/v1/fortune/{user_id}'],
    ['GET', '/v1/fortune/today'],
    ['GET', '/v1/{name=users/*/fortunes/*}'],
    ['POST', '/v1/{name=users/*/fortunes/*}:archive'],
    ['GET', '/v1/users/{user_id}/fortunes'],
    ['GET', '/v1/users/{user_id}/fortunes:stream'],
    ['GET', '/v1/scrolls/{path=**}'],
    ['GET', '/v1/scrolls/index'],
    ['*', '/v1/any'],
  ]);

  it('binds a single-segment variable', () => {
    expect(matcher.lookup('GET', '/v1/fortune/alice')).toEqual({ data: 'GET /v1/fortune/{user_id}', bindings: [{ fieldPath: ['user_id'], value: 'alice' }] });
  });

  it('prefers a literal segment over a wildcard', () => {
    expect(matcher.lookup('GET', '/v1/fortune/today')?.data).toBe('GET /v1/fortune/today');
    expect(matcher.lookup('GET', '/v1/scrolls/index')?.data).toBe('GET /v1/scrolls/index');
  });

  it('binds a multi-segment variable to the matched segments joined by /', () => {
    expect(matcher.lookup('GET', '/v1/users/bob/fortunes/f7')?.bindings).toEqual([{ fieldPath: ['name'], value: 'users/bob/fortunes/f7' }]);
  });

  it('lets ** take any number of segments, including none', () => {
    expect(matcher.lookup('GET', '/v1/scrolls/a/b/c.txt')?.bindings).toEqual([{ fieldPath: ['path'], value: 'a/b/c.txt' }]);
    expect(matcher.lookup('GET', '/v1/scrolls')?.bindings).toEqual([{ fieldPath: ['path'], value: '' }]);
  });

  it('splits a registered verb off the last segment', () => {
    expect(matcher.lookup('POST', '/v1/users/bob/fortunes/f7:archive')).toEqual({
      data: 'POST /v1/{name=users/*/fortunes/*}:archive',
      bindings: [{ fieldPath: ['name'], value: 'users/bob/fortunes/f7' }],
    });
    expect(matcher.lookup('GET', '/v1/users/bob/fortunes:stream')?.data).toBe('GET /v1/users/{user_id}/fortunes:stream');
    expect(matcher.lookup('GET', '/v1/users/bob/fortunes')?.data).toBe('GET /v1/users/{user_id}/fortunes');
  });

  it('keeps an unregistered ":suffix" as part of the segment', () => {
    expect(matcher.lookup('GET', '/v1/fortune/alice:smith')?.bindings).toEqual([{ fieldPath: ['user_id'], value: 'alice:smith' }]);
  });

  it('matches the HTTP method, with custom kind "*" matching any', () => {
    expect(matcher.lookup('DELETE', '/v1/fortune/alice')).toBeUndefined();
    expect(matcher.lookup('POST', '/v1/users/bob/fortunes/f7')).toBeUndefined();
    expect(matcher.lookup('PATCH', '/v1/any')?.data).toBe('* /v1/any');
  });

  it('does not match paths with too many or too few segments', () => {
    expect(matcher.lookup('GET', '/v1/fortune/alice/extra')).toBeUndefined();
    expect(matcher.lookup('GET', '/v1/fortune')).toBeUndefined();
    expect(matcher.lookup('GET', '/v2/fortune/alice')).toBeUndefined();
  });

  it('ignores a trailing slash', () => {
    expect(matcher.lookup('GET', '/v1/fortune/alice/')?.bindings).toEqual([{ fieldPath: ['user_id'], value: 'alice' }]);
  });

  it('percent-decodes variables but keeps reserved characters encoded', () => {
    expect(matcher.lookup('GET', '/v1/fortune/J%C3%BCrgen%20M')?.bindings[0]?.value).toBe('Jürgen M');
    expect(matcher.lookup('GET', '/v1/fortune/a%2Fb%3Fc')?.bindings[0]?.value).toBe('a%2Fb%3Fc');
    expect(matcher.lookup('GET', '/v1/scrolls/x%2Fy/%7Ez')?.bindings[0]?.value).toBe('x%2Fy/~z');
  });

  it('reports a template that clashes with one already registered', () => {
    const clash = new PathMatcher<string>();
    expect(clash.register('GET', parsePathTemplate('/v1/{a}'), 'first')).toBeUndefined();
    expect(clash.register('GET', parsePathTemplate('/v1/{b}'), 'second')).toBe('first');
    expect(clash.register('POST', parsePathTemplate('/v1/{b}'), 'third')).toBeUndefined();
  });
});
