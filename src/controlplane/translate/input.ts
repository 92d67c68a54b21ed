/**
 * The structural input of translation: the Istio resource types of the config model (src/api), re-exported
 * under the names translate's modules use, the resource envelope and snapshot translation reads (apiVersion,
 * kind and every collection optional, so resources built in code and the api's ConfigSnapshot both fit), the
 * proxy being configured, and translation options.
 */
import type {
  ClientTLSMode,
  ClientTLSSettings,
  DestinationRuleSpec,
  GatewaySpec,
  HTTPDirectResponse,
  HTTPMatchRequest,
  HTTPRedirect,
  HTTPRetry,
  HTTPRewrite,
  HTTPRoute,
  HTTPRouteDestination,
  Labels,
  MeshConfigSpec as ApiMeshConfigSpec,
  ObjectMeta,
  OutlierDetection,
  AuthorizationPolicySpec,
  PeerAuthenticationSpec,
  Port,
  SecretResource,
  Server,
  ServerTLSMode,
  ServerTLSSettings,
  ServiceEntrySpec,
  SimpleLB,
  TCPRoute,
  TLSMatchAttributes,
  TLSProtocolVersion,
  TLSRoute,
  VirtualServiceSpec,
  WorkloadEntrySpec,
} from '../../api/index.js';

export type {
  ConnectionPoolSettings,
  Destination,
  DestinationRuleSpec,
  GatewaySpec,
  HeaderOperations,
  Headers,
  L4MatchAttributes,
  Labels,
  LoadBalancerSettings,
  MutualTlsMode,
  ObjectMeta,
  PeerAuthenticationMutualTLS,
  PeerAuthenticationSpec,
  PortTrafficPolicy,
  RouteDestination,
  SecretResource,
  ServiceEntryResolution,
  ServiceEntrySpec,
  StringMatch,
  Subset,
  TrafficPolicy,
  VirtualServiceSpec,
  WorkloadEntrySpec,
} from '../../api/index.js';

// ---- the api's types under translate's names

export type PortSpec = Port;
export type ServerTlsMode = ServerTLSMode;
export type TlsProtocolVersion = TLSProtocolVersion;
export type ServerTlsSettings = ServerTLSSettings;
export type GatewayServer = Server;
export type HttpMatchRequest = HTTPMatchRequest;
export type HttpRouteDestination = HTTPRouteDestination;
export type HttpRetry = HTTPRetry;
export type HttpRewrite = HTTPRewrite;
export type HttpRedirect = HTTPRedirect;
export type HttpDirectResponse = HTTPDirectResponse;
export type HttpRoute = HTTPRoute;
export type TlsMatchAttributes = TLSMatchAttributes;
export type TlsRoute = TLSRoute;
export type TcpRoute = TCPRoute;
export type ClientTlsMode = ClientTLSMode;
export type ClientTlsSettings = ClientTLSSettings;
export type OutlierDetectionSettings = OutlierDetection;
export type SimpleLb = SimpleLB;

// ---- what translation reads: resources and a snapshot of them

/** A resource as translation reads it: the api's, with apiVersion and kind optional (resources built in code). */
export interface IstioResource<Spec> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: Spec;
}

export type Gateway = IstioResource<GatewaySpec>;
export type VirtualService = IstioResource<VirtualServiceSpec>;
export type DestinationRule = IstioResource<DestinationRuleSpec>;
export type ServiceEntry = IstioResource<ServiceEntrySpec>;
export type WorkloadEntry = IstioResource<WorkloadEntrySpec>;
export type PeerAuthentication = IstioResource<PeerAuthenticationSpec>;
export type AuthorizationPolicy = IstioResource<AuthorizationPolicySpec>;

/** The api's MeshConfig plus the mesh settings translation honours that the config model does not carry (yet). */
export interface MeshConfigSpec extends ApiMeshConfigSpec {
  readonly rootNamespace?: string;
  readonly connectTimeout?: string;
  readonly dnsRefreshRate?: string;
  readonly accessLogFormat?: string;
  readonly enableAutoMtls?: boolean;
  readonly defaultHttpRetryPolicy?: HttpRetry;
}

/** One consistent view of a mesh's configuration; the api's ConfigSnapshot is one, so is a partial one built in code. */
export interface ConfigSnapshot {
  readonly gateways?: readonly Gateway[];
  readonly virtualServices?: readonly VirtualService[];
  readonly destinationRules?: readonly DestinationRule[];
  readonly serviceEntries?: readonly ServiceEntry[];
  readonly workloadEntries?: readonly WorkloadEntry[];
  readonly peerAuthentications?: readonly PeerAuthentication[];
  readonly authorizationPolicies?: readonly AuthorizationPolicy[];
  readonly secrets?: readonly SecretResource[];
  /** The mesh config, either bare or wrapped as a resource ({ spec }). */
  readonly meshConfig?: MeshConfigSpec | { readonly spec: MeshConfigSpec };
}

// ---- services from outside the config: registered workloads, Kubernetes services

export interface MeshServicePort {
  readonly name?: string;
  readonly number: number;
  readonly protocol?: string;
  readonly targetPort?: number;
}

export interface MeshServiceEndpoint {
  readonly address: string;
  /** The endpoint's port when the service has one port (else targetPort/number, or `ports` by port name). */
  readonly port?: number;
  readonly ports?: Readonly<Record<string, number>>;
  readonly labels?: Labels;
  readonly network?: string;
  readonly locality?: string;
  readonly serviceAccount?: string;
  readonly weight?: number;
}

/** A service of the mesh that no ServiceEntry declares, e.g. frontend.simple-app.svc.cluster.local. */
export interface MeshService {
  readonly hostname: string;
  readonly namespace: string;
  readonly ports: readonly MeshServicePort[];
  readonly endpoints?: readonly MeshServiceEndpoint[];
  readonly addresses?: readonly string[];
  readonly exportTo?: readonly string[];
  /** The pods (proxies) that serve it, as a Kubernetes Service's spec.selector. */
  readonly selector?: Labels;
}

// ---- the proxy and the options

/** router: a gateway; sidecar: an app's proxy; proxyless: a gRPC library speaking xDS itself (Istio's GENERATOR=grpc). */
export type ProxyType = 'router' | 'sidecar' | 'proxyless';

export interface ProxyNode {
  readonly id: string;
  readonly type: ProxyType;
  readonly namespace: string;
  readonly labels?: Labels;
  readonly cluster?: string;
  readonly network?: string;
  /** Node metadata as Istio's ISTIO_META_* (ROUTER_MODE: 'sni-dnat', DNS_CAPTURE: 'true', ...). */
  readonly metadata?: Readonly<Record<string, string | undefined>>;
  /** Gateway service port -> container port (Istio's default gateways: 80 -> 8080, 443 -> 8443); identity when absent. */
  readonly portMap?: Readonly<Record<number, number>>;
  readonly serviceAccount?: string;
  /** The proxy's instance ("pod") IP: what a Kubernetes Service's endpoint for this proxy is. */
  readonly ip?: string;
}

export interface TranslateOptions {
  /** Services beyond the ServiceEntries: registered workloads, Kubernetes services. */
  readonly meshServices?: readonly MeshService[];
  /** Istio's PILOT_FILTER_GATEWAY_CLUSTER_CONFIG: a gateway gets only the clusters its routes reference. */
  readonly filterGatewayClusterConfig?: boolean;
  /** Istio's VERIFY_CERTIFICATE_AT_CLIENT: SIMPLE/MUTUAL without caCertificates verify against the system roots. */
  readonly verifyCertificateAtClient?: boolean;
  /** Where the system trust bundle is on the proxy's host. */
  readonly systemCaBundlePath?: string;
  /** The system bundle's PEM, read by the caller, used only when extraTrustedRoots must be appended to it. */
  readonly systemCaBundlePem?: string;
  /** Extra trusted roots (PEM) added to the system bundle when verifying at the client. */
  readonly extraTrustedRoots?: readonly string[];
  /** Istio's ENABLE_AUTO_SNI (default true): SNI and SAN check from the Host header when a DR sets no sni. */
  readonly enableAutoSni?: boolean;
  /** Kubernetes cluster domain suffix of service hostnames (default cluster.local). */
  readonly domainSuffix?: string;
  /** Emit Istio's status (15021 /healthz/ready) and Prometheus (15090 /stats/prometheus) listeners (default true). */
  readonly healthListeners?: boolean;
  /** Where the proxy's admin interface listens; the health and stats routes forward there. */
  readonly adminAddress?: { readonly address: string; readonly port: number };
  /**
   * Istio's PILOT_SKIP_VALIDATE_TRUST_DOMAIN: inbound mTLS accepts any peer whose certificate chains to
   * the mesh root, whatever its trust domain (a VM under another intermediate, spiffe://vm.local/...).
   */
  readonly skipValidateTrustDomain?: boolean;
  /** The trust domain of the mesh's CA, used when the mesh config names none. */
  readonly trustDomain?: string;
  /**
   * Trust domains of other meshes this one trusts (`--federate`; meshConfig.caCertificates' trustDomains
   * are added by translate): inbound mTLS accepts their identities too, each verified by ROOTCA's SPIFFE
   * validator against its own bundle.
   */
  readonly federatedTrustDomains?: readonly string[];
}
