/**
 * VirtualServices as a proxy sees them: visible from its namespace (exportTo), with short names resolved
 * relative to the VirtualService's namespace, and bound to gateways ("ns/name") or to sidecars ("mesh").
 */
import { resolveShortName } from './hosts.js';
import type { ConfigSnapshot, VirtualService } from './input.js';
import { isExportedTo } from './scope.js';

export const MESH_GATEWAY = 'mesh';

export interface BoundVirtualService {
  readonly resource: VirtualService;
  readonly name: string;
  readonly namespace: string;
  /** Hosts with short names made fully qualified. */
  readonly hosts: readonly string[];
  /** "mesh" or "<namespace>/<name>"; ["mesh"] when the VirtualService names none. */
  readonly gateways: readonly string[];
}

/** "name" -> "<vs namespace>/name"; "ns/name" and "mesh" stay (Istio's gateway short names). */
export function resolveGatewayName(name: string, namespace: string): string {
  if (name === MESH_GATEWAY || name.includes('/')) return name;
  return `${namespace}/${name}`;
}

export function bindVirtualServices(snapshot: ConfigSnapshot, proxyNamespace: string, domainSuffix: string): BoundVirtualService[] {
  return (snapshot.virtualServices ?? [])
    .filter((vs) => isExportedTo(vs.spec.exportTo, vs.metadata.namespace ?? 'default', proxyNamespace))
    .map((vs) => {
      const namespace = vs.metadata.namespace ?? 'default';
      const gateways = vs.spec.gateways && vs.spec.gateways.length > 0 ? vs.spec.gateways : [MESH_GATEWAY];
      return {
        resource: vs,
        name: vs.metadata.name,
        namespace,
        hosts: (vs.spec.hosts ?? []).map((h) => resolveShortName(h, namespace, domainSuffix)),
        gateways: gateways.map((g) => resolveGatewayName(g, namespace)),
      };
    });
}

export function virtualServicesForGateway(bound: readonly BoundVirtualService[], gatewayName: string): BoundVirtualService[] {
  return bound.filter((vs) => vs.gateways.includes(gatewayName));
}
