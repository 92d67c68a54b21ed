import type { IstioResource } from '../../api/index.js';
import type { ResourceRef } from './types.js';

export function refOf(resource: IstioResource): ResourceRef {
  return { kind: resource.kind, namespace: resource.metadata.namespace ?? '', name: resource.metadata.name };
}

/** A map key for a ref; kind names never contain "/". */
export function refKey(ref: ResourceRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** "Gateway eastwestgateway.istio-ingress", the way src/api names resources in its errors. */
export function describeRef(ref: ResourceRef): string {
  return ref.namespace ? `${ref.kind} ${ref.name}.${ref.namespace}` : `${ref.kind} ${ref.name}`;
}

export function compareRefs(a: ResourceRef, b: ResourceRef): number {
  return a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
}

// Fields the server or the loader sets; a change in them alone is not a change of the resource.
const SERVER_METADATA = ['resourceVersion', 'generation', 'creationTimestamp', 'uid', 'managedFields', 'selfLink'];

/** The resource without loader and server bookkeeping: what gets stored. */
export function stripBookkeeping(resource: IstioResource): IstioResource {
  const { origin: _origin, ...rest } = resource as IstioResource & { origin?: unknown };
  const metadata: Record<string, unknown> = { ...resource.metadata };
  for (const field of SERVER_METADATA) delete metadata[field];
  return { ...rest, metadata } as unknown as IstioResource;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Content comparison that ignores key order and bookkeeping: decides "unchanged" vs "configured". */
export function sameContent(a: IstioResource, b: IstioResource): boolean {
  return JSON.stringify(canonical(stripBookkeeping(a))) === JSON.stringify(canonical(stripBookkeeping(b)));
}
