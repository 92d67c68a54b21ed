/**
 * The structural input of translation: Istio resources shaped like their YAML (camelCase spec fields),
 * the proxy being configured, and translation options. These are minimal structural types so that the
 * api module's richer types (src/api) are assignable to them without a dependency in either direction.
 */

export type Labels = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Labels;
  readonly annotations?: Labels;
}

export interface IstioResource<Spec> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: Spec;
}

// ---- networking.istio.io Gateway

export interface PortSpec {
  readonly number: number;
  readonly name?: string;
  readonly protocol?: string;
  readonly targetPort?: number;
}

export type ServerTlsMode = 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
export type TlsProtocolVersion = 'TLS_AUTO' | 'TLSV1_0' | 'TLSV1_1' | 'TLSV1_2' | 'TLSV1_3';

export interface ServerTlsSettings {
  readonly mode?: ServerTlsMode;
  readonly httpsRedirect?: boolean;
  readonly credentialName?: string;
  readonly serverCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly subjectAltNames?: readonly string[];
  readonly minProtocolVersion?: TlsProtocolVersion;
  readonly maxProtocolVersion?: TlsProtocolVersion;
  readonly cipherSuites?: readonly string[];
}

export interface GatewayServer {
  readonly port: PortSpec;
  readonly hosts?: readonly string[];
  readonly tls?: ServerTlsSettings;
  readonly bind?: string;
  readonly name?: string;
}

export interface GatewaySpec {
  readonly selector?: Labels;
  readonly servers?: readonly GatewayServer[];
}

// ---- VirtualService

export interface StringMatch {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}

export interface HttpMatchRequest {
  readonly name?: string;
  readonly uri?: StringMatch;
  readonly scheme?: StringMatch;
  readonly method?: StringMatch;
  readonly authority?: StringMatch;
  readonly headers?: Readonly<Record<string, StringMatch>>;
  readonly withoutHeaders?: Readonly<Record<string, StringMatch>>;
  readonly queryParams?: Readonly<Record<string, StringMatch>>;
  readonly port?: number;
  readonly sourceLabels?: Labels;
  readonly sourceNamespace?: string;
  readonly gateways?: readonly string[];
  readonly ignoreUriCase?: boolean;
}

export interface Destination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: { readonly number?: number };
}

export interface HeaderOperations {
  readonly set?: Readonly<Record<string, string>>;
  readonly add?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}

export interface Headers {
  readonly request?: HeaderOperations;
  readonly response?: HeaderOperations;
}

export interface HttpRouteDestination {
  readonly destination: Destination;
  readonly weight?: number;
  readonly headers?: Headers;
}

export interface HttpRetry {
  readonly attempts?: number;
  readonly perTryTimeout?: string;
  readonly retryOn?: string;
}

export interface HttpRewrite {
  readonly uri?: string;
  readonly authority?: string;
  readonly uriRegexRewrite?: { readonly match?: string; readonly rewrite?: string };
}

export interface HttpRedirect {
  readonly uri?: string;
  readonly authority?: string;
  readonly port?: number;
  readonly scheme?: string;
  readonly redirectCode?: number;
}

export interface HttpDirectResponse {
  readonly status: number;
  readonly body?: { readonly string?: string; readonly bytes?: string };
}

export interface HttpRoute {
  readonly name?: string;
  readonly match?: readonly HttpMatchRequest[];
  readonly route?: readonly HttpRouteDestination[];
  readonly redirect?: HttpRedirect;
  readonly directResponse?: HttpDirectResponse;
  readonly rewrite?: HttpRewrite;
  readonly timeout?: string;
  readonly retries?: HttpRetry;
  readonly headers?: Headers;
}

export interface L4MatchAttributes {
  readonly destinationSubnets?: readonly string[];
  readonly port?: number;
  readonly sourceLabels?: Labels;
  readonly sourceNamespace?: string;
  readonly gateways?: readonly string[];
}

export interface TlsMatchAttributes extends L4MatchAttributes {
  readonly sniHosts: readonly string[];
}

export interface RouteDestination {
  readonly destination: Destination;
  readonly weight?: number;
}

export interface TlsRoute {
  readonly match?: readonly TlsMatchAttributes[];
  readonly route?: readonly RouteDestination[];
}

export interface TcpRoute {
  readonly match?: readonly L4MatchAttributes[];
  readonly route?: readonly RouteDestination[];
}

export interface VirtualServiceSpec {
  readonly hosts?: readonly string[];
  readonly gateways?: readonly string[];
  readonly http?: readonly HttpRoute[];
  readonly tls?: readonly TlsRoute[];
  readonly tcp?: readonly TcpRoute[];
  readonly exportTo?: readonly string[];
}

// ---- DestinationRule

export type ClientTlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface ClientTlsSettings {
  readonly mode?: ClientTlsMode;
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly credentialName?: string;
  readonly subjectAltNames?: readonly string[];
  readonly sni?: string;
  readonly insecureSkipVerify?: boolean;
}

export interface ConnectionPoolSettings {
  readonly tcp?: {
    readonly maxConnections?: number;
    readonly connectTimeout?: string;
    readonly maxConnectionDuration?: string;
    readonly idleTimeout?: string;
  };
  readonly http?: {
    readonly http1MaxPendingRequests?: number;
    readonly http2MaxRequests?: number;
    readonly maxRequestsPerConnection?: number;
    readonly maxRetries?: number;
    readonly idleTimeout?: string;
    readonly maxConcurrentStreams?: number;
    readonly h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    readonly useClientProtocol?: boolean;
  };
}

export interface OutlierDetectionSettings {
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly consecutiveLocalOriginFailures?: number;
  readonly splitExternalLocalOriginErrors?: boolean;
  readonly interval?: string;
  readonly baseEjectionTime?: string;
  readonly maxEjectionPercent?: number;
  readonly minHealthPercent?: number;
}

export type SimpleLb = 'UNSPECIFIED' | 'LEAST_CONN' | 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';

export interface LoadBalancerSettings {
  readonly simple?: SimpleLb;
  readonly consistentHash?: object;
}

export interface PortTrafficPolicy {
  readonly port?: { readonly number?: number };
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetectionSettings;
  readonly tls?: ClientTlsSettings;
}

export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetectionSettings;
  readonly tls?: ClientTlsSettings;
  readonly portLevelSettings?: readonly PortTrafficPolicy[];
}

export interface Subset {
  readonly name: string;
  readonly labels?: Labels;
  readonly trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  readonly host: string;
  readonly trafficPolicy?: TrafficPolicy;
  readonly subsets?: readonly Subset[];
  readonly exportTo?: readonly string[];
  readonly workloadSelector?: { readonly matchLabels?: Labels };
}

// ---- ServiceEntry, WorkloadEntry

export interface WorkloadEntrySpec {
  readonly address?: string;
  readonly ports?: Readonly<Record<string, number>>;
  readonly labels?: Labels;
  readonly network?: string;
  readonly locality?: string;
  readonly weight?: number;
  readonly serviceAccount?: string;
}

export type ServiceEntryResolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';

export interface ServiceEntrySpec {
  readonly hosts: readonly string[];
  readonly addresses?: readonly string[];
  readonly ports?: readonly PortSpec[];
  readonly location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  readonly resolution?: ServiceEntryResolution;
  readonly endpoints?: readonly WorkloadEntrySpec[];
  readonly workloadSelector?: { readonly labels?: Labels };
  readonly exportTo?: readonly string[];
  readonly subjectAltNames?: readonly string[];
}

// ---- Kubernetes Secret and MeshConfig

export interface SecretResource {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly type?: string;
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
}

export interface MeshConfigSpec {
  readonly trustDomain?: string;
  readonly rootNamespace?: string;
  readonly connectTimeout?: string;
  readonly dnsRefreshRate?: string;
  readonly accessLogFile?: string;
  readonly accessLogFormat?: string;
  readonly enableAutoMtls?: boolean;
  readonly defaultHttpRetryPolicy?: HttpRetry;
  readonly network?: string;
  /** Istio's VERIFY_CERTIFICATE_AT_CLIENT as mesh config; TranslateOptions.verifyCertificateAtClient overrides it. */
  readonly verifyCertificateAtClient?: boolean;
  readonly extraTrustedRoots?: readonly string[];
}

export type Gateway = IstioResource<GatewaySpec>;
export type VirtualService = IstioResource<VirtualServiceSpec>;
export type DestinationRule = IstioResource<DestinationRuleSpec>;
export type ServiceEntry = IstioResource<ServiceEntrySpec>;
export type WorkloadEntry = IstioResource<WorkloadEntrySpec>;

/** One consistent view of a mesh's configuration, as the store hands it to translation. */
export interface ConfigSnapshot {
  readonly gateways?: readonly Gateway[];
  readonly virtualServices?: readonly VirtualService[];
  readonly destinationRules?: readonly DestinationRule[];
  readonly serviceEntries?: readonly ServiceEntry[];
  readonly workloadEntries?: readonly WorkloadEntry[];
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
}
