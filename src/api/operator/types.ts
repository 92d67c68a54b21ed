/**
 * What Isthmus reads from an IstioOperator (install.istio.io/v1alpha1): the components it can run on
 * this machine, resolved from the profile, the components list and meshConfig. Everything here is plain
 * data, so that an install plan can be computed, compared and stored without running anything.
 */
import type { Issue } from '../paths.js';
import type { MeshConfigSpec } from '../types.js';

export type OperatorProfile = 'default' | 'minimal' | 'empty' | 'demo';
export type GatewayKind = 'ingressgateway' | 'egressgateway';

/** Pilot env vars Isthmus honours, as the control plane's flags. */
export interface PilotSettings {
  /** PILOT_FILTER_GATEWAY_CLUSTER_CONFIG -> --filter-gateway-cluster-config */
  readonly filterGatewayClusterConfig: boolean;
  /** VERIFY_CERTIFICATE_AT_CLIENT -> --verify-certificate-at-client */
  readonly verifyCertificateAtClient: boolean;
  /** PILOT_SKIP_VALIDATE_TRUST_DOMAIN -> --skip-validate-trust-domain */
  readonly skipValidateTrustDomain: boolean;
}

export interface OperatorControlPlane {
  /** The namespace of istiod (spec.namespace, default istio-system). */
  readonly namespace: string;
  readonly trustDomain: string;
  readonly pilot: PilotSettings;
  /** The isthmus.io MeshConfig to apply (only the fields the document set); undefined when none. */
  readonly meshConfig: MeshConfigSpec | undefined;
  /**
   * meshConfig.defaultConfig.proxyMetadata with ISTIO_META_ stripped, as the agent turns ISTIO_META_X
   * into node metadata X: every proxy of this revision gets it.
   */
  readonly proxyMetadata: Readonly<Record<string, string>>;
}

export interface OperatorServicePort {
  readonly name: string;
  readonly port: number;
  /** The container port the proxy listens on. */
  readonly targetPort: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

export interface OperatorGateway {
  readonly kind: GatewayKind;
  readonly name: string;
  readonly namespace: string;
  /** Pod labels: app=<name>, istio=<kind>, istio.io/rev=<rev>, then `label:` as written. */
  readonly labels: Readonly<Record<string, string>>;
  /** Node metadata from k8s.env ISTIO_META_* (prefix stripped), e.g. ROUTER_MODE=sni-dnat. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly service: { readonly type: string; readonly ports: readonly OperatorServicePort[] };
}

/** One IstioOperator, read and resolved. `issues` holds warnings and errors (error unless `warning`). */
export interface OperatorInstall {
  /** metadata.name ("installed-state" when absent, as istioctl names it). */
  readonly name: string;
  /** "" for the default revision. */
  readonly revision: string;
  readonly profile: OperatorProfile;
  readonly controlPlane: OperatorControlPlane | undefined;
  readonly gateways: readonly OperatorGateway[];
  readonly issues: readonly Issue[];
}

export interface ReadOperatorOptions {
  /** `-r REV`; must agree with spec.revision when both are given. */
  readonly revision?: string;
}
