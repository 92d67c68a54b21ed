/** The generated mesh config of the control plane benchmark, the proxies it is translated for, and the Snapshot as ControlPlane builds it. */
import { buildSnapshot, validateObject } from '../../src/api/index.js';
import type { IstioResource } from '../../src/api/index.js';
import type { ConfigSnapshot, ProxyNode, TranslateResult } from '../../src/controlplane/translate/index.js';
import { Snapshot, XDS_TYPES } from '../../src/controlplane/xds/index.js';

const NAMESPACES = 10;
const GATEWAY = 'istio-system/public-gateway';
/** Endpoints of injected workloads carry this label: Istio's auto mTLS then gives their clusters ISTIO_MUTUAL. */
const MESH = { 'security.istio.io/tlsMode': 'istio' };
const ns = (i: number): string => `app-${i % NAMESPACES}`;
const host = (i: number): string => `svc-${i}.${ns(i)}.example.com`;
const ip = (e: number): string => `10.${(e >> 16) & 255}.${(e >> 8) & 255}.${e & 255}`;

/**
 * n ServiceEntries (2 ports, 3 endpoints), a DestinationRule with subsets for every 10th service, a
 * VirtualService per service bound to the gateway and to mesh, one Gateway (HTTP, HTTPS, AUTO_PASSTHROUGH).
 * `changed`: service 1 rolls out a 4th endpoint under a new service account (its clusters' SANs change).
 */
export function generate(n: number, changed = false): unknown[] {
  const meta = (name: string, namespace: string) => ({ name, namespace });
  const out: unknown[] = [{
    apiVersion: 'networking.istio.io/v1beta1', kind: 'Gateway', metadata: meta('public-gateway', 'istio-system'),
    spec: {
      selector: { istio: 'ingressgateway' },
      servers: [
        { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*.example.com'] },
        { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*.example.com'], tls: { mode: 'SIMPLE', credentialName: 'example-com' } },
        { port: { number: 15443, name: 'tls', protocol: 'TLS' }, hosts: ['*'], tls: { mode: 'AUTO_PASSTHROUGH' } },
      ],
    },
  }];
  for (let i = 0; i < n; i++) {
    const endpoints = [0, 1, 2].map((k) => ({ address: ip(i * 3 + k + 1), labels: { app: `svc-${i}`, version: k === 2 ? 'v2' : 'v1', ...MESH }, serviceAccount: `svc-${i}` }));
    if (changed && i === 1) endpoints.push({ address: ip(n * 3 + 1), labels: { app: 'svc-1', version: 'v2', ...MESH }, serviceAccount: 'svc-1-canary' });
    out.push({
      apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: meta(`svc-${i}`, ns(i)),
      spec: {
        hosts: [host(i)], location: 'MESH_INTERNAL', resolution: 'STATIC',
        ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }, { number: 9090, name: 'grpc', protocol: 'GRPC' }],
        endpoints,
      },
    });
    const withSubsets = i % 10 === 0;
    if (withSubsets) {
      out.push({
        apiVersion: 'networking.istio.io/v1beta1', kind: 'DestinationRule', metadata: meta(`svc-${i}`, ns(i)),
        spec: {
          host: host(i),
          trafficPolicy: { connectionPool: { http: { http2MaxRequests: 1000 } }, outlierDetection: { consecutive5xxErrors: 5, interval: '10s' } },
          subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }],
        },
      });
    }
    const destination = (subset?: string) => ({ host: host(i), port: { number: 8080 }, ...(subset ? { subset } : {}) });
    out.push({
      apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: meta(`svc-${i}`, ns(i)),
      spec: {
        hosts: [host(i)], gateways: [GATEWAY, 'mesh'],
        http: [{
          match: [{ uri: { prefix: '/' } }],
          route: withSubsets ? [{ destination: destination('v1'), weight: 90 }, { destination: destination('v2'), weight: 10 }] : [{ destination: destination() }],
          timeout: '5s',
        }],
      },
    });
  }
  return out;
}

/** As the store does it: every object through the API's validation, then buildSnapshot. */
export function configOf(n: number, changed = false): ConfigSnapshot {
  const resources: IstioResource[] = [];
  for (const [i, object] of generate(n, changed).entries()) {
    const result = validateObject(object, { source: 'bench', document: i + 1 });
    if (!result.resource || result.errors.length > 0) throw new Error(`generated config is invalid: ${JSON.stringify(result.errors[0])}`);
    resources.push(result.resource);
  }
  return buildSnapshot(resources);
}

export const NODES: Record<'gateway' | 'east-west' | 'sidecar', ProxyNode> = {
  gateway: { id: 'router~10.0.0.1~ingress-0.istio-system~istio-system.svc.cluster.local', type: 'router', namespace: 'istio-system', labels: { istio: 'ingressgateway' } },
  'east-west': { id: 'router~10.0.0.2~eastwest-0.istio-system~istio-system.svc.cluster.local', type: 'router', namespace: 'istio-system', labels: { istio: 'ingressgateway' }, metadata: { ROUTER_MODE: 'sni-dnat' } },
  sidecar: { id: 'sidecar~10.1.0.1~client-0.app-0~app-0.svc.cluster.local', type: 'sidecar', namespace: 'app-0', labels: { app: 'client' } },
};
export const sidecarNode = (id: string): ProxyNode => ({ ...NODES.sidecar, id });

/** As ControlPlane.push builds it (SDS left out: per-node secrets, not part of this measurement). */
export function snapshotOf(result: TranslateResult): Snapshot {
  const json = (r: readonly object[]) => ({ resources: r as unknown as Record<string, unknown>[] });
  return new Snapshot({
    [XDS_TYPES.CDS]: json(result.clusters),
    [XDS_TYPES.EDS]: json(result.endpoints),
    [XDS_TYPES.LDS]: json(result.listeners),
    [XDS_TYPES.RDS]: json(result.routes),
  });
}
