/**
 * The config model: Istio's resources as users write them (proto3-JSON / YAML field names), Kubernetes
 * Secret, Namespace and Service, and Isthmus' own MeshConfig. Field names and enum values are Istio's, so an Istio
 * user can read them; only the fields Isthmus knows are typed (schema validation rejects the rest).
 */

// ─── Common ─────────────────────────────────────────────────────────────────────────────────────────

export type Labels = Record<string, string>;

/** Where a resource (or a problem) was found: file, 1-based document index, 1-based line/column. */
export interface SourceLocation {
  readonly source: string;
  readonly document: number;
  readonly line?: number;
  readonly column?: number;
}

export interface ObjectMeta {
  readonly name: string;
  /** Defaults to "default" for namespaced kinds; "" for cluster-scoped kinds (Namespace, MeshConfig). */
  readonly namespace: string;
  readonly labels?: Labels;
  readonly annotations?: Record<string, string>;
  readonly resourceVersion?: string;
  readonly generation?: number;
}

export type NetworkingKind = 'Gateway' | 'VirtualService' | 'DestinationRule' | 'ServiceEntry' | 'WorkloadEntry';
export type SecurityKind = 'PeerAuthentication' | 'AuthorizationPolicy';
export type ResourceKind = NetworkingKind | SecurityKind | 'Secret' | 'Namespace' | 'Service' | 'MeshConfig';

interface ResourceBase<K extends ResourceKind> {
  /** As written, e.g. "networking.istio.io/v1beta1"; every version of a kind has the same spec. */
  readonly apiVersion: string;
  readonly kind: K;
  readonly metadata: ObjectMeta;
  /** Set by the loader; absent for resources built in code or read from an API server. */
  readonly origin?: SourceLocation;
}

interface SpecResource<K extends ResourceKind, S> extends ResourceBase<K> {
  readonly spec: S;
}

/** matchLabels-style selector used by security.istio.io kinds and DestinationRule. */
export interface WorkloadSelector {
  readonly matchLabels?: Labels;
}

/** Istio's Percent: a double 0..100. */
export interface Percent {
  readonly value?: number;
}

/** Durations as proto3 JSON writes them: seconds with an "s" suffix, "5s", "0.250s". */
export type Duration = string;

// ─── networking.istio.io: Gateway ──────────────────────────────────────────────────────────────────

export type ServerTLSMode = 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
export type TLSProtocolVersion = 'TLS_AUTO' | 'TLSV1_0' | 'TLSV1_1' | 'TLSV1_2' | 'TLSV1_3';

/** Gateway/ServiceEntry port. `protocol` is one of HTTP|HTTPS|GRPC|GRPC-WEB|HTTP2|MONGO|MYSQL|REDIS|TCP|TLS|UDP. */
export interface Port {
  readonly number: number;
  readonly protocol: string;
  readonly name: string;
  readonly targetPort?: number;
}

export interface ServerTLSSettings {
  readonly httpsRedirect?: boolean;
  readonly mode?: ServerTLSMode;
  readonly serverCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  /** Name of a Secret (generic key/cert/cacert or kubernetes.io/tls) in the gateway workload's namespace. */
  readonly credentialName?: string;
  readonly subjectAltNames?: readonly string[];
  readonly verifyCertificateSpki?: readonly string[];
  readonly verifyCertificateHash?: readonly string[];
  readonly minProtocolVersion?: TLSProtocolVersion;
  readonly maxProtocolVersion?: TLSProtocolVersion;
  readonly cipherSuites?: readonly string[];
}

export interface Server {
  readonly port: Port;
  readonly bind?: string;
  /** "host", "ns/host", "./host", "*\/host"; wildcards allowed in the first label. */
  readonly hosts: readonly string[];
  readonly tls?: ServerTLSSettings;
  readonly defaultEndpoint?: string;
  readonly name?: string;
}

export interface GatewaySpec {
  readonly servers: readonly Server[];
  /** Labels of the gateway workload(s) this Gateway configures. */
  readonly selector?: Labels;
}

// ─── networking.istio.io: VirtualService ───────────────────────────────────────────────────────────

/** Exactly one of exact / prefix / regex (RE2). */
export interface StringMatch {
  readonly exact?: string;
  readonly prefix?: string;
  readonly regex?: string;
}

export interface PortSelector {
  readonly number?: number;
}

export interface Destination {
  readonly host: string;
  readonly subset?: string;
  readonly port?: PortSelector;
}

export interface HeaderOperations {
  readonly set?: Record<string, string>;
  readonly add?: Record<string, string>;
  readonly remove?: readonly string[];
}

export interface Headers {
  readonly request?: HeaderOperations;
  readonly response?: HeaderOperations;
}

export interface HTTPMatchRequest {
  readonly name?: string;
  readonly uri?: StringMatch;
  readonly scheme?: StringMatch;
  readonly method?: StringMatch;
  readonly authority?: StringMatch;
  readonly headers?: Record<string, StringMatch>;
  readonly port?: number;
  readonly sourceLabels?: Labels;
  /** Gateway names this match applies to ("mesh" for sidecars), overriding the VirtualService's. */
  readonly gateways?: readonly string[];
  readonly queryParams?: Record<string, StringMatch>;
  readonly ignoreUriCase?: boolean;
  readonly withoutHeaders?: Record<string, StringMatch>;
  readonly sourceNamespace?: string;
  readonly statPrefix?: string;
}

export interface HTTPRouteDestination {
  readonly destination: Destination;
  /** 0..100; with several destinations the weights must add up to 100. */
  readonly weight?: number;
  readonly headers?: Headers;
}

export interface HTTPRedirect {
  readonly uri?: string;
  readonly authority?: string;
  readonly port?: number;
  readonly derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  readonly scheme?: string;
  readonly redirectCode?: number;
}

export interface HTTPDirectResponse {
  readonly status: number;
  readonly body?: { readonly string?: string; readonly bytes?: string };
}

export interface RegexRewrite {
  readonly match?: string;
  readonly rewrite?: string;
}

export interface HTTPRewrite {
  readonly uri?: string;
  readonly authority?: string;
  readonly uriRegexRewrite?: RegexRewrite;
}

export interface HTTPRetry {
  readonly attempts?: number;
  readonly perTryTimeout?: Duration;
  readonly retryOn?: string;
  readonly retryRemoteLocalities?: boolean;
}

export interface HTTPFaultInjection {
  readonly delay?: {
    readonly fixedDelay?: Duration;
    readonly exponentialDelay?: Duration;
    readonly percentage?: Percent;
    readonly percent?: number;
  };
  readonly abort?: {
    readonly httpStatus?: number;
    readonly grpcStatus?: string;
    readonly http2Error?: string;
    readonly percentage?: Percent;
  };
}

export interface CorsPolicy {
  readonly allowOrigins?: readonly StringMatch[];
  readonly allowOrigin?: readonly string[];
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAge?: Duration;
  readonly allowCredentials?: boolean;
}

export interface Delegate {
  readonly name?: string;
  readonly namespace?: string;
}

export interface HTTPRoute {
  readonly name?: string;
  readonly match?: readonly HTTPMatchRequest[];
  readonly route?: readonly HTTPRouteDestination[];
  readonly redirect?: HTTPRedirect;
  readonly directResponse?: HTTPDirectResponse;
  readonly delegate?: Delegate;
  readonly rewrite?: HTTPRewrite;
  readonly timeout?: Duration;
  readonly retries?: HTTPRetry;
  readonly fault?: HTTPFaultInjection;
  readonly mirror?: Destination;
  readonly mirrorPercentage?: Percent;
  readonly corsPolicy?: CorsPolicy;
  readonly headers?: Headers;
}

export interface RouteDestination {
  readonly destination: Destination;
  readonly weight?: number;
}

export interface TLSMatchAttributes {
  readonly sniHosts: readonly string[];
  readonly destinationSubnets?: readonly string[];
  readonly port?: number;
  readonly sourceLabels?: Labels;
  readonly gateways?: readonly string[];
  readonly sourceNamespace?: string;
}

export interface TLSRoute {
  readonly match: readonly TLSMatchAttributes[];
  readonly route?: readonly RouteDestination[];
}

export interface L4MatchAttributes {
  readonly destinationSubnets?: readonly string[];
  readonly port?: number;
  readonly sourceLabels?: Labels;
  readonly gateways?: readonly string[];
  readonly sourceNamespace?: string;
}

export interface TCPRoute {
  readonly match?: readonly L4MatchAttributes[];
  readonly route?: readonly RouteDestination[];
}

export interface VirtualServiceSpec {
  readonly hosts?: readonly string[];
  /** "mesh", "name" (same namespace), "namespace/name"; empty means ["mesh"]. */
  readonly gateways?: readonly string[];
  readonly http?: readonly HTTPRoute[];
  readonly tls?: readonly TLSRoute[];
  readonly tcp?: readonly TCPRoute[];
  /** "." (this namespace), "*" (all) or namespace names; empty means visible everywhere. */
  readonly exportTo?: readonly string[];
}

// ─── networking.istio.io: DestinationRule ──────────────────────────────────────────────────────────

export type ClientTLSMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface ClientTLSSettings {
  readonly mode?: ClientTLSMode;
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  /** Secret with key/cert(/cacert) in the namespace of the proxy that originates TLS. */
  readonly credentialName?: string;
  readonly subjectAltNames?: readonly string[];
  readonly sni?: string;
  readonly insecureSkipVerify?: boolean;
  readonly caCrl?: string;
}

export type SimpleLB = 'UNSPECIFIED' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'LEAST_CONN';

export interface ConsistentHashLB {
  readonly httpHeaderName?: string;
  readonly httpCookie?: { readonly name: string; readonly path?: string; readonly ttl?: Duration };
  readonly useSourceIp?: boolean;
  readonly httpQueryParameterName?: string;
  readonly ringHash?: { readonly minimumRingSize?: number };
  readonly maglev?: { readonly tableSize?: number };
  readonly minimumRingSize?: number;
}

export interface LocalityLoadBalancerSetting {
  readonly distribute?: ReadonlyArray<{ readonly from?: string; readonly to?: Record<string, number> }>;
  readonly failover?: ReadonlyArray<{ readonly from?: string; readonly to?: string }>;
  readonly failoverPriority?: readonly string[];
  readonly enabled?: boolean;
}

export interface LoadBalancerSettings {
  readonly simple?: SimpleLB;
  readonly consistentHash?: ConsistentHashLB;
  readonly localityLbSetting?: LocalityLoadBalancerSetting;
  readonly warmupDurationSecs?: Duration;
}

export interface ConnectionPoolSettings {
  readonly tcp?: {
    readonly maxConnections?: number;
    readonly connectTimeout?: Duration;
    readonly tcpKeepalive?: { readonly probes?: number; readonly time?: Duration; readonly interval?: Duration };
    readonly maxConnectionDuration?: Duration;
  };
  readonly http?: {
    readonly http1MaxPendingRequests?: number;
    readonly http2MaxRequests?: number;
    readonly maxRequestsPerConnection?: number;
    readonly maxRetries?: number;
    readonly idleTimeout?: Duration;
    readonly h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    readonly useClientProtocol?: boolean;
    readonly maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  readonly consecutiveErrors?: number;
  readonly splitExternalLocalOriginErrors?: boolean;
  readonly consecutiveLocalOriginFailures?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly consecutive5xxErrors?: number;
  readonly interval?: Duration;
  readonly baseEjectionTime?: Duration;
  readonly maxEjectionPercent?: number;
  readonly minHealthPercent?: number;
}

export interface PortTrafficPolicy {
  readonly port?: PortSelector;
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTLSSettings;
}

export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancerSettings;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTLSSettings;
  readonly portLevelSettings?: readonly PortTrafficPolicy[];
  readonly tunnel?: { readonly protocol?: string; readonly targetHost: string; readonly targetPort: number };
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
  readonly workloadSelector?: WorkloadSelector;
}

// ─── networking.istio.io: ServiceEntry / WorkloadEntry ─────────────────────────────────────────────

export type ServiceEntryLocation = 'MESH_EXTERNAL' | 'MESH_INTERNAL';
export type ServiceEntryResolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';

export interface ServicePort {
  readonly number: number;
  readonly protocol?: string;
  readonly name: string;
  readonly targetPort?: number;
}

export interface WorkloadEntrySpec {
  /** IP, hostname (DNS resolution) or unix:///path. */
  readonly address?: string;
  /** Service port name -> endpoint port. */
  readonly ports?: Record<string, number>;
  readonly labels?: Labels;
  readonly network?: string;
  readonly locality?: string;
  readonly weight?: number;
  readonly serviceAccount?: string;
}

export interface ServiceEntrySpec {
  readonly hosts: readonly string[];
  readonly addresses?: readonly string[];
  readonly ports?: readonly ServicePort[];
  readonly location?: ServiceEntryLocation;
  readonly resolution?: ServiceEntryResolution;
  readonly endpoints?: readonly WorkloadEntrySpec[];
  readonly workloadSelector?: { readonly labels?: Labels };
  /** ".", "*", "~" (nobody) or namespace names; empty means visible everywhere. */
  readonly exportTo?: readonly string[];
  readonly subjectAltNames?: readonly string[];
}

// ─── security.istio.io ─────────────────────────────────────────────────────────────────────────────

export type MutualTlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationMutualTLS {
  readonly mode?: MutualTlsMode;
}

export interface PeerAuthenticationSpec {
  readonly selector?: WorkloadSelector;
  readonly mtls?: PeerAuthenticationMutualTLS;
  /** Port number (as a string key, proto3 JSON map) -> mode; only with a selector. */
  readonly portLevelMtls?: Record<string, PeerAuthenticationMutualTLS>;
}

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthorizationSource {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
}

export interface AuthorizationOperation {
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  readonly ports?: readonly string[];
  readonly notPorts?: readonly string[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

export interface AuthorizationCondition {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

export interface AuthorizationRule {
  readonly from?: ReadonlyArray<{ readonly source?: AuthorizationSource }>;
  readonly to?: ReadonlyArray<{ readonly operation?: AuthorizationOperation }>;
  readonly when?: readonly AuthorizationCondition[];
}

export interface AuthorizationPolicySpec {
  readonly selector?: WorkloadSelector;
  readonly action?: AuthorizationAction;
  /** Only with action CUSTOM: the extension provider name. */
  readonly provider?: { readonly name?: string };
  readonly rules?: readonly AuthorizationRule[];
}

// ─── Kubernetes Secret / Namespace, Isthmus MeshConfig ─────────────────────────────────────────────

export interface MeshCaSettings {
  /** Default lifetime of workload certificates (Istio DEFAULT_WORKLOAD_CERT_TTL), e.g. "24h". */
  readonly workloadCertTtl?: string;
  /** Longest lifetime a CSR may ask for (Istio MAX_WORKLOAD_CERT_TTL), e.g. "2160h". */
  readonly maxWorkloadCertTtl?: string;
}

export interface MeshConfigSpec {
  readonly trustDomain?: string;
  readonly network?: string;
  /** "" (off), "/dev/stdout" or a file path, as Istio's meshConfig.accessLogFile. */
  readonly accessLogFile?: string;
  readonly ca?: MeshCaSettings;
  /** Istio PILOT_SKIP_VALIDATE_TRUST_DOMAIN: accept peers whose SPIFFE trust domain differs. */
  readonly skipValidateTrustDomain?: boolean;
  /** Istio VERIFY_CERTIFICATE_AT_CLIENT: verify upstream TLS against the OS roots when no CA is given. */
  readonly verifyCertificateAtClient?: boolean;
  /** Extra root certificates (PEM text, one or more certificates each) trusted for peer identities. */
  readonly extraTrustedRoots?: readonly string[];
  /** Istio's meshConfig.pathNormalization: how proxies normalize request paths before authorization and routing. */
  readonly pathNormalization?: PathNormalization;
  /**
   * Istio's meshConfig.caCertificates: roots of other trust domains the mesh trusts (federation). Each
   * entry's roots verify only identities of its trustDomains, never the mesh's own or another's.
   */
  readonly caCertificates?: readonly MeshCaCertificate[];
}

/** One meshConfig.caCertificates entry (Istio's CertificateData): PEM roots and the trust domains they sign for. */
export interface MeshCaCertificate {
  readonly pem?: string;
  readonly trustDomains?: readonly string[];
  /** Istio's other sources of roots; not supported (validation says so). */
  readonly spiffeBundleUrl?: string;
  readonly certSigners?: readonly string[];
}

/** Istio's ProxyPathNormalization values; DEFAULT (or unset) is BASE. */
export type PathNormalizationMode = 'DEFAULT' | 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';
export interface PathNormalization {
  readonly normalization?: PathNormalizationMode;
}

export type GatewayResource = SpecResource<'Gateway', GatewaySpec>;
export type VirtualServiceResource = SpecResource<'VirtualService', VirtualServiceSpec>;
export type DestinationRuleResource = SpecResource<'DestinationRule', DestinationRuleSpec>;
export type ServiceEntryResource = SpecResource<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntryResource = SpecResource<'WorkloadEntry', WorkloadEntrySpec>;
export type PeerAuthenticationResource = SpecResource<'PeerAuthentication', PeerAuthenticationSpec>;
export type AuthorizationPolicyResource = SpecResource<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type MeshConfigResource = SpecResource<'MeshConfig', MeshConfigSpec>;

export interface SecretResource extends ResourceBase<'Secret'> {
  /** "Opaque", "kubernetes.io/tls", ...; absent means Opaque. */
  readonly type?: string;
  /** Values base64-encoded, as Kubernetes stores them. */
  readonly data?: Record<string, string>;
  /** Values as plain text; win over `data` for the same key, as in Kubernetes. */
  readonly stringData?: Record<string, string>;
}

export type NamespaceResource = ResourceBase<'Namespace'>;

// ─── Kubernetes Service ────────────────────────────────────────────────────────────────────────────

/** A port of a Kubernetes Service (core/v1 ServicePort); nodePort is accepted and has no effect. */
export interface KubernetesServicePort {
  readonly name?: string;
  /** TCP (default), UDP or SCTP. */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** Istio reads the port's protocol from here first (http, http2, grpc, kubernetes.io/h2c, ...). */
  readonly appProtocol?: string;
  readonly port: number;
  /** The pod's port: a number, or the name of a container port; defaults to `port`. */
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

/**
 * The fields of a Kubernetes Service that make a mesh service: its ports and the labels of the pods
 * (proxies) that serve it. type, clusterIP and the other networking fields are accepted and ignored.
 */
export interface KubernetesServiceSpec {
  readonly ports?: readonly KubernetesServicePort[];
  readonly selector?: Labels;
  readonly type?: string;
  readonly clusterIP?: string;
}

export type ServiceResource = SpecResource<'Service', KubernetesServiceSpec>;

/** Every kind the loader accepts. */
export type IstioResource =
  | GatewayResource
  | VirtualServiceResource
  | DestinationRuleResource
  | ServiceEntryResource
  | WorkloadEntryResource
  | PeerAuthenticationResource
  | AuthorizationPolicyResource
  | SecretResource
  | NamespaceResource
  | ServiceResource
  | MeshConfigResource;

export type ResourceOfKind<K extends ResourceKind> = Extract<IstioResource, { kind: K }>;

// ─── Loading and validation results ────────────────────────────────────────────────────────────────

export type ConfigErrorCode =
  /** The text is not YAML/JSON. */
  | 'YAML_SYNTAX'
  /** A document is not a Kubernetes-style object (apiVersion/kind/metadata.name). */
  | 'INVALID_OBJECT'
  /** A known kind with an apiVersion Isthmus does not serve. */
  | 'UNSUPPORTED_VERSION'
  /** A kind Isthmus does not use (a warning: the document is skipped). */
  | 'IGNORED_KIND'
  /** Istio's (or our) schema: types, enums, unknown fields, oneOf. */
  | 'SCHEMA'
  /** Istio's semantic validation rules. */
  | 'SEMANTIC'
  /** The same kind/namespace/name twice, or two MeshConfigs. */
  | 'DUPLICATE'
  /** A file or directory could not be read. */
  | 'READ_FAILED';

/** One problem in the config, with everything needed to find and fix it. */
export interface ConfigError {
  readonly severity: 'error' | 'warning';
  readonly code: ConfigErrorCode;
  /** File (or "<stdin>", or whatever name the caller gave the text). */
  readonly source: string;
  /** 1-based document index in a multi-document file. */
  readonly document?: number;
  readonly line?: number;
  readonly column?: number;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  /** "Gateway eastwestgateway.istio-ingress" when kind and name are known. */
  readonly resource?: string;
  /** Field path inside the document, e.g. "spec.servers[0].tls.mode". */
  readonly path?: string;
  readonly message: string;
  /** What to change. */
  readonly fix?: string;
}

/** A document of a kind Isthmus does not use (Deployment, IstioOperator, ...). */
export interface IgnoredResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly origin: SourceLocation;
  readonly reason: string;
}

export interface LoadResult {
  /** Resources that passed schema and semantic validation. */
  readonly resources: IstioResource[];
  /** Problems that rejected a document (severity "error"). */
  readonly errors: ConfigError[];
  /** Problems that did not (ignored kinds, deprecated forms). */
  readonly warnings: ConfigError[];
  readonly ignored: IgnoredResource[];
}

// ─── Snapshot ──────────────────────────────────────────────────────────────────────────────────────

export interface ResolvedMeshConfig {
  readonly trustDomain: string;
  readonly network: string;
  readonly accessLogFile: string;
  readonly ca: {
    readonly workloadCertTtl: string;
    readonly workloadCertTtlMs: number;
    readonly maxWorkloadCertTtl: string;
    readonly maxWorkloadCertTtlMs: number;
  };
  readonly skipValidateTrustDomain: boolean;
  readonly verifyCertificateAtClient: boolean;
  readonly extraTrustedRoots: readonly string[];
  /** The MeshConfig resource the values came from, if any. */
  readonly source?: MeshConfigResource;
}

/** An immutable, typed view of one consistent set of config; collections sorted by namespace then name. */
export interface ConfigSnapshot {
  /** Content hash of all resources: equal config gives an equal version. */
  readonly version: string;
  readonly gateways: readonly GatewayResource[];
  readonly virtualServices: readonly VirtualServiceResource[];
  readonly destinationRules: readonly DestinationRuleResource[];
  readonly serviceEntries: readonly ServiceEntryResource[];
  readonly workloadEntries: readonly WorkloadEntryResource[];
  readonly peerAuthentications: readonly PeerAuthenticationResource[];
  readonly authorizationPolicies: readonly AuthorizationPolicyResource[];
  readonly secrets: readonly SecretResource[];
  readonly namespaces: readonly NamespaceResource[];
  /** Kubernetes Services: mesh services whose endpoints are the connected proxies their selector matches. */
  readonly services: readonly ServiceResource[];
  /** Every namespace named by a Namespace or used by a resource, sorted. */
  readonly namespaceNames: readonly string[];
  readonly meshConfig: ResolvedMeshConfig;
}

// ─── Analysis ──────────────────────────────────────────────────────────────────────────────────────

export type AnalysisLevel = 'Error' | 'Warning' | 'Info';

/** One istioctl-analyze-style finding; a plain object so it serialises as is for -o json|yaml. */
export interface AnalysisMessage {
  /** Istio's code (IST0101, ...) where Istio has the check; ISM0xxx for Isthmus' own. */
  readonly code: string;
  /** Istio's message type name, e.g. "ReferencedResourceNotFound". */
  readonly type: string;
  readonly level: AnalysisLevel;
  /** "Kind name.namespace". */
  readonly resource: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly message: string;
  /** Field the finding is about, e.g. "spec.gateways[0]". */
  readonly path?: string;
  /** File, document and the line of `path` (or of the resource) when the resource came from a file. */
  readonly origin?: SourceLocation;
  readonly documentationUrl?: string;
}

/** A gateway proxy that exists (or will): used to check Gateway selectors and secret namespaces. */
export interface GatewayWorkload {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
}

export interface AnalyzeOptions {
  /** When given, Gateway selectors that match none of these are reported. */
  readonly gatewayWorkloads?: readonly GatewayWorkload[];
  /** Hosts that exist outside the config (Kubernetes services, registered proxies' services). */
  readonly knownHosts?: readonly string[];
  /** Cluster domain used to expand short host names ("reviews" -> reviews.<ns>.svc.<suffix>). */
  readonly domainSuffix?: string;
  /** Only report messages about resources in this namespace (istioctl analyze -n). */
  readonly namespace?: string;
  /** Names of analyzers to run (all when absent); see `ANALYZERS`. */
  readonly analyzers?: readonly string[];
}
