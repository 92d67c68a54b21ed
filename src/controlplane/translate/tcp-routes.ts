/** VirtualService tls and tcp routes to tcp_proxy filters, and their statically evaluated matches. */
import type { AccessLogConfig, TypedExtension } from '../../envoy/index.js';
import { tcpProxy } from './filters.js';
import { destinationCluster } from './http-routes.js';
import type { RouteContext } from './http-routes.js';
import type { L4MatchAttributes, RouteDestination } from './input.js';
import { labelsMatch } from './scope.js';
import { resolveGatewayName } from './virtual-services.js';
import type { BoundVirtualService } from './virtual-services.js';

/** Port, gateways, source labels and namespace of an L4 match, checked at generation time. */
export function l4Matches(match: L4MatchAttributes | undefined, vs: BoundVirtualService, gateways: ReadonlySet<string>, port: number, ctx: RouteContext): boolean {
  if (!match) return true;
  const gatewayOk = !match.gateways?.length || match.gateways.some((g) => gateways.has(resolveGatewayName(g, vs.namespace)));
  const portOk = match.port === undefined || match.port === port;
  const nsOk = match.sourceNamespace === undefined || match.sourceNamespace === ctx.proxy.namespace;
  return gatewayOk && portOk && nsOk && labelsMatch(match.sourceLabels, ctx.proxy.labels);
}

/** One destination: its cluster; several: weighted clusters (zero weights dropped). */
export function tcpProxyForRoute(ctx: RouteContext, routes: readonly RouteDestination[], vs: BoundVirtualService, port: number, accessLog?: AccessLogConfig[]): TypedExtension {
  if (routes.length === 1 && routes[0]) {
    const cluster = destinationCluster(ctx, routes[0].destination, vs.namespace, port);
    return tcpProxy(cluster, cluster, accessLog);
  }
  const weighted = routes
    .filter((r) => (r.weight ?? 0) > 0)
    .map((r) => ({ name: destinationCluster(ctx, r.destination, vs.namespace, port), weight: r.weight ?? 0 }));
  return tcpProxy(`${vs.name}.${vs.namespace}`, weighted, accessLog);
}
