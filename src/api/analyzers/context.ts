/** What every analyzer gets, and the lookups several of them share. */
import { resolveHost, selectorMatches } from '../hosts.js';
import type { FieldPath } from '../paths.js';
import type {
  AnalysisMessage,
  AnalyzeOptions,
  ConfigSnapshot,
  Destination,
  GatewayResource,
  GatewayWorkload,
  ServiceEntryResource,
  VirtualServiceResource,
} from '../types.js';

export interface AnalysisContext {
  readonly snapshot: ConfigSnapshot;
  readonly options: AnalyzeOptions;
  readonly domainSuffix: string;
}

export interface Analyzer {
  /** Stable name, used by AnalyzeOptions.analyzers. */
  readonly name: string;
  readonly description: string;
  analyze(context: AnalysisContext): AnalysisMessage[];
}

export interface DestinationUse {
  readonly destination: Destination;
  /** Path of the destination object, e.g. spec.http[0].route[1].destination. */
  readonly path: FieldPath;
  /** Gateways ("mesh" or Gateway references) whose proxies use this route. */
  readonly gateways: readonly string[];
}

/** A route applies to its matches' gateways when every match names some, else to the VirtualService's. */
function routeGateways(vs: VirtualServiceResource, matches: ReadonlyArray<{ readonly gateways?: readonly string[] }> | undefined): readonly string[] {
  if (matches && matches.length > 0 && matches.every((m) => (m.gateways ?? []).length > 0)) {
    return [...new Set(matches.flatMap((m) => m.gateways ?? []))];
  }
  return vs.spec.gateways && vs.spec.gateways.length > 0 ? vs.spec.gateways : ['mesh'];
}

/** Every destination a VirtualService sends traffic to (routes and mirrors); ones without a host are validation's job. */
export function destinationsOf(vs: VirtualServiceResource): DestinationUse[] {
  const out: DestinationUse[] = [];
  vs.spec.http?.forEach((http, i) => {
    const gateways = routeGateways(vs, http.match);
    http.route?.forEach((r, j) => r.destination?.host && out.push({ destination: r.destination, path: ['spec', 'http', i, 'route', j, 'destination'], gateways }));
    if (http.mirror?.host) out.push({ destination: http.mirror, path: ['spec', 'http', i, 'mirror'], gateways });
  });
  for (const kind of ['tls', 'tcp'] as const) {
    vs.spec[kind]?.forEach((route, i) => {
      const gateways = routeGateways(vs, route.match);
      route.route?.forEach((r, j) => r.destination?.host && out.push({ destination: r.destination, path: ['spec', kind, i, 'route', j, 'destination'], gateways }));
    });
  }
  return out;
}

export interface GatewayReference {
  /** As written in the VirtualService. */
  readonly ref: string;
  readonly namespace: string;
  readonly name: string;
  readonly path: FieldPath;
}

/**
 * Gateway references of a VirtualService (spec.gateways and match-level gateways), resolved as Istio
 * does: "name" is in the VirtualService's namespace, "ns/name" is explicit, and the legacy
 * "name.ns.svc.cluster.local" form names ns/name. "mesh" is not a Gateway resource and is skipped.
 */
export function gatewayReferences(vs: VirtualServiceResource): GatewayReference[] {
  const refs: Array<{ ref: string; path: FieldPath }> = [];
  vs.spec.gateways?.forEach((ref, i) => refs.push({ ref, path: ['spec', 'gateways', i] }));
  vs.spec.http?.forEach((http, i) => http.match?.forEach((m, j) => m.gateways?.forEach((ref, k) => refs.push({ ref, path: ['spec', 'http', i, 'match', j, 'gateways', k] }))));
  for (const kind of ['tls', 'tcp'] as const) {
    vs.spec[kind]?.forEach((route, i) => route.match?.forEach((m, j) => m.gateways?.forEach((ref, k) => refs.push({ ref, path: ['spec', kind, i, 'match', j, 'gateways', k] }))));
  }
  return refs.filter(({ ref }) => ref !== 'mesh').map(({ ref, path }) => ({ ...parseGatewayRef(ref, vs.metadata.namespace), ref, path }));
}

export function parseGatewayRef(ref: string, vsNamespace: string): { namespace: string; name: string } {
  const slash = ref.indexOf('/');
  if (slash >= 0) return { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
  if (ref.includes('.')) {
    const [name, namespace] = ref.split('.') as [string, string];
    return { namespace, name };
  }
  return { namespace: vsNamespace, name: ref };
}

/**
 * Namespaces of the proxies that use a route: exportTo is checked from there. Sidecars ("mesh") are
 * approximated by the VirtualService's own namespace; a gateway's proxies live where its workloads are
 * (when known) or else in the Gateway's namespace.
 */
export function userNamespaces(context: AnalysisContext, vs: VirtualServiceResource, gateways: readonly string[]): string[] {
  const out = new Set<string>();
  for (const ref of gateways) {
    if (ref === 'mesh') {
      out.add(vs.metadata.namespace);
      continue;
    }
    const { namespace, name } = parseGatewayRef(ref, vs.metadata.namespace);
    const gw = context.snapshot.gateways.find((g) => g.metadata.namespace === namespace && g.metadata.name === name);
    const workloads = gw ? workloadsFor(context, gw) : [];
    if (workloads.length > 0) for (const w of workloads) out.add(w.namespace);
    else out.add(namespace);
  }
  return [...out].sort();
}

/** ServiceEntries that define `host` (already resolved to an FQDN), ignoring exportTo. */
export function serviceEntriesFor(context: AnalysisContext, host: string): ServiceEntryResource[] {
  return context.snapshot.serviceEntries.filter((se) =>
    (se.spec.hosts ?? []).some((h) => {
      const seHost = resolveHost(h, se.metadata.namespace, context.domainSuffix);
      return seHost === host || (seHost.startsWith('*') && host.endsWith(seHost.slice(1)));
    }),
  );
}

export function isKnownHost(context: AnalysisContext, host: string): boolean {
  // A Kubernetes Service in the config is a mesh service: <name>.<namespace>.svc.<domain suffix>.
  if ((context.snapshot.services ?? []).some((s) => `${s.metadata.name}.${s.metadata.namespace}.svc.${context.domainSuffix}` === host)) return true;
  return (context.options.knownHosts ?? []).some((h) => {
    const known = h.toLowerCase();
    return known === host || (known.startsWith('*') && host.endsWith(known.slice(1)));
  });
}

/** Gateway workloads the Gateway's selector picks (Istio looks in every namespace by default). */
export function workloadsFor(context: AnalysisContext, gw: GatewayResource): GatewayWorkload[] {
  return (context.options.gatewayWorkloads ?? []).filter((w) => selectorMatches(gw.spec.selector, w.labels));
}
