/** A sidecar's inbound listeners (services selecting it, PeerAuthentication) and its HTTP proxy listener (HTTP_PROXY_PORT). */
import { describe, expect, it } from 'vitest';
import { validateMessage } from '../../../src/envoy/index.js';
import type { FilterChain, Listener, RouteConfiguration } from '../../../src/envoy/index.js';
import { EXTRA_ENVOY_FIELDS, translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, MeshService, PeerAuthentication, ProxyNode, ServiceEntry, TranslateResult, XdsDownstreamTlsContext, XdsHttpConnectionManager } from '../../../src/controlplane/translate/index.js';

const app: ProxyNode = { id: 'sidecar~10.0.0.7~reviews-v1-abc.bookinfo~bookinfo.svc.cluster.local', type: 'sidecar', namespace: 'bookinfo', labels: { app: 'reviews', version: 'v1' }, portMap: { 9080: 19080 } };

const services: MeshService[] = [
  {
    hostname: 'reviews.bookinfo.svc.cluster.local',
    namespace: 'bookinfo',
    selector: { app: 'reviews' },
    ports: [
      { name: 'http', number: 80, protocol: 'HTTP', targetPort: 9080 },
      { name: 'grpc', number: 7070, protocol: 'GRPC' },
      { name: 'tcp-db', number: 5432, protocol: 'TCP', targetPort: 15432 },
    ],
  },
  // Another workload's service, one in another namespace, one without a selector: none is inbound here.
  { hostname: 'ratings.bookinfo.svc.cluster.local', namespace: 'bookinfo', selector: { app: 'ratings' }, ports: [{ name: 'http', number: 80, protocol: 'HTTP', targetPort: 9081 }] },
  { hostname: 'reviews.other.svc.cluster.local', namespace: 'other', selector: { app: 'reviews' }, ports: [{ name: 'http', number: 8000, protocol: 'HTTP', targetPort: 9082 }] },
  { hostname: 'external.bookinfo.svc.cluster.local', namespace: 'bookinfo', ports: [{ name: 'http', number: 80, protocol: 'HTTP', targetPort: 9083 }] },
];

function pa(name: string, namespace: string, spec: PeerAuthentication['spec']): PeerAuthentication {
  return { apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name, namespace }, spec };
}

const run = (snapshot: ConfigSnapshot = {}, options: Parameters<typeof translate>[2] = {}, proxy: ProxyNode = app): TranslateResult =>
  translate(snapshot, proxy, { meshServices: services, healthListeners: false, ...options });

const inbound = (out: TranslateResult) => out.listeners.filter((l) => l.traffic_direction === 'INBOUND');
const listener = (out: TranslateResult, name: string): Listener => {
  const l = out.listeners.find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name} in ${out.listeners.map((x) => x.name).join(', ')}`);
  return l;
};
const transports = (l: Listener) => (l.filter_chains ?? []).map((c) => c.filter_chain_match?.transport_protocol ?? 'any');
const tlsOf = (c: FilterChain | undefined) => c?.transport_socket?.typed_config as XdsDownstreamTlsContext | undefined;
const hcmOf = (c: FilterChain | undefined) => c?.filters?.[0]?.typed_config as unknown as XdsHttpConnectionManager;

describe('sidecar inbound', () => {
  it('one listener per port of the services selecting the workload, on 0.0.0.0:<targetPort>, to the app on 127.0.0.1', () => {
    const out = run();
    expect(inbound(out).map((l) => [l.name, l.address.socket_address.address, l.address.socket_address.port_value])).toEqual([
      ['inbound|15432||', '0.0.0.0', 15432],
      ['inbound|7070||', '0.0.0.0', 7070],
      ['inbound|9080||', '0.0.0.0', 9080],
    ]);
    const cluster = out.clusters.find((c) => c.name === 'inbound|9080||');
    expect(cluster?.type).toBe('STATIC');
    // PORT_MAP 9080 -> 19080: the app listens on 19080.
    expect(cluster?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 19080 });
    expect(out.clusters.find((c) => c.name === 'inbound|7070||')?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint.address.socket_address.port_value).toBe(7070);
    // gRPC goes to the app over HTTP/2; plain HTTP does not.
    expect(JSON.stringify(out.clusters.find((c) => c.name === 'inbound|7070||')?.typed_extension_protocol_options)).toContain('http2_protocol_options');
    expect(cluster?.typed_extension_protocol_options).toBeUndefined();
  });

  it('HTTP ports get an HCM (codec AUTO, inline route to inbound|<port>||), TCP ports a tcp_proxy', () => {
    const out = run({ meshConfig: { accessLogFile: '/dev/stdout' } });
    const chain = listener(out, 'inbound|9080||').filter_chains?.[0];
    expect(chain?.filters?.[0]?.name).toBe('envoy.filters.network.http_connection_manager');
    const hcm = hcmOf(chain);
    expect(hcm.codec_type).toBe('AUTO');
    // Istio: the app sees its mTLS peer in x-forwarded-client-cert; a plaintext client's own XFCC is dropped.
    expect(hcm.forward_client_cert_details).toBe('APPEND_FORWARD');
    expect(hcm.set_current_client_cert_details).toEqual({ subject: true, dns: true, uri: true });
    expect(hcm.stat_prefix).toBe('inbound_0.0.0.0_9080');
    expect(hcm.route_config?.name).toBe('inbound|9080||');
    expect(hcm.route_config?.virtual_hosts?.[0]?.domains).toEqual(['*']);
    expect(hcm.route_config?.virtual_hosts?.[0]?.routes?.[0]?.route?.cluster).toBe('inbound|9080||');
    expect(hcm.access_log?.[0]?.name).toBe('envoy.access_loggers.stdout');
    const tcp = listener(out, 'inbound|15432||').filter_chains?.[0]?.filters?.[0];
    expect(tcp?.name).toBe('envoy.filters.network.tcp_proxy');
    expect((tcp?.typed_config as Record<string, unknown>).cluster).toBe('inbound|15432||');
  });

  it('PERMISSIVE by default: an mTLS chain (default cert, ROOTCA, mesh trust domain, Istio ALPNs) and a plaintext chain', () => {
    const out = run();
    const l = listener(out, 'inbound|9080||');
    expect(l.listener_filters?.[0]?.name).toBe('envoy.filters.listener.tls_inspector');
    expect(transports(l)).toEqual(['tls', 'raw_buffer']);
    const tls = tlsOf(l.filter_chains?.[0]);
    expect(tls?.require_client_certificate).toBe(true);
    expect(tls?.common_tls_context?.tls_certificate_sds_secret_configs?.[0]?.name).toBe('default');
    expect(tls?.common_tls_context?.combined_validation_context?.validation_context_sds_secret_config.name).toBe('ROOTCA');
    expect(tls?.common_tls_context?.combined_validation_context?.default_validation_context.match_typed_subject_alt_names).toEqual([
      { san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } },
    ]);
    expect(tls?.common_tls_context?.alpn_protocols).toEqual(expect.arrayContaining(['istio-peer-exchange', 'istio', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2', 'h2', 'http/1.1']));
    expect(out.secrets).toEqual(['ROOTCA', 'default']);
  });

  it('the trust domain comes from the mesh config; skipValidateTrustDomain accepts any SPIFFE trust domain', () => {
    const own = run({ meshConfig: { trustDomain: 'corp.example' } });
    expect(JSON.stringify(tlsOf(listener(own, 'inbound|9080||').filter_chains?.[0]))).toContain('"prefix":"spiffe://corp.example/"');
    const skip = run({}, { skipValidateTrustDomain: true });
    const tls = tlsOf(listener(skip, 'inbound|9080||').filter_chains?.[0]);
    expect(tls?.common_tls_context?.combined_validation_context?.default_validation_context).toEqual({
      match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://' } }],
    });
    expect(tls?.require_client_certificate).toBe(true);
  });

  it('STRICT: the mTLS chain only; DISABLE: one plaintext chain without TLS inspection', () => {
    const strict = run({ peerAuthentications: [pa('default', 'istio-system', { mtls: { mode: 'STRICT' } })] });
    expect(transports(listener(strict, 'inbound|9080||'))).toEqual(['tls']);
    const disabled = run({ peerAuthentications: [pa('default', 'istio-system', { mtls: { mode: 'DISABLE' } })] });
    const l = listener(disabled, 'inbound|9080||');
    expect(transports(l)).toEqual(['any']);
    expect(l.filter_chains?.[0]?.transport_socket).toBeUndefined();
    expect(l.listener_filters).toBeUndefined();
  });

  it('the most specific PeerAuthentication wins: workload over namespace over mesh, UNSET inherits, portLevelMtls per inbound port', () => {
    const mesh = pa('default', 'istio-system', { mtls: { mode: 'STRICT' } });
    const ns = pa('default', 'bookinfo', { mtls: { mode: 'DISABLE' } });
    const otherNs = pa('default', 'other', { mtls: { mode: 'PERMISSIVE' } });
    const otherWorkload = pa('ratings', 'bookinfo', { selector: { matchLabels: { app: 'ratings' } }, mtls: { mode: 'STRICT' } });
    expect(transports(listener(run({ peerAuthentications: [mesh, ns, otherNs, otherWorkload] }), 'inbound|9080||'))).toEqual(['any']);
    const workload = pa('reviews', 'bookinfo', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'UNSET' }, portLevelMtls: { '9080': { mode: 'PERMISSIVE' }, '7070': { mode: 'STRICT' } } });
    const out = run({ peerAuthentications: [mesh, ns, workload] });
    expect(transports(listener(out, 'inbound|9080||'))).toEqual(['tls', 'raw_buffer']);
    expect(transports(listener(out, 'inbound|7070||'))).toEqual(['tls']);
    // UNSET at the workload: the namespace's DISABLE.
    expect(transports(listener(out, 'inbound|15432||'))).toEqual(['any']);
    // Port-level keys are the workload's (target) ports, not the service ports.
    const byServicePort = run({ peerAuthentications: [mesh, pa('reviews', 'bookinfo', { selector: { matchLabels: { app: 'reviews' } }, portLevelMtls: { '80': { mode: 'DISABLE' } } })] });
    expect(transports(listener(byServicePort, 'inbound|9080||'))).toEqual(['tls']);
  });

  it('a ServiceEntry with a workloadSelector gives inbound listeners too; routers and other namespaces get none', () => {
    const se: ServiceEntry = {
      metadata: { name: 'reviews-vm', namespace: 'bookinfo' },
      spec: { hosts: ['reviews.vm.internal'], location: 'MESH_INTERNAL', resolution: 'STATIC', ports: [{ name: 'http', number: 8080, protocol: 'HTTP', targetPort: 18080 }], workloadSelector: { labels: { app: 'reviews' } } },
    };
    const out = translate({ serviceEntries: [se] }, { ...app, portMap: {} }, { healthListeners: false });
    expect(inbound(out).map((l) => l.name)).toEqual(['inbound|18080||']);
    expect(inbound(translate({ serviceEntries: [se] }, { ...app, namespace: 'other' }, { healthListeners: false }))).toEqual([]);
    expect(inbound(translate({ serviceEntries: [se] }, { ...app, type: 'router' }, { healthListeners: false }))).toEqual([]);
  });

  it('an outbound listener on an inbound port is not bound: the workload is served first', () => {
    const out = run();
    // reviews' own gRPC port 7070 has no targetPort: outbound 0.0.0.0_7070 and inbound 7070 share the port.
    expect(listener(out, 'inbound|7070||').bind_to_port).toBeUndefined();
    expect(listener(out, '0.0.0.0_7070').bind_to_port).toBe(false);
    expect(listener(out, '0.0.0.0_80').bind_to_port).toBeUndefined();
    expect(out.warnings.map((w) => w.message).join('\n')).toContain('port 7070 is an inbound port of this workload');
  });
});

describe('sidecar HTTP proxy (HTTP_PROXY_PORT)', () => {
  const lambda: ServiceEntry = {
    metadata: { name: 'lambda', namespace: 'bookinfo' },
    spec: { hosts: ['lambda.external'], location: 'MESH_EXTERNAL', resolution: 'STATIC', ports: [{ name: 'http', number: 80, protocol: 'HTTP' }, { name: 'http-alt', number: 8080, protocol: 'HTTP' }], endpoints: [{ address: '127.0.0.1' }] },
  };
  const proxyWith = (port: string | undefined): ProxyNode => ({ ...app, metadata: port === undefined ? {} : { HTTP_PROXY_PORT: port } });

  it('adds 127.0.0.1_<port> with allow_absolute_url and RDS http_proxy; the per-port HTTP listeners are not bound', () => {
    const out = run({ serviceEntries: [lambda] }, {}, proxyWith('15080'));
    const l = listener(out, '127.0.0.1_15080');
    expect(l.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 15080 });
    expect(l.bind_to_port).toBeUndefined();
    const hcm = hcmOf(l.filter_chains?.[0]);
    expect(hcm.http_protocol_options).toEqual({ allow_absolute_url: true });
    expect(hcm.rds?.route_config_name).toBe('http_proxy');
    expect(listener(out, '0.0.0.0_80').bind_to_port).toBe(false);
    expect(listener(out, '0.0.0.0_8080').bind_to_port).toBe(false);
    // TCP listeners cannot be reached through an HTTP proxy: they still bind.
    expect(listener(out, 'inbound|9080||').bind_to_port).toBeUndefined();
  });

  it('http_proxy holds every HTTP port\'s virtual hosts: host:port, and the bare host on port 80 only', () => {
    const out = run({ serviceEntries: [lambda] }, {}, proxyWith('15080'));
    const route = out.routes.find((r) => r.name === 'http_proxy') as RouteConfiguration;
    const lambdaHosts = route.virtual_hosts?.filter((v) => v.name.startsWith('lambda.external')) ?? [];
    expect(lambdaHosts.map((v) => [v.name, v.domains])).toEqual([
      ['lambda.external:80', ['lambda.external', 'lambda.external:80']],
      ['lambda.external:8080', ['lambda.external:8080']],
    ]);
    expect(lambdaHosts[0]?.routes?.[0]?.route?.cluster).toBe('outbound|80||lambda.external');
    expect(lambdaHosts[1]?.routes?.[0]?.route?.cluster).toBe('outbound|8080||lambda.external');
    const reviews = route.virtual_hosts?.find((v) => v.name === 'reviews.bookinfo.svc.cluster.local:80');
    expect(reviews?.domains).toEqual(expect.arrayContaining(['reviews', 'reviews.bookinfo', 'reviews.bookinfo.svc.cluster.local', 'reviews:80']));
    const all = (route.virtual_hosts ?? []).flatMap((v) => v.domains);
    expect(new Set(all).size).toBe(all.length);
  });

  it('no HTTP_PROXY_PORT (or not a port): no proxy listener, outbound listeners bind', () => {
    for (const port of [undefined, 'x', '70000']) {
      const out = run({ serviceEntries: [lambda] }, {}, proxyWith(port));
      expect(out.listeners.some((l) => l.name?.startsWith('127.0.0.1_'))).toBe(false);
      expect(out.routes.some((r) => r.name === 'http_proxy')).toBe(false);
      expect(listener(out, '0.0.0.0_80').bind_to_port).toBeUndefined();
    }
  });

  it('all of it validates against the proxy schema', () => {
    const out = run({ serviceEntries: [lambda], peerAuthentications: [pa('default', 'istio-system', { mtls: { mode: 'STRICT' } })] }, {}, proxyWith('15080'));
    const unexpected: string[] = [];
    for (const [message, resources] of [['Listener', out.listeners], ['RouteConfiguration', out.routes], ['Cluster', out.clusters]] as const) {
      for (const r of resources) {
        const result = validateMessage(r, message);
        if (result.valid) continue;
        for (const e of result.errors) {
          const m = /unsupported field "([^"]+)" in (\w+)/.exec(e.message);
          if (!m || !EXTRA_ENVOY_FIELDS.some((x) => x.field === m[1] && x.message === m[2])) unexpected.push(`${message} ${e.path}: ${e.message}`);
        }
      }
    }
    expect(unexpected).toEqual([]);
  });
});
