/**
 * Outbound config of a sidecar: a listener per HTTP service port (0.0.0.0_<port>, RDS route "<port>")
 * whose virtual hosts are the services on that port, routed by the VirtualServices bound to "mesh";
 * a tcp_proxy listener per TCP service port (on the service address when it has one); TLS ports
 * shared on 0.0.0.0 are told apart by SNI.
 */
import type { AccessLogConfig, FilterChain, Listener, Route, RouteConfiguration, VirtualHost } from '../../envoy/index.js';
import { httpConnectionManager, tcpProxy, TLS_INSPECTOR } from './filters.js';
import { hostMatches, isWildcard } from './hosts.js';
import { buildHttpRoutes, defaultRetryPolicy, sortVirtualHostRoutes } from './http-routes.js';
import type { RouteContext } from './http-routes.js';
import { clusterName, listenerName, virtualHostName } from './names.js';
import { isHttpProtocol, isTlsProtocol } from './protocol.js';
import type { RegistryService } from './registry.js';
import { l4Matches, tcpProxyForRoute } from './tcp-routes.js';
import { MESH_GATEWAY } from './virtual-services.js';
import type { BoundVirtualService } from './virtual-services.js';
import type { WarningSink } from './warnings.js';

export interface SidecarContext {
  readonly routes: RouteContext;
  readonly virtualServices: readonly BoundVirtualService[];
  readonly services: readonly RegistryService[];
  readonly domainSuffix: string;
  readonly accessLog?: AccessLogConfig[];
  readonly warn: WarningSink;
  /** false with an HTTP proxy port: the per-port HTTP listeners are reached through it, not bound (bind_to_port: false). */
  readonly bindHttpListeners?: boolean;
  /** Auto-allocated VIPs (DNS_AUTO_ALLOCATE): HTTP ports of a service on one also get a `<vip>_<port>` listener. */
  readonly vips?: ReadonlySet<string>;
}

const WILDCARD = '0.0.0.0';
const MESH = new Set([MESH_GATEWAY]);

/** The names a client in the proxy's namespace may use for a service: FQDN, shorter Kubernetes forms, VIPs; each with :port. */
export function sidecarDomains(service: RegistryService, port: number, proxyNamespace: string, domainSuffix: string): string[] {
  const names = [service.hostname];
  const suffix = `.svc.${domainSuffix}`;
  if (service.hostname.endsWith(suffix)) {
    const [name = '', ns = ''] = service.hostname.slice(0, -suffix.length).split('.');
    names.push(`${name}.${ns}.svc`, `${name}.${ns}`);
    if (ns === proxyNamespace) names.push(name);
  }
  names.push(...service.addresses.filter((a) => !a.includes('/')));
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

function defaultRoute(host: string, port: number): Route {
  return { name: 'default', match: { prefix: '/' }, route: { cluster: clusterName(port, host), timeout: '0s', retry_policy: defaultRetryPolicy() } };
}

function meshVirtualServices(ctx: SidecarContext): BoundVirtualService[] {
  return ctx.virtualServices.filter((vs) => vs.gateways.includes(MESH_GATEWAY));
}

export function buildSidecarRoute(ctx: SidecarContext, port: number): RouteConfiguration {
  const onPort = ctx.services.filter((s) => s.ports.some((p) => p.number === port && isHttpProtocol(p.protocol)));
  // Exact names by lookup, wildcard services by scan: matching every VirtualService host against every
  // service was quadratic. Candidates keep their order in onPort, so the result is unchanged.
  const byName = new Map<string, number[]>();
  const wildcard: number[] = [];
  onPort.forEach((svc, i) => {
    if (isWildcard(svc.hostname)) wildcard.push(i);
    else byName.set(svc.hostname, [...(byName.get(svc.hostname) ?? []), i]);
  });
  const servicesMatching = (host: string): RegistryService[] => {
    if (isWildcard(host)) return onPort.filter((svc) => hostMatches(host, svc.hostname));
    const indices = [...(byName.get(host) ?? []), ...wildcard.filter((i) => hostMatches(host, (onPort[i] as RegistryService).hostname))];
    return indices.sort((a, b) => a - b).map((i) => onPort[i] as RegistryService);
  };
  const taken = new Set<string>();
  const vhosts: VirtualHost[] = [];
  for (const vs of meshVirtualServices(ctx)) {
    const routes = buildHttpRoutes(ctx.routes, vs, port, MESH);
    if (routes.length === 0) continue;
    for (const host of vs.hosts) {
      const matched = servicesMatching(host);
      for (const s of matched) {
        if (taken.has(s.hostname)) continue;
        taken.add(s.hostname);
        vhosts.push({ name: virtualHostName(s.hostname, port), domains: sidecarDomains(s, port, ctx.routes.proxy.namespace, ctx.domainSuffix), routes: sortVirtualHostRoutes(routes) });
      }
      // Hosts outside the registry are routable on port 80 only, as in Istio.
      if (matched.length === 0 && port === 80 && !taken.has(host)) {
        taken.add(host);
        vhosts.push({ name: virtualHostName(host, port), domains: host === '*' ? ['*'] : [host, `${host}:${port}`], routes: sortVirtualHostRoutes(routes) });
      }
    }
  }
  for (const s of onPort) {
    if (taken.has(s.hostname)) continue;
    taken.add(s.hostname);
    vhosts.push({ name: virtualHostName(s.hostname, port), domains: sidecarDomains(s, port, ctx.routes.proxy.namespace, ctx.domainSuffix), routes: [defaultRoute(s.hostname, port)] });
  }
  vhosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { name: String(port), virtual_hosts: vhosts, validate_clusters: false };
}

/** VirtualService tls routes for a TLS service port: one chain per SNI match, as Istio's sidecar outbound TLS. */
function tlsFilterChains(ctx: SidecarContext, service: RegistryService, port: number): FilterChain[] {
  const chains: FilterChain[] = [];
  for (const vs of meshVirtualServices(ctx)) {
    if (!vs.hosts.some((h) => hostMatches(h, service.hostname))) continue;
    for (const tls of vs.resource.spec.tls ?? []) {
      if (!tls.route?.length) continue;
      for (const match of tls.match ?? []) {
        if (!l4Matches(match, vs, MESH, port, ctx.routes)) continue;
        chains.push({ filter_chain_match: { server_names: [...match.sniHosts] }, filters: [tcpProxyForRoute(ctx.routes, tls.route, vs, port, ctx.accessLog)] });
      }
    }
  }
  return chains;
}

function tcpFilterChain(ctx: SidecarContext, service: RegistryService, port: number): FilterChain {
  for (const vs of meshVirtualServices(ctx)) {
    if (!vs.hosts.some((h) => hostMatches(h, service.hostname))) continue;
    for (const tcp of vs.resource.spec.tcp ?? []) {
      if (!tcp.route?.length) continue;
      const matches = tcp.match ?? [];
      if (matches.length > 0 && !matches.some((m) => l4Matches(m, vs, MESH, port, ctx.routes))) continue;
      return { filters: [tcpProxyForRoute(ctx.routes, tcp.route, vs, port, ctx.accessLog)] };
    }
  }
  const cluster = clusterName(port, service.hostname);
  return { filters: [tcpProxy(cluster, cluster, ctx.accessLog)] };
}

function listener(bind: string, port: number, chains: FilterChain[], bindToPort = true): Listener {
  const sni = chains.some((c) => c.filter_chain_match?.server_names?.length);
  return {
    name: listenerName(bind, port),
    address: { socket_address: { address: bind, port_value: port } },
    traffic_direction: 'OUTBOUND',
    ...(bindToPort ? {} : { bind_to_port: false }),
    ...(sni ? { listener_filters: [TLS_INSPECTOR] } : {}),
    filter_chains: chains,
  };
}

export function buildSidecarOutbound(ctx: SidecarContext): { listeners: Listener[]; routes: RouteConfiguration[] } {
  const httpPorts = new Set<number>();
  const tcpListeners = new Map<string, { bind: string; port: number; chains: FilterChain[]; sni: boolean }>();
  for (const s of ctx.services) {
    for (const p of s.ports) {
      if (isHttpProtocol(p.protocol)) httpPorts.add(p.number);
    }
  }
  for (const s of ctx.services) {
    for (const p of s.ports) {
      if (isHttpProtocol(p.protocol) || p.protocol === 'UDP' || s.resolution === 'NONE') continue;
      const bind = s.addresses.find((a) => !a.includes('/')) ?? WILDCARD;
      const key = listenerName(bind, p.number);
      const tls = isTlsProtocol(p.protocol) && bind === WILDCARD;
      if (bind === WILDCARD && httpPorts.has(p.number)) {
        ctx.warn(s.source, `port ${p.number} of ${s.hostname} is ${p.protocol} but ${key} already serves HTTP; not routed`);
        continue;
      }
      const routed = tls ? tlsFilterChains(ctx, s, p.number) : [];
      const chain = tcpFilterChain(ctx, s, p.number);
      const chains = tls ? (routed.length > 0 ? routed : [{ ...chain, filter_chain_match: { server_names: [s.hostname] } }]) : [chain];
      const existing = tcpListeners.get(key);
      if (!existing) {
        tcpListeners.set(key, { bind, port: p.number, chains, sni: tls });
      } else if (tls && existing.sni) {
        const known = new Set(existing.chains.flatMap((c) => c.filter_chain_match?.server_names ?? []));
        existing.chains.push(...chains.filter((c) => !(c.filter_chain_match?.server_names ?? []).some((n) => known.has(n))));
      } else {
        ctx.warn(s.source, `listener ${key} already proxies another service; ${s.hostname}:${p.number} needs an address of its own`);
      }
    }
  }
  // A client that resolved a name to its VIP (the proxy's DNS) connects to <vip>:<port>: without iptables
  // to redirect it, the sidecar listens there, with the port's routes.
  const vipHttp = new Map<string, { vip: string; port: number }>();
  for (const s of ctx.services) {
    const vip = s.addresses[0];
    if (vip === undefined || !ctx.vips?.has(vip)) continue;
    for (const p of s.ports) if (isHttpProtocol(p.protocol)) vipHttp.set(listenerName(vip, p.number), { vip, port: p.number });
  }
  const listeners = [
    ...[...vipHttp.values()].map(({ vip, port }) =>
      listener(vip, port, [{ filters: [httpConnectionManager({ statPrefix: `outbound_${vip}_${port}`, rds: String(port), ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}) })] }]),
    ),
    ...[...httpPorts].map((port) =>
      listener(WILDCARD, port, [{ filters: [httpConnectionManager({ statPrefix: `outbound_${WILDCARD}_${port}`, rds: String(port), ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}) })] }], ctx.bindHttpListeners ?? true),
    ),
    ...[...tcpListeners.values()].map((l) => listener(l.bind, l.port, l.chains)),
  ];
  const routes = [...httpPorts].sort((a, b) => a - b).map((port) => buildSidecarRoute(ctx, port));
  return { listeners, routes };
}
