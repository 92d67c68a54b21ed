/**
 * 421 for HTTP/2 connection coalescing on gateways: the route of a TLS-terminating server answers 421 for
 * the hosts of the other TLS-terminating servers on its port (the client retries on a connection whose SNI
 * selects the right filter chain); hosts no server serves still get 404, as in Istio and Gateway API.
 */
import { describe, expect, it } from 'vitest';
import { checkConsistency, translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, Gateway, ProxyNode, VirtualService } from '../../../src/controlplane/translate/index.js';
import { RouteTable } from '../../../src/proxy/http/route-table.js';

const proxy: ProxyNode = { id: 'ingress-1.edge', type: 'router', namespace: 'edge', labels: { istio: 'ingress' }, portMap: { 443: 8443 } };
const https = (name: string, hosts: string[]): Gateway['spec']['servers'][number] => ({ port: { number: 443, name, protocol: 'HTTPS' }, hosts, tls: { mode: 'SIMPLE', credentialName: `${name}-cert` } });
const gateway = (servers: Gateway['spec']['servers']): Gateway => ({ kind: 'Gateway', metadata: { name: 'edge', namespace: 'edge' }, spec: { selector: { istio: 'ingress' }, servers } });
const vs = (host: string): VirtualService => ({ kind: 'VirtualService', metadata: { name: host.split('.')[0] as string, namespace: 'edge' }, spec: { hosts: [host], gateways: ['edge'], http: [{ route: [{ destination: { host: 'web' } }] }] } });
const services = [{ hostname: 'web.edge.svc.cluster.local', namespace: 'edge', ports: [{ name: 'http', number: 80 }], endpoints: [{ address: '10.1.0.1', port: 8080 }] }];

describe('gateway HTTPS servers: 421 for the other servers\' hosts', () => {
  const snapshot: ConfigSnapshot = {
    gateways: [gateway([https('a', ['a.example.com']), https('b', ['b.example.com']), https('wild', ['*.wild.example.com'])])],
    virtualServices: [vs('a.example.com'), vs('b.example.com'), vs('x.wild.example.com')],
  };
  const result = translate(snapshot, proxy, { meshServices: services });
  const route = (name: string) => result.routes.find((r) => r.name === name);

  it('each server\'s route has its own virtual host and a misdirected one for the others', () => {
    expect(route('https.443.a.edge.edge')?.virtual_hosts?.map((v) => [v.name, v.domains])).toEqual([
      ['a.example.com:443', ['a.example.com', 'a.example.com:443']],
      ['misdirected:443', ['*.wild.example.com', '*.wild.example.com:443', 'b.example.com', 'b.example.com:443']],
    ]);
    const misdirected = route('https.443.b.edge.edge')?.virtual_hosts?.find((v) => v.name === 'misdirected:443');
    expect(misdirected?.domains).toEqual(['*.wild.example.com', '*.wild.example.com:443', 'a.example.com', 'a.example.com:443']);
    expect(misdirected?.routes).toEqual([{ match: { prefix: '/' }, direct_response: { status: 421, body: { inline_string: 'misdirected request' } } }]);
  });

  it('routes as intended: own host upstream, another server\'s host 421, an unknown host 404 (no route)', () => {
    const table = new RouteTable(route('https.443.a.edge.edge') ?? {});
    const match = (authority: string) => table.match({ method: 'GET', path: '/', authority, scheme: 'https', headers: {} }, true);
    expect(match('a.example.com')?.route.route?.cluster).toBe('outbound|80||web.edge.svc.cluster.local');
    expect(match('b.example.com')?.route.direct_response?.status).toBe(421);
    expect(match('x.wild.example.com:443')?.route.direct_response?.status).toBe(421);
    expect(match('other.example.com')).toBeUndefined();
  });

  it('a single HTTPS server gets no misdirected virtual host, and the result is consistent', () => {
    const single = translate({ gateways: [gateway([https('a', ['a.example.com'])])], virtualServices: [vs('a.example.com')] }, proxy, { meshServices: services });
    expect(single.routes.flatMap((r) => r.virtual_hosts ?? []).map((v) => v.name)).toEqual(['a.example.com:443']);
    expect(checkConsistency(result, { routeClusters: true })).toEqual([]);
    for (const r of result.routes) expect(RouteTable.duplicateDomain(r)).toBeUndefined();
  });
});
