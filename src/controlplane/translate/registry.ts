/**
 * The service registry a proxy's config is built from: ServiceEntries (with their endpoints or the
 * WorkloadEntries they select) and mesh services registered from outside the config (Kubernetes
 * services, registered workloads). One service per host, as Istio splits multi-host ServiceEntries.
 */
import type { ConfigSnapshot, Labels, MeshService, ServiceEntry, TranslateOptions, WorkloadEntrySpec } from './input.js';
import { parseProtocol } from './protocol.js';
import { isExportedTo, labelsMatch } from './scope.js';
import { resourceRef } from './warnings.js';
import type { TranslateWarning } from './warnings.js';

/** How a service's endpoints are found: DNS names, static IPs, original destination, or EDS (mesh services). */
export type Resolution = 'DNS' | 'DNS_ROUND_ROBIN' | 'STATIC' | 'NONE' | 'EDS';

export interface ServicePort {
  readonly name: string;
  readonly number: number;
  readonly protocol: string;
  readonly targetPort?: number;
}

export interface ServiceEndpoint {
  readonly address: string;
  /** Endpoint port per service port name (ServiceEntry endpoints' `ports: {http: 443}`). */
  readonly ports: Readonly<Record<string, number>>;
  /** A single port for every service port (registered workloads). */
  readonly port?: number;
  readonly labels: Labels;
  readonly network?: string;
  readonly locality?: string;
  readonly weight?: number;
  readonly serviceAccount?: string;
}

export interface RegistryService {
  readonly hostname: string;
  readonly namespace: string;
  readonly ports: readonly ServicePort[];
  readonly resolution: Resolution;
  readonly meshExternal: boolean;
  readonly exportTo?: readonly string[];
  readonly addresses: readonly string[];
  readonly endpoints: readonly ServiceEndpoint[];
  readonly subjectAltNames: readonly string[];
  /** The workloads that serve it (a Kubernetes Service's selector, a ServiceEntry's workloadSelector): a sidecar whose labels match, in the service's namespace, gets inbound listeners for it. */
  readonly workloadSelector?: Labels;
  /** Where the service came from, for warnings and istioctl-style output. */
  readonly source: string;
}

export interface ServiceRegistry {
  readonly services: readonly RegistryService[];
  readonly warnings: readonly TranslateWarning[];
}

function toEndpoint(spec: WorkloadEntrySpec, fallbackAddress?: string): ServiceEndpoint | undefined {
  const address = spec.address ?? fallbackAddress;
  if (!address) return undefined;
  return {
    address,
    ports: spec.ports ?? {},
    labels: spec.labels ?? {},
    ...(spec.network !== undefined ? { network: spec.network } : {}),
    ...(spec.locality !== undefined ? { locality: spec.locality } : {}),
    ...(spec.weight !== undefined ? { weight: spec.weight } : {}),
    ...(spec.serviceAccount !== undefined ? { serviceAccount: spec.serviceAccount } : {}),
  };
}

function fromServiceEntry(se: ServiceEntry, snapshot: ConfigSnapshot, warnings: TranslateWarning[]): RegistryService[] {
  const namespace = se.metadata.namespace ?? 'default';
  const ref = resourceRef('ServiceEntry', namespace, se.metadata.name);
  const spec = se.spec;
  const resolution = spec.resolution ?? 'NONE';
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    name: p.name ?? String(p.number),
    number: p.number,
    protocol: parseProtocol(p.protocol, p.name),
    ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
  }));
  let endpoints: ServiceEndpoint[] = [];
  if (spec.workloadSelector) {
    // A selector takes the endpoints from WorkloadEntries of the same namespace.
    endpoints = (snapshot.workloadEntries ?? [])
      .filter((we) => (we.metadata.namespace ?? 'default') === namespace && labelsMatch(spec.workloadSelector?.labels, { ...we.metadata.labels, ...we.spec.labels }))
      .flatMap((we) => toEndpoint({ ...we.spec, labels: { ...we.metadata.labels, ...we.spec.labels } }) ?? []);
  } else {
    for (const [i, ep] of (spec.endpoints ?? []).entries()) {
      const endpoint = toEndpoint(ep);
      if (endpoint) endpoints.push(endpoint);
      else warnings.push({ resource: ref, message: `spec.endpoints[${i}] has no address; it is skipped` });
    }
  }
  const serviceAccounts = endpoints.flatMap((e) => (e.serviceAccount ? [e.serviceAccount] : []));
  return spec.hosts.map((hostname) => ({
    hostname,
    namespace,
    ports,
    resolution,
    meshExternal: (spec.location ?? 'MESH_EXTERNAL') === 'MESH_EXTERNAL',
    ...(spec.exportTo !== undefined ? { exportTo: spec.exportTo } : {}),
    addresses: spec.addresses ?? [],
    endpoints,
    subjectAltNames: spec.subjectAltNames ?? serviceAccounts,
    ...(spec.workloadSelector?.labels ? { workloadSelector: spec.workloadSelector.labels } : {}),
    source: ref,
  }));
}

function fromMeshService(svc: MeshService): RegistryService {
  return {
    hostname: svc.hostname,
    namespace: svc.namespace,
    ports: svc.ports.map((p) => ({
      name: p.name ?? String(p.number),
      number: p.number,
      protocol: parseProtocol(p.protocol, p.name),
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
    })),
    resolution: 'EDS',
    meshExternal: false,
    ...(svc.exportTo !== undefined ? { exportTo: svc.exportTo } : {}),
    addresses: svc.addresses ?? [],
    endpoints: (svc.endpoints ?? []).map((e) => ({
      address: e.address,
      ports: e.ports ?? {},
      ...(e.port !== undefined ? { port: e.port } : {}),
      labels: e.labels ?? {},
      ...(e.network !== undefined ? { network: e.network } : {}),
      ...(e.locality !== undefined ? { locality: e.locality } : {}),
      ...(e.weight !== undefined ? { weight: e.weight } : {}),
      ...(e.serviceAccount !== undefined ? { serviceAccount: e.serviceAccount } : {}),
    })),
    subjectAltNames: [],
    ...(svc.selector ? { workloadSelector: svc.selector } : {}),
    source: `MeshService/${svc.namespace}/${svc.hostname}`,
  };
}

/** All services of the mesh, sorted by host then namespace so that output is stable. */
export function buildServiceRegistry(snapshot: ConfigSnapshot, options: Pick<TranslateOptions, 'meshServices'> = {}): ServiceRegistry {
  const warnings: TranslateWarning[] = [];
  const services = [
    ...(snapshot.serviceEntries ?? []).flatMap((se) => fromServiceEntry(se, snapshot, warnings)),
    ...(options.meshServices ?? []).map(fromMeshService),
  ];
  services.sort((a, b) => (a.hostname === b.hostname ? (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0) : a.hostname < b.hostname ? -1 : 1));
  return { services, warnings };
}

export function visibleServices(registry: ServiceRegistry, namespace: string): RegistryService[] {
  return registry.services.filter((s) => isExportedTo(s.exportTo, s.namespace, namespace));
}

/**
 * The service for a host as a proxy in `namespace` sees it: the one in `preferNamespace` (e.g. the
 * VirtualService's), else the proxy's own namespace, else the first visible one.
 */
export function findService(registry: ServiceRegistry, host: string, namespace: string, preferNamespace?: string): RegistryService | undefined {
  const candidates = registry.services.filter((s) => s.hostname === host && isExportedTo(s.exportTo, s.namespace, namespace));
  return (
    candidates.find((s) => s.namespace === preferNamespace) ?? candidates.find((s) => s.namespace === namespace) ?? candidates[0]
  );
}

/** The port an endpoint listens on for a service port. */
export function endpointPort(service: RegistryService, endpoint: ServiceEndpoint, port: ServicePort): number {
  const byName = endpoint.ports[port.name];
  if (byName !== undefined) return byName;
  if (endpoint.port !== undefined && service.ports.length === 1) return endpoint.port;
  return port.targetPort ?? endpoint.port ?? port.number;
}
