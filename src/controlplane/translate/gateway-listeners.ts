/**
 * Listeners of a gateway proxy, one per merged port (0.0.0.0_<port>): plain HTTP servers share an HCM on
 * the route http.<port>; TLS-terminating HTTPS servers get a filter chain each (SNI match, their
 * DownstreamTlsContext, route https.<port>.<portName>.<gateway>.<namespace>); TLS passthrough routes by
 * SNI to VirtualService tls routes; AUTO_PASSTHROUGH to every mesh service; TCP servers to tcp routes.
 */
import type { AccessLogConfig, FilterChain, Listener } from '../../envoy/index.js';
import { httpConnectionManager, TLS_INSPECTOR } from './filters.js';
import type { MergedGateway, MergedPort, MergedServer } from './gateway-merge.js';
import { isHttpServer } from './gateway-merge.js';
import { hostMatches, hostsForNamespace } from './hosts.js';
import type { RouteContext } from './http-routes.js';
import type { DestinationRule } from './input.js';
import { listenerName } from './names.js';
import { autoPassthroughFilterChains, autoPassthroughServices, autoPassthroughTargets } from './passthrough.js';
import type { PassthroughTarget } from './passthrough.js';
import { isHttpProtocol } from './protocol.js';
import type { RegistryService } from './registry.js';
import { l4Matches, tcpProxyForRoute } from './tcp-routes.js';
import { buildDownstreamTls, tlsTransportSocket } from './tls.js';
import type { BoundVirtualService } from './virtual-services.js';
import { virtualServicesForGateway } from './virtual-services.js';
import { resourceRef } from './warnings.js';
import type { WarningSink } from './warnings.js';

export interface GatewayListenerContext {
  readonly routes: RouteContext;
  readonly virtualServices: readonly BoundVirtualService[];
  /** Services visible to the gateway's namespace, for AUTO_PASSTHROUGH. */
  readonly services: readonly RegistryService[];
  readonly ruleFor: (service: RegistryService) => DestinationRule | undefined;
  readonly accessLog?: AccessLogConfig[];
  readonly warn: WarningSink;
}

export interface GatewayListeners {
  readonly listeners: Listener[];
  /** AUTO_PASSTHROUGH targets: each needs a cluster named by its SNI. */
  readonly passthroughTargets: PassthroughTarget[];
}

const WILDCARD = '0.0.0.0';

function serverRef(s: MergedServer): string {
  return resourceRef('Gateway', s.gateway.metadata.namespace, s.gateway.metadata.name);
}

/** VirtualServices bound to the server's gateway whose hosts overlap the server's (namespace-scoped) hosts. */
function matchingVirtualServices(ctx: GatewayListenerContext, s: MergedServer): BoundVirtualService[] {
  return virtualServicesForGateway(ctx.virtualServices, s.gatewayName).filter((vs) => {
    const serverHosts = hostsForNamespace(s.hosts, vs.namespace);
    return vs.hosts.some((h) => serverHosts.some((sh) => hostMatches(sh, h)));
  });
}

function serverNames(s: MergedServer): { server_names?: string[] } {
  return s.sniHosts.length > 0 && !s.sniHosts.includes('*') ? { server_names: [...s.sniHosts] } : {};
}

function tlsPassthroughChains(ctx: GatewayListenerContext, s: MergedServer): FilterChain[] {
  const gateways = new Set([s.gatewayName]);
  const chains: FilterChain[] = [];
  const seen = new Set<string>();
  for (const vs of matchingVirtualServices(ctx, s)) {
    for (const tls of vs.resource.spec.tls ?? []) {
      if (!tls.route?.length) continue;
      for (const match of tls.match ?? []) {
        if (!l4Matches(match, vs, gateways, s.server.port.number, ctx.routes)) continue;
        const key = [...match.sniHosts].sort().join(',');
        if (seen.has(key)) {
          ctx.warn(resourceRef('VirtualService', vs.namespace, vs.name), `tls match on SNI ${key} duplicates an earlier one on port ${s.listenPort}; skipped`);
          continue;
        }
        seen.add(key);
        chains.push({
          filter_chain_match: { server_names: [...match.sniHosts] },
          filters: [tcpProxyForRoute(ctx.routes, tls.route, vs, s.server.port.number, ctx.accessLog)],
        });
      }
    }
  }
  return chains;
}

/** Opaque TCP servers (with or without TLS termination): the first matching tcp route. */
function tcpChain(ctx: GatewayListenerContext, s: MergedServer): FilterChain | undefined {
  const gateways = new Set([s.gatewayName]);
  for (const vs of matchingVirtualServices(ctx, s)) {
    for (const tcp of vs.resource.spec.tcp ?? []) {
      if (!tcp.route?.length) continue;
      const matches = tcp.match ?? [];
      if (matches.length > 0 && !matches.some((m) => l4Matches(m, vs, gateways, s.server.port.number, ctx.routes))) continue;
      const tls = buildDownstreamTls(s.server.tls);
      return {
        ...(tls ? { filter_chain_match: serverNames(s), transport_socket: tlsTransportSocket(tls, false) } : {}),
        filters: [tcpProxyForRoute(ctx.routes, tcp.route, vs, s.server.port.number, ctx.accessLog)],
      };
    }
  }
  return undefined;
}

function httpsChain(ctx: GatewayListenerContext, s: MergedServer, port: number): FilterChain {
  const tls = buildDownstreamTls(s.server.tls);
  return {
    filter_chain_match: serverNames(s),
    ...(tls ? { transport_socket: tlsTransportSocket(tls, false) } : {}),
    filters: [httpConnectionManager({ statPrefix: s.server.name ?? `outbound_${WILDCARD}_${port}`, rds: s.routeName ?? '', gateway: true, ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}) })],
  };
}

function portChains(ctx: GatewayListenerContext, mp: MergedPort, targets: PassthroughTarget[]): FilterChain[] {
  const first = mp.servers[0];
  if (mp.plaintext && first && isHttpProtocol(mp.protocol)) {
    return [httpConnectionManagerChain(ctx, mp, first)];
  }
  const chains: FilterChain[] = [];
  for (const s of mp.servers) {
    if (isHttpServer(s.protocol, s.server)) chains.push(httpsChain(ctx, s, mp.port));
    else if (s.server.tls?.mode === 'AUTO_PASSTHROUGH') {
      const found = autoPassthroughTargets(autoPassthroughServices(ctx.services, s.sniHosts), ctx.ruleFor);
      targets.push(...found);
      chains.push(...autoPassthroughFilterChains(found, ctx.accessLog));
    } else if (s.server.tls?.mode === 'PASSTHROUGH') chains.push(...tlsPassthroughChains(ctx, s));
    else {
      const chain = tcpChain(ctx, s);
      if (chain) chains.push(chain);
      else ctx.warn(serverRef(s), `no VirtualService tcp route for the ${s.protocol} server on port ${s.server.port.number}`);
    }
  }
  return chains;
}

function httpConnectionManagerChain(ctx: GatewayListenerContext, mp: MergedPort, first: MergedServer): FilterChain {
  return {
    filters: [httpConnectionManager({ statPrefix: `outbound_${WILDCARD}_${mp.port}`, rds: first.routeName ?? '', gateway: true, ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}) })],
  };
}

export function buildGatewayListeners(ctx: GatewayListenerContext, merged: MergedGateway): GatewayListeners {
  const listeners: Listener[] = [];
  const passthroughTargets: PassthroughTarget[] = [];
  for (const mp of merged.ports) {
    const chains = portChains(ctx, mp, passthroughTargets);
    const name = listenerName(WILDCARD, mp.port);
    if (chains.length === 0) {
      const s = mp.servers[0];
      if (s) ctx.warn(serverRef(s), `listener ${name} has no filter chain; it is not sent`);
      continue;
    }
    // SNI and ALPN are read from the ClientHello by the TLS inspector.
    const needsInspector = chains.some((c) => c.transport_socket || c.filter_chain_match?.server_names?.length || c.filter_chain_match?.application_protocols?.length);
    listeners.push({
      name,
      address: { socket_address: { address: WILDCARD, port_value: mp.port } },
      traffic_direction: 'OUTBOUND',
      ...(needsInspector ? { listener_filters: [TLS_INSPECTOR] } : {}),
      filter_chains: chains,
    });
  }
  return { listeners, passthroughTargets };
}
