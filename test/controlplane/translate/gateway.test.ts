/** Gateway servers beyond the seeds: shared HTTP ports, namespace-scoped hosts, TLS passthrough, TCP, redirects, conflicts. */
import { describe, expect, it } from 'vitest';
import { checkConsistency, listenerRows, routeRows, translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, Gateway, ProxyNode, VirtualService } from '../../../src/controlplane/translate/index.js';

const proxy: ProxyNode = { id: 'ingress-1.edge', type: 'router', namespace: 'edge', labels: { istio: 'ingress' }, portMap: { 80: 8080, 443: 8443 } };
const gw = (name: string, namespace: string, servers: Gateway['spec']['servers']): Gateway => ({ kind: 'Gateway', metadata: { name, namespace }, spec: { selector: { istio: 'ingress' }, servers } });
const vs = (name: string, namespace: string, spec: VirtualService['spec']): VirtualService => ({ kind: 'VirtualService', metadata: { name, namespace }, spec });
const services = [
  { hostname: 'web.a.svc.cluster.local', namespace: 'a', ports: [{ name: 'http', number: 80 }], endpoints: [{ address: '10.1.0.1', port: 8080 }] },
  { hostname: 'db.b.svc.cluster.local', namespace: 'b', ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }], endpoints: [{ address: '10.1.0.2' }] },
  { hostname: 'tls.b.svc.cluster.local', namespace: 'b', ports: [{ name: 'https', number: 443, protocol: 'HTTPS' }], endpoints: [{ address: '10.1.0.3' }] },
];

const snapshot: ConfigSnapshot = {
  gateways: [
    gw('web', 'a', [
      { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['a/*.example.com'] },
      { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['secure.example.com'], tls: { mode: 'SIMPLE', credentialName: 'secure-cert' } },
    ]),
    gw('more', 'b', [
      { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['b.example.com'], tls: { httpsRedirect: true } },
      { port: { number: 443, name: 'passthrough', protocol: 'TLS' }, hosts: ['tls.example.com'], tls: { mode: 'PASSTHROUGH' } },
      { port: { number: 5432, name: 'tcp', protocol: 'TCP' }, hosts: ['*'] },
      { port: { number: 5432, name: 'tcp2', protocol: 'HTTP' }, hosts: ['conflict.example.com'] },
    ]),
  ],
  virtualServices: [
    vs('web', 'a', { hosts: ['www.example.com', 'secure.example.com'], gateways: ['web'], http: [{ route: [{ destination: { host: 'web' } }] }] }),
    vs('outside', 'b', { hosts: ['www.example.com'], gateways: ['a/web'], http: [{ route: [{ destination: { host: 'web.a.svc.cluster.local' } }] }] }),
    vs('tls', 'b', { hosts: ['tls.example.com'], gateways: ['more'], tls: [{ match: [{ sniHosts: ['tls.example.com'] }], route: [{ destination: { host: 'tls.b.svc.cluster.local', port: { number: 443 } } }] }] }),
    vs('db', 'b', { hosts: ['*'], gateways: ['more'], tcp: [{ match: [{ port: 5432 }], route: [{ destination: { host: 'db.b.svc.cluster.local' } }] }] }),
  ],
};
const result = translate(snapshot, proxy, { meshServices: services });

describe('gateway servers', () => {
  it('merges the HTTP servers of two Gateways on one port into http.8080; "a/" hosts only take VirtualServices of a', () => {
    const route = result.routes.find((r) => r.name === 'http.8080');
    expect(route?.virtual_hosts?.map((v) => [v.name, v.domains, v.require_tls])).toEqual([
      ['b.example.com:80', ['b.example.com', 'b.example.com:80'], 'ALL'],
      ['secure.example.com:80', ['secure.example.com', 'secure.example.com:80'], undefined],
      ['www.example.com:80', ['www.example.com', 'www.example.com:80'], undefined],
    ]);
    const www = route?.virtual_hosts?.find((v) => v.name === 'www.example.com:80');
    // vs "outside" (namespace b) binds to a/web but the server host is scoped to a/.
    expect(www?.routes?.map((r) => r.metadata)).toEqual([{ filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/a/virtual-service/web' } } }]);
    expect(www?.routes?.[0]?.route?.cluster).toBe('outbound|80||web.a.svc.cluster.local');
  });

  it('puts an HTTPS server and a TLS passthrough server on 8443, told apart by SNI', () => {
    expect(listenerRows(result.listeners, { port: 8443 })).toEqual([
      { address: '0.0.0.0', port: 8443, match: 'SNI: secure.example.com', destination: 'Route: https.443.https.web.a' },
      { address: '0.0.0.0', port: 8443, match: 'SNI: tls.example.com', destination: 'Cluster: outbound|443||tls.b.svc.cluster.local' },
    ]);
    expect(routeRows(result.routes).filter((r) => r.name === 'https.443.https.web.a')).toEqual([
      { name: 'https.443.https.web.a', domains: 'secure.example.com', match: '/*', virtualService: 'web.a' },
    ]);
  });

  it('proxies a TCP server with the matching tcp route and rejects a second protocol on its port', () => {
    expect(listenerRows(result.listeners, { port: 5432 })).toEqual([{ address: '0.0.0.0', port: 5432, match: 'ALL', destination: 'Cluster: outbound|5432||db.b.svc.cluster.local' }]);
    expect(result.warnings.some((w) => w.resource === 'Gateway/b/more' && w.message.includes('5432'))).toBe(true);
  });

  it('is consistent', () => {
    expect(checkConsistency(result, { routeClusters: true })).toEqual([]);
  });

  it('sends no listener for a gateway proxy no Gateway selects, and says so', () => {
    const none = translate(snapshot, { ...proxy, labels: { istio: 'other' } });
    expect(none.listeners.map((l) => l.name)).toEqual(['0.0.0.0_15021', '0.0.0.0_15090']);
    expect(none.warnings.some((w) => w.resource === 'proxy')).toBe(true);
  });

  it('moves the health and metrics listeners with PORT_MAP, so that two gateways can share a machine', () => {
    const moved = translate(snapshot, { ...proxy, labels: { istio: 'other' }, portMap: { 15021: 25021, 15090: 25090 } });
    expect(moved.listeners.map((l) => [l.name, l.address.socket_address.port_value])).toEqual([['0.0.0.0_25021', 25021], ['0.0.0.0_25090', 25090]]);
  });

  it('skips a ServiceEntry with resolution NONE with a warning', () => {
    const withNone: ConfigSnapshot = {
      ...snapshot,
      serviceEntries: [{ kind: 'ServiceEntry', metadata: { name: 'any', namespace: 'edge' }, spec: { hosts: ['*.googleapis.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'NONE' } }],
    };
    const out = translate(withNone, proxy, { meshServices: services });
    expect(out.clusters.some((c) => c.name.endsWith('googleapis.com'))).toBe(false);
    expect(out.warnings).toContainEqual({ resource: 'ServiceEntry/edge/any', message: expect.stringContaining('resolution NONE') });
  });
});
