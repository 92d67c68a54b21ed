/**
 * Istio's naming of xDS resources: cluster keys, SNI names of AUTO_PASSTHROUGH, listener, route and
 * virtual host names, and the config paths put in metadata for istioctl.
 */
import type { Metadata } from './envoy-ext.js';

export type TrafficDirection = 'outbound' | 'inbound';

/** Istio's subset key, the cluster name: outbound|<port>|<subset>|<host>. */
export function clusterName(port: number, host: string, subset = '', direction: TrafficDirection = 'outbound'): string {
  return `${direction}|${port}|${subset}|${host}`;
}

/**
 * The DNS-safe form of the subset key (Istio's BuildDNSSrvSubsetKey): outbound_.<port>_.<subset>_.<host>.
 * Clients put it in the SNI to reach <host> through an AUTO_PASSTHROUGH gateway.
 */
export function sniClusterName(port: number, host: string, subset = '', direction: TrafficDirection = 'outbound'): string {
  return `${direction}_.${port}_.${subset}_.${host}`;
}

export interface ParsedClusterName {
  readonly direction: string;
  readonly port: number;
  readonly subset: string;
  readonly host: string;
}

/** Parses either form of the subset key; undefined for other names (e.g. "agent"). */
export function parseClusterName(name: string): ParsedClusterName | undefined {
  const pipes = name.split('|');
  if (pipes.length === 4) {
    const [direction = '', port = '', subset = '', host = ''] = pipes;
    return { direction, port: Number(port), subset, host };
  }
  const srv = /^([a-z-]+)_\.(\d+)_\.(.*?)_\.(.+)$/.exec(name);
  if (srv) return { direction: srv[1] ?? '', port: Number(srv[2]), subset: srv[3] ?? '', host: srv[4] ?? '' };
  return undefined;
}

export function listenerName(bind: string, port: number): string {
  return `${bind}_${port}`;
}

/** Plain HTTP gateway servers share one route per (target) port. */
export function gatewayHttpRouteName(port: number): string {
  return `http.${port}`;
}

/** Each TLS-terminating HTTPS server has its own route, named after the server's own port. */
export function gatewayHttpsRouteName(servicePort: number, portName: string, gatewayName: string, gatewayNamespace: string): string {
  return `https.${servicePort}.${portName}.${gatewayName}.${gatewayNamespace}`;
}

export function virtualHostName(host: string, port: number): string {
  return `${host}:${port}`;
}

export type ConfigKind = 'virtual-service' | 'destination-rule' | 'gateway' | 'service-entry';

/** The path Istio writes in metadata and istioctl turns back into "<name>.<namespace>". */
export function configPath(kind: ConfigKind, namespace: string, name: string): string {
  return `/apis/networking.istio.io/v1alpha3/namespaces/${namespace}/${kind}/${name}`;
}

export function configMetadata(kind: ConfigKind, namespace: string, name: string, extra: Record<string, unknown> = {}): Metadata {
  return { filter_metadata: { istio: { config: configPath(kind, namespace, name), ...extra } } };
}

/** The SDS resource name of a Kubernetes Secret named by credentialName. */
export function credentialSecretName(credentialName: string): string {
  return credentialName.includes('://') ? credentialName : `kubernetes://${credentialName}`;
}

/** The SDS name of the CA bundle of a credential (Istio's "-cacert" suffix). */
export function credentialCaSecretName(credentialName: string): string {
  return `${credentialSecretName(credentialName)}-cacert`;
}

/** The workload certificate and mesh root Istio proxies get over SDS. */
export const SDS_DEFAULT = 'default';
export const SDS_ROOTCA = 'ROOTCA';

export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}
