/**
 * Kubernetes Services as mesh services, the way istiod's Kubernetes registry builds them: the host is
 * <name>.<namespace>.svc.<domain suffix>, each port's protocol comes from appProtocol or the port name,
 * and the endpoints are the pods the selector matches. Here a pod is a connected proxy: its IP (node id
 * or INSTANCE_IPS), labels, service account and network come from its xDS node.
 */
import type { KubernetesServicePort, ServiceResource } from '../../api/index.js';
import { parseProtocol } from '../translate/index.js';
import type { MeshService, MeshServiceEndpoint, MeshServicePort, ProxyNode } from '../translate/index.js';

const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

/**
 * Istio's kube.ConvertProtocol: UDP ports are UDP; else appProtocol (with Kubernetes' standard names),
 * else the port name's prefix before "-" (grpc-web as a whole), else the name itself.
 */
export function kubernetesPortProtocol(port: KubernetesServicePort): string {
  if (port.protocol === 'UDP') return 'UDP';
  let name = port.name ?? '';
  if (port.appProtocol !== undefined) {
    switch (port.appProtocol) {
      case 'kubernetes.io/h2c': return 'HTTP2';
      case 'kubernetes.io/ws': return 'HTTP';
      case 'kubernetes.io/wss': return 'HTTPS';
      default: name = port.appProtocol;
    }
  }
  if (name.toLowerCase().startsWith('grpc-web')) return 'GRPC-WEB';
  return parseProtocol(undefined, name);
}

function portKey(port: KubernetesServicePort): string {
  return port.name ?? String(port.port);
}

/** The pod's port for a service port: a numeric targetPort, else (a named container port we cannot see) the gateway's port map, else the port. */
function podPort(port: KubernetesServicePort, proxy: ProxyNode): number {
  const target = port.targetPort;
  if (typeof target === 'number') return target;
  if (typeof target === 'string' && /^\d+$/.test(target)) return Number(target);
  return proxy.portMap?.[port.port] ?? port.port;
}

function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>> | undefined): boolean {
  // A Service without a selector has its endpoints managed by hand in Kubernetes: no proxy is one.
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

function endpointOf(service: ServiceResource, proxy: ProxyNode & { ip: string }): MeshServiceEndpoint {
  const ports: Record<string, number> = {};
  for (const p of service.spec.ports ?? []) ports[portKey(p)] = podPort(p, proxy);
  return {
    address: proxy.ip,
    ports,
    // Istio's injector labels pods that have a sidecar; auto mTLS sends ISTIO_MUTUAL only to those.
    // Gateways terminate their own TLS (or none) and get plain traffic, as in the first seed.
    labels: { ...(proxy.type === 'sidecar' ? { [TLS_MODE_LABEL]: 'istio' } : {}), ...(proxy.labels ?? {}) },
    ...(proxy.network ? { network: proxy.network } : {}),
    ...(proxy.serviceAccount ? { serviceAccount: proxy.serviceAccount } : {}),
  };
}

/** The mesh service of one Kubernetes Service, with the connected proxies that serve it as endpoints. */
export function meshServiceOf(service: ServiceResource, proxies: readonly ProxyNode[], domainSuffix = 'cluster.local'): MeshService {
  const { name, namespace } = service.metadata;
  const ports: MeshServicePort[] = (service.spec.ports ?? []).map((p) => {
    const target = typeof p.targetPort === 'number' ? p.targetPort : typeof p.targetPort === 'string' && /^\d+$/.test(p.targetPort) ? Number(p.targetPort) : undefined;
    return { name: portKey(p), number: p.port, protocol: kubernetesPortProtocol(p), ...(target !== undefined ? { targetPort: target } : {}) };
  });
  const endpoints = proxies
    .filter((p): p is ProxyNode & { ip: string } => p.type !== 'proxyless' && p.namespace === namespace && p.ip !== undefined && selects(service.spec.selector, p.labels))
    .map((p) => endpointOf(service, p))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const exportTo = service.metadata.annotations?.[EXPORT_TO_ANNOTATION]?.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    hostname: `${name}.${namespace}.svc.${domainSuffix}`,
    namespace,
    ports,
    endpoints,
    ...(exportTo && exportTo.length > 0 ? { exportTo } : {}),
    ...(service.spec.selector ? { selector: { ...service.spec.selector } } : {}),
  };
}

export function meshServicesOf(services: readonly ServiceResource[], proxies: readonly ProxyNode[], domainSuffix = 'cluster.local'): MeshService[] {
  return services.map((s) => meshServiceOf(s, proxies, domainSuffix));
}
