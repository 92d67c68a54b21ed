/** DestinationRule: which rule applies, port-level and subset precedence, connection pool, outlier detection, load balancing. */
import { describe, expect, it } from 'vitest';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, DestinationRule, XdsCluster } from '../../../src/controlplane/translate/index.js';
import { destinationRuleFor, policyForPort, policyForSubset } from '../../../src/controlplane/translate/destination-rule.js';
import { loadFixture, productpage, shopServices } from './fixtures.js';

const result = translate(loadFixture('features.yaml'), productpage, { meshServices: shopServices });
const cluster = (name: string): XdsCluster | undefined => result.clusters.find((c) => c.name === name);
const MAX = 4294967295;

describe('DestinationRule traffic policy', () => {
  it('applies the rule-level policy to a port without port-level settings', () => {
    const c = cluster('outbound|9090||reviews.shop.svc.cluster.local');
    expect(c?.lb_policy).toBe('ROUND_ROBIN');
    expect(c?.connect_timeout).toBe('3s');
    expect(c?.circuit_breakers).toEqual({ thresholds: [{ max_connections: 100, max_pending_requests: 10, max_requests: 1000, max_retries: 4, track_remaining: true }] });
    expect(c?.outlier_detection).toEqual({ enforcing_success_rate: 0, consecutive_5xx: 5, enforcing_consecutive_5xx: 100, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 50 });
    expect(c?.common_lb_config).toEqual({ healthy_panic_threshold: { value: 0 } });
    const options = c?.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    expect(options?.common_http_protocol_options).toEqual({ idle_timeout: '30s' });
    // gRPC port: upstream HTTP/2.
    expect(options?.explicit_http_config).toEqual({ http2_protocol_options: {} });
  });

  it('lets port-level settings replace the rule-level policy wholesale (omitted fields take defaults)', () => {
    const c = cluster('outbound|9080||reviews.shop.svc.cluster.local');
    expect(c?.lb_policy).toBe('RANDOM');
    expect(c?.connect_timeout).toBe('10s');
    expect(c?.circuit_breakers?.thresholds?.[0]).toEqual({ max_connections: MAX, max_pending_requests: MAX, max_requests: MAX, max_retries: MAX, track_remaining: true });
    expect(c?.outlier_detection).toBeUndefined();
  });

  it('gives each subset a cluster with its endpoints; a subset policy overrides field by field', () => {
    expect(cluster('outbound|9080|v1|reviews.shop.svc.cluster.local')?.lb_policy).toBe('RANDOM');
    expect(cluster('outbound|9080|v2|reviews.shop.svc.cluster.local')?.lb_policy).toBe('LEAST_REQUEST');
    expect(cluster('outbound|9090|v2|reviews.shop.svc.cluster.local')?.outlier_detection?.consecutive_5xx).toBe(5);
    const v1 = result.endpoints.find((e) => e.cluster_name === 'outbound|9080|v1|reviews.shop.svc.cluster.local');
    expect(v1?.endpoints?.flatMap((g) => g.lb_endpoints?.map((e) => e.endpoint.address.socket_address.address))).toEqual(['10.0.0.1']);
    expect(cluster('outbound|9080|v1|reviews.shop.svc.cluster.local')?.metadata?.filter_metadata.istio).toEqual({
      services: [{ host: 'reviews.shop.svc.cluster.local', name: 'reviews.shop.svc.cluster.local', namespace: 'shop' }],
      config: '/apis/networking.istio.io/v1alpha3/namespaces/shop/destination-rule/reviews',
      subset: 'v1',
    });
  });

  it('merges policies as Istio does', () => {
    const policy = { loadBalancer: { simple: 'ROUND_ROBIN' as const }, portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' as const } }] };
    expect(policyForPort(policy, 80)).toEqual({ policy: { connectionPool: undefined, outlierDetection: undefined, loadBalancer: undefined, tls: { mode: 'SIMPLE' } }, portLevel: true });
    expect(policyForPort(policy, 81).policy.loadBalancer).toEqual({ simple: 'ROUND_ROBIN' });
    const subset = { tls: { mode: 'DISABLE' as const } };
    expect(policyForSubset(policy, subset, 81)).toEqual({ connectionPool: undefined, outlierDetection: undefined, loadBalancer: { simple: 'ROUND_ROBIN' }, tls: { mode: 'DISABLE' } });
    const subsetPortLevel = { portLevelSettings: [{ port: { number: 81 }, connectionPool: { tcp: { maxConnections: 1 } } }] };
    expect(policyForSubset(policy, subsetPortLevel, 81).loadBalancer).toBeUndefined();
  });

  it('uses PASSTHROUGH as an original-destination cluster without endpoints', () => {
    const snap = loadFixture('features.yaml');
    const dr = snap.destinationRules?.[0] as DestinationRule;
    const passthrough: ConfigSnapshot = { ...snap, destinationRules: [{ ...dr, spec: { host: 'ratings', trafficPolicy: { loadBalancer: { simple: 'PASSTHROUGH' } } } }] };
    const out = translate(passthrough, productpage, { meshServices: shopServices });
    const c = out.clusters.find((x) => x.name === 'outbound|9080||ratings.shop.svc.cluster.local');
    expect(c?.type).toBe('ORIGINAL_DST');
    expect(c?.lb_policy).toBe('CLUSTER_PROVIDED');
    expect(c?.eds_cluster_config).toBeUndefined();
    expect(out.endpoints.map((e) => e.cluster_name)).not.toContain('outbound|9080||ratings.shop.svc.cluster.local');
  });
});

describe('DestinationRule lookup', () => {
  const rule = (name: string, namespace: string, host: string, extra: Partial<DestinationRule['spec']> = {}): DestinationRule => ({
    kind: 'DestinationRule',
    metadata: { name, namespace },
    spec: { host, ...extra },
  });
  const rules = [
    rule('root', 'istio-system', '*.shop.svc.cluster.local'),
    rule('service-ns', 'shop', 'reviews'),
    rule('client-ns', 'web', 'reviews.shop.svc.cluster.local'),
    rule('client-ns-wildcard', 'web', '*.svc.cluster.local'),
    rule('selecting', 'web', 'reviews.shop.svc.cluster.local', { workloadSelector: { matchLabels: { app: 'canary' } } }),
    rule('private', 'other', 'reviews.shop.svc.cluster.local', { exportTo: ['.'] }),
  ];
  const index = { rules, rootNamespace: 'istio-system', domainSuffix: 'cluster.local' };
  const host = 'reviews.shop.svc.cluster.local';
  const proxy = (namespace: string, labels: Record<string, string> = {}) => ({ id: 'p', type: 'sidecar' as const, namespace, labels });

  it("prefers the client's namespace (a selecting rule first, then the most specific host)", () => {
    expect(destinationRuleFor(index, proxy('web', { app: 'canary' }), host, 'shop')?.metadata.name).toBe('selecting');
    expect(destinationRuleFor(index, proxy('web'), host, 'shop')?.metadata.name).toBe('client-ns');
  });

  it("then the service's namespace, then the root namespace", () => {
    expect(destinationRuleFor(index, proxy('shop'), host, 'shop')?.metadata.name).toBe('service-ns');
    expect(destinationRuleFor(index, proxy('elsewhere'), host, 'shop')?.metadata.name).toBe('service-ns');
    expect(destinationRuleFor(index, proxy('elsewhere'), 'ratings.shop.svc.cluster.local', 'shop')?.metadata.name).toBe('root');
  });

  it('honours exportTo', () => {
    expect(destinationRuleFor(index, proxy('other'), host, 'elsewhere')?.metadata.name).toBe('private');
    expect(destinationRuleFor({ ...index, rules: [rules[5] as DestinationRule] }, proxy('web'), host, 'other')).toBeUndefined();
  });
});
