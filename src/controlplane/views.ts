/**
 * What the management API shows of a running control plane, istioctl-style: the service registry,
 * proxy-status rows and proxy-config views. Pure functions of the control plane's state.
 */
import type { ServiceView } from './management/index.js';
import { proxyDisplayName, proxyIpOf } from './node.js';
import { versionOfRevision } from './revision.js';
import { ADMIN_ADDRESS_METADATA, clusterRows, endpointRows, listenerRows, routeRows } from './translate/index.js';
import type { RegistryService, TranslateResult } from './translate/index.js';
import type { ProxyStatus } from './xds/index.js';

/** Node metadata proxy-status -o json shows: what a client needs to send through or reach a proxy. */
const PROXY_STATUS_METADATA = ['NAMESPACE', 'PROXY_TYPE', 'LABELS', 'PORT_MAP', 'HTTP_PROXY_PORT', 'INSTANCE_IPS', 'ROUTER_MODE', ADMIN_ADDRESS_METADATA];

export function serviceViews(services: readonly RegistryService[]): ServiceView[] {
  return services.map((s) => ({
    hostname: s.hostname,
    namespace: s.namespace,
    ports: s.ports.map((p) => ({ name: p.name, number: p.number, protocol: p.protocol, ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}) })),
    resolution: s.resolution,
    meshExternal: s.meshExternal,
    addresses: [...s.addresses],
    endpoints: s.endpoints.length,
    source: s.source,
  }));
}

/**
 * istioctl proxy-status rows, as JSON. `adminAddress` and `metadata` (the node metadata a client needs to
 * reach the proxy: its IP, HTTP_PROXY_PORT, PORT_MAP, LABELS) let `isthmus trace` find every proxy's admin.
 */
export function proxyStatusRows(statuses: readonly ProxyStatus[], controlPlane: { name: string; revision?: string | undefined }): unknown[] {
  return statuses.map((s) => {
    const admin = s.metadata[ADMIN_ADDRESS_METADATA];
    const ip = proxyIpOf(s.nodeId.split('~'), s.metadata);
    const metadata = Object.fromEntries(PROXY_STATUS_METADATA.filter((k) => s.metadata[k] !== undefined).map((k) => [k, s.metadata[k]]));
    return {
      name: proxyDisplayName(s.nodeId),
      nodeId: s.nodeId,
      cluster: typeof s.metadata.CLUSTER_ID === 'string' && s.metadata.CLUSTER_ID ? s.metadata.CLUSTER_ID : 'Kubernetes',
      // Where a gateway's service ports listen (isthmus vm join finds the east-west gateway with it).
      ...(typeof s.metadata.PORT_MAP === 'string' ? { portMap: s.metadata.PORT_MAP } : {}),
      controlPlane: controlPlane.name,
      ...(controlPlane.revision ? { revision: controlPlane.revision } : {}),
      version: (s.metadata.ISTIO_VERSION as string | undefined) ?? versionOfRevision(controlPlane.revision),
      types: s.types,
      // How the proxy authenticated to the xDS server: none (plaintext port), mtls (with the serial), token.
      identity: s.identity,
      ...(typeof admin === 'string' ? { adminAddress: admin } : {}),
      ...(ip ? { ip } : {}),
      metadata,
    };
  });
}

/** istioctl proxy-config: rows and the Envoy JSON last sent to a proxy. */
export function proxyConfigView(result: TranslateResult, type: string): unknown {
  switch (type) {
    case 'routes': return { rows: routeRows(result.routes, result.listeners), resources: result.routes };
    case 'listeners': return { rows: listenerRows(result.listeners), resources: result.listeners };
    case 'clusters': return { rows: clusterRows(result.clusters), resources: result.clusters };
    case 'endpoints': return { rows: endpointRows(result.endpoints), resources: result.endpoints };
    case 'secret': return { rows: result.secrets.map((name) => ({ name })), resources: result.secrets };
    default: return undefined;
  }
}
