import type { XdsNode } from '../../envoy/index.js';
import { XdsError } from './errors.js';
import type { XdsIdentity } from './status.js';

/** `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`, Istio's workload identity form. */
const ISTIO_IDENTITY = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The namespace an Istio node id names: `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`. */
function namespaceOfNodeId(id: string): string | undefined {
  const parts = id.split('~');
  if (parts.length !== 4) return undefined;
  const pod = parts[2] ?? '';
  return pod.includes('.') ? pod.slice(pod.lastIndexOf('.') + 1) : undefined;
}

/**
 * Binds an authenticated caller to the node it claims to be, as istiod does (checkConnectionIdentity):
 * the namespace the control plane would serve config for (metadata NAMESPACE, else the node id's, else
 * "default") and the namespace in the node id must both be the SPIFFE ID's namespace, and a
 * SERVICE_ACCOUNT in the metadata must be its service account. Otherwise a workload of one namespace
 * could ask for another namespace's config (and its secrets). Anonymous callers (the plaintext port)
 * are not checked.
 */
export function checkNodeIdentity(identity: XdsIdentity, node: XdsNode): void {
  if (identity.method === 'none') return;
  const nodeId = node.id ?? '';
  const meta = (node.metadata ?? {}) as Record<string, unknown>;
  const match = ISTIO_IDENTITY.exec(identity.principal);
  if (!match) {
    throw new XdsError('ERR_XDS_PERMISSION_DENIED', `node "${nodeId}" authenticated as ${identity.principal}, which names no namespace and service account`, {
      hint: 'authenticate with an Istio workload identity, spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>',
    });
  }
  const [, namespace, serviceAccount] = match as unknown as [string, string, string];
  const fromId = namespaceOfNodeId(nodeId);
  const fromMeta = str(meta.NAMESPACE);
  const claims: Array<[string, string]> = [];
  if (fromMeta !== undefined) claims.push(['metadata NAMESPACE', fromMeta]);
  if (fromId !== undefined) claims.push(['node id namespace', fromId]);
  if (claims.length === 0) claims.push(['namespace (none given, so "default")', 'default']);
  for (const [what, claimed] of claims) {
    if (claimed !== namespace) {
      throw new XdsError('ERR_XDS_PERMISSION_DENIED', `node "${nodeId}" claims ${what} "${claimed}" but authenticated as ${identity.principal} of namespace "${namespace}"`, {
        hint: `run the proxy in namespace "${namespace}" (--namespace ${namespace} and a node id in it), or give it a certificate/token for namespace "${claimed}"`,
      });
    }
  }
  const claimedAccount = str(meta.SERVICE_ACCOUNT);
  if (claimedAccount !== undefined && claimedAccount !== serviceAccount) {
    throw new XdsError('ERR_XDS_PERMISSION_DENIED', `node "${nodeId}" claims metadata SERVICE_ACCOUNT "${claimedAccount}" but authenticated as ${identity.principal} of service account "${serviceAccount}"`, {
      hint: `set SERVICE_ACCOUNT to "${serviceAccount}", or authenticate as service account "${claimedAccount}"`,
    });
  }
}
