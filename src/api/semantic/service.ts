/** What the Kubernetes API server checks on a Service's ports and selector (ValidateService), for the fields Isthmus reads. */
import { issue } from '../paths.js';
import type { Issue } from '../paths.js';
import type { ServiceResource } from '../types.js';
import { isDns1123Label, labelIssues, portIssues } from './common.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** IANA_SVC_NAME: the name of a container port, at most 15 characters, with at least one letter. */
const SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function targetPortIssues(path: (string | number)[], target: unknown): Issue[] {
  if (target === undefined || target === null) return [];
  if (typeof target === 'number') {
    return Number.isInteger(target) && target >= 1 && target <= 65535
      ? []
      : [issue(path, `targetPort ${target} must be in the range 1..65535`, 'use the port the pod listens on, or the name of a container port')];
  }
  if (typeof target === 'string') {
    // kubectl accepts a quoted number; the API server keeps it as the number.
    if (/^\d+$/.test(target)) return targetPortIssues(path, Number(target));
    if (target.length <= 15 && SVC_NAME.test(target) && /[a-z]/.test(target) && !target.includes('--')) return [];
    return [issue(path, `targetPort "${target}" is not a port number or a port name`, 'use a number in 1..65535 or a container port name (lower-case letters, digits and "-", at most 15)')];
  }
  return [issue(path, `targetPort must be a number or a port name, got ${typeof target}`, 'use a number in 1..65535 or a container port name')];
}

export function validateService(service: ServiceResource): Issue[] {
  const issues: Issue[] = [];
  const name = service.metadata.name;
  // The name becomes the first label of the service's host name (name.namespace.svc.cluster.local).
  if (name.length > 63 || !DNS1035_LABEL.test(name)) issues.push(issue(['metadata', 'name'], `invalid Service name "${name}"`, 'a Service name is a DNS label: lower-case letters, digits and "-", starting with a letter (max 63)'));
  const ports = service.spec.ports ?? [];
  const names = new Map<string, number>();
  const numbers = new Map<string, number>();
  ports.forEach((p, i) => {
    const path = ['spec', 'ports', i];
    issues.push(...portIssues([...path, 'port'], p.port));
    const protocol = p.protocol ?? 'TCP';
    if (!PROTOCOLS.includes(protocol)) issues.push(issue([...path, 'protocol'], `protocol "${String(p.protocol)}" is not supported`, 'use TCP, UDP or SCTP (application protocols go in appProtocol or the port name, e.g. http-web)'));
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1) issues.push(issue([...path, 'name'], 'a Service with more than one port needs a name for each', 'name the port after its protocol, e.g. http-web or grpc'));
    } else if (!isDns1123Label(p.name)) {
      issues.push(issue([...path, 'name'], `invalid port name "${p.name}"`, 'use lower-case letters, digits and "-" (max 63), e.g. http2'));
    } else if (names.has(p.name)) {
      issues.push(issue([...path, 'name'], `port name "${p.name}" is already used by spec.ports[${names.get(p.name)}]`, 'give each port its own name'));
    } else {
      names.set(p.name, i);
    }
    const key = `${p.port}/${protocol}`;
    if (numbers.has(key)) issues.push(issue([...path, 'port'], `port ${key} is already declared by spec.ports[${numbers.get(key)}]`, 'remove one of the two, or change its port or protocol'));
    else numbers.set(key, i);
    issues.push(...targetPortIssues([...path, 'targetPort'], p.targetPort));
    if (p.appProtocol !== undefined && p.appProtocol.trim() === '') issues.push(issue([...path, 'appProtocol'], 'appProtocol is empty', 'remove it, or name the protocol, e.g. http or kubernetes.io/h2c'));
  });
  issues.push(...labelIssues(['spec', 'selector'], service.spec.selector));
  return issues;
}
