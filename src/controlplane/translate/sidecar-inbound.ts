/**
 * Inbound config of a sidecar (Istio's inbound listeners): for every port of the services that select
 * this workload (same namespace, workloadSelector matching the proxy's labels) a listener on
 * 0.0.0.0:<targetPort> (the proxy binds it to its pod IP), whose filter chains follow the workload's
 * PeerAuthentication: an mTLS chain (the workload certificate `default`, peers verified against ROOTCA
 * and the mesh trust domain), a plaintext chain, or both; then an HTTP connection manager or a
 * tcp_proxy to the app on 127.0.0.1.
 *
 * Names, as istioctl shows Istio's: the listener and its inline route config and cluster are all
 * `inbound|<port>||` (Istio's inbound route and cluster name; the listener takes it too because
 * 0.0.0.0_<port> is the outbound listener's name), filter chains `0.0.0.0_<port>` with stat prefix
 * `inbound_0.0.0.0_<port>`, the virtual host `inbound|http|<port>`.
 */
import { TYPE_URL } from '../../envoy/index.js';
import type { AccessLogConfig, FilterChain, Listener, RouteConfiguration, TypedExtension } from '../../envoy/index.js';
import { HTTP_PROTOCOL_OPTIONS_KEY } from './cluster-policy.js';
import type { XdsCluster, XdsDownstreamTlsContext, XdsHttpConnectionManager } from './envoy-ext.js';
import { httpConnectionManager, tcpProxy, TLS_INSPECTOR } from './filters.js';
import type { PeerAuthentication, ProxyNode } from './input.js';
import { clusterName, SDS_DEFAULT, SDS_ROOTCA } from './names.js';
import { peerAuthenticationFor } from './peer-authentication.js';
import type { EffectiveMtlsMode } from './peer-authentication.js';
import { isHttp2Protocol, isHttpProtocol } from './protocol.js';
import type { RegistryService } from './registry.js';
import { labelsMatch } from './scope.js';
import { sdsSecret, tlsTransportSocket } from './tls.js';
import type { WarningSink } from './warnings.js';

/**
 * ALPN an inbound mTLS chain accepts: Istio's mesh values (istio, istio-peer-exchange, istio-http/*,
 * istio-h2) and plain h2 / http/1.1. The server picks by its own order: h2 and http/1.1 first (they say
 * what the bytes are), then "istio"; istio-peer-exchange last, since the Isthmus proxy does not run
 * Istio's metadata-exchange filter a client would follow it with.
 */
export const INBOUND_MTLS_ALPN = ['h2', 'http/1.1', 'istio-h2', 'istio-http/1.1', 'istio-http/1.0', 'istio', 'istio-peer-exchange'];

export interface InboundContext {
  readonly proxy: ProxyNode;
  /** Services the proxy sees (already filtered by exportTo). */
  readonly services: readonly RegistryService[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly rootNamespace: string;
  readonly trustDomain: string;
  /** Other meshes' trust domains this one trusts (federation); empty without. */
  readonly federatedTrustDomains?: readonly string[];
  readonly skipValidateTrustDomain: boolean;
  readonly connectTimeout: string;
  readonly accessLog?: AccessLogConfig[];
  readonly warn: WarningSink;
}

export interface InboundPort {
  /** The port the sidecar listens on for this workload (the service port's targetPort, else its number). */
  readonly port: number;
  /** Where the app listens on 127.0.0.1 (PORT_MAP, else the same port). */
  readonly appPort: number;
  readonly protocol: string;
  readonly services: readonly RegistryService[];
  readonly mode: EffectiveMtlsMode;
}

const WILDCARD = '0.0.0.0';

/** The services that select this workload: same namespace, workloadSelector matching its labels. */
export function servicesSelecting(proxy: ProxyNode, services: readonly RegistryService[]): RegistryService[] {
  return services.filter((s) => s.namespace === proxy.namespace && s.workloadSelector !== undefined && Object.keys(s.workloadSelector).length > 0 && labelsMatch(s.workloadSelector, proxy.labels));
}

export function inboundPorts(ctx: InboundContext): InboundPort[] {
  const policy = peerAuthenticationFor(ctx.peerAuthentications, ctx.proxy, ctx.rootNamespace, ctx.warn);
  const byPort = new Map<number, { protocol: string; services: RegistryService[] }>();
  for (const s of servicesSelecting(ctx.proxy, ctx.services)) {
    for (const p of s.ports) {
      if (p.protocol === 'UDP') continue;
      const port = p.targetPort ?? p.number;
      const existing = byPort.get(port);
      if (!existing) byPort.set(port, { protocol: p.protocol, services: [s] });
      else {
        if (existing.protocol !== p.protocol) ctx.warn(s.source, `inbound port ${port} is ${existing.protocol} for ${existing.services[0]?.hostname} and ${p.protocol} here; ${existing.protocol} is used`);
        if (!existing.services.includes(s)) existing.services.push(s);
      }
    }
  }
  return [...byPort.entries()].sort(([a], [b]) => a - b).map(([port, { protocol, services }]) => ({
    port,
    appPort: ctx.proxy.portMap?.[port] ?? port,
    protocol,
    services,
    mode: policy.modeFor(port),
  }));
}

/** A typed HCM with fields httpConnectionManager() does not take. */
export function withHcmFields(hcm: TypedExtension, fields: Partial<XdsHttpConnectionManager>): TypedExtension {
  return { ...hcm, typed_config: { ...(hcm.typed_config as NonNullable<TypedExtension['typed_config']>), ...fields } };
}

/**
 * Istio's inbound mTLS: the workload certificate, a client certificate required and chained to the mesh
 * root. With federation, peers of the federated trust domains too; ROOTCA then is the SPIFFE validator,
 * which verifies each of them against its own domain's bundle.
 */
export function inboundMtlsContext(trustDomain: string, skipValidateTrustDomain: boolean, federatedTrustDomains: readonly string[] = []): XdsDownstreamTlsContext {
  // Any SPIFFE peer under PILOT_SKIP_VALIDATE_TRUST_DOMAIN (the root decides), else the accepted trust domains.
  const prefixes = skipValidateTrustDomain
    ? ['spiffe://']
    : [trustDomain, ...federatedTrustDomains.filter((td) => td !== trustDomain)].map((td) => `spiffe://${td}/`);
  return {
    common_tls_context: {
      alpn_protocols: [...INBOUND_MTLS_ALPN],
      tls_certificate_sds_secret_configs: [sdsSecret(SDS_DEFAULT)],
      combined_validation_context: {
        // A spiffe:// URI SAN matcher also keeps the proxy's X509-SVID leaf rules on.
        default_validation_context: { match_typed_subject_alt_names: prefixes.map((prefix) => ({ san_type: 'URI' as const, matcher: { prefix } })) },
        validation_context_sds_secret_config: sdsSecret(SDS_ROOTCA),
      },
    },
    require_client_certificate: true,
  };
}

function inboundRoute(port: number): RouteConfiguration {
  const name = clusterName(port, '', '', 'inbound');
  return {
    name,
    virtual_hosts: [{
      name: `inbound|http|${port}`,
      domains: ['*'],
      routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: name, timeout: '0s' } }],
    }],
    validate_clusters: false,
  };
}

function inboundFilter(ctx: InboundContext, p: InboundPort): TypedExtension {
  const name = clusterName(p.port, '', '', 'inbound');
  const statPrefix = `inbound_${WILDCARD}_${p.port}`;
  if (!isHttpProtocol(p.protocol)) return tcpProxy(statPrefix, name, ctx.accessLog);
  const hcm = httpConnectionManager({ statPrefix, routeConfig: inboundRoute(p.port), ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}) });
  // AUTO: HTTP/1.1 or HTTP/2 by ALPN, else by the connection preface (gRPC from a peer that negotiated "istio").
  // As Istio: the app learns its mTLS peer from x-forwarded-client-cert (spoofed values from plaintext peers dropped).
  return withHcmFields(hcm, {
    codec_type: 'AUTO',
    forward_client_cert_details: 'APPEND_FORWARD',
    set_current_client_cert_details: { subject: true, dns: true, uri: true },
  });
}

function inboundListener(ctx: InboundContext, p: InboundPort): Listener {
  const chainName = `${WILDCARD}_${p.port}`;
  const filters = [inboundFilter(ctx, p)];
  const mtls: FilterChain = {
    name: chainName,
    filter_chain_match: { transport_protocol: 'tls' },
    transport_socket: tlsTransportSocket(inboundMtlsContext(ctx.trustDomain, ctx.skipValidateTrustDomain, ctx.federatedTrustDomains), false),
    filters,
  };
  const plaintext: FilterChain = { name: chainName, filter_chain_match: { transport_protocol: 'raw_buffer' }, filters };
  let chains: FilterChain[];
  switch (p.mode) {
    case 'STRICT': chains = [mtls]; break;
    case 'DISABLE': chains = [{ name: chainName, filters }]; break;
    default: chains = [mtls, plaintext];
  }
  return {
    name: clusterName(p.port, '', '', 'inbound'),
    address: { socket_address: { address: WILDCARD, port_value: p.port } },
    traffic_direction: 'INBOUND',
    ...(p.mode === 'DISABLE' ? {} : { listener_filters: [TLS_INSPECTOR] }),
    filter_chains: chains,
  };
}

/** inbound|<port>||: the app on 127.0.0.1, over HTTP/2 for gRPC and HTTP2 ports. */
function inboundCluster(ctx: InboundContext, p: InboundPort): XdsCluster {
  const name = clusterName(p.port, '', '', 'inbound');
  const cluster: XdsCluster = {
    name,
    type: 'STATIC',
    connect_timeout: ctx.connectTimeout,
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p.appPort } } } }] }] },
    metadata: { filter_metadata: { istio: { services: p.services.map((s) => ({ host: s.hostname, name: s.hostname, namespace: s.namespace })) } } },
  };
  if (isHttp2Protocol(p.protocol)) {
    cluster.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': TYPE_URL.httpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } },
    };
  }
  return cluster;
}

export function buildSidecarInbound(ctx: InboundContext): { listeners: Listener[]; clusters: XdsCluster[] } {
  const ports = inboundPorts(ctx);
  return { listeners: ports.map((p) => inboundListener(ctx, p)), clusters: ports.map((p) => inboundCluster(ctx, p)) };
}
