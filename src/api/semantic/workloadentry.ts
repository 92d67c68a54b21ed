/** Istio's WorkloadEntry validation (ValidateWorkloadEntry). */
import { issue } from '../paths.js';
import type { Issue } from '../paths.js';
import type { WorkloadEntryResource } from '../types.js';
import { fqdnProblem, isDns1123Label, isIpAddress, labelIssues, portIssues } from './common.js';

export function validateWorkloadEntry(we: WorkloadEntryResource): Issue[] {
  const spec = we.spec;
  const issues: Issue[] = [];
  const address = spec.address ?? '';
  if (!address) {
    issues.push(issue(['spec', 'address'], 'address must be set', 'set the IP address or host name of the workload'));
  } else if (address.startsWith('unix://')) {
    if (!address.slice('unix://'.length).startsWith('/')) issues.push(issue(['spec', 'address'], `${address} is not an absolute path to a socket`, 'write unix:///absolute/path.sock'));
  } else if (!isIpAddress(address) && fqdnProblem(address)) {
    issues.push(issue(['spec', 'address'], `address "${address}" is not a valid IP address or host name`, 'use an IP address such as 10.0.0.5 or a host name such as vm1.example.com'));
  }
  for (const [name, number] of Object.entries(spec.ports ?? {})) {
    if (!isDns1123Label(name)) issues.push(issue(['spec', 'ports', name], `invalid port name "${name}"`, 'use the name of a port of the ServiceEntry'));
    issues.push(...portIssues(['spec', 'ports', name], number));
  }
  issues.push(...labelIssues(['spec', 'labels'], spec.labels));
  if (spec.weight !== undefined && (!Number.isInteger(spec.weight) || spec.weight < 0)) {
    issues.push(issue(['spec', 'weight'], `weight ${spec.weight} must be a non-negative integer`, 'use a whole number, e.g. 1'));
  }
  return issues;
}
