import { KINDS } from '../../api/index.js';

/** The names kubectl accepts for a kind: Kind, singular, plural and short names, each optionally with its group. */
export interface KindNames {
  readonly kind: string;
  readonly group: string;
  readonly namespaced: boolean;
  readonly singular: string;
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly versions: readonly string[];
}

// The short names of Istio's CRDs and of Kubernetes' core kinds.
const SHORT_NAMES: Record<string, readonly string[]> = {
  Gateway: ['gw'],
  VirtualService: ['vs'],
  DestinationRule: ['dr'],
  ServiceEntry: ['se'],
  WorkloadEntry: ['we'],
  PeerAuthentication: ['pa'],
  AuthorizationPolicy: ['ap'],
  Namespace: ['ns'],
  Service: ['svc'],
};

function pluralOf(singular: string): string {
  // policy -> policies, entry -> entries, but gateway -> gateways.
  return /[^aeiou]y$/.test(singular) ? `${singular.slice(0, -1)}ies` : `${singular}s`;
}

export const KIND_NAMES: readonly KindNames[] = KINDS.map((info) => {
  const singular = info.kind.toLowerCase();
  return { kind: info.kind, group: info.group, namespaced: info.namespaced, singular, plural: pluralOf(singular), shortNames: SHORT_NAMES[info.kind] ?? [], versions: info.versions };
});

/** "gateways", "gw", "Gateway", "gateways.networking.istio.io" -> Gateway; undefined when unknown. */
export function resolveKind(text: string): KindNames | undefined {
  const lower = text.trim().toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  return KIND_NAMES.find(
    (k) => (group === undefined || group === k.group) && (name === k.singular || name === k.plural || k.shortNames.includes(name)),
  );
}

/** The newest version Isthmus serves for a kind ("networking.istio.io/v1", "v1"). */
export function preferredApiVersion(names: KindNames): string {
  const version = names.versions[names.versions.length - 1] ?? 'v1';
  return names.group ? `${names.group}/${version}` : version;
}

/** kubectl's "type" of a resource in messages: "gateway.networking.istio.io", "secret", "deployment.apps". */
export function resourceType(kind: string, apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  return group ? `${kind.toLowerCase()}.${group}` : kind.toLowerCase();
}

/** The words for --help and errors: "gateways (gw), virtualservices (vs), ...". */
export function describeKinds(): string {
  return KIND_NAMES.map((k) => (k.shortNames.length ? `${k.plural} (${k.shortNames.join(', ')})` : k.plural)).join(', ');
}
