/**
 * translate(snapshot, proxy, options): the Envoy resources one proxy gets (Istio's ConfigGenerator for
 * one push). Pure: the same input gives the same output, byte for byte, with a content version per type.
 */
import type { ClusterLoadAssignment, Listener, RouteConfiguration } from '../../envoy/index.js';
import { buildClusters } from './clusters.js';
import type { ClusterContext, ClusterSet } from './clusters.js';
import { destinationRuleFor } from './destination-rule.js';
import { allocateVips, blackHoleCluster, buildDnsListener, buildNameTable, dnsSettings, DNS_VIP_PREFIX, withVips } from './dns.js';
import type { DestinationRuleIndex } from './destination-rule.js';
import { toEnvoyDuration } from './durations.js';
import type { XdsCluster } from './envoy-ext.js';
import { accessLogs, withPathNormalization } from './filters.js';
import { buildGatewayListeners } from './gateway-listeners.js';
import { mergeGateways, selectGateways } from './gateway-merge.js';
import { buildGatewayRoutes } from './gateway-routes.js';
import { healthClusters, healthListeners } from './health.js';
import type { RouteContext } from './http-routes.js';
import type { ConfigSnapshot, MeshConfigSpec, ProxyNode, TranslateOptions } from './input.js';
import { buildProxyless } from './proxyless.js';
import { referencedClusters, referencedSecrets } from './references.js';
import { buildServiceRegistry, visibleServices } from './registry.js';
import type { RegistryService } from './registry.js';
import { buildHttpProxyListener, buildHttpProxyRoute, httpProxyPort } from './http-proxy.js';
import { buildSidecarOutbound } from './sidecar.js';
import type { SidecarContext } from './sidecar.js';
import { buildSidecarInbound } from './sidecar-inbound.js';
import { buildAuthorization, withAuthorization } from './authorization.js';
import type { AuthorizationContext } from './authorization.js';
import { DEFAULT_SYSTEM_CA_BUNDLE } from './tls.js';
import { contentVersion } from './version.js';
import { bindVirtualServices } from './virtual-services.js';
import { buildVmResources, vmOptionsFromMetadata } from './vm.js';
import type { TranslateWarning, WarningSink } from './warnings.js';

export interface ResourceVersions {
  readonly listeners: string;
  readonly routes: string;
  readonly clusters: string;
  readonly endpoints: string;
  readonly secrets: string;
}

export interface TranslateResult {
  readonly listeners: Listener[];
  readonly routes: RouteConfiguration[];
  readonly clusters: XdsCluster[];
  readonly endpoints: ClusterLoadAssignment[];
  /** SDS secret names the resources reference (kubernetes://<credentialName>, default, ROOTCA, ...). */
  readonly secrets: string[];
  readonly warnings: TranslateWarning[];
  readonly versions: ResourceVersions;
}

export function meshConfigOf(snapshot: ConfigSnapshot): MeshConfigSpec {
  const mc = snapshot.meshConfig;
  if (!mc) return {};
  if ('spec' in mc && mc.spec) return mc.spec;
  // The api's resolved mesh config fills in defaults (trust domain cluster.local) and drops fields it does not
  // resolve (caCertificates, pathNormalization): translation reads the resource as written, so that an unset
  // trust domain stays unset and the CA's (options.trustDomain) applies.
  if (isResolvedMeshConfig(mc)) return mc.source?.spec ?? {};
  return mc as MeshConfigSpec;
}

function isResolvedMeshConfig(mc: object): mc is { source?: { spec?: MeshConfigSpec } } {
  return typeof (mc as { ca?: { workloadCertTtlMs?: unknown } }).ca?.workloadCertTtlMs === 'number';
}

const byName = <T extends { name?: string }>(a: T, b: T): number => ((a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0);

interface Built {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: ClusterSet;
}

function authorizationContext(snapshot: ConfigSnapshot, proxy: ProxyNode, ctx: ClusterContext, mesh: MeshConfigSpec, warn: WarningSink): AuthorizationContext {
  return { policies: snapshot.authorizationPolicies ?? [], proxy, rootNamespace: mesh.rootNamespace ?? 'istio-system', trustDomain: ctx.trustDomain, warn };
}

function translateRouter(snapshot: ConfigSnapshot, proxy: ProxyNode, services: RegistryService[], ctx: ClusterContext, routeCtx: RouteContext, options: TranslateOptions, mesh: MeshConfigSpec, warn: WarningSink): Built {
  const merged = mergeGateways(selectGateways(snapshot, proxy), proxy, warn);
  if (merged.ports.length === 0) warn('proxy', `no Gateway selects labels ${JSON.stringify(proxy.labels ?? {})} of ${proxy.id}`);
  const virtualServices = bindVirtualServices(snapshot, proxy.namespace, routeCtx.domainSuffix);
  const ruleFor = (s: RegistryService) => destinationRuleFor(ctx.drIndex, proxy, s.hostname, s.namespace);
  const log = accessLogs(mesh);
  const gatewayListeners = buildGatewayListeners({ routes: routeCtx, virtualServices, services, ruleFor, ...(log ? { accessLog: log } : {}), warn }, merged);
  const { passthroughTargets } = gatewayListeners;
  const authz = buildAuthorization(authorizationContext(snapshot, proxy, ctx, mesh, warn));
  const listeners = gatewayListeners.listeners.map((l) => withAuthorization(l, authz));
  const routes = buildGatewayRoutes(routeCtx, merged, virtualServices);
  let clusters = buildClusters(ctx, services);
  if (options.filterGatewayClusterConfig) {
    // PILOT_FILTER_GATEWAY_CLUSTER_CONFIG: only what this gateway's routes and tcp proxies use.
    const used = referencedClusters(listeners, routes);
    clusters = { clusters: clusters.clusters.filter((c) => used.has(c.name)), endpoints: clusters.endpoints.filter((e) => used.has(e.cluster_name ?? '')) };
  }
  // AUTO_PASSTHROUGH targets get SNI-named clusters, without TLS: the client's mTLS goes through.
  const sniHosts = new Set(passthroughTargets.map((t) => t.sni));
  const targetServices = [...new Set(passthroughTargets.map((t) => t.service))];
  const sni = buildClusters(ctx, targetServices, 'sni-dnat');
  clusters.clusters.push(...sni.clusters.filter((c) => sniHosts.has(c.name)));
  clusters.endpoints.push(...sni.endpoints.filter((e) => sniHosts.has(e.cluster_name ?? '')));
  return { listeners, routes, clusters };
}

function translateSidecar(snapshot: ConfigSnapshot, proxy: ProxyNode, services: RegistryService[], ctx: ClusterContext, routeCtx: RouteContext, options: TranslateOptions, mesh: MeshConfigSpec, warn: WarningSink): Built {
  const virtualServices = bindVirtualServices(snapshot, proxy.namespace, routeCtx.domainSuffix);
  const log = accessLogs(mesh);
  const proxyPort = httpProxyPort(proxy.metadata);
  // DNS_CAPTURE / DNS_AUTO_ALLOCATE: VIPs over the whole mesh (the same on every proxy), the name table for this one.
  const dns = dnsSettings(proxy.metadata);
  const vips = dns.autoAllocate ? allocateVips(routeCtx.registry.services) : new Map<string, string>();
  const outboundServices = vips.size > 0 ? withVips(services, vips) : services;
  const sidecarCtx: SidecarContext = {
    routes: routeCtx, virtualServices, services: outboundServices, domainSuffix: routeCtx.domainSuffix, ...(log ? { accessLog: log } : {}), warn,
    bindHttpListeners: proxyPort === undefined, ...(vips.size > 0 ? { vips: new Set(vips.values()) } : {}),
  };
  const { listeners, routes } = buildSidecarOutbound(sidecarCtx);
  if (dns.capture) listeners.push(buildDnsListener(buildNameTable(outboundServices, proxy.namespace, routeCtx.domainSuffix), dns.port));
  if (vips.size > 0 && proxy.ip === undefined) {
    // Without a pod IP, 0.0.0.0_<port> binds the wildcard address, which a <vip>_<port> listener's port then cannot share.
    const vipPorts = new Set(listeners.filter((l) => l.address.socket_address.address.startsWith(`${DNS_VIP_PREFIX}.`)).map((l) => l.address.socket_address.port_value));
    for (const [i, l] of listeners.entries()) {
      const port = l.address.socket_address.port_value;
      if (l.address.socket_address.address !== '0.0.0.0' || l.bind_to_port === false || !vipPorts.has(port)) continue;
      listeners[i] = { ...l, bind_to_port: false };
      warn('proxy', `${proxy.id} has no pod IP (--ip); ${l.name} is not bound so that the VIP listeners on port ${port} can be`);
    }
  }
  if (proxyPort !== undefined) {
    listeners.push(buildHttpProxyListener(sidecarCtx, proxyPort));
    routes.push(buildHttpProxyRoute(sidecarCtx));
  }
  const inbound = buildSidecarInbound({
    proxy,
    services,
    peerAuthentications: snapshot.peerAuthentications ?? [],
    rootNamespace: mesh.rootNamespace ?? 'istio-system',
    trustDomain: ctx.trustDomain,
    federatedTrustDomains: federatedTrustDomains(mesh, options, ctx.trustDomain),
    skipValidateTrustDomain: options.skipValidateTrustDomain ?? false,
    connectTimeout: ctx.connectTimeout,
    ...(log ? { accessLog: log } : {}),
    warn,
  });
  // An outbound listener on 0.0.0.0 and an inbound one on the same port cannot both bind (also not under
  // the proxy's pod IP): serving the workload comes first, the outbound one is not bound (bind_to_port: false).
  const inboundPorts = new Set(inbound.listeners.map((l) => l.address.socket_address.port_value));
  for (const [i, l] of listeners.entries()) {
    const port = l.address.socket_address.port_value;
    if (l.bind_to_port === false || l.address.socket_address.address !== '0.0.0.0' || !inboundPorts.has(port)) continue;
    listeners[i] = { ...l, bind_to_port: false };
    warn('proxy', `port ${port} is an inbound port of this workload; the outbound listener ${l.name} is not bound${proxyPort === undefined ? '' : ' (HTTP services stay reachable through the HTTP proxy)'}`);
  }
  const authz = buildAuthorization(authorizationContext(snapshot, proxy, ctx, mesh, warn));
  listeners.push(...inbound.listeners.map((l) => withAuthorization(l, authz)));
  const clusters = buildClusters(ctx, services);
  clusters.clusters.push(...inbound.clusters);
  if (dns.capture) clusters.clusters.push(blackHoleCluster());
  return { listeners, routes, clusters };
}

/** The other trust domains whose identities inbound mTLS accepts: the control plane's and the mesh config's. */
function federatedTrustDomains(mesh: MeshConfigSpec, options: TranslateOptions, own: string): string[] {
  const fromMesh = (mesh.caCertificates ?? []).filter((c) => c.pem).flatMap((c) => c.trustDomains ?? []);
  return [...new Set([...(options.federatedTrustDomains ?? []), ...fromMesh])].filter((td) => td !== own).sort();
}

/** Node metadata in which `isthmus proxy` reports its admin address (ip:port). */
export const ADMIN_ADDRESS_METADATA = 'ISTHMUS_ADMIN_ADDRESS';

/** Where the proxy's admin listens, as `isthmus proxy` reports it; Envoy's default otherwise. */
function adminAddressOf(proxy: ProxyNode): { address: string; port: number } | undefined {
  const value = proxy.metadata?.[ADMIN_ADDRESS_METADATA];
  const m = value ? /^(.+):(\d+)$/.exec(value) : null;
  return m ? { address: m[1] as string, port: Number(m[2]) } : undefined;
}

function translateProxyless(snapshot: ConfigSnapshot, proxy: ProxyNode, services: RegistryService[], ctx: ClusterContext, routeCtx: RouteContext): Built {
  const virtualServices = bindVirtualServices(snapshot, proxy.namespace, routeCtx.domainSuffix);
  return buildProxyless({ routes: routeCtx, clusters: ctx, virtualServices, services });
}

/** A VM joined with `isthmus vm join --xds`: the same listener and clusters as its static bootstrap, with SDS certificates. */
function translateVm(proxy: ProxyNode, services: RegistryService[], warn: WarningSink): Built | undefined {
  const vm = vmOptionsFromMetadata(proxy.metadata, proxy.namespace, services);
  if (!vm) return undefined;
  const built = buildVmResources(vm);
  for (const e of built.errors) warn('proxy', `${proxy.id}: ${e}`);
  return { listeners: built.listeners, routes: [], clusters: { clusters: built.clusters as XdsCluster[], endpoints: [] } };
}

function translateFor(snapshot: ConfigSnapshot, proxy: ProxyNode, services: RegistryService[], ctx: ClusterContext, routeCtx: RouteContext, options: TranslateOptions, mesh: MeshConfigSpec, warn: WarningSink): Built {
  const vm = translateVm(proxy, services, warn);
  if (vm) return vm;
  if (proxy.type === 'proxyless') return translateProxyless(snapshot, proxy, services, ctx, routeCtx);
  const built = proxy.type === 'router'
    ? translateRouter(snapshot, proxy, services, ctx, routeCtx, options, mesh, warn)
    : translateSidecar(snapshot, proxy, services, ctx, routeCtx, options, mesh, warn);
  // Gateways, sidecar inbound and outbound, the HTTP proxy listener: every HCM normalizes paths alike.
  return { ...built, listeners: built.listeners.map((l) => withPathNormalization(l, mesh)) };
}

export function translate(snapshot: ConfigSnapshot, proxy: ProxyNode, options: TranslateOptions = {}): TranslateResult {
  const warnings: TranslateWarning[] = [];
  const warn: WarningSink = (resource, message) => warnings.push({ resource, message });
  const mesh = meshConfigOf(snapshot);
  const domainSuffix = options.domainSuffix ?? 'cluster.local';
  const registry = buildServiceRegistry(snapshot, options);
  warnings.push(...registry.warnings);
  const services = visibleServices(registry, proxy.namespace);
  const drIndex: DestinationRuleIndex = { rules: snapshot.destinationRules ?? [], rootNamespace: mesh.rootNamespace ?? 'istio-system', domainSuffix };
  const ctx: ClusterContext = {
    proxy,
    drIndex,
    trustDomain: mesh.trustDomain ?? options.trustDomain ?? 'cluster.local',
    connectTimeout: toEnvoyDuration(mesh.connectTimeout) ?? '10s',
    dnsRefreshRate: toEnvoyDuration(mesh.dnsRefreshRate) ?? '60s',
    trust: {
      verifyCertificateAtClient: options.verifyCertificateAtClient ?? mesh.verifyCertificateAtClient ?? false,
      systemCaBundlePath: options.systemCaBundlePath ?? DEFAULT_SYSTEM_CA_BUNDLE,
      ...(options.systemCaBundlePem !== undefined ? { systemCaBundlePem: options.systemCaBundlePem } : {}),
      extraTrustedRoots: options.extraTrustedRoots ?? mesh.extraTrustedRoots ?? [],
    },
    enableAutoSni: options.enableAutoSni ?? true,
    enableAutoMtls: mesh.enableAutoMtls ?? true,
    warn,
  };
  const routeCtx: RouteContext = { proxy, registry, domainSuffix, ...(mesh.defaultHttpRetryPolicy ? { defaultRetry: mesh.defaultHttpRetryPolicy } : {}) };

  const built = translateFor(snapshot, proxy, services, ctx, routeCtx, options, mesh, warn);
  const listeners = built.listeners;
  const clusters: XdsCluster[] = built.clusters.clusters;
  // A gRPC library has no admin port to probe: no health listeners for proxyless clients.
  // A VM proxy serves only the listener its operator asked for (its admin port is its own).
  const isVm = vmOptionsFromMetadata(proxy.metadata, proxy.namespace, []) !== undefined;
  if (proxy.type !== 'proxyless' && !isVm && (options.healthListeners ?? true)) {
    const taken = new Set(listeners.map((l) => l.address.socket_address.port_value));
    for (const l of healthListeners(proxy.portMap)) {
      if (taken.has(l.address.socket_address.port_value)) warn('proxy', `port ${l.address.socket_address.port_value} is used by a server; the standard ${l.name} listener is not added`);
      else listeners.push(l);
    }
    clusters.push(...healthClusters(options.adminAddress ?? adminAddressOf(proxy) ?? { address: '127.0.0.1', port: 15000 }));
  }

  listeners.sort(byName);
  const routes = built.routes.sort(byName);
  clusters.sort(byName);
  const endpoints = built.clusters.endpoints.sort((a, b) => ((a.cluster_name ?? '') < (b.cluster_name ?? '') ? -1 : (a.cluster_name ?? '') > (b.cluster_name ?? '') ? 1 : 0));
  const secrets = referencedSecrets([listeners, clusters]);
  return {
    listeners,
    routes,
    clusters,
    endpoints,
    secrets,
    warnings,
    // Hashing every resource is about half of translation's cost and the ADS snapshot hashes the
    // encoded bytes anyway: compute these versions only when someone asks.
    get versions() {
      return {
        listeners: contentVersion(listeners),
        routes: contentVersion(routes),
        clusters: contentVersion(clusters),
        endpoints: contentVersion(endpoints),
        secrets: contentVersion(secrets),
      };
    },
  };
}
