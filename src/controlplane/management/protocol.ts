/**
 * The management API's wire format (HTTP/JSON under /v1), shared by the server and the typed client.
 * Config problems travel as StoreProblem: file, document, line, resource and field path, and a fix.
 */
import type { AnalysisMessage, IstioResource } from '../../api/index.js';
import type { StoreProblem } from '../store/index.js';

export const API_PREFIX = '/v1';

/** Where `isthmus` looks for a control plane when neither --server, --context nor ISTHMUS_SERVER says. */
export const DEFAULT_MANAGEMENT_URL = 'http://127.0.0.1:15014';

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly hint?: string };
  /** Every config problem when a request was refused because of its content. */
  readonly problems?: readonly StoreProblem[];
}

/** A resource named the way kubectl prints it, plus what happened to it. */
export interface ResultItem {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly action: 'created' | 'configured' | 'unchanged' | 'deleted' | 'ignored';
  /** Why, for "ignored" (a Deployment, an IstioOperator: not config this control plane uses). */
  readonly reason?: string;
}

export interface ApplyResponse {
  /** Store revision after the request (unchanged when nothing changed, or on a dry run). */
  readonly revision: number;
  readonly dryRun: boolean;
  readonly results: readonly ResultItem[];
  readonly warnings: readonly StoreProblem[];
}

/** A resource named by kind (any alias: "gw", "gateways", "Gateway"), namespace and name. */
export interface RefInput {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface DeleteRequest {
  readonly resources: readonly RefInput[];
  /** Namespace for namespaced kinds that name none (the -n flag); "default" when absent. */
  readonly namespace?: string;
  readonly ignoreNotFound?: boolean;
  readonly dryRun?: boolean;
}

export interface DeleteResponse {
  readonly revision: number;
  readonly dryRun: boolean;
  readonly results: readonly ResultItem[];
}

/** A stored resource as kubectl shows it: server fields in metadata. */
export type ResourceView = IstioResource & {
  readonly metadata: IstioResource['metadata'] & { readonly resourceVersion: string; readonly creationTimestamp: string };
};

export interface ResourceItem {
  readonly resource: ResourceView;
  readonly origin: 'api' | 'config-dir';
  readonly source: string;
}

export interface ResourcesResponse {
  readonly revision: number;
  /** The canonical kind asked for, when the query named one. */
  readonly kind?: string;
  readonly items: readonly ResourceItem[];
}

export interface SecretRequest {
  /** generic: keys as given (key/cert/cacert for Istio); tls: tls.crt and tls.key. */
  readonly type: 'generic' | 'tls';
  readonly name: string;
  readonly namespace?: string;
  /** Key -> base64 value. */
  readonly data: Readonly<Record<string, string>>;
  readonly dryRun?: boolean;
}

export interface AnalyzeResponse {
  readonly revision: number;
  readonly snapshotVersion: string;
  readonly messages: readonly AnalysisMessage[];
  /** Current problems of the store's own sources (a broken file in the config dir). */
  readonly problems: readonly StoreProblem[];
}

export interface StatusResponse {
  readonly revision: number;
  readonly snapshotVersion: string;
  readonly resources: number;
  readonly problems: readonly StoreProblem[];
  /** host:port of ADS and of the CSR-signing service (absent when off), for bootstraps written by the CLI. */
  readonly xdsAddress?: string;
  /** ADS over TLS (Istio's 15012), when the control plane serves it. */
  readonly xdsTlsAddress?: string;
  readonly caAddress?: string;
}

export const PROXY_CONFIG_TYPES = ['listeners', 'routes', 'clusters', 'endpoints', 'secret'] as const;
export type ProxyConfigType = (typeof PROXY_CONFIG_TYPES)[number];

export interface CaRootsResponse {
  readonly trustDomain: string;
  /** Trust domain of the VM intermediate's identities. */
  readonly vmTrustDomain: string;
  /** The mesh's trust bundle: the current root first, then roots kept during a rotation. */
  readonly rootsPem: string;
}

export interface IssueCertificateRequest {
  /** mesh (the default): the mesh intermediate; vm: the VM intermediate. */
  readonly authority?: 'mesh' | 'vm';
  readonly spiffeId: string;
  readonly dnsNames?: readonly string[];
  readonly ttlMs?: number;
}

export interface IssueCertificateResponse {
  readonly spiffeId: string;
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  readonly rootsPem: string;
  readonly notAfter: string;
}

export interface IssueTokenRequest {
  /** mesh or vm; by default the authority whose trust domain the SPIFFE id names (vm when both match). */
  readonly authority?: 'mesh' | 'vm';
  readonly spiffeId: string;
  /** Lifetime of the token (1 h when absent); it is only good for the first certificate. */
  readonly ttlMs?: number;
}

export interface IssueTokenResponse {
  readonly spiffeId: string;
  readonly authority: 'mesh' | 'vm';
  readonly token: string;
  readonly expiresAt: string;
}

export interface RotateRootResponse {
  /** SHA-256 fingerprints of the replaced and the new root. */
  readonly previous: string;
  readonly current: string;
  readonly rootsPem: string;
}

/** The CA operations the management API offers (certificates for gateways, VMs and links between meshes). */
export interface CaProvider {
  roots(): CaRootsResponse;
  issue(request: IssueCertificateRequest): Promise<IssueCertificateResponse>;
  rotateRoot(): Promise<RotateRootResponse>;
  /** A bootstrap token for the CA service: its bearer gets one certificate for that identity. */
  token(request: IssueTokenRequest): Promise<IssueTokenResponse>;
}

/** A service of the mesh as the registry holds it (ServiceEntries, Kubernetes Services). */
export interface ServiceView {
  readonly hostname: string;
  readonly namespace: string;
  readonly ports: ReadonlyArray<{ readonly name: string; readonly number: number; readonly protocol: string; readonly targetPort?: number }>;
  readonly resolution: string;
  readonly meshExternal: boolean;
  readonly addresses: readonly string[];
  readonly endpoints: number;
  readonly source: string;
}

export interface ServicesResponse {
  readonly items: readonly ServiceView[];
}

/** Filled in by the xDS side: JSON-serialisable views of connected proxies. */
export interface ManagementProviders {
  readonly ca?: CaProvider;
  /** The service registry as translation sees it. */
  readonly services?: () => readonly ServiceView[];
  /** istioctl proxy-status: one entry per connected proxy. */
  readonly proxyStatus?: () => unknown;
  /** Proxies the xDS server refused lately (another revision): proxy-status prints them under the table. */
  readonly refusedProxies?: () => unknown;
  /** istioctl proxy-config: the Envoy resources last sent to a proxy; undefined when the proxy is unknown. */
  /** Where ADS and the CA service listen. */
  readonly addresses?: () => { readonly xds?: string; readonly xdsTls?: string; readonly ca?: string };
  readonly proxyConfig?: (query: { readonly proxy: string; readonly type: ProxyConfigType }) => unknown;
}
