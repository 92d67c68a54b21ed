// The control plane: config store, management API (and, from their owners, translate and xds).
export * from './store/index.js';
export * from './management/index.js';
export { ControlPlane } from './controlplane.js';
export type { ControlPlaneOptions } from './controlplane.js';
export { proxyNodeOf, proxyDisplayName, parsePortMap } from './node.js';
export {
  buildVmResources, vmBootstrap, vmSni, parseVmHostPort, parseVmTranscode, formatVmTranscode, VM_METADATA, VM_DEFAULT_LISTEN,
} from './translate/index.js';
export type { VmServiceInput, VmJoinResources, VmRouteRow, VmSkipped, VmTranscode, HostPort } from './translate/index.js';
export * from './links/index.js';
export { revisionRefusal, versionOfRevision, REVISION_LABEL, DEFAULT_REVISION, ISTIO_API_VERSION } from './revision.js';
export type { RevisionPolicy, RevisionRefusal } from './revision.js';
export { XdsTlsEndpoint, controlPlaneSpiffeId } from './xds-tls.js';
export { MeshCertificateAuthorities } from './mesh-ca.js';
