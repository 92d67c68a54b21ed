/** Seed 003: the east-west gateway (ROUTER_MODE sni-dnat) with an AUTO_PASSTHROUGH server on 15443. */
import { describe, expect, it } from 'vitest';
import { checkConsistency, endpointRows, ISTIO_MTLS_ALPNS, listenerRows, translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot } from '../../../src/controlplane/translate/index.js';
import { eastWestGateway, loadFixture, seed003Services } from './fixtures.js';

const snapshot = loadFixture('seed003-eastwest.yaml');
const result = translate(snapshot, eastWestGateway, { meshServices: seed003Services });

describe('seed 003: east-west gateway', () => {
  it('prints the SNI rows of istioctl proxy-config listener --port 15443, in istioctl order', () => {
    const rows = listenerRows(result.listeners, { port: 15443 });
    const expected = [
      'outbound_.80_._.frontend.simple-app.svc.cluster.local',
      'outbound_.50051_._.fortune-teller.fortune-teller.svc.cluster.local',
      'outbound_.443_._.istiod.istio-system.svc.cluster.local',
      'outbound_.15443_._.istio-eastwestgateway.istio-system.svc.cluster.local',
      'outbound_.15021_._.istio-eastwestgateway.istio-system.svc.cluster.local',
      'outbound_.15014_._.istiod.istio-system.svc.cluster.local',
      'outbound_.15012_._.istiod.istio-system.svc.cluster.local',
      'outbound_.15010_._.istiod.istio-system.svc.cluster.local',
    ];
    expect(rows.map((r) => `${r.address} ${r.port} ${r.match.slice(0, r.match.indexOf(';') + 1)}`)).toEqual(expected.map((sni) => `0.0.0.0 15443 SNI: ${sni};`));
    expect(rows[0]).toEqual({
      address: '0.0.0.0',
      port: 15443,
      match: 'SNI: outbound_.80_._.frontend.simple-app.svc.cluster.local; App: istio,istio-peer-exchange,istio-http/1.0,istio-http/1.1,istio-h2',
      destination: 'Cluster: outbound_.80_._.frontend.simple-app.svc.cluster.local',
    });
  });

  it('passes TLS through: TLS inspector, SNI + Istio ALPN match, tcp_proxy to the cluster of the same name', () => {
    const listener = result.listeners.find((l) => l.name === '0.0.0.0_15443');
    expect(listener?.listener_filters?.map((f) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
    const chain = listener?.filter_chains?.find((c) => c.filter_chain_match?.server_names?.[0] === 'outbound_.80_._.frontend.simple-app.svc.cluster.local');
    expect(chain?.filter_chain_match?.application_protocols).toEqual(ISTIO_MTLS_ALPNS);
    expect(chain?.transport_socket).toBeUndefined();
    expect(chain?.filters).toEqual([
      {
        name: 'envoy.filters.network.tcp_proxy',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
          stat_prefix: 'outbound_.80_._.frontend.simple-app.svc.cluster.local',
          cluster: 'outbound_.80_._.frontend.simple-app.svc.cluster.local',
        },
      },
    ]);
  });

  it('emits the SNI clusters over EDS without TLS of their own, with the service endpoints', () => {
    const cluster = result.clusters.find((c) => c.name === 'outbound_.80_._.frontend.simple-app.svc.cluster.local');
    expect(cluster?.type).toBe('EDS');
    expect(cluster?.eds_cluster_config).toEqual({ service_name: 'outbound_.80_._.frontend.simple-app.svc.cluster.local', eds_config: { ads: {}, resource_api_version: 'V3' } });
    expect(cluster?.transport_socket).toBeUndefined();
    const cla = result.endpoints.find((e) => e.cluster_name === 'outbound_.80_._.frontend.simple-app.svc.cluster.local');
    expect(cla && endpointRows(cla)).toEqual([{ endpoint: '10.42.0.15:8080', status: 'HEALTHY', outlierCheck: 'OK', cluster: 'outbound_.80_._.frontend.simple-app.svc.cluster.local' }]);
    const grpc = result.clusters.find((c) => c.name === 'outbound_.50051_._.fortune-teller.fortune-teller.svc.cluster.local');
    expect(grpc?.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']?.explicit_http_config).toEqual({ http2_protocol_options: {} });
  });

  it('adds a filter chain and a cluster per DestinationRule subset', () => {
    const withSubsets: ConfigSnapshot = {
      ...snapshot,
      destinationRules: [
        {
          apiVersion: 'networking.istio.io/v1beta1',
          kind: 'DestinationRule',
          metadata: { name: 'frontend', namespace: 'simple-app' },
          spec: { host: 'frontend.simple-app.svc.cluster.local', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
        },
      ],
    };
    const out = translate(withSubsets, eastWestGateway, { meshServices: seed003Services });
    const snis = listenerRows(out.listeners, { port: 15443 }).map((r) => r.match.split(';')[0]);
    expect(snis).toEqual(expect.arrayContaining(['SNI: outbound_.80_.v1_.frontend.simple-app.svc.cluster.local', 'SNI: outbound_.80_.v2_.frontend.simple-app.svc.cluster.local']));
    const v1 = out.endpoints.find((e) => e.cluster_name === 'outbound_.80_.v1_.frontend.simple-app.svc.cluster.local');
    const v2 = out.endpoints.find((e) => e.cluster_name === 'outbound_.80_.v2_.frontend.simple-app.svc.cluster.local');
    expect(v1?.endpoints?.[0]?.lb_endpoints).toHaveLength(1);
    expect(v2?.endpoints).toEqual([]);
    expect(checkConsistency(out)).toEqual([]);
  });

  it('leaves MESH_EXTERNAL services out of AUTO_PASSTHROUGH', () => {
    const external: ConfigSnapshot = {
      ...snapshot,
      serviceEntries: [
        {
          kind: 'ServiceEntry',
          metadata: { name: 'ext', namespace: 'istio-system' },
          spec: { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS' },
        },
      ],
    };
    const out = translate(external, eastWestGateway, { meshServices: seed003Services });
    expect(listenerRows(out.listeners, { port: 15443 }).some((r) => r.match.includes('api.example.com'))).toBe(false);
  });

  it('is consistent and keeps the standard status listener on 15021', () => {
    expect(checkConsistency(result, { routeClusters: true })).toEqual([]);
    expect(result.listeners.map((l) => l.name)).toEqual(['0.0.0.0_15021', '0.0.0.0_15090', '0.0.0.0_15443']);
  });
});
