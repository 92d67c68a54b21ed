import { describe, expect, it } from 'vitest';
import { validateBootstrap } from '../../src/envoy/index.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function listenerWith(filterConfig: Record<string, unknown>) {
  return {
    static_resources: {
      listeners: [{
        address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM, stat_prefix: 'vm', ...filterConfig } }] }],
      }],
    },
  };
}

describe('Envoy bootstrap validation', () => {
  it('accepts camelCase and snake_case keys and normalizes to snake_case', () => {
    const result = validateBootstrap({
      staticResources: {
        clusters: [{
          name: 'frontend',
          type: 'STRICT_DNS',
          connectTimeout: '0.25s',
          transportSocket: {
            name: 'envoy.transport_sockets.tls',
            typedConfig: {
              '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
              sni: 'outbound_.80_._.frontend.simple-app.svc.cluster.local',
              common_tls_context: { alpnProtocols: ['istio-peer-exchange', 'istio'] },
            },
          },
        }],
      },
    });
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    const cluster = result.bootstrap.static_resources?.clusters?.[0];
    expect(cluster?.connect_timeout).toBe('0.25s');
    const tls = cluster?.transport_socket?.typed_config as unknown as { common_tls_context: { alpn_protocols: string[] } };
    expect(tls.common_tls_context.alpn_protocols).toEqual(['istio-peer-exchange', 'istio']);
  });

  it('an unsupported field stops start-up with its exact path', () => {
    const result = validateBootstrap(listenerWith({ tracing: { random_sampling: { value: 1 } } }));
    expect(result.valid).toBe(false);
    if (result.valid) return;
    expect(result.errors[0]?.path).toBe('static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing');
    expect(result.errors[0]?.message).toMatch(/unsupported field "tracing" in HttpConnectionManager/);
  });

  it('an unknown filter type is named with its path', () => {
    const result = validateBootstrap({
      static_resources: { listeners: [{ address: { socket_address: { address: '0.0.0.0', port_value: 1 } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.redis_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy' } }] }] }] },
    });
    expect(result.valid).toBe(false);
    if (result.valid) return;
    expect(result.errors).toContainEqual({
      path: 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.@type',
      message: 'unsupported type "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy"',
    });
  });

  it('a filter given by name only resolves its type, as the seed writes the router', () => {
    const result = validateBootstrap(listenerWith({ http_filters: [{ name: 'envoy.filters.http.router' }] }));
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    const hcm = result.bootstrap.static_resources?.listeners?.[0]?.filter_chains?.[0]?.filters?.[0]?.typed_config as unknown as { http_filters: Array<{ typed_config: { '@type': string } }> };
    expect(hcm.http_filters[0]?.typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
  });

  it('reports wrong types, bad enums, bad durations and oneof conflicts, all at once', () => {
    const result = validateBootstrap({
      static_resources: {
        clusters: [{ name: 'c', type: 'STRICTDNS', connect_timeout: '250ms', lb_policy: 'ROUND_ROBIN' }],
        listeners: [{
          address: { socket_address: { address: '0.0.0.0', port_value: 'eighty' } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM, stat_prefix: 'x', route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', path: '/a' }, route: { cluster: 'c' } }] }] } } }] }],
        }],
      },
    });
    expect(result.valid).toBe(false);
    if (result.valid) return;
    const paths = result.errors.map((e) => e.path);
    expect(paths).toContain('static_resources.clusters[0].type');
    expect(paths).toContain('static_resources.clusters[0].connect_timeout');
    expect(paths).toContain('static_resources.listeners[0].address.socket_address.port_value');
    expect(result.errors.find((e) => e.path.endsWith('routes[0].match'))?.message).toMatch(/only one of prefix, path/);
  });
});
