import { TYPE_URL } from '../../envoy/index.js';

/** The xDS resource types this server serves, by the short names proxy-status prints. */
export const XDS_TYPES = {
  CDS: TYPE_URL.cluster,
  EDS: TYPE_URL.clusterLoadAssignment,
  LDS: TYPE_URL.listener,
  RDS: TYPE_URL.routeConfiguration,
  SDS: TYPE_URL.secret,
} as const;

export type XdsTypeName = keyof typeof XDS_TYPES;
export type XdsTypeUrl = (typeof XDS_TYPES)[XdsTypeName];

/**
 * The order in which changes are pushed, as Envoy wants them for make-before-break: clusters before
 * the endpoints they warm with, both before listeners and routes that reference them, secrets last.
 */
export const PUSH_ORDER: readonly XdsTypeUrl[] = [XDS_TYPES.CDS, XDS_TYPES.EDS, XDS_TYPES.LDS, XDS_TYPES.RDS, XDS_TYPES.SDS];

/** LDS and CDS may be subscribed as a wildcard ("everything for me"); EDS, RDS and SDS only by name. */
export const WILDCARD_CAPABLE: ReadonlySet<string> = new Set([XDS_TYPES.LDS, XDS_TYPES.CDS]);

const SHORT_NAME = new Map<string, XdsTypeName>(Object.entries(XDS_TYPES).map(([name, url]) => [url, name as XdsTypeName]));

export function isXdsTypeUrl(typeUrl: string): typeUrl is XdsTypeUrl {
  return SHORT_NAME.has(typeUrl);
}

export function shortTypeName(typeUrl: string): string {
  return SHORT_NAME.get(typeUrl) ?? typeUrl;
}

/** The name a resource is subscribed by: ClusterLoadAssignment uses cluster_name, the rest name. */
export function resourceNameOf(typeUrl: XdsTypeUrl, resource: Record<string, unknown>): unknown {
  return typeUrl === XDS_TYPES.EDS ? (resource.cluster_name ?? resource.clusterName) : resource.name;
}
