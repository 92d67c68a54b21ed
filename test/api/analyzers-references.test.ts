// Analyzers for references between resources: gateways, hosts, subsets, exportTo, selectors.
import { describe, expect, test } from 'vitest';
import { analyze, buildSnapshot } from '../../src/api/index.js';
import type { AnalysisMessage, AnalyzeOptions, IstioResource } from '../../src/api/index.js';
import { load, loadSnapshot, MESH_A_FILES, net } from './helpers.js';

function run(docs: unknown[], options: AnalyzeOptions = {}): AnalysisMessage[] {
  const result = load(...docs);
  expect(result.errors).toEqual([]);
  return analyze(buildSnapshot(result.resources), options);
}

const brief = (m: AnalysisMessage) => `${m.level} ${m.code} ${m.resource} ${m.path ?? ''}: ${m.message}`;

const se = (name: string, ns: string, host: string, extra: Record<string, unknown> = {}) =>
  net('ServiceEntry', { hosts: [host], ports: [{ name: 'http', number: 80, protocol: 'HTTP' }], resolution: 'DNS', ...extra }, name, ns);
const gw = (name: string, ns: string, host = 'app.example.com', selector: Record<string, string> = { istio: 'ingressgateway' }, port = 443) =>
  net('Gateway', { selector, servers: [{ port: { number: port, name: `p${port}`, protocol: 'HTTPS' }, hosts: [host], tls: { mode: 'SIMPLE', serverCertificate: '/c', privateKey: '/k' } }] }, name, ns);
const vs = (ns: string, spec: Record<string, unknown>, name = 'vs') => net('VirtualService', { hosts: ['app.example.com'], ...spec }, name, ns);
const route = (host: string, extra: Record<string, unknown> = {}) => ({ route: [{ destination: { host, ...extra } }] });

describe('virtualservice.gateways (IST0101)', () => {
  test('a VirtualService bound to a Gateway that does not exist', () => {
    const messages = run([se('api', 'shop', 'api.example.com'), vs('shop', { gateways: ['mesh', 'missing'], http: [{ match: [{ gateways: ['edge/gw'] }], ...route('api.example.com') }] })]);
    expect(messages.map(brief)).toEqual([
      'Error IST0101 VirtualService vs.shop spec.gateways[1]: Referenced gateway not found: "missing"',
      'Error IST0101 VirtualService vs.shop spec.http[0].match[0].gateways[0]: Referenced gateway not found: "edge/gw"',
    ]);
    expect(messages[0]?.documentationUrl).toBe('https://istio.io/latest/docs/reference/config/analysis/ist0101/');
  });

  test('gateways found by name, namespace/name and the legacy FQDN form', () => {
    const messages = run([gw('gw', 'edge'), gw('local', 'shop', 'other.example.com'), se('api', 'shop', 'api.example.com'), vs('shop', { gateways: ['edge/gw', 'local', 'gw.edge.svc.cluster.local'], http: [route('api.example.com')] })]);
    expect(messages).toEqual([]);
  });
});

describe('virtualservice.destinationhosts (IST0101, IST0112)', () => {
  test('a route to a host that no ServiceEntry or known service defines', () => {
    const messages = run([vs('shop', { http: [route('reviews')] })]);
    expect(messages.map(brief)).toEqual(['Error IST0101 VirtualService vs.shop spec.http[0].route[0].destination.host: Referenced host not found: "reviews.shop.svc.cluster.local"']);
  });

  test('known hosts, wildcard ServiceEntries and the domain suffix count as defined', () => {
    expect(run([vs('shop', { http: [route('reviews')] })], { knownHosts: ['reviews.shop.svc.cluster.local'] })).toEqual([]);
    expect(run([vs('shop', { http: [route('reviews')] })], { knownHosts: ['reviews.shop.svc.corp.example'], domainSuffix: 'corp.example' })).toEqual([]);
    expect(run([se('wild', 'shop', '*.example.com', { endpoints: [{ address: 'gw.example.net' }] }), vs('shop', { tcp: [route('db.example.com')] })])).toEqual([]);
  });

  test('a port the ServiceEntry does not have, and a missing port when it has several', () => {
    const two = se('api', 'shop', 'api.example.com', { ports: [{ name: 'http', number: 80, protocol: 'HTTP' }, { name: 'https', number: 443, protocol: 'HTTPS' }] });
    const messages = run([two, vs('shop', { http: [route('api.example.com', { port: { number: 8080 } }), route('api.example.com')] })]);
    expect(messages.map(brief)).toEqual([
      'Error IST0101 VirtualService vs.shop spec.http[0].route[0].destination.port.number: Referenced host:port not found: "api.example.com:8080" (ports defined: 80, 443)',
      'Error IST0112 VirtualService vs.shop spec.http[1].route[0].destination: This VirtualService routes to a service "api.example.com" that exposes multiple ports [80 443]. Specifying a port in the destination is required to disambiguate.',
    ]);
    expect(run([two, vs('shop', { http: [route('api.example.com', { port: { number: 443 } })] })])).toEqual([]);
  });
});

describe('virtualservice.destinationrules (IST0101 subset)', () => {
  const dr = (ns: string, host: string, subsets: string[], extra: Record<string, unknown> = {}) => net('DestinationRule', { host, subsets: subsets.map((name) => ({ name })), ...extra }, 'dr', ns);

  test('a subset no DestinationRule defines', () => {
    const messages = run([se('api', 'shop', 'api.example.com'), dr('shop', 'api.example.com', ['v1']), vs('shop', { http: [route('api.example.com', { subset: 'v2' })] })]);
    expect(messages.map(brief)).toEqual(['Error IST0101 VirtualService vs.shop spec.http[0].route[0].destination.subset: Referenced host+subset in destinationrule not found: "api.example.com+v2"']);
  });

  test('a subset defined by a DestinationRule for that host (short names resolve in their own namespace)', () => {
    expect(run([dr('shop', 'reviews', ['v1']), vs('shop', { http: [route('reviews', { subset: 'v1' })] })], { knownHosts: ['reviews.shop.svc.cluster.local'] })).toEqual([]);
  });

  test('a subset whose DestinationRule is not exported to the route\'s namespace', () => {
    const messages = run([dr('other', 'api.example.com', ['v1'], { exportTo: ['.'] }), vs('shop', { http: [route('api.example.com', { subset: 'v1' })] })], { knownHosts: ['api.example.com'] });
    expect(messages.map(brief)).toEqual([
      'Error IST0101 VirtualService vs.shop spec.http[0].route[0].destination.subset: Referenced host+subset in destinationrule not found: "api.example.com+v1" (DestinationRule other/dr defines it, but its exportTo [.] does not include namespace "shop")',
    ]);
  });
});

describe('exportto.visibility', () => {
  test('a VirtualService in namespace A routing to a ServiceEntry exported only to namespace B', () => {
    const messages = run([se('api', 'b', 'api.example.com', { exportTo: ['.'] }), vs('a', { http: [route('api.example.com')] })]);
    expect(messages.map(brief)).toEqual([
      'Error IST0101 VirtualService vs.a spec.http[0].route[0].destination.host: Referenced host not found: "api.example.com" (ServiceEntry b/api is exported to [.], which does not include namespace "a")',
    ]);
  });

  test('the same ServiceEntry exported to A (or to everyone) is fine', () => {
    expect(run([se('api', 'b', 'api.example.com', { exportTo: ['a'] }), vs('a', { http: [route('api.example.com')] })])).toEqual([]);
    expect(run([se('api', 'b', 'api.example.com'), vs('a', { http: [route('api.example.com')] })])).toEqual([]);
  });

  test('routes bound to a gateway are checked from the namespace where the gateway runs', () => {
    const docs = [gw('gw', 'edge'), se('api', 'shop', 'api.example.com', { exportTo: ['.'] }), vs('shop', { gateways: ['edge/gw'], exportTo: ['*'], http: [route('api.example.com')] })];
    expect(run(docs).map(brief)).toEqual([
      'Error IST0101 VirtualService vs.shop spec.http[0].route[0].destination.host: Referenced host not found: "api.example.com" (ServiceEntry shop/api is exported to [.], which does not include namespace "edge")',
    ]);
    // When the gateway's proxies are known to run in "shop", the ServiceEntry is visible to them.
    expect(run(docs, { gatewayWorkloads: [{ name: 'ingress', namespace: 'shop', labels: { istio: 'ingressgateway' } }] })).toEqual([]);
  });

  test('a VirtualService whose own exportTo hides it from the gateway it is bound to (ISM0003)', () => {
    const messages = run([gw('gw', 'edge'), se('api', 'shop', 'api.example.com'), vs('shop', { gateways: ['edge/gw'], exportTo: ['.'], http: [route('api.example.com')] })]);
    expect(messages.map(brief)).toEqual([
      'Error ISM0003 VirtualService vs.shop spec.exportTo: VirtualService is bound to Gateway edge/gw but its exportTo [.] does not include namespace "edge", where the gateway runs, so the gateway ignores it',
    ]);
  });
});

describe('gateway.selector (IST0101, only with gateway workloads)', () => {
  const workloads = [{ name: 'istio-ingressgateway', namespace: 'istio-ingress', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' } }];

  test('a selector that matches no gateway workload', () => {
    const messages = run([gw('gw', 'edge', 'app.example.com', { istio: 'egressgateway', app: 'x' })], { gatewayWorkloads: workloads });
    expect(messages.map(brief)).toEqual(['Error IST0101 Gateway gw.edge spec.selector: Referenced selector not found: "app=x,istio=egressgateway"']);
  });

  test('a selector that matches one, or no workloads given at all', () => {
    expect(run([gw('gw', 'edge')], { gatewayWorkloads: workloads })).toEqual([]);
    expect(run([gw('gw', 'edge', 'app.example.com', { istio: 'nothing' })])).toEqual([]);
  });
});

describe('robustness', () => {
  test('resources that skipped validation (missing required fields) give no exception', () => {
    const junk = [
      { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'g', namespace: 'a' }, spec: {} },
      { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'h', namespace: 'a' }, spec: { servers: [{ tls: { mode: 'SIMPLE', credentialName: 'x' } }] } },
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v', namespace: 'a' }, spec: { http: [{ route: [{}], mirror: {} }], tls: [{}] } },
      { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 's', namespace: 'a' }, spec: {} },
      { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'd', namespace: 'a' }, spec: { subsets: [{}] } },
    ] as unknown as IstioResource[];
    const messages = analyze(buildSnapshot(junk), { gatewayWorkloads: [] });
    expect(messages.map((m) => `${m.code} ${m.name}: ${m.message}`)).toEqual([
      'IST0101 g: Referenced selector not found: ""',
      'IST0101 h: Referenced selector not found: ""',
      'IST0101 h: Referenced credentialName not found: "x"',
    ]);
  });
});

describe('analyze options', () => {
  test('namespace scoping and analyzer selection', async () => {
    const { snapshot } = await loadSnapshot(MESH_A_FILES, [vs('shop', { gateways: ['missing'], http: [route('x.example.com')] })]);
    const all = analyze(snapshot);
    expect(new Set(all.map((m) => m.namespace))).toEqual(new Set(['istio-egress', 'shop']));
    expect(analyze(snapshot, { namespace: 'shop' }).every((m) => m.namespace === 'shop')).toBe(true);
    expect(analyze(snapshot, { namespace: 'shop' })).toHaveLength(2);
    expect(analyze(snapshot, { analyzers: ['virtualservice.gateways'] }).map((m) => m.message)).toEqual(['Referenced gateway not found: "missing"']);
  });
});
