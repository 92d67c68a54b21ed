/** A consistent, typed view of a set of resources, with the mesh config resolved to its defaults. */
import { createHash } from 'node:crypto';
import { parseDuration } from '../common/index.js';
import type {
  ConfigSnapshot,
  IstioResource,
  MeshConfigResource,
  ResolvedMeshConfig,
  ResourceKind,
  ResourceOfKind,
} from './types.js';

/** Istio's defaults: trust domain cluster.local, 24h workload certificates, at most 90 days. */
export const MESH_DEFAULTS = {
  trustDomain: 'cluster.local',
  network: '',
  accessLogFile: '',
  workloadCertTtl: '24h',
  maxWorkloadCertTtl: '2160h',
} as const;

function durationOr(value: string | undefined, fallback: string): { text: string; ms: number } {
  if (value !== undefined) {
    try {
      return { text: value, ms: parseDuration(value) };
    } catch {
      // Validation reports bad durations; a snapshot built from unvalidated input keeps the default.
    }
  }
  return { text: fallback, ms: parseDuration(fallback) };
}

export function resolveMeshConfig(resource?: MeshConfigResource): ResolvedMeshConfig {
  const spec = resource?.spec ?? {};
  const ttl = durationOr(spec.ca?.workloadCertTtl, MESH_DEFAULTS.workloadCertTtl);
  const max = durationOr(spec.ca?.maxWorkloadCertTtl, MESH_DEFAULTS.maxWorkloadCertTtl);
  const mesh: ResolvedMeshConfig = {
    trustDomain: spec.trustDomain || MESH_DEFAULTS.trustDomain,
    network: spec.network ?? MESH_DEFAULTS.network,
    accessLogFile: spec.accessLogFile ?? MESH_DEFAULTS.accessLogFile,
    ca: { workloadCertTtl: ttl.text, workloadCertTtlMs: ttl.ms, maxWorkloadCertTtl: max.text, maxWorkloadCertTtlMs: max.ms },
    skipValidateTrustDomain: spec.skipValidateTrustDomain ?? false,
    verifyCertificateAtClient: spec.verifyCertificateAtClient ?? false,
    extraTrustedRoots: spec.extraTrustedRoots ?? [],
  };
  return resource ? { ...mesh, source: resource } : mesh;
}

function compare(a: IstioResource, b: IstioResource): number {
  const x = `${a.metadata.namespace}\u0000${a.metadata.name}`;
  const y = `${b.metadata.namespace}\u0000${b.metadata.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

function ofKind<K extends ResourceKind>(resources: readonly IstioResource[], kind: K): readonly ResourceOfKind<K>[] {
  return Object.freeze(resources.filter((r): r is ResourceOfKind<K> => r.kind === kind).sort(compare));
}

/** JSON with sorted keys, so equal config hashes equally whatever the key order in the files. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && k !== 'origin')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Builds a snapshot from resources that passed validation. Duplicates should have been removed
 * (checkResourceSet); when there are several MeshConfigs, the first by name is used.
 */
export function buildSnapshot(resources: readonly IstioResource[]): ConfigSnapshot {
  const sorted = [...resources].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : compare(a, b)));
  const meshConfigs = ofKind(resources, 'MeshConfig');
  const namespaces = ofKind(resources, 'Namespace');
  const namespaceNames = new Set<string>(namespaces.map((n) => n.metadata.name));
  for (const r of resources) if (r.metadata.namespace) namespaceNames.add(r.metadata.namespace);

  return Object.freeze({
    version: createHash('sha256').update(canonical(sorted)).digest('hex').slice(0, 16),
    gateways: ofKind(resources, 'Gateway'),
    virtualServices: ofKind(resources, 'VirtualService'),
    destinationRules: ofKind(resources, 'DestinationRule'),
    serviceEntries: ofKind(resources, 'ServiceEntry'),
    workloadEntries: ofKind(resources, 'WorkloadEntry'),
    peerAuthentications: ofKind(resources, 'PeerAuthentication'),
    authorizationPolicies: ofKind(resources, 'AuthorizationPolicy'),
    secrets: ofKind(resources, 'Secret'),
    namespaces,
    services: ofKind(resources, 'Service'),
    namespaceNames: Object.freeze([...namespaceNames].sort()),
    meshConfig: resolveMeshConfig(meshConfigs[0]),
  });
}

/** The Secret `name` in `namespace`, as credentialName lookups need it. */
export function findSecret(snapshot: ConfigSnapshot, namespace: string, name: string): ResourceOfKind<'Secret'> | undefined {
  return snapshot.secrets.find((s) => s.metadata.namespace === namespace && s.metadata.name === name);
}

export function findGateway(snapshot: ConfigSnapshot, namespace: string, name: string): ResourceOfKind<'Gateway'> | undefined {
  return snapshot.gateways.find((g) => g.metadata.namespace === namespace && g.metadata.name === name);
}
