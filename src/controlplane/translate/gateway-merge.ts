/**
 * The Gateways that select a gateway proxy, merged into one logical gateway (Istio's mergeGateways):
 * servers grouped by the port the proxy listens on (the Service port translated to the container port),
 * RDS route names, and the conflicts Istio rejects (mixed plaintext/TLS ports, duplicate SNI hosts).
 */
import { sanitizeServerHost, stripNamespace } from './hosts.js';
import type { ConfigSnapshot, Gateway, GatewayServer, ProxyNode } from './input.js';
import { gatewayHttpRouteName, gatewayHttpsRouteName } from './names.js';
import { isHttpProtocol, parseProtocol } from './protocol.js';
import { labelsMatch } from './scope.js';
import { resourceRef } from './warnings.js';
import type { WarningSink } from './warnings.js';

export interface MergedServer {
  readonly server: GatewayServer;
  /** Server hosts with "./" and "*\/" resolved. */
  readonly hosts: readonly string[];
  readonly protocol: string;
  /** "<namespace>/<name>" of the owning Gateway, what VirtualServices bind to. */
  readonly gatewayName: string;
  readonly gateway: Gateway;
  /** The port the proxy listens on for this server. */
  readonly listenPort: number;
  readonly routeName?: string;
  /** SNI names of TLS servers (hosts without namespaces, sorted, unique). */
  readonly sniHosts: readonly string[];
}

export interface MergedPort {
  readonly port: number;
  /** Plain (non-TLS) servers: HTTP servers share one route; TCP servers take the port alone. */
  readonly plaintext: boolean;
  readonly protocol: string;
  readonly servers: MergedServer[];
}

export interface MergedGateway {
  readonly ports: readonly MergedPort[];
  readonly serversByRouteName: ReadonlyMap<string, readonly MergedServer[]>;
  readonly gatewayNames: ReadonlySet<string>;
}

/** Gateways whose selector matches the proxy's labels, in any namespace (Istio's default). */
export function selectGateways(snapshot: ConfigSnapshot, proxy: ProxyNode): Gateway[] {
  return (snapshot.gateways ?? []).filter((g) => labelsMatch(g.spec.selector, proxy.labels));
}

export function isPassthrough(server: GatewayServer): boolean {
  return server.tls?.mode === 'PASSTHROUGH' || server.tls?.mode === 'AUTO_PASSTHROUGH';
}

/** HTTP, or HTTPS that terminates TLS: served by an HTTP connection manager with its own route. */
export function isHttpServer(protocol: string, server: GatewayServer): boolean {
  return isHttpProtocol(protocol) || (protocol === 'HTTPS' && server.tls !== undefined && !isPassthrough(server));
}

function isTlsServer(protocol: string, server: GatewayServer): boolean {
  return server.tls !== undefined && !isHttpProtocol(protocol);
}

function routeNameFor(protocol: string, server: GatewayServer, listenPort: number, gateway: Gateway): string | undefined {
  if (isHttpProtocol(protocol)) return gatewayHttpRouteName(listenPort);
  if (protocol === 'HTTPS' && !isPassthrough(server)) {
    return gatewayHttpsRouteName(server.port.number, server.port.name ?? String(server.port.number), gateway.metadata.name, gateway.metadata.namespace ?? 'default');
  }
  return undefined;
}

export function mergeGateways(gateways: readonly Gateway[], proxy: ProxyNode, warn: WarningSink): MergedGateway {
  const ports = new Map<number, MergedPort>();
  const byRoute = new Map<string, MergedServer[]>();
  const tlsHostsByPort = new Map<number, Set<string>>();
  const names = new Set<string>();
  for (const gateway of gateways) {
    const namespace = gateway.metadata.namespace ?? 'default';
    const gatewayName = `${namespace}/${gateway.metadata.name}`;
    const ref = resourceRef('Gateway', namespace, gateway.metadata.name);
    names.add(gatewayName);
    for (const [i, server] of (gateway.spec.servers ?? []).entries()) {
      const protocol = parseProtocol(server.port.protocol, server.port.name);
      const listenPort = proxy.portMap?.[server.port.number] ?? server.port.number;
      const hosts = (server.hosts ?? []).map((h) => sanitizeServerHost(h, namespace));
      const routeName = routeNameFor(protocol, server, listenPort, gateway);
      const sniHosts = server.tls ? [...new Set(hosts.map(stripNamespace))].sort() : [];
      if (server.tls) {
        // Envoy rejects two filter chains with the same SNI match on one listener.
        const known = tlsHostsByPort.get(listenPort) ?? new Set<string>();
        const dup = hosts.filter((h) => known.has(h));
        if (dup.length > 0) {
          warn(ref, `spec.servers[${i}]: host(s) ${dup.join(', ')} already served with TLS on port ${listenPort}; server skipped`);
          continue;
        }
        hosts.forEach((h) => known.add(h));
        tlsHostsByPort.set(listenPort, known);
      }
      const merged: MergedServer = { server, hosts, protocol, gatewayName, gateway, listenPort, ...(routeName ? { routeName } : {}), sniHosts };
      const existing = ports.get(listenPort);
      if (!existing) {
        ports.set(listenPort, { port: listenPort, plaintext: !isTlsServer(protocol, server), protocol, servers: [merged] });
      } else if (existing.plaintext) {
        if (!(isHttpProtocol(existing.protocol) && isHttpProtocol(protocol))) {
          warn(ref, `spec.servers[${i}]: port ${listenPort} already has a ${existing.protocol} server; only HTTP servers share a port; server skipped`);
          continue;
        }
        existing.servers.push(merged);
      } else {
        if (!server.tls) {
          warn(ref, `spec.servers[${i}]: port ${listenPort} serves TLS; a server without tls cannot share it; server skipped`);
          continue;
        }
        if (routeName && byRoute.has(routeName)) {
          warn(ref, `spec.servers[${i}]: HTTPS port name "${server.port.name ?? ''}" is not unique on port ${listenPort}; server skipped`);
          continue;
        }
        existing.servers.push(merged);
      }
      if (routeName && isHttpServer(protocol, server)) byRoute.set(routeName, [...(byRoute.get(routeName) ?? []), merged]);
    }
  }
  return { ports: [...ports.values()].sort((a, b) => a.port - b.port), serversByRouteName: byRoute, gatewayNames: names };
}
