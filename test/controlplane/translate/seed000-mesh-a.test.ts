/**
 * Seed 000, mesh A: the sleep sidecar sends lambda.external:80 to the egress gateway (subset lambda), which
 * originates mTLS to mesh B with the credential and SNI of dr-lambda-ext.
 */
import { describe, expect, it } from 'vitest';
import { checkConsistency, clusterRows, endpointRows, routeRows, translate } from '../../../src/controlplane/translate/index.js';
import { loadFixture, meshAEgress, meshAServices, meshASleep } from './fixtures.js';

const snapshot = loadFixture('seed000-mesh-a.yaml');
// Mesh A runs istiod with PILOT_FILTER_GATEWAY_CLUSTER_CONFIG and VERIFY_CERTIFICATE_AT_CLIENT.
const options = { meshServices: meshAServices, filterGatewayClusterConfig: true, verifyCertificateAtClient: true };
const egress = translate(snapshot, meshAEgress, options);
const sleep = translate(snapshot, meshASleep, options);
const ADS = { ads: {}, resource_api_version: 'V3' };

describe('seed 000 mesh A: egress gateway', () => {
  it('prints the routes istioctl proxy-config routes shows', () => {
    const rows = routeRows(egress.routes, egress.listeners).map((r) => [r.name, r.domains, r.match, r.virtualService]);
    expect(rows[0]).toEqual(['http.8080', 'lambda.external', '/*', 'direct-lambda-through-egress-gateway.istio-egress']);
    expect(rows.slice(1)).toEqual(
      expect.arrayContaining([
        ['', '*', '/stats/prometheus*', ''],
        ['', '*', '/healthz/ready*', ''],
      ]),
    );
    expect(rows).toHaveLength(3);
  });

  it('serves port 80 of the Gateway on the container port 8080 with the route http.8080', () => {
    const listener = egress.listeners.find((l) => l.name === '0.0.0.0_8080');
    const hcm = listener?.filter_chains?.[0]?.filters?.[0]?.typed_config;
    expect(hcm?.rds).toEqual({ route_config_name: 'http.8080', config_source: ADS });
    expect(listener?.listener_filters).toBeUndefined();
    const vh = egress.routes.find((r) => r.name === 'http.8080')?.virtual_hosts?.[0];
    expect(vh?.name).toBe('lambda.external:80');
    // Only the match bound to the egress gateway applies here; the "mesh" one is for sidecars.
    expect(vh?.routes).toHaveLength(1);
    expect(vh?.routes?.[0]?.route?.cluster).toBe('outbound|80||lambda.external');
  });

  it('originates mTLS with the credential, the SNI lambda.external and the credential CA', () => {
    const cluster = egress.clusters.find((c) => c.name === 'outbound|80||lambda.external');
    expect(cluster?.type).toBe('STRICT_DNS');
    expect(cluster?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint.address.socket_address).toEqual({ address: 'ingress-mesh-b.example.com', port_value: 443 });
    expect(cluster?.transport_socket?.typed_config).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: 'lambda.external',
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: 'kubernetes://mtls-credential', sds_config: ADS }],
        combined_validation_context: {
          default_validation_context: {},
          validation_context_sds_secret_config: { name: 'kubernetes://mtls-credential-cacert', sds_config: ADS },
        },
      },
    });
    // An explicit sni: no auto_sni.
    expect(cluster?.typed_extension_protocol_options).toBeUndefined();
    expect(egress.secrets).toEqual(['kubernetes://mtls-credential', 'kubernetes://mtls-credential-cacert']);
  });

  it('sends only the clusters its routes use (PILOT_FILTER_GATEWAY_CLUSTER_CONFIG)', () => {
    expect(egress.clusters.map((c) => c.name)).toEqual(['agent', 'outbound|80||lambda.external', 'prometheus_stats']);
    expect(egress.endpoints).toEqual([]);
    const unfiltered = translate(snapshot, meshAEgress, { ...options, filterGatewayClusterConfig: false });
    expect(clusterRows(unfiltered.clusters).map((r) => [r.serviceFqdn, r.port, r.subset, r.direction, r.type, r.destinationRule])).toEqual([
      ['agent', '-', '-', '-', 'STATIC', ''],
      ['istio-egressgateway.istio-egress.svc.cluster.local', '80', '-', 'outbound', 'EDS', 'egressgateway-for-lambda.istio-egress'],
      ['istio-egressgateway.istio-egress.svc.cluster.local', '443', '-', 'outbound', 'EDS', 'egressgateway-for-lambda.istio-egress'],
      ['istio-egressgateway.istio-egress.svc.cluster.local', '80', 'lambda', 'outbound', 'EDS', 'egressgateway-for-lambda.istio-egress'],
      ['istio-egressgateway.istio-egress.svc.cluster.local', '443', 'lambda', 'outbound', 'EDS', 'egressgateway-for-lambda.istio-egress'],
      ['lambda.external', '80', '-', 'outbound', 'STRICT_DNS', 'dr-lambda-ext.istio-egress'],
      ['prometheus_stats', '-', '-', '-', 'STATIC', ''],
    ]);
  });

  it('is consistent', () => {
    expect(checkConsistency(egress, { routeClusters: true })).toEqual([]);
  });
});

describe('seed 000 mesh A: sleep sidecar', () => {
  it('routes lambda.external:80 to the egress gateway subset lambda (gateways: [mesh])', () => {
    const route = sleep.routes.find((r) => r.name === '80');
    const vh = route?.virtual_hosts?.find((v) => v.name === 'lambda.external:80');
    // The seed's ISTIO_META_DNS_AUTO_ALLOCATE: lambda.external's auto-allocated VIP is a domain too, as in Istio.
    expect(vh?.domains).toEqual(['lambda.external', 'lambda.external:80', '127.240.235.80', '127.240.235.80:80']);
    expect(vh?.routes).toHaveLength(1);
    expect(vh?.routes?.[0]?.route?.cluster).toBe('outbound|80|lambda|istio-egressgateway.istio-egress.svc.cluster.local');
    // istioctl lists the VIP beside the name, as it does for Istio's 240.240.0.0/16 addresses.
    expect(routeRows(sleep.routes).find((r) => r.domains === 'lambda.external, 127.240.235.80')).toEqual({
      name: '80',
      domains: 'lambda.external, 127.240.235.80',
      match: '/*',
      virtualService: 'direct-lambda-through-egress-gateway.istio-egress',
    });
  });

  it('has an outbound HTTP listener on port 80 using RDS route "80"', () => {
    const listener = sleep.listeners.find((l) => l.name === '0.0.0.0_80');
    expect(listener?.filter_chains?.[0]?.filters?.[0]?.typed_config?.rds).toEqual({ route_config_name: '80', config_source: ADS });
  });

  it('gets the egress gateway endpoints for the subset cluster (a subset without labels selects all)', () => {
    const cla = sleep.endpoints.find((e) => e.cluster_name === 'outbound|80|lambda|istio-egressgateway.istio-egress.svc.cluster.local');
    expect(cla && endpointRows(cla)).toEqual([
      { endpoint: '10.8.0.12:8080', status: 'HEALTHY', outlierCheck: 'OK', cluster: 'outbound|80|lambda|istio-egressgateway.istio-egress.svc.cluster.local' },
    ]);
  });

  it('does not give the sidecar the gateway credential (credentialName without workloadSelector)', () => {
    const cluster = sleep.clusters.find((c) => c.name === 'outbound|80||lambda.external');
    expect(cluster?.transport_socket).toBeUndefined();
    expect(sleep.secrets).toEqual([]);
    expect(sleep.warnings.map((w) => w.resource)).toContain('DestinationRule/istio-egress/dr-lambda-ext');
  });

  it('is consistent', () => {
    expect(checkConsistency(sleep, { routeClusters: true })).toEqual([]);
  });
});
