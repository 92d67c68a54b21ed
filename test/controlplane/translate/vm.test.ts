/** The VM generator (isthmus vm join, and a VM node over xDS): the seed's listener and clusters, from the registry. */
import { describe, expect, it } from 'vitest';
import {
  buildServiceRegistry, buildVmResources, checkConsistency, translate, vmBootstrap, VM_METADATA,
} from '../../../src/controlplane/translate/index.js';
import type { ProxyNode, VmServiceInput } from '../../../src/controlplane/translate/index.js';
import { encodeMessage, decodeMessage, validateBootstrap, ProtoError } from '../../../src/envoy/index.js';
import { seed003Services } from './fixtures.js';

const services: VmServiceInput[] = buildServiceRegistry({}, { meshServices: seed003Services }).services.map((s) => ({ ...s }));
const files = { kind: 'files', certificateChain: '/certs/cert.pem', privateKey: '/certs/key.pem', trustedCa: '/certs/ca-cert.pem' } as const;
const gateway = { host: 'eastwest-gateway.solo.io', port: 15443 };

type Json = Record<string, unknown>;
const hcmOf = (listener: unknown): Json => ((listener as Json & { filter_chains: Array<{ filters: Array<{ typed_config: Json }> }> }).filter_chains[0]?.filters[0]?.typed_config ?? {});

describe('VM generator', () => {
  const generated = buildVmResources({ services, eastWestGateway: gateway, tls: files });

  it('routes the mesh applications, not the control plane or the gateway', () => {
    expect(generated.errors).toEqual([]);
    expect(generated.rows.map((r) => [r.service, r.port, r.protocol, r.cluster, r.prefix, r.sni])).toEqual([
      ['fortune-teller', 50051, 'GRPC', 'fortune-teller', '/fortune-teller', 'outbound_.50051_._.fortune-teller.fortune-teller.svc.cluster.local'],
      ['frontend', 80, 'HTTP', 'frontend', '/frontend', 'outbound_.80_._.frontend.simple-app.svc.cluster.local'],
    ]);
    expect(generated.skipped.map((s) => s.service)).toEqual(['istio-eastwestgateway.istio-system.svc.cluster.local', 'istiod.istio-system.svc.cluster.local']);
  });

  it('writes the seed\'s cluster: STRICT_DNS to the gateway, SNI, istio ALPN, certificate files', () => {
    const frontend = generated.clusters.find((c) => c.name === 'frontend') as unknown as Json;
    expect(frontend).toEqual({
      name: 'frontend',
      type: 'STRICT_DNS',
      connect_timeout: '10s',
      load_assignment: { cluster_name: 'frontend', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'eastwest-gateway.solo.io', port_value: 15443 } } } }] }] },
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
          sni: 'outbound_.80_._.frontend.simple-app.svc.cluster.local',
          common_tls_context: {
            alpn_protocols: ['istio-peer-exchange', 'istio'],
            tls_certificates: [{ certificate_chain: { filename: '/certs/cert.pem' }, private_key: { filename: '/certs/key.pem' } }],
            validation_context: { trusted_ca: { filename: '/certs/ca-cert.pem' } },
          },
        },
      },
    });
    const grpc = generated.clusters.find((c) => c.name === 'fortune-teller') as unknown as Json;
    expect(grpc.typed_extension_protocol_options).toEqual({
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    });
    expect(frontend.typed_extension_protocol_options).toBeUndefined();
    // An IP gateway address is a STATIC cluster.
    const byIp = buildVmResources({ services, eastWestGateway: { host: '10.0.0.7', port: 15443 }, tls: files });
    expect(byIp.clusters.every((c) => c.type === 'STATIC')).toBe(true);
  });

  it('one listener: Kubernetes names per service port, the seed\'s /frontend prefix on *, stdout access log', () => {
    expect(generated.listeners).toHaveLength(1);
    const listener = generated.listeners[0];
    expect(listener?.address.socket_address).toEqual({ address: '0.0.0.0', port_value: 8080 });
    const hcm = hcmOf(listener) as { stat_prefix: string; access_log: Json[]; route_config: { virtual_hosts: Array<{ name: string; domains: string[]; routes: Array<{ match: Json; route: Json }> }> }; http_filters: Json[] };
    expect(hcm.stat_prefix).toBe('vm');
    expect(hcm.access_log[0]?.name).toBe('envoy.access_loggers.stdout');
    const vhosts = hcm.route_config.virtual_hosts;
    expect(vhosts.find((v) => v.name === 'frontend.simple-app.svc.cluster.local:80')?.domains).toEqual([
      'frontend.simple-app.svc.cluster.local', 'frontend.simple-app.svc', 'frontend.simple-app',
      'frontend.simple-app.svc.cluster.local:80', 'frontend.simple-app.svc:80', 'frontend.simple-app:80',
    ]);
    const all = vhosts.flatMap((v) => v.domains);
    expect(new Set(all).size).toBe(all.length);
    const catchAll = vhosts.find((v) => v.domains.includes('*'));
    expect(catchAll?.routes.map((r) => [r.match.prefix, r.route.cluster])).toEqual([['/fortune-teller', 'fortune-teller'], ['/frontend', 'frontend']]);
    expect(hcm.http_filters.map((f) => f.name)).toEqual(['envoy.filters.http.router']);
  });

  it('short names in the VM\'s namespace, several ports as <name>-<port>, --service filters, unknown names refused', () => {
    const multi: VmServiceInput[] = [{ hostname: 'web.shop.svc.cluster.local', namespace: 'shop', meshExternal: false, ports: [{ name: 'http', number: 80, protocol: 'HTTP' }, { name: 'http-admin', number: 9000, protocol: 'HTTP' }, { name: 'tcp-db', number: 5432, protocol: 'TCP' }] }];
    const g = buildVmResources({ services: [...services, ...multi], eastWestGateway: gateway, tls: files, namespace: 'shop', only: ['web.shop'] });
    expect(g.rows.map((r) => [r.cluster, r.prefix, r.domains[0]])).toEqual([['web-80', '/web-80', 'web.shop.svc.cluster.local'], ['web-9000', '/web-9000', 'web.shop.svc.cluster.local:9000']]);
    expect(g.rows[0]?.domains).toContain('web');
    expect(g.skipped).toEqual([{ service: 'web.shop.svc.cluster.local', port: 5432, reason: 'TCP: only HTTP and gRPC ports are routed' }]);
    expect(buildVmResources({ services, eastWestGateway: gateway, tls: files, only: ['nope'] }).errors).toEqual(['--service nope: no such service in the mesh']);
    expect(buildVmResources({ services, eastWestGateway: gateway, tls: files, includeSystem: true }).rows.map((r) => r.service)).toContain('istiod');
  });

  it('--transcode adds the seed\'s grpc_json_transcoder and a grpc route first', () => {
    const g = buildVmResources({ services, eastWestGateway: gateway, tls: files, transcode: [{ service: 'fortune-teller', descriptor: '/etc/config/fortune.pb', grpcServices: ['build.stack.fortune.FortuneTeller'] }] });
    const hcm = hcmOf(g.listeners[0]) as { route_config: { virtual_hosts: Array<{ domains: string[]; routes: Array<{ match: Json; route: Json }> }> }; http_filters: Array<{ name: string; typed_config?: Json }> };
    expect(hcm.http_filters.map((f) => f.name)).toEqual(['envoy.filters.http.grpc_json_transcoder', 'envoy.filters.http.router']);
    expect(hcm.http_filters[0]?.typed_config).toMatchObject({ proto_descriptor: '/etc/config/fortune.pb', services: ['build.stack.fortune.FortuneTeller'], convert_grpc_status: true });
    expect(hcm.route_config.virtual_hosts.find((v) => v.domains.includes('*'))?.routes[0]).toEqual({ name: 'transcode-build.stack.fortune.FortuneTeller', match: { prefix: '/build.stack.fortune.FortuneTeller', grpc: {} }, route: { cluster: 'fortune-teller' } });
    expect(buildVmResources({ services, eastWestGateway: gateway, tls: files, transcode: [{ service: 'frontend', descriptor: '/x.pb', grpcServices: ['a.B'] }] }).errors).toEqual(['--transcode frontend: no gRPC port of that service is routed']);
  });

  it('the static bootstrap is a valid Envoy Bootstrap proto (unknown fields refused) and the proxy\'s schema accepts it', () => {
    const transcode = [{ service: 'fortune-teller', descriptor: '/etc/config/fortune.pb', grpcServices: ['build.stack.fortune.FortuneTeller'] }];
    for (const bootstrap of [
      vmBootstrap({ nodeId: 'sidecar~10.0.0.9~vm-1.simple-app~simple-app.svc.cluster.local', nodeCluster: 'vm-1.simple-app', metadata: { NAMESPACE: 'simple-app' }, resources: buildVmResources({ services, eastWestGateway: gateway, tls: files, transcode }) }),
      vmBootstrap({ nodeId: 'vm', nodeCluster: 'vm', xds: { host: '10.0.0.1', port: 15010 }, metadata: { [VM_METADATA.eastWestGateway]: '10.0.0.7:15443' } }),
    ]) {
      const bytes = encodeMessage('envoy.config.bootstrap.v3.Bootstrap', bootstrap);
      const decoded = decodeMessage('envoy.config.bootstrap.v3.Bootstrap', bytes);
      expect(decoded.admin).toEqual({ address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } });
      const check = validateBootstrap(bootstrap);
      expect(check.valid ? [] : check.errors).toEqual([]);
    }
    // The encoder is strict: a misspelt field would fail here, not in Envoy.
    const broken = vmBootstrap({ nodeId: 'vm', nodeCluster: 'vm', resources: buildVmResources({ services, eastWestGateway: gateway, tls: files }) });
    (broken.static_resources?.clusters?.[0] as unknown as Json).sni = 'x';
    expect(() => encodeMessage('envoy.config.bootstrap.v3.Bootstrap', broken)).toThrow(ProtoError);
  });
});

describe('a VM node over xDS gets the same listener and clusters, with SDS certificates', () => {
  const vmNode: ProxyNode = {
    id: 'sidecar~10.0.0.9~vm-1.simple-app~simple-app.svc.cluster.local',
    type: 'sidecar',
    namespace: 'simple-app',
    metadata: { NAMESPACE: 'simple-app', [VM_METADATA.eastWestGateway]: 'eastwest-gateway.solo.io:15443', [VM_METADATA.listen]: '0.0.0.0:8080' },
  };
  const result = translate({}, vmNode, { meshServices: seed003Services });

  it('equals the static generator but for TLS, and nothing else (no health listeners)', () => {
    const staticOut = buildVmResources({ services, eastWestGateway: gateway, tls: files, namespace: 'simple-app' });
    expect(result.listeners).toEqual(staticOut.listeners);
    expect(result.clusters.map((c) => c.name)).toEqual(['fortune-teller', 'frontend']);
    const tls = (result.clusters[1]?.transport_socket?.typed_config as Json).common_tls_context;
    expect(tls).toEqual({
      alpn_protocols: ['istio-peer-exchange', 'istio'],
      tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {}, resource_api_version: 'V3' } }],
      validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {}, resource_api_version: 'V3' } },
    });
    expect(result.secrets.sort()).toEqual(['ROOTCA', 'default']);
    expect(checkConsistency(result as never)).toEqual([]);
  });

  it('a sidecar without the VM metadata is translated as before', () => {
    const sidecar = translate({}, { ...vmNode, metadata: { NAMESPACE: 'simple-app' } }, { meshServices: seed003Services });
    expect(sidecar.listeners.map((l) => l.name)).not.toContain('0.0.0.0_8080');
  });
});
