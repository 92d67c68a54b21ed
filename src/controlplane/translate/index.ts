/**
 * Translation of Istio configuration into Envoy v3 resources for one proxy, after Istio's
 * pilot/pkg/networking/core. Pure functions: no I/O, no sockets, deterministic output.
 */
export { translate, meshConfigOf, ADMIN_ADDRESS_METADATA } from './translate.js';
export type { TranslateResult, ResourceVersions } from './translate.js';
export { pathNormalizationFields, withPathNormalization } from './filters.js';
export { buildAuthorization, authorizationPoliciesFor, rulePolicy, stringMatcherWithPrefix, withAuthorization } from './authorization.js';
export type { AuthorizationContext, AuthorizationFilters } from './authorization.js';
export { buildServiceRegistry, visibleServices, findService, endpointPort } from './registry.js';
export type { RegistryService, ServiceRegistry, ServicePort, ServiceEndpoint, Resolution } from './registry.js';
export { routeRows, listenerRows, clusterRows, endpointRows, inlineRouteConfigs, describeDomains, describeMatch, describeManagement } from './rows.js';
export type { RouteRow, ListenerRow, ClusterRow, EndpointRow, ListenerFilter } from './rows.js';
export { checkConsistency, referencedClusters, referencedRouteNames, referencedEdsNames, referencedSecrets } from './references.js';
export { contentVersion, canonicalJson } from './version.js';
export { clusterName, sniClusterName, parseClusterName, listenerName, gatewayHttpRouteName, gatewayHttpsRouteName, configPath, credentialSecretName, credentialCaSecretName } from './names.js';
export { EXTRA_ENVOY_FIELDS, ADS_CONFIG_SOURCE } from './envoy-ext.js';
export type { XdsCluster, XdsHttpConnectionManager, XdsUpstreamTlsContext, XdsDownstreamTlsContext, SdsSecretConfig, ConfigSource, OutlierDetection, Metadata } from './envoy-ext.js';
export { ISTIO_MTLS_ALPNS } from './passthrough.js';
export { parseProtocol } from './protocol.js';
export type { TranslateWarning } from './warnings.js';
export { allocateVips, buildNameTable, dnsSettings, DNS_LISTENER_NAME, DNS_METADATA_KEY, DNS_VIP_PREFIX, DEFAULT_DNS_PORT } from './dns.js';
export type { DnsSettings, NameTable } from './dns.js';
export type * from './input.js';
export {
  buildVmResources, vmBootstrap, vmSni, parseVmHostPort, parseVmTranscode, formatVmTranscode, vmOptionsFromMetadata, VM_METADATA, VM_DEFAULT_LISTEN, VM_XDS_CLUSTER,
} from './vm.js';
export type { VmServiceInput, VmJoinOptions, VmJoinResources, VmRouteRow, VmSkipped, VmTls, VmTranscode, VmBootstrapOptions, HostPort } from './vm.js';
export { DEFAULT_SYSTEM_CA_BUNDLE } from './tls.js';
