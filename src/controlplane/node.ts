import { isIP } from 'node:net';
import type { XdsNode } from '../envoy/index.js';
import type { ProxyNode, ProxyType } from './translate/index.js';

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Istio's proxyless gRPC bootstrap (istio-agent or the grpc-bootstrap injector) names the grpc generator in
 * the node metadata, whatever its id ("sidecar~..." or a plain one): such a client gets API listeners.
 */
function proxyTypeOf(idParts: readonly string[], meta: Record<string, unknown>): ProxyType {
  if (str(meta.GENERATOR) === 'grpc') return 'proxyless';
  if (idParts.length === 4 && idParts[0] === 'router') return 'router';
  return str(meta.PROXY_TYPE) === 'router' ? 'router' : 'sidecar';
}

/**
 * The proxy's instance IP, as istiod reads it: the first INSTANCE_IPS entry (istio-agent sends the pod's
 * IPs there), else the IP field of an Istio node id. Undefined when neither holds an IP address.
 */
export function proxyIpOf(idParts: readonly string[], meta: Record<string, unknown>): string | undefined {
  const listed = (str(meta.INSTANCE_IPS) ?? '').split(',').map((s) => s.trim()).find((s) => isIP(s) !== 0);
  if (listed) return listed;
  const fromId = idParts.length === 4 ? idParts[1] : undefined;
  return fromId && isIP(fromId) !== 0 ? fromId : undefined;
}

/** Isthmus' PORT_MAP node metadata, "80:8080,443:8443": service (or inbound) port -> listener (or app) port. */
export function parsePortMap(value: unknown): Record<number, number> {
  const portMap: Record<number, number> = {};
  for (const pair of (str(value) ?? '').split(',').filter(Boolean)) {
    const [from, to] = pair.split(':').map(Number);
    if (Number.isInteger(from) && Number.isInteger(to)) portMap[from as number] = to as number;
  }
  return portMap;
}

/**
 * What the control plane knows about a proxy from its xDS node, as istiod reads it: the id
 * `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` and ISTIO_META_* metadata (NAMESPACE,
 * LABELS, ROUTER_MODE, NETWORK, CLUSTER_ID, SERVICE_ACCOUNT, GENERATOR, INSTANCE_IPS, and Isthmus' PORT_MAP
 * "80:8080,443:8443").
 */
export function proxyNodeOf(node: XdsNode): ProxyNode {
  const id = node.id ?? '';
  const parts = id.split('~');
  const meta = (node.metadata ?? {}) as Record<string, unknown>;
  const type = proxyTypeOf(parts, meta);
  const podAndNs = parts.length === 4 ? (parts[2] ?? '') : id;
  const namespace = str(meta.NAMESPACE) ?? (podAndNs.includes('.') ? podAndNs.slice(podAndNs.lastIndexOf('.') + 1) : 'default');
  const labels: Record<string, string> = {};
  if (meta.LABELS && typeof meta.LABELS === 'object') {
    for (const [k, v] of Object.entries(meta.LABELS as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
  }
  const portMap = parsePortMap(meta.PORT_MAP);
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') metadata[k] = v;
  const network = str(meta.NETWORK);
  const serviceAccount = str(meta.SERVICE_ACCOUNT);
  const ip = proxyIpOf(parts, meta);
  return {
    id,
    type,
    namespace,
    labels,
    cluster: node.cluster ?? str(meta.CLUSTER_ID) ?? 'Kubernetes',
    metadata,
    portMap,
    ...(network ? { network } : {}),
    ...(serviceAccount ? { serviceAccount } : {}),
    ...(ip ? { ip } : {}),
  };
}

/** The NAME column of proxy-status: `<pod>.<namespace>` from an Istio node id, else the id. */
export function proxyDisplayName(nodeId: string): string {
  const parts = nodeId.split('~');
  return parts.length === 4 ? (parts[2] ?? nodeId) : nodeId;
}
