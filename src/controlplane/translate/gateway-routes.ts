/**
 * Route configurations of a gateway proxy, one per RDS name (Istio's buildGatewayHTTPRouteConfig):
 * for each server, the routes of the VirtualServices bound to its Gateway, in a virtual host per host
 * the server and VirtualService share, named <host>:<server port>.
 */
import type { RouteConfiguration, VirtualHost } from '../../envoy/index.js';
import type { MergedGateway } from './gateway-merge.js';
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
  // As Istio's gateways: the Host header's port never decides the virtual host.
  return { name: routeName, virtual_hosts: virtualHosts, validate_clusters: false, ignore_port_in_host_matching: true };
}

export function buildGatewayRoutes(ctx: RouteContext, merged: MergedGateway, virtualServices: readonly BoundVirtualService[]): RouteConfiguration[] {
  return [...merged.serversByRouteName.keys()].sort().map((name) => buildGatewayRoute(ctx, merged, virtualServices, name));
}
