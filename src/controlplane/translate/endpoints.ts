/** ClusterLoadAssignments: a service port's endpoints, optionally narrowed to a subset's labels. */
import type { ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints } from '../../envoy/index.js';
import type { Labels } from './input.js';
import { endpointPort } from './registry.js';
import type { RegistryService, ServiceEndpoint, ServicePort } from './registry.js';
import { labelsMatch } from './scope.js';

export function subsetEndpoints(service: RegistryService, subsetLabels: Labels | undefined): ServiceEndpoint[] {
  return service.endpoints.filter((e) => labelsMatch(subsetLabels, e.labels));
}

function locality(text: string): Record<string, string> {
  const [region = '', zone = '', subZone = ''] = text.split('/');
  return { ...(region ? { region } : {}), ...(zone ? { zone } : {}), ...(subZone ? { sub_zone: subZone } : {}) };
}

/** Endpoints grouped by locality ("region/zone/subzone"), in a stable order. */
export function localityEndpoints(service: RegistryService, port: ServicePort, endpoints: readonly ServiceEndpoint[]): LocalityLbEndpoints[] {
  const groups = new Map<string, LbEndpoint[]>();
  for (const e of endpoints) {
    const lb: LbEndpoint = {
      endpoint: { address: { socket_address: { address: e.address, port_value: endpointPort(service, e, port) } } },
      ...(e.weight !== undefined ? { load_balancing_weight: e.weight } : {}),
    };
    const key = e.locality ?? '';
    groups.set(key, [...(groups.get(key) ?? []), lb]);
  }
  return [...groups.keys()].sort().map((key) => ({ ...(key ? { locality: locality(key) } : {}), lb_endpoints: groups.get(key) ?? [] }));
}

export function loadAssignment(name: string, service: RegistryService, port: ServicePort, endpoints: readonly ServiceEndpoint[]): ClusterLoadAssignment {
  return { cluster_name: name, endpoints: localityEndpoints(service, port, endpoints) };
}

/** A DNS service without endpoints resolves its own host name on the service port (Istio's DNS ServiceEntry). */
export function dnsLoadAssignment(name: string, service: RegistryService, port: ServicePort, endpoints: readonly ServiceEndpoint[]): ClusterLoadAssignment {
  if (service.endpoints.length > 0) return loadAssignment(name, service, port, endpoints);
  return { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: service.hostname, port_value: port.number } } } }] }] };
}
