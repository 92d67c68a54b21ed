/** Istio's ServiceEntry validation (ValidateServiceEntry). */
import { issue } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import type { ServiceEntryResource, WorkloadEntrySpec } from '../types.js';
import {
  exportToIssues,
  fqdnProblem,
  ipSubnetProblem,
  isHttpProtocol,
  isIpAddress,
  isTlsProtocol,
  labelIssues,
  parseProtocol,
  portIssues,
  portNameIssues,
  protocolIssues,
  selectorIssues,
  wildcardDomainProblem,
  HOST_FIX,
} from './common.js';

const UNIX = 'unix://';

function endpointPortIssues(path: FieldPath, endpoint: WorkloadEntrySpec, servicePorts: ReadonlySet<string>): Issue[] {
  const issues: Issue[] = [];
  for (const [name, number] of Object.entries(endpoint.ports ?? {})) {
    if (!servicePorts.has(name)) {
      issues.push(issue([...path, 'ports', name], `endpoint port "${name}" is not defined by the service entry`, `use one of the names in spec.ports: ${[...servicePorts].join(', ') || '(none)'}`));
    }
    issues.push(...portIssues([...path, 'ports', name], number));
  }
  return issues;
}

function unixPathIssues(path: FieldPath, address: string): Issue[] {
  const socket = address.slice(UNIX.length);
  if (socket.startsWith('@')) return []; // abstract socket
  if (!socket.startsWith('/') || socket.endsWith('/')) return [issue(path, `${socket} is not an absolute path to a file`, 'write unix:///absolute/path.sock')];
  return [];
}

export function validateServiceEntry(se: ServiceEntryResource): Issue[] {
  const spec = se.spec;
  const issues: Issue[] = [];
  const hosts = spec.hosts ?? [];
  const ports = spec.ports ?? [];
  const endpoints = spec.endpoints ?? [];
  const resolution = spec.resolution ?? 'NONE';

  if (spec.workloadSelector && spec.endpoints) {
    issues.push(issue(['spec', 'workloadSelector'], 'only one of WorkloadSelector or Endpoints is allowed in Service Entry', 'remove workloadSelector or endpoints'));
  }
  issues.push(...selectorIssues(['spec', 'workloadSelector', 'labels'], spec.workloadSelector?.labels));

  if (hosts.length === 0) issues.push(issue(['spec', 'hosts'], 'service entry must have at least one host', 'list the host names of the service'));
  hosts.forEach((h, i) => {
    if (h === '*') issues.push(issue(['spec', 'hosts', i], 'invalid host *', 'name the external hosts; "*" would capture all traffic'));
    else {
      const problem = wildcardDomainProblem(h);
      if (problem) issues.push(issue(['spec', 'hosts', i], problem, HOST_FIX));
    }
  });

  let cidr = false;
  spec.addresses?.forEach((a, i) => {
    cidr ||= a.includes('/');
    const problem = ipSubnetProblem(a);
    if (problem) issues.push(issue(['spec', 'addresses', i], problem, 'use an IP address or CIDR block such as 240.0.0.1 or 10.0.0.0/16'));
  });
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') {
    issues.push(issue(['spec', 'resolution'], 'CIDR addresses are allowed only for NONE/STATIC resolution types', 'use resolution NONE or STATIC, or single IP addresses'));
  }

  if (ports.length === 0) issues.push(issue(['spec', 'ports'], 'service entry must have at least one port', 'add ports: [{number, name, protocol}]'));
  const names = new Set<string>();
  const numbers = new Set<number>();
  ports.forEach((p, i) => {
    const at = ['spec', 'ports', i];
    issues.push(...portNameIssues([...at, 'name'], p.name));
    issues.push(...protocolIssues([...at, 'protocol'], p.protocol, false));
    issues.push(...portIssues([...at, 'number'], p.number));
    if (p.targetPort !== undefined) issues.push(...portIssues([...at, 'targetPort'], p.targetPort));
    if (p.name && names.has(p.name)) issues.push(issue([...at, 'name'], `service entry port name "${p.name}" already defined`, 'give each port its own name'));
    if (numbers.has(p.number)) issues.push(issue([...at, 'number'], `service entry port ${p.number} already defined`, 'list each port number once'));
    if (p.name) names.add(p.name);
    numbers.add(p.number);
  });

  switch (resolution) {
    case 'NONE':
      if (endpoints.length > 0) issues.push(issue(['spec', 'endpoints'], 'no endpoints should be provided for resolution type none', 'use resolution STATIC or DNS, or remove endpoints'));
      break;
    case 'STATIC': {
      if (endpoints.length === 0 && !spec.workloadSelector) {
        issues.push(issue(['spec', 'endpoints'], 'resolution STATIC needs endpoints', 'add endpoints with IP addresses, a workloadSelector, or use resolution DNS'));
      }
      let unix = false;
      endpoints.forEach((e, i) => {
        const at = ['spec', 'endpoints', i];
        const address = e.address ?? '';
        if (address.startsWith(UNIX)) {
          unix = true;
          issues.push(...unixPathIssues([...at, 'address'], address));
          if (e.ports && Object.keys(e.ports).length > 0) issues.push(issue([...at, 'ports'], `unix endpoint ${address} must not include ports`, 'remove ports from the unix endpoint'));
        } else if (!address) {
          issues.push(issue([...at, 'address'], 'endpoint address is required for resolution STATIC', 'set an IP address'));
        } else if (!isIpAddress(address)) {
          issues.push(issue([...at, 'address'], `${address} is not a valid IP`, 'STATIC endpoints need IP addresses; use resolution DNS for host names'));
        } else {
          issues.push(...endpointPortIssues(at, e, names));
        }
        issues.push(...labelIssues([...at, 'labels'], e.labels));
      });
      if (unix && ports.length !== 1) issues.push(issue(['spec', 'ports'], 'exactly 1 service port required for unix endpoints', 'keep a single port'));
      break;
    }
    case 'DNS':
    case 'DNS_ROUND_ROBIN': {
      // Without endpoints the proxy resolves the hosts themselves, which a wildcard cannot be.
      if (endpoints.length === 0) {
        hosts.forEach((h, i) => {
          if (h !== '*' && fqdnProblem(h)) {
            issues.push(issue(['spec', 'hosts', i], `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}: "${h}"`, 'name a concrete host, or add endpoints'));
          }
        });
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
        issues.push(issue(['spec', 'endpoints'], 'there can only be one endpoint for resolution DNS_ROUND_ROBIN', 'use resolution DNS for several endpoints'));
      }
      endpoints.forEach((e, i) => {
        const at = ['spec', 'endpoints', i];
        const address = e.address ?? '';
        if (!address) issues.push(issue([...at, 'address'], 'endpoint address is required', 'set a host name or IP address'));
        else if (!isIpAddress(address) && fqdnProblem(address)) {
          issues.push(issue([...at, 'address'], `endpoint address "${address}" is not a valid FQDN or an IP address`, 'use a host name such as lb.example.com or an IP address'));
        }
        issues.push(...labelIssues([...at, 'labels'], e.labels));
        issues.push(...endpointPortIssues(at, e, names));
      });
      break;
    }
  }

  // With several hosts and no resolution to tell them apart, only Host/SNI can pick one.
  if (resolution !== 'NONE' && hosts.length > 1 && ports.some((p) => !isHttpProtocol(parseProtocol(p.protocol)) && !isTlsProtocol(parseProtocol(p.protocol)))) {
    issues.push(issue(['spec', 'hosts'], 'multiple hosts provided with non-HTTP, non-TLS ports', 'use one host per ServiceEntry for TCP ports'));
  }
  issues.push(...exportToIssues(['spec', 'exportTo'], se.metadata.namespace, spec.exportTo, true));
  return issues;
}
