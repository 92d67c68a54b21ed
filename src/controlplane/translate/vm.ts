/**
 * A VM outside the mesh that reaches mesh services through the east-west gateway (the second seed):
 * one HTTP listener on the VM whose routes lead to one cluster per mesh service port, each an mTLS
 * connection to the gateway with SNI `outbound_.<port>_._.<host>` (what AUTO_PASSTHROUGH routes by) and
 * Istio's ALPN. The same generator feeds `isthmus vm join` (a static Envoy bootstrap with certificate
 * files) and the control plane's translation for a VM node over xDS (SDS `default`/`ROOTCA` instead).
 * Pure: no I/O.
 */
import { TYPE_URL } from '../../envoy/index.js';
import type { Bootstrap, Cluster, HttpFilterConfig, Listener, Route, VirtualHost } from '../../envoy/index.js';
import { ADS_CONFIG_SOURCE } from './envoy-ext.js';
import type { XdsCommonTlsContext } from './envoy-ext.js';
import { ROUTER_FILTER } from './filters.js';
import { isHttp2Protocol, isHttpProtocol } from './protocol.js';

/** What the generator needs of a service: the registry's and the management API's views both fit. */
export interface VmServiceInput {
  readonly hostname: string;
  readonly namespace: string;
  readonly ports: ReadonlyArray<{ readonly name: string; readonly number: number; readonly protocol: string }>;
  readonly meshExternal: boolean;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Certificates from files on the VM (static bootstrap), or from SDS (`default`, `ROOTCA`) over ADS. */
export type VmTls =
  | { readonly kind: 'files'; readonly certificateChain: string; readonly privateKey: string; readonly trustedCa: string }
  | { readonly kind: 'sds' };

/** The seed's grpc_json_transcoder: REST on the VM, gRPC to the mesh service. */
export interface VmTranscode {
  /** Service name as --service takes it (fortune-teller, fortune-teller.fortune-teller or the hostname). */
  readonly service: string;
  /** Path of the descriptor set on the VM. */
  readonly descriptor: string;
  /** Fully qualified gRPC services (build.stack.fortune.FortuneTeller). */
  readonly grpcServices: readonly string[];
}

export interface VmJoinOptions {
  readonly services: readonly VmServiceInput[];
  readonly eastWestGateway: HostPort;
  /** The VM's HTTP listener; the seed's 0.0.0.0:8080 by default. */
  readonly listen?: HostPort;
  /** The VM's namespace: short names (`frontend`) resolve in it, as in Kubernetes. */
  readonly namespace?: string;
  /** Only these services (name, name.namespace or hostname); all when empty. */
  readonly only?: readonly string[];
  /** Keep the control plane's and gateways' own services (istiod, istio-*gateway). */
  readonly includeSystem?: boolean;
  readonly tls: VmTls;
  readonly transcode?: readonly VmTranscode[];
  readonly connectTimeout?: string;
}

/** One generated route, for the table `isthmus vm join` prints. */
export interface VmRouteRow {
  readonly service: string;
  readonly namespace: string;
  readonly port: number;
  readonly protocol: string;
  readonly cluster: string;
  /** The local path prefix on the catch-all virtual host. */
  readonly prefix: string;
  readonly domains: readonly string[];
  readonly sni: string;
}

export interface VmSkipped {
  readonly service: string;
  readonly port?: number;
  readonly reason: string;
}

export interface VmJoinResources {
  readonly listeners: Listener[];
  readonly clusters: Cluster[];
  readonly rows: VmRouteRow[];
  readonly skipped: VmSkipped[];
  /** Problems in the options (a --service or --transcode naming nothing): the caller refuses. */
  readonly errors: string[];
}

export const VM_DEFAULT_LISTEN: HostPort = { host: '0.0.0.0', port: 8080 };
export const VM_LISTENER_STAT_PREFIX = 'vm';
/** The seed's ALPN: what Istio's sidecars offer to each other (the gateway passes it through). */
export const VM_ALPNS = ['istio-peer-exchange', 'istio'] as const;

/** Node metadata that marks a VM node for the control plane, and carries what `vm join` was told. */
export const VM_METADATA = {
  eastWestGateway: 'VM_EAST_WEST_GATEWAY',
  listen: 'VM_LISTEN',
  services: 'VM_SERVICES',
  include: 'VM_INCLUDE_SYSTEM',
  transcode: 'VM_TRANSCODE',
} as const;

/** The SNI the east-west gateway's AUTO_PASSTHROUGH routes by (Istio's outbound_.<port>_<subset>_.<host>). */
export function vmSni(port: number, hostname: string): string {
  return `outbound_.${port}_._.${hostname}`;
}

const shortName = (hostname: string): string => hostname.split('.')[0] ?? hostname;

/** The control plane and its gateways: not what a VM application calls. */
function isSystemService(s: VmServiceInput): boolean {
  const name = shortName(s.hostname);
  return name.startsWith('istiod') || /^istio-.*gateway/.test(name) || /gateway$/.test(name) && s.namespace === 'istio-system';
}

function matchesName(s: VmServiceInput, wanted: string): boolean {
  const name = shortName(s.hostname);
  return wanted === s.hostname || wanted === name || wanted === `${name}.${s.namespace}` || wanted === `${name}.${s.namespace}.svc`;
}

/** Kubernetes names of a service as a VM application may call it: host, name.ns.svc, name.ns, name (same namespace). */
function kubernetesNames(s: VmServiceInput, vmNamespace: string | undefined): string[] {
  const labels = s.hostname.split('.');
  const name = labels[0] ?? s.hostname;
  const names = [s.hostname];
  if (labels.length >= 3 && labels[1] === s.namespace && labels[2] === 'svc') {
    names.push(`${name}.${s.namespace}.svc`, `${name}.${s.namespace}`);
    if (vmNamespace === s.namespace) names.push(name);
  }
  return [...new Set(names)];
}

function parseHostPort(value: string): HostPort | undefined {
  const i = value.lastIndexOf(':');
  const port = Number(value.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: value.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

export { parseHostPort as parseVmHostPort };

const isIp = (host: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');

function commonTlsContext(tls: VmTls): XdsCommonTlsContext {
  const alpn_protocols = [...VM_ALPNS];
  if (tls.kind === 'files') {
    return {
      alpn_protocols,
      tls_certificates: [{ certificate_chain: { filename: tls.certificateChain }, private_key: { filename: tls.privateKey } }],
      validation_context: { trusted_ca: { filename: tls.trustedCa } },
    };
  }
  return {
    alpn_protocols,
    tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: ADS_CONFIG_SOURCE }],
    validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: ADS_CONFIG_SOURCE },
  } as XdsCommonTlsContext;
}

function gatewayCluster(name: string, sni: string, http2: boolean, options: VmJoinOptions): Cluster {
  const gw = options.eastWestGateway;
  const cluster: Cluster & { typed_extension_protocol_options?: Record<string, unknown> } = {
    name,
    type: isIp(gw.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: options.connectTimeout ?? '10s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: gw.host, port_value: gw.port } } } }] }],
    },
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: { '@type': TYPE_URL.upstreamTlsContext, sni, common_tls_context: commonTlsContext(options.tls) },
    },
  };
  if (http2) {
    // What real Envoy needs for gRPC upstreams (the Cluster's own http2_protocol_options is deprecated).
    cluster.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TYPE_URL.httpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } },
    };
  }
  return cluster;
}

/** The VM's listener and clusters for the mesh's services, and a row per generated route. */
export function buildVmResources(options: VmJoinOptions): VmJoinResources {
  const errors: string[] = [];
  const skipped: VmSkipped[] = [];
  const only = options.only ?? [];
  for (const wanted of only) {
    if (!options.services.some((s) => matchesName(s, wanted))) errors.push(`--service ${wanted}: no such service in the mesh`);
  }
  const seenHosts = new Set<string>();
  const selected: VmServiceInput[] = [];
  for (const s of [...options.services].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0))) {
    const named = only.length > 0 && only.some((w) => matchesName(s, w));
    if (only.length > 0 && !named) continue;
    if (seenHosts.has(s.hostname)) continue;
    if (s.meshExternal) {
      skipped.push({ service: s.hostname, reason: 'outside the mesh (MESH_EXTERNAL): not behind the east-west gateway' });
      continue;
    }
    if (!named && !options.includeSystem && isSystemService(s)) {
      skipped.push({ service: s.hostname, reason: 'control plane or gateway (--include-system keeps it)' });
      continue;
    }
    seenHosts.add(s.hostname);
    selected.push(s);
  }

  // Cluster names as the seed writes them: the service name, qualified where that is ambiguous.
  const nameCount = new Map<string, number>();
  for (const s of selected) nameCount.set(shortName(s.hostname), (nameCount.get(shortName(s.hostname)) ?? 0) + 1);
  const baseName = (s: VmServiceInput) => ((nameCount.get(shortName(s.hostname)) ?? 0) > 1 ? `${shortName(s.hostname)}.${s.namespace}` : shortName(s.hostname));

  const rows: VmRouteRow[] = [];
  const clusters: Cluster[] = [];
  const hostVhosts: VirtualHost[] = [];
  for (const s of selected) {
    const httpPorts = s.ports.filter((p) => isHttpProtocol(p.protocol.toUpperCase()));
    for (const p of s.ports) if (!httpPorts.includes(p)) skipped.push({ service: s.hostname, port: p.number, reason: `${p.protocol}: only HTTP and gRPC ports are routed` });
    // Names without a port go to port 80 if there is one, else to the first HTTP port.
    const bare = httpPorts.find((p) => p.number === 80) ?? httpPorts[0];
    const names = kubernetesNames(s, options.namespace);
    for (const p of httpPorts) {
      const cluster = httpPorts.length > 1 ? `${baseName(s)}-${p.number}` : baseName(s);
      const sni = vmSni(p.number, s.hostname);
      const http2 = isHttp2Protocol(p.protocol.toUpperCase());
      clusters.push(gatewayCluster(cluster, sni, http2, options));
      const domains = [...(p === bare ? names : []), ...names.map((n) => `${n}:${p.number}`)];
      hostVhosts.push({ name: `${s.hostname}:${p.number}`, domains, routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster } }] });
      rows.push({ service: shortName(s.hostname), namespace: s.namespace, port: p.number, protocol: p.protocol.toUpperCase(), cluster, prefix: `/${cluster}`, domains, sni });
    }
  }

  const httpFilters: HttpFilterConfig[] = [];
  const catchAll: Route[] = [];
  for (const t of options.transcode ?? []) {
    const target = rows.find((r) => (r.protocol === 'GRPC' || r.protocol === 'HTTP2') && selected.some((s) => shortName(s.hostname) === r.service && s.namespace === r.namespace && matchesName(s, t.service)));
    if (!target) {
      errors.push(`--transcode ${t.service}: no gRPC port of that service is routed`);
      continue;
    }
    httpFilters.push({
      name: 'envoy.filters.http.grpc_json_transcoder',
      typed_config: {
        '@type': TYPE_URL.grpcJsonTranscoder,
        proto_descriptor: t.descriptor,
        services: [...t.grpcServices],
        print_options: { add_whitespace: true, always_print_primitive_fields: true, always_print_enums_as_ints: false, preserve_proto_field_names: false },
        convert_grpc_status: true,
      },
    });
    // The seed's route: only methods of the descriptor's services (grpc: {}), to the service's cluster.
    for (const g of t.grpcServices) catchAll.push({ name: `transcode-${g}`, match: { prefix: `/${g}`, grpc: {} }, route: { cluster: target.cluster } });
  }
  // Longer prefixes first, so /frontend-8080 is not taken by /frontend.
  const byPrefix = [...rows].sort((a, b) => b.prefix.length - a.prefix.length || (a.prefix < b.prefix ? -1 : 1));
  for (const r of byPrefix) catchAll.push({ name: r.cluster, match: { prefix: r.prefix }, route: { cluster: r.cluster } });

  const listen = options.listen ?? VM_DEFAULT_LISTEN;
  const listener: Listener = {
    name: `${listen.host}_${listen.port}`,
    address: { socket_address: { address: listen.host, port_value: listen.port } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TYPE_URL.httpConnectionManager,
          stat_prefix: VM_LISTENER_STAT_PREFIX,
          // Per-hop access logs, in Envoy's default format.
          access_log: [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': TYPE_URL.stdoutAccessLog } }],
          route_config: { name: 'local_route', virtual_hosts: [...hostVhosts, { name: 'routes', domains: ['*'], routes: catchAll }] },
          http_filters: [...httpFilters, ROUTER_FILTER],
        },
      }],
    }],
  };
  return { listeners: [listener], clusters, rows, skipped, errors };
}

export interface VmBootstrapOptions {
  readonly nodeId: string;
  readonly nodeCluster: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly adminPort?: number;
  /** Static: the listener and clusters inline. */
  readonly resources?: Pick<VmJoinResources, 'listeners' | 'clusters'>;
  /** xDS: ADS to the control plane at this address instead (plaintext, as Istio's 15010). */
  readonly xds?: HostPort;
}

export const VM_XDS_CLUSTER = 'xds-grpc';

/** An Envoy v3 bootstrap for the VM: static resources, or ADS to the control plane. */
export function vmBootstrap(options: VmBootstrapOptions): Bootstrap {
  const bootstrap: Bootstrap = {
    node: { id: options.nodeId, cluster: options.nodeCluster, metadata: { ...(options.metadata ?? {}) } },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: options.adminPort ?? 15000 } } },
  };
  if (options.xds) {
    const xds: Cluster & { typed_extension_protocol_options?: Record<string, unknown> } = {
      name: VM_XDS_CLUSTER,
      type: isIp(options.xds.host) ? 'STATIC' : 'STRICT_DNS',
      connect_timeout: '1s',
      load_assignment: { cluster_name: VM_XDS_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: options.xds.host, port_value: options.xds.port } } } }] }] },
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TYPE_URL.httpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } },
      },
    };
    bootstrap.dynamic_resources = {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: VM_XDS_CLUSTER } }], set_node_on_first_message_only: true },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    } as Bootstrap['dynamic_resources'];
    bootstrap.static_resources = { clusters: [xds] };
  } else if (options.resources) {
    bootstrap.static_resources = { listeners: options.resources.listeners, clusters: options.resources.clusters };
  }
  return bootstrap;
}

/** `--transcode SERVICE=DESCRIPTOR:pkg.Service[,pkg.Other]`, as flags and node metadata write it. */
export function parseVmTranscode(value: string): VmTranscode | undefined {
  const eq = value.indexOf('=');
  const colon = value.lastIndexOf(':');
  if (eq <= 0 || colon <= eq + 1 || colon === value.length - 1) return undefined;
  return { service: value.slice(0, eq), descriptor: value.slice(eq + 1, colon), grpcServices: value.slice(colon + 1).split(',').filter(Boolean) };
}

export function formatVmTranscode(t: VmTranscode): string {
  return `${t.service}=${t.descriptor}:${t.grpcServices.join(',')}`;
}

/** The generator's options for a VM node connected over xDS, from its node metadata; undefined for other nodes. */
export function vmOptionsFromMetadata(metadata: Readonly<Record<string, string | undefined>> | undefined, namespace: string, services: readonly VmServiceInput[]): VmJoinOptions | undefined {
  const gw = metadata?.[VM_METADATA.eastWestGateway];
  const eastWestGateway = gw ? parseHostPort(gw) : undefined;
  if (!eastWestGateway) return undefined;
  const listenText = metadata?.[VM_METADATA.listen];
  const listen = listenText ? parseHostPort(listenText) : undefined;
  const only = (metadata?.[VM_METADATA.services] ?? '').split(',').filter(Boolean);
  const transcode = (metadata?.[VM_METADATA.transcode] ?? '').split(';').filter(Boolean).map(parseVmTranscode).filter((t): t is VmTranscode => t !== undefined);
  return {
    services,
    eastWestGateway,
    ...(listen ? { listen } : {}),
    namespace,
    only,
    includeSystem: metadata?.[VM_METADATA.include] === 'true',
    tls: { kind: 'sds' },
    transcode,
  };
}
