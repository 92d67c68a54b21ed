// Envoy's default tag extraction, which /stats/prometheus relies on.
import { describe, expect, it } from 'vitest';
import { extractTags } from '../../../src/proxy/admin/index.js';

describe('extractTags', () => {
  it.each([
    ['cluster.backend.upstream_rq_total', 'cluster.upstream_rq_total', [['envoy.cluster_name', 'backend']]],
    ['cluster.backend.upstream_rq_200', 'cluster.upstream_rq', [['envoy.response_code', '200'], ['envoy.cluster_name', 'backend']]],
    ['cluster.backend.upstream_rq_5xx', 'cluster.upstream_rq_xx', [['envoy.response_code_class', '5'], ['envoy.cluster_name', 'backend']]],
    ['http.ingress_http.downstream_rq_2xx', 'http.downstream_rq_xx', [['envoy.response_code_class', '2'], ['envoy.http_conn_manager_prefix', 'ingress_http']]],
    ['listener.0.0.0.0_10000.downstream_cx_total', 'listener.downstream_cx_total', [['envoy.listener_address', '0.0.0.0_10000']]],
    ['listener.[__1]_8443.downstream_cx_total', 'listener.downstream_cx_total', [['envoy.listener_address', '[__1]_8443']]],
    [
      'listener.0.0.0.0_15001.http.inbound.downstream_rq_4xx',
      'listener.http.downstream_rq_xx',
      [['envoy.response_code_class', '4'], ['envoy.http_conn_manager_prefix', 'inbound'], ['envoy.listener_address', '0.0.0.0_15001']],
    ],
    ['tcp.passthrough.downstream_cx_total', 'tcp.downstream_cx_total', [['envoy.tcp_prefix', 'passthrough']]],
    ['listener_manager.worker_1.dispatcher.loop_duration_us', 'listener_manager.worker_dispatcher.loop_duration_us', [['envoy.worker_id', '1']]],
    ['vhost.shop.vcluster.checkout.upstream_rq_503', 'vhost.vcluster.upstream_rq', [['envoy.response_code', '503'], ['envoy.virtual_cluster', 'checkout'], ['envoy.virtual_host', 'shop']]],
    ['cluster.backend.ssl.ciphers.ECDHE-RSA-AES128-GCM-SHA256', 'cluster.ssl.ciphers', [['envoy.ssl_cipher_suite', 'ECDHE-RSA-AES128-GCM-SHA256'], ['envoy.cluster_name', 'backend']]],
    ['http.ingress.rds.local.route.config_reload', 'http.rds.config_reload', [['envoy.http_conn_manager_prefix', 'ingress'], ['envoy.rds_route_config', 'local.route']]],
  ])('%s -> %s', (stat, name, tags) => {
    const extracted = extractTags(stat);
    expect(extracted.name).toBe(name);
    expect(extracted.tags.map((t) => [t.name, t.value])).toStrictEqual(tags);
  });

  it('leaves the admin listener and untagged stats alone', () => {
    expect(extractTags('listener.admin.downstream_cx_total')).toStrictEqual({ name: 'listener.admin.downstream_cx_total', tags: [] });
    expect(extractTags('server.live')).toStrictEqual({ name: 'server.live', tags: [] });
  });
});
