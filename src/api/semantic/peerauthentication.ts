/** Istio's PeerAuthentication validation (ValidatePeerAuthentication). */
import { issue } from '../paths.js';
import type { Issue } from '../paths.js';
import type { PeerAuthenticationResource } from '../types.js';
import { selectorIssues } from './common.js';

export function validatePeerAuthentication(pa: PeerAuthenticationResource): Issue[] {
  const spec = pa.spec;
  const issues: Issue[] = [];
  const emptySelector = Object.keys(spec.selector?.matchLabels ?? {}).length === 0;
  const portLevel = spec.portLevelMtls;
  if (portLevel) {
    // Port numbers only mean something for a known workload; a namespace-wide policy has no ports.
    if (emptySelector && Object.keys(portLevel).length > 0) {
      issues.push(issue(['spec', 'portLevelMtls'], 'mesh/namespace peer authentication cannot have port level mTLS', 'add selector.matchLabels, or move the port settings to a workload-specific policy'));
    }
    if (Object.keys(portLevel).length === 0) {
      issues.push(issue(['spec', 'portLevelMtls'], 'port level mTLS, if defined, must have at least one element', 'remove portLevelMtls or add a port'));
    }
    for (const key of Object.keys(portLevel)) {
      const port = Number(key);
      if (!/^\d+$/.test(key) || port < 1 || port > 65535) {
        issues.push(issue(['spec', 'portLevelMtls', key], key === '0' ? 'port cannot be 0' : `"${key}" is not a port number in 1..65535`, 'use the workload port number, 1..65535'));
      }
    }
  }
  issues.push(...selectorIssues(['spec', 'selector', 'matchLabels'], spec.selector?.matchLabels));
  return issues;
}
