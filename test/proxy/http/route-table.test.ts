import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../../src/proxy/http/route-table.js';
import type { RequestHead } from '../../../src/proxy/http/filter.js';

const head = (over: Partial<RequestHead>): RequestHead => ({ method: 'GET', path: '/', authority: 'lambda.external', scheme: 'http', headers: {}, ...over });

describe('route table', () => {
  const table = new RouteTable({
    virtual_hosts: [
      { name: 'exact', domains: ['lambda.external', 'lambda.external:443'], routes: [
        { name: 'hdr', match: { prefix: '/', headers: [{ name: 'x-canary', exact_match: 'true' }] }, route: { cluster: 'canary' } },
        { name: 'query', match: { prefix: '/', query_parameters: [{ name: 'v', string_match: { exact: '2' } }] }, route: { cluster: 'v2' } },
        { name: 'grpc', match: { prefix: '/build.stack.fortune.FortuneTeller', grpc: {} }, route: { cluster: 'fortune' } },
        { name: 'regex', match: { safe_regex: { regex: '/users/[0-9]+' } }, route: { cluster: 'users' } },
        { name: 'exact-path', match: { path: '/healthz' }, direct_response: { status: 200 } },
        { name: 'sep', match: { path_separated_prefix: '/api' }, route: { cluster: 'api' } },
        { name: 'default', match: { prefix: '/', case_sensitive: false }, route: { cluster: 'lambda' } },
      ] },
      { name: 'suffix', domains: ['*.example.com'], routes: [{ name: 's', match: { prefix: '/' }, route: { cluster: 'suffix' } }] },
      { name: 'longer-suffix', domains: ['*.api.example.com'], routes: [{ name: 'ls', match: { prefix: '/' }, route: { cluster: 'longer' } }] },
      { name: 'prefix', domains: ['internal.*'], routes: [{ name: 'p', match: { prefix: '/' }, route: { cluster: 'prefix' } }] },
      { name: 'all', domains: ['*'], routes: [{ name: 'all', match: { prefix: '/frontend' }, route: { cluster: 'frontend' } }] },
    ],
  });
  const routeName = (h: Partial<RequestHead>) => table.match(head(h))?.route.name;

  it('picks virtual hosts: exact (with or without port), longest suffix, prefix, then *', () => {
    expect(table.match(head({}))?.virtualHost.name).toBe('exact');
    expect(table.match(head({ authority: 'LAMBDA.external:443' }))?.virtualHost.name).toBe('exact');
    // Like Envoy, the port is part of the host unless strip_any_host_port is set.
    expect(table.match(head({ authority: 'lambda.external:8443', path: '/frontend' }))?.virtualHost.name).toBe('all');
    expect(table.match(head({ authority: 'lambda.external:8443' }), true)?.virtualHost.name).toBe('exact');
    expect(table.match(head({ authority: 'a.api.example.com' }))?.virtualHost.name).toBe('longer-suffix');
    expect(table.match(head({ authority: 'www.example.com' }))?.virtualHost.name).toBe('suffix');
    expect(table.match(head({ authority: 'internal.corp' }))?.virtualHost.name).toBe('prefix');
    expect(table.match(head({ authority: '10.0.0.1:8080', path: '/frontend' }))?.virtualHost.name).toBe('all');
  });

  it('matches routes in order by headers, query, grpc, regex, exact and separated prefixes', () => {
    expect(routeName({ headers: { 'x-canary': 'true' } })).toBe('hdr');
    expect(routeName({ path: '/x?v=2' })).toBe('query');
    expect(routeName({ path: '/x?v=3' })).toBe('default');
    expect(routeName({ path: '/build.stack.fortune.FortuneTeller/Predict', headers: { 'content-type': 'application/grpc' } })).toBe('grpc');
    expect(routeName({ path: '/build.stack.fortune.FortuneTeller/Predict' })).toBe('default');
    expect(routeName({ path: '/users/42' })).toBe('regex');
    expect(routeName({ path: '/users/42/x' })).toBe('default');
    expect(routeName({ path: '/healthz' })).toBe('exact-path');
    expect(routeName({ path: '/api/v1' })).toBe('sep');
    expect(routeName({ path: '/apix' })).toBe('default');
  });

  it('returns nothing when no route matches, and finds duplicate domains', () => {
    expect(table.match(head({ authority: 'other', path: '/nope' }))).toBeUndefined();
    expect(RouteTable.duplicateDomain({ virtual_hosts: [{ name: 'a', domains: ['x'] }, { name: 'b', domains: ['X'] }] })).toBe('X');
  });
});
