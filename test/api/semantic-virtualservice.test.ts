// Istio's VirtualService rules, each with its exact field path.
import { describe, expect, test } from 'vitest';
import { errorLines, expectOnlyError, load, net } from './helpers.js';

const vs = (spec: Record<string, unknown>) => net('VirtualService', { hosts: ['app.example.com'], ...spec }, 'vs', 'shop');
const to = (host: string, weight?: number) => (weight === undefined ? { destination: { host } } : { destination: { host }, weight });

describe('VirtualService validation', () => {
  test('valid routes pass: single destination without weight, 50/50 split, redirect, TLS by SNI, TCP', () => {
    const result = load(
      vs({
        gateways: ['mesh', 'edge/gw', 'local-gw'],
        http: [
          { match: [{ uri: { prefix: '/v2' }, gateways: ['mesh'] }], route: [to('v2.shop.svc.cluster.local', 50), to('v1.shop.svc.cluster.local', 50)] },
          { match: [{ uri: { regex: '^/old/.*' } }], redirect: { uri: '/new' } },
          { route: [to('app')], timeout: '2.5s', retries: { attempts: 3, perTryTimeout: '1s' } },
        ],
        tls: [{ match: [{ sniHosts: ['app.example.com'] }], route: [to('app.shop.svc.cluster.local')] }],
        tcp: [{ match: [{ port: 5432 }], route: [to('db.shop.svc.cluster.local')] }],
      }),
    );
    expect(result.errors).toEqual([]);
    expect(result.resources).toHaveLength(1);
  });

  test('needs hosts', () => {
    expectOnlyError(load(net('VirtualService', { http: [{ route: [to('a.example.com')] }] }, 'vs')), 'spec.hosts', 'virtual service must have at least one host');
  });

  test('hosts must be valid; "*" only for gateway-bound services', () => {
    expectOnlyError(load(vs({ hosts: ['app.example.com', 'bad_host'], http: [{ route: [to('a')] }] })), 'spec.hosts[1]', 'domain name "bad_host" invalid');
    expectOnlyError(load(vs({ hosts: ['*'], http: [{ route: [to('a')] }] })), 'spec.hosts[0]', 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
    expect(load(vs({ hosts: ['*'], gateways: ['gw'], http: [{ route: [to('a')] }] })).errors).toEqual([]);
    expectOnlyError(load(vs({ hosts: ['*.example.com', 'app.example.com'], http: [{ route: [to('a')] }] })), 'spec.hosts[1]', 'duplicate hosts in virtual service: *.example.com & app.example.com');
  });

  test('needs at least one of http, tls, tcp', () => {
    expectOnlyError(load(vs({})), 'spec', 'http, tcp or tls must be provided in virtual service');
  });

  test('an HTTP route needs a destination, redirect or direct response', () => {
    expectOnlyError(load(vs({ http: [{ match: [{ uri: { prefix: '/' } }] }] })), 'spec.http[0]', 'HTTP route, redirect or direct response is required');
    expectOnlyError(load(vs({ http: [{ route: [{ weight: 100 }] }] })), 'spec.http[0].route[0].destination', 'destination is required');
    expectOnlyError(load(vs({ http: [{ route: [to('*')] }] })), 'spec.http[0].route[0].destination.host', 'invalid destination host *');
    expectOnlyError(load(vs({ http: [{ route: [to('a')], redirect: { uri: '/x' } }] })), 'spec.http[0]', 'HTTP route cannot contain both route and redirect');
  });

  test('with more than one destination the weights add up to 100', () => {
    const e = expectOnlyError(load(vs({ http: [{ route: [to('a', 60), to('b', 30)] }] })), 'spec.http[0].route', 'total destination weight 90 != 100');
    expect(e.fix).toBe('make the weights of the destinations add up to 100');
    expectOnlyError(load(vs({ tcp: [{ route: [to('a', 60), to('b', 60)] }] })), 'spec.tcp[0].route', 'total destination weight 120 != 100');
    expectOnlyError(load(vs({ http: [{ route: [to('a', 101)] }] })), 'spec.http[0].route[0].weight', 'percentage 101 is not in range 0..100');
  });

  test('TLS routes need a match with sniHosts that are among the hosts', () => {
    expectOnlyError(load(vs({ tls: [{ route: [to('a')] }] })), 'spec.tls[0].match', 'TLS route must have at least one match condition');
    expectOnlyError(load(vs({ tls: [{ match: [{ port: 443 }], route: [to('a')] }] })), 'spec.tls[0].match[0].sniHosts', 'TLS match must have at least one SNI host');
    expectOnlyError(load(vs({ tls: [{ match: [{ sniHosts: ['other.example.com'] }], route: [to('a')] }] })), 'spec.tls[0].match[0].sniHosts[0]', 'SNI host "other.example.com" is not a compatible subset');
    expectOnlyError(load(vs({ tls: [{ match: [{ sniHosts: ['app.example.com'] }] }] })), 'spec.tls[0].route', 'TLS route is required');
    expectOnlyError(load(vs({ tcp: [{ match: [{ port: 1 }] }] })), 'spec.tcp[0].route', 'TCP route is required');
  });

  test('gateway references are "mesh", a name, or namespace/name', () => {
    expectOnlyError(load(vs({ gateways: ['mesh', 'edge/'], http: [{ route: [to('a')] }] })), 'spec.gateways[1]', 'config namespace and gateway name cannot be empty');
    expectOnlyError(load(vs({ gateways: ['Edge/gw'], http: [{ route: [to('a')] }] })), 'spec.gateways[0]', 'invalid value for namespace: "Edge"');
    expectOnlyError(load(vs({ gateways: ['edge/gw.x'], http: [{ route: [to('a')] }] })), 'spec.gateways[0]', 'invalid value for gateway name: "gw.x"');
    expectOnlyError(load(vs({ gateways: ['gw_1'], http: [{ route: [to('a')] }] })), 'spec.gateways[0]', 'invalid gateway name');
    expectOnlyError(load(vs({ http: [{ match: [{ gateways: ['a/b/c'] }], route: [to('a')] }] })), 'spec.http[0].match[0].gateways[0]', 'invalid value for gateway name: "b/c"');
    const legacy = load(vs({ gateways: ['gw.edge.svc.cluster.local'], http: [{ route: [to('a')] }] }));
    expect(legacy.errors).toEqual([]);
    expect(legacy.warnings.map((w) => `${w.path}: ${w.message} (${w.fix})`)).toEqual(['spec.gateways[0]: using legacy gatewayName format "gw.edge.svc.cluster.local" (prefer the <namespace>/<name> format: "edge/gw")']);
  });

  test('matches, timeouts, retries and exportTo are checked', () => {
    expectOnlyError(load(vs({ http: [{ match: [{ uri: { regex: '(unclosed' } }], route: [to('a')] }] })), 'spec.http[0].match[0].uri.regex', 'invalid regex "(unclosed"');
    // The proxy refuses regexes it cannot match in linear time (ReDoS); the validator says so first.
    expectOnlyError(load(vs({ http: [{ match: [{ uri: { regex: '/(a)\\1' } }], route: [to('a')] }] })), 'spec.http[0].match[0].uri.regex', 'regex "/(a)\\1" cannot be matched in linear time');
    expectOnlyError(load(vs({ http: [{ route: [to('a')], timeout: '1m' }] })), 'spec.http[0].timeout', 'invalid duration "1m"');
    expectOnlyError(load(vs({ http: [{ route: [to('a')], retries: { attempts: 0, retryOn: '5xx' } }] })), 'spec.http[0].retries', 'http retry policy configured when attempts are set to 0');
    expectOnlyError(load(vs({ http: [{ route: [to('a')] }], exportTo: ['shop', '.'] })), 'spec.exportTo[1]', 'duplicate entries in exportTo: . and current namespace shop');
    expectOnlyError(load(vs({ http: [{ route: [to('a')] }], exportTo: ['~'] })), 'spec.exportTo[0]', 'exportTo "~" is only allowed for ServiceEntry');
    expectOnlyError(load(vs({ http: [{ route: [{ destination: { host: 'a', subset: 'V1' } }] }] })), 'spec.http[0].route[0].destination.subset', 'subset name is invalid: V1');
  });

  test('delegate routes are refused rather than ignored', () => {
    expectOnlyError(load(vs({ gateways: ['gw'], http: [{ delegate: { name: 'child' } }] })), 'spec.http[0].delegate', 'delegate VirtualServices are not supported by Isthmus');
  });

  test('a schema error stops semantic checks (one clear error, not a cascade)', () => {
    expect(errorLines(load(vs({ http: [{ route: 'a' }] })))).toEqual(['spec.http[0].route: must be array, got string "a"']);
  });
});
