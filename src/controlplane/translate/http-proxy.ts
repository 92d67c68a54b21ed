/**
 * Istio's HTTP proxy listener (node metadata HTTP_PROXY_PORT): 127.0.0.1_<port>, an HTTP connection
 * manager that accepts absolute-form requests (`http_proxy=http://127.0.0.1:<port> curl host/path`),
 * routed by the RDS route `http_proxy`: the outbound virtual hosts of every HTTP service port. Each
 * virtual host answers to host:port, and port 80's also to the bare host, as a client's Host header
 * carries the port unless it is the default one.
 */
import type { Listener, RouteConfiguration, VirtualHost } from '../../envoy/index.js';
import { httpConnectionManager } from './filters.js';
import { isHttpProtocol } from './protocol.js';
import { buildSidecarRoute } from './sidecar.js';
import type { SidecarContext } from './sidecar.js';
import { withHcmFields } from './sidecar-inbound.js';

export const HTTP_PROXY_ROUTE = 'http_proxy';
const LOOPBACK = '127.0.0.1';

/** HTTP_PROXY_PORT from the node metadata, when it is a valid port. */
export function httpProxyPort(metadata: Readonly<Record<string, string | undefined>> | undefined): number | undefined {
  const raw = metadata?.HTTP_PROXY_PORT;
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

function forPort(vh: VirtualHost, port: number): string[] {
  const suffix = `:${port}`;
  return vh.domains.filter((d) => d === '*' ? port === 80 : d.endsWith(suffix) || (port === 80 && !/:\d+$/.test(d)));
}

export function buildHttpProxyRoute(ctx: SidecarContext): RouteConfiguration {
  const ports = [...new Set(ctx.services.flatMap((s) => s.ports.filter((p) => isHttpProtocol(p.protocol)).map((p) => p.number)))].sort((a, b) => a - b);
  const taken = new Set<string>();
  const vhosts: VirtualHost[] = [];
  for (const port of ports) {
    for (const vh of buildSidecarRoute(ctx, port).virtual_hosts ?? []) {
      const domains = forPort(vh, port).filter((d) => !taken.has(d));
      if (domains.length === 0) continue;
      for (const d of domains) taken.add(d);
      vhosts.push({ ...vh, domains });
    }
  }
  vhosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { name: HTTP_PROXY_ROUTE, virtual_hosts: vhosts, validate_clusters: false };
}

export function buildHttpProxyListener(ctx: SidecarContext, port: number): Listener {
  const hcm = httpConnectionManager({ statPrefix: `outbound_${LOOPBACK}_${port}`, rds: HTTP_PROXY_ROUTE, ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}) });
  return {
    name: `${LOOPBACK}_${port}`,
    address: { socket_address: { address: LOOPBACK, port_value: port } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [withHcmFields(hcm, { http_protocol_options: { allow_absolute_url: true } })] }],
  };
}
