/** Semantic validation of one resource, dispatched by kind. Assumes the schema check passed. */
import { issue } from '../paths.js';
import type { Issue } from '../paths.js';
import type { IstioResource } from '../types.js';
import { validateAuthorizationPolicy } from './authorizationpolicy.js';
import { isDns1123Label } from './common.js';
import { validateDestinationRule } from './destinationrule.js';
import { validateGateway } from './gateway.js';
import { validateMeshConfig } from './meshconfig.js';
import { validatePeerAuthentication } from './peerauthentication.js';
import { validateSecret } from './secret.js';
import { validateService } from './service.js';
import { validateServiceEntry } from './serviceentry.js';
import { validateVirtualService } from './virtualservice.js';
import { validateWorkloadEntry } from './workloadentry.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes object names: DNS-1123 subdomains; namespaces: DNS-1123 labels. */
function metadataIssues(resource: IstioResource): Issue[] {
  const issues: Issue[] = [];
  const { name, namespace } = resource.metadata;
  if (resource.kind === 'Namespace') {
    if (!isDns1123Label(name)) issues.push(issue(['metadata', 'name'], `invalid namespace name "${name}"`, 'use lower-case letters, digits and "-" (max 63)'));
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    issues.push(issue(['metadata', 'name'], `invalid name "${name}"`, 'use lower-case letters, digits, "-" and "."'));
  }
  if (namespace !== '' && !isDns1123Label(namespace)) {
    issues.push(issue(['metadata', 'namespace'], `invalid namespace "${namespace}"`, 'use lower-case letters, digits and "-" (max 63)'));
  }
  return issues;
}

function kindIssues(resource: IstioResource): Issue[] {
  switch (resource.kind) {
    case 'Gateway':
      return validateGateway(resource);
    case 'VirtualService':
      return validateVirtualService(resource);
    case 'DestinationRule':
      return validateDestinationRule(resource);
    case 'ServiceEntry':
      return validateServiceEntry(resource);
    case 'WorkloadEntry':
      return validateWorkloadEntry(resource);
    case 'PeerAuthentication':
      return validatePeerAuthentication(resource);
    case 'AuthorizationPolicy':
      return validateAuthorizationPolicy(resource);
    case 'Secret':
      return validateSecret(resource);
    case 'Service':
      return validateService(resource);
    case 'MeshConfig':
      return validateMeshConfig(resource);
    case 'Namespace':
      return [];
  }
}

export function semanticIssues(resource: IstioResource): Issue[] {
  return [...metadataIssues(resource), ...kindIssues(resource)].map((i) => ({ ...i, code: 'SEMANTIC' }));
}
