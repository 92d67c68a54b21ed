/** Seed 000, mesh B: the ingress gateway terminating MUTUAL TLS for lambda.external, TLS origination to the ALB. */
import { describe, expect, it } from 'vitest';
import { checkConsistency, listenerRows, routeRows, translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot } from '../../../src/controlplane/translate/index.js';
import { loadFixture, meshBIngress } from './fixtures.js';

const snapshot = loadFixture('seed000-mesh-b.yaml');
const result = translate(snapshot, meshBIngress);

describe('seed 000 mesh B: ingress gateway', () => {
  it('prints the routes istioctl proxy-config routes shows', () => {
    const rows = routeRows(result.routes, result.listeners).map((r) => [r.name, r.domains, r.match, r.virtualService]);
    expect(rows).toEqual([
      ['https.443.https.eastwestgateway.istio-ingress', 'lambda.external', '/*', 'vs-lambda.istio-ingress'],
      ['', '*', '/healthz/ready*', ''],
      ['', '*', '/stats/prometheus*', ''],
    ]);
  });

  it('listens on the container port 8443 with a MUTUAL filter chain for the server host', () => {
    const listener = result.listeners.find((l) => l.name === '0.0.0.0_8443');
    expect(listener?.address.socket_address).toEqual({ address: '0.0.0.0', port_value: 8443 });
    expect(listener?.listener_filters?.map((f) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
    expect(listener?.filter_chains).toHaveLength(1);
    const chain = listener?.filter_chains?.[0];
    expect(chain?.filter_chain_match).toEqual({ server_names: ['lambda.external'] });
    expect(chain?.transport_socket).toEqual({
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: {
          alpn_protocols: ['h2', 'http/1.1'],
          tls_certificate_sds_secret_configs: [{ name: 'kubernetes://mtls-credential', sds_config: { ads: {}, resource_api_version: 'V3' } }],
          combined_validation_context: {
            default_validation_context: {},
            validation_context_sds_secret_config: { name: 'kubernetes://mtls-credential-cacert', sds_config: { ads: {}, resource_api_version: 'V3' } },
          },
        },
        require_client_certificate: true,
      },
    });
    const hcm = chain?.filters?.[0]?.typed_config;
    expect(hcm?.rds).toEqual({ route_config_name: 'https.443.https.eastwestgateway.istio-ingress', config_source: { ads: {}, resource_api_version: 'V3' } });
    expect(listenerRows(result.listeners, { port: 8443 })).toEqual([
      { address: '0.0.0.0', port: 8443, match: 'SNI: lambda.external', destination: 'Route: https.443.https.eastwestgateway.istio-ingress' },
    ]);
  });

  it('names the virtual host <host>:<server port> with the host and host:port as domains', () => {
    const route = result.routes.find((r) => r.name === 'https.443.https.eastwestgateway.istio-ingress');
    const vh = route?.virtual_hosts?.[0];
    expect(vh?.name).toBe('lambda.external:443');
    expect(vh?.domains).toEqual(['lambda.external', 'lambda.external:443']);
    expect(vh?.routes?.[0]?.route?.cluster).toBe('outbound|443||alb.jesus2.solo.io');
    expect(vh?.routes?.[0]?.metadata).toEqual({
      filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/istio-ingress/virtual-service/vs-lambda' } },
    });
  });

  it('originates TLS (SIMPLE, port-level) to the ALB over a STRICT_DNS cluster', () => {
    const cluster = result.clusters.find((c) => c.name === 'outbound|443||alb.jesus2.solo.io');
    expect(cluster?.type).toBe('STRICT_DNS');
    expect(cluster?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint.address.socket_address).toEqual({ address: 'alb.jesus2.solo.io', port_value: 443 });
    expect(cluster?.transport_socket).toEqual({
      name: 'envoy.transport_sockets.tls',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: {} },
    });
    // No sni in the rule: Envoy takes it from the Host header (auto_sni), as Istio configures it.
    const options = cluster?.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(options?.upstream_http_protocol_options).toEqual({ auto_sni: true });
    expect(cluster?.metadata?.filter_metadata.istio?.config).toBe('/apis/networking.istio.io/v1alpha3/namespaces/istio-ingress/destination-rule/dr-alb-ext');
  });

  it('references the credential and its CA over SDS', () => {
    expect(result.secrets).toEqual(['kubernetes://mtls-credential', 'kubernetes://mtls-credential-cacert']);
  });

  it('is consistent: every RDS name, EDS name and routed cluster is produced', () => {
    expect(checkConsistency(result, { routeClusters: true })).toEqual([]);
  });

  it('trims matches by sourceLabels: a gateway without the labels gets no route, only the 404 virtual host', () => {
    const other = translate(snapshot, { ...meshBIngress, labels: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17', extra: 'x' } });
    expect(routeRows(other.routes)[0]?.virtualService).toBe('vs-lambda.istio-ingress');
    const vs = snapshot.virtualServices?.[0];
    if (!vs) throw new Error('fixture');
    const changed: ConfigSnapshot = {
      ...snapshot,
      virtualServices: [{ ...vs, spec: { ...vs.spec, http: [{ ...vs.spec.http?.[0], match: [{ sourceLabels: { app: 'someone-else' }, uri: { prefix: '/' } }] }] } }],
    };
    const trimmed = translate(changed, meshBIngress);
    expect(routeRows(trimmed.routes)).toEqual([{ name: 'https.443.https.eastwestgateway.istio-ingress', domains: '*', match: '/*', virtualService: '404' }]);
  });

  it('hides the ServiceEntry and VirtualService (exportTo ".") from other namespaces', () => {
    const elsewhere = translate(snapshot, { ...meshBIngress, namespace: 'istio-system' });
    expect(elsewhere.clusters.map((c) => c.name)).not.toContain('outbound|443||alb.jesus2.solo.io');
    expect(routeRows(elsewhere.routes)[0]?.virtualService).toBe('404');
  });
});
