/**
 * Route configurations of a gateway proxy, one per RDS name (Istio's buildGatewayHTTPRouteConfig):
 * for each server, the routes of the VirtualServices bound to its Gateway, in a virtual host per host
 * the server and VirtualService share, named <host>:<server port>.
 */
import type { RouteConfiguration, VirtualHost } from '../../envoy/index.js';
import { isHttpServer } from './gateway-merge.js';
import type { MergedGateway, MergedServer } from './gateway-merge.js';
import { hostsForNamespace, intersectHosts } from './hosts.js';
import { buildHttpRoutes, sortVirtualHostRoutes } from './http-routes.js';
import type { RouteContext } from './http-routes.js';
import { virtualHostName } from './names.js';
import type { BoundVirtualService } from './virtual-services.js';
import { virtualServicesForGateway } from './virtual-services.js';

/**
 * The host itself and host:port. Istio sets ignore_port_in_host_matching instead; listing the port
 * variant gives the same match without that field.
 */
export function gatewayDomains(host: string, port: number): string[] {
  return host === '*' ? ['*'] : [host, `${host}:${port}`];
}

export function buildGatewayRoute(ctx: RouteContext, merged: MergedGateway, virtualServices: readonly BoundVirtualService[], routeName: string): RouteConfiguration {
  const servers = merged.serversByRouteName.get(routeName) ?? [];
  const vhosts = new Map<string, VirtualHost>();
  for (const s of servers) {
    const port = s.server.port.number;
    const redirect = s.server.tls?.httpsRedirect === true;
    for (const vs of virtualServicesForGateway(virtualServices, s.gatewayName)) {
      const hosts = intersectHosts(hostsForNamespace(s.hosts, vs.namespace), vs.hosts);
      if (hosts.length === 0) continue;
      const routes = buildHttpRoutes(ctx, vs, port, new Set([s.gatewayName]));
      if (routes.length === 0) continue;
      for (const host of hosts.map((h) => h.toLowerCase())) {
        const existing = vhosts.get(host);
        if (existing) existing.routes = [...(existing.routes ?? []), ...routes];
        else vhosts.set(host, { name: virtualHostName(host, port), domains: gatewayDomains(host, port), routes: [...routes] });
        if (redirect) (vhosts.get(host) as VirtualHost).require_tls = 'ALL';
      }
    }
    // An httpsRedirect server redirects its hosts even without a VirtualService.
    if (redirect) {
      for (const host of hostsForNamespace(s.hosts, s.gateway.metadata.namespace ?? 'default').map((h) => h.toLowerCase())) {
        if (!vhosts.has(host)) vhosts.set(host, { name: virtualHostName(host, port), domains: gatewayDomains(host, port), routes: [], require_tls: 'ALL' });
      }
    }
  }
  let virtualHosts: VirtualHost[];
  if (vhosts.size === 0) {
    // No route: an empty catch-all virtual host answers 404, as Istio's blackhole vhost.
    const port = servers[0]?.server.port.number ?? 0;
    virtualHosts = [{ name: virtualHostName('blackhole', port), domains: ['*'], routes: [] }];
  } else {
    virtualHosts = [...vhosts.values()].map((v) => ({ ...v, routes: sortVirtualHostRoutes(v.routes ?? []) }));
    virtualHosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  const misdirected = misdirectedVirtualHost(merged, servers, virtualHosts);
  if (misdirected) virtualHosts.push(misdirected);
  // As Istio's gateways: the Host header's port never decides the virtual host.
  return { name: routeName, virtual_hosts: virtualHosts, validate_clusters: false, ignore_port_in_host_matching: true };
}

/**
 * 421 Misdirected Request for TLS-terminating servers (HTTP/2 connection coalescing): a request that
 * arrived on the filter chain one server's SNI chose, for a host that another server on the same port
 * serves, is answered 421 so the client retries on a connection of its own, whose SNI picks the right
 * chain (RFC 9113 9.1.2; Gateway API GEP-3567: 421 when another listener matches the host, 404 when none
 * does). Envoy has no field for it; like Contour, the route configuration carries it.
 */
function misdirectedVirtualHost(merged: MergedGateway, servers: readonly MergedServer[], own: readonly VirtualHost[]): VirtualHost | undefined {
  const first = servers[0];
  if (!first || first.sniHosts.length === 0 || first.sniHosts.includes('*')) return undefined;
  const port = first.listenPort;
  const taken = new Set(own.flatMap((v) => v.domains));
  const mine = new Set(servers.flatMap((s) => s.sniHosts));
  const others = new Set<string>();
  for (const s of merged.ports.find((p) => p.port === port)?.servers ?? []) {
    if (servers.includes(s) || !isHttpServer(s.protocol, s.server)) continue;
    for (const host of s.sniHosts) if (host !== '*' && !mine.has(host) && !taken.has(host)) others.add(host);
  }
  if (others.size === 0) return undefined;
  const domains = [...others].sort().flatMap((h) => gatewayDomains(h, first.server.port.number));
  return {
    name: virtualHostName('misdirected', first.server.port.number),
    domains,
    routes: [{ match: { prefix: '/' }, direct_response: { status: 421, body: { inline_string: 'misdirected request' } } }],
  };
}

export function buildGatewayRoutes(ctx: RouteContext, merged: MergedGateway, virtualServices: readonly BoundVirtualService[]): RouteConfiguration[] {
  return [...merged.serversByRouteName.keys()].sort().map((name) => buildGatewayRoute(ctx, merged, virtualServices, name));
}
