import type { ResourceKind } from './types.js';

/**
 * The kinds the loader accepts, by API group, with the versions Istio serves for each. All versions of a
 * kind share one spec (Istio's v1alpha3, v1beta1 and v1 are the same protos), so validation is per kind.
 */
export interface KindInfo {
  readonly kind: ResourceKind;
  readonly group: string;
  readonly versions: readonly string[];
  readonly namespaced: boolean;
}

const NETWORKING_VERSIONS = ['v1alpha3', 'v1beta1', 'v1'] as const;
const SECURITY_VERSIONS = ['v1beta1', 'v1'] as const;

export const KINDS: readonly KindInfo[] = [
  { kind: 'Gateway', group: 'networking.istio.io', versions: NETWORKING_VERSIONS, namespaced: true },
  { kind: 'VirtualService', group: 'networking.istio.io', versions: NETWORKING_VERSIONS, namespaced: true },
  { kind: 'DestinationRule', group: 'networking.istio.io', versions: NETWORKING_VERSIONS, namespaced: true },
  { kind: 'ServiceEntry', group: 'networking.istio.io', versions: NETWORKING_VERSIONS, namespaced: true },
  { kind: 'WorkloadEntry', group: 'networking.istio.io', versions: NETWORKING_VERSIONS, namespaced: true },
  { kind: 'PeerAuthentication', group: 'security.istio.io', versions: SECURITY_VERSIONS, namespaced: true },
  { kind: 'AuthorizationPolicy', group: 'security.istio.io', versions: SECURITY_VERSIONS, namespaced: true },
  { kind: 'Secret', group: '', versions: ['v1'], namespaced: true },
  { kind: 'Namespace', group: '', versions: ['v1'], namespaced: false },
  { kind: 'Service', group: '', versions: ['v1'], namespaced: true },
  { kind: 'MeshConfig', group: 'isthmus.io', versions: ['v1alpha1'], namespaced: false },
];

/** Istio groups whose other kinds we recognise, so that ignoring them says "not supported" rather than "unknown". */
const ISTIO_GROUPS = new Set(['networking.istio.io', 'security.istio.io', 'telemetry.istio.io', 'extensions.istio.io', 'install.istio.io']);

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export type KindLookup =
  | { readonly status: 'supported'; readonly info: KindInfo; readonly version: string }
  | { readonly status: 'unsupported-version'; readonly info: KindInfo; readonly version: string }
  | { readonly status: 'ignored'; readonly reason: string };

export function lookupKind(apiVersion: string, kind: string): KindLookup {
  const { group, version } = splitApiVersion(apiVersion);
  const info = KINDS.find((k) => k.kind === kind && k.group === group);
  if (info) {
    return info.versions.includes(version)
      ? { status: 'supported', info, version }
      : { status: 'unsupported-version', info, version };
  }
  if (ISTIO_GROUPS.has(group)) {
    return { status: 'ignored', reason: `${kind} (${apiVersion}) is not supported by Isthmus and has no effect` };
  }
  return { status: 'ignored', reason: `${kind} (${apiVersion}) is not an Isthmus config kind; it is ignored` };
}

export function apiVersionsOf(info: KindInfo): string[] {
  return info.versions.map((v) => (info.group ? `${info.group}/${v}` : v));
}
