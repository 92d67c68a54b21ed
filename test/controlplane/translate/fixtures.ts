/** Seed resources as ConfigSnapshots, and the proxies and mesh services of the seeds. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { ConfigSnapshot, MeshService, ProxyNode } from '../../../src/controlplane/translate/index.js';

const DIR = fileURLToPath(new URL('../../fixtures/translate/', import.meta.url));

const COLLECTION: Record<string, keyof ConfigSnapshot> = {
  Gateway: 'gateways',
  VirtualService: 'virtualServices',
  DestinationRule: 'destinationRules',
  ServiceEntry: 'serviceEntries',
  WorkloadEntry: 'workloadEntries',
  Secret: 'secrets',
};

/** Groups the documents of a multi-document YAML text by kind. */
export function snapshotFromYaml(text: string): ConfigSnapshot {
  const out: Record<string, unknown[]> = {};
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as { kind?: string } | null;
    if (!obj?.kind) continue;
    const key = COLLECTION[obj.kind];
    if (key) (out[key] ??= []).push(obj);
  }
  return out as ConfigSnapshot;
}

export function loadFixture(name: string): ConfigSnapshot {
  return snapshotFromYaml(readFileSync(`${DIR}${name}`, 'utf8'));
}

export const INGRESS_LABELS = { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' };
export const EGRESS_LABELS = { app: 'istio-egressgateway', istio: 'egressgateway', 'istio.io/rev': '1-17' };

/** Istio's default gateways listen on 8080/8443 for Service ports 80/443. */
const DEFAULT_GATEWAY_PORTS = { 80: 8080, 443: 8443 };

export const meshBIngress: ProxyNode = {
  id: 'istio-ingressgateway-57dc66d6ff-d2r75.istio-ingress',
  type: 'router',
  namespace: 'istio-ingress',
  labels: INGRESS_LABELS,
  portMap: DEFAULT_GATEWAY_PORTS,
};

export const meshAEgress: ProxyNode = {
  id: 'istio-egressgateway-7c5f5dcfbb-vz5zh.istio-egress',
  type: 'router',
  namespace: 'istio-egress',
  labels: EGRESS_LABELS,
  portMap: DEFAULT_GATEWAY_PORTS,
};

export const meshASleep: ProxyNode = {
  id: 'sleep-87549b8d9-622db.sleep',
  type: 'sidecar',
  namespace: 'sleep',
  labels: { app: 'sleep', version: 'v1', 'istio.io/rev': '1-17' },
  metadata: { DNS_CAPTURE: 'true', DNS_AUTO_ALLOCATE: 'true' },
};

/** Mesh A's egress gateway Service, as Kubernetes would register it. */
export const meshAServices: MeshService[] = [
  {
    hostname: 'istio-egressgateway.istio-egress.svc.cluster.local',
    namespace: 'istio-egress',
    ports: [
      { name: 'http2', number: 80, protocol: 'HTTP2', targetPort: 8080 },
      { name: 'https', number: 443, protocol: 'HTTPS', targetPort: 8443 },
    ],
    endpoints: [{ address: '10.8.0.12', labels: EGRESS_LABELS }],
  },
];

export const eastWestGateway: ProxyNode = {
  id: 'istio-eastwestgateway-868fc64fc4-fn6q4.istio-system',
  type: 'router',
  namespace: 'istio-system',
  labels: { istio: 'eastwestgateway', app: 'istio-eastwestgateway' },
  metadata: { ROUTER_MODE: 'sni-dnat' },
};

/** Seed 003's mesh: the applications the VM calls, plus istiod and the gateway itself. */
export const seed003Services: MeshService[] = [
  {
    hostname: 'frontend.simple-app.svc.cluster.local',
    namespace: 'simple-app',
    ports: [{ name: 'http', number: 80, protocol: 'HTTP', targetPort: 8080 }],
    endpoints: [{ address: '10.42.0.15', labels: { app: 'frontend', version: 'v1' }, serviceAccount: 'frontend' }],
  },
  {
    hostname: 'fortune-teller.fortune-teller.svc.cluster.local',
    namespace: 'fortune-teller',
    ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }],
    endpoints: [{ address: '10.42.0.20', labels: { app: 'fortune-teller' } }],
  },
  {
    hostname: 'istiod.istio-system.svc.cluster.local',
    namespace: 'istio-system',
    ports: [
      { name: 'grpc-xds', number: 15010 },
      { name: 'https-dns', number: 15012 },
      { name: 'https-webhook', number: 443, targetPort: 15017 },
      { name: 'http-monitoring', number: 15014 },
    ],
    endpoints: [{ address: '10.42.0.5', labels: { app: 'istiod' } }],
  },
  {
    hostname: 'istio-eastwestgateway.istio-system.svc.cluster.local',
    namespace: 'istio-system',
    ports: [
      { name: 'status-port', number: 15021 },
      { name: 'tls', number: 15443 },
    ],
    endpoints: [{ address: '10.42.0.7', labels: { istio: 'eastwestgateway' } }],
  },
];

/** The "shop" namespace of features.yaml. */
export const shopServices: MeshService[] = [
  {
    hostname: 'reviews.shop.svc.cluster.local',
    namespace: 'shop',
    ports: [
      { name: 'http', number: 9080, protocol: 'HTTP' },
      { name: 'grpc', number: 9090, protocol: 'GRPC' },
    ],
    endpoints: [
      { address: '10.0.0.1', labels: { app: 'reviews', version: 'v1', 'security.istio.io/tlsMode': 'istio' }, serviceAccount: 'reviews' },
      { address: '10.0.0.2', labels: { app: 'reviews', version: 'v2', 'security.istio.io/tlsMode': 'istio' }, serviceAccount: 'reviews' },
    ],
  },
  {
    hostname: 'ratings.shop.svc.cluster.local',
    namespace: 'shop',
    ports: [{ name: 'http', number: 9080, protocol: 'HTTP' }],
    endpoints: [{ address: '10.0.0.3', labels: { app: 'ratings' } }],
  },
];

export const productpage: ProxyNode = { id: 'productpage-1.shop', type: 'sidecar', namespace: 'shop', labels: { app: 'productpage' } };
