// /clusters and /listeners in Envoy's text and JSON shapes, over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCircuitBreakers } from '../../../src/proxy/admin/index.js';
import { startFixtureAdmin } from './admin-fixture.js';
import type { RunningAdmin } from './admin-fixture.js';

let fixture: RunningAdmin;
beforeAll(async () => {
  fixture = await startFixtureAdmin();
});
afterAll(async () => {
  await fixture.admin.close();
});

const get = async (path: string) => {
  const res = await fetch(fixture.url(path));
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

describe('/clusters', () => {
  it('prints Envoy\'s cluster::host::stat::value lines, clusters sorted by name', async () => {
    const { status, text } = await get('/clusters');
    expect(status).toBe(200);
    const firstHost =
      [
        'api::observability_name::api_stats',
        'api::default_priority::max_connections::1024',
        'api::default_priority::max_pending_requests::1024',
        'api::default_priority::max_requests::1024',
        'api::default_priority::max_retries::3',
        'api::high_priority::max_connections::1024',
        'api::high_priority::max_pending_requests::1024',
        'api::high_priority::max_requests::1024',
        'api::high_priority::max_retries::3',
        'api::added_via_api::true',
        'web::observability_name::web',
        'web::default_priority::max_connections::100',
        'web::default_priority::max_pending_requests::1024',
        'web::default_priority::max_requests::1024',
        'web::default_priority::max_retries::5',
        'web::high_priority::max_connections::1024',
        'web::high_priority::max_pending_requests::1024',
        'web::high_priority::max_requests::1024',
        'web::high_priority::max_retries::3',
        'web::added_via_api::false',
        'web::10.0.0.1:8080::cx_active::2',
        'web::10.0.0.1:8080::cx_connect_fail::0',
        'web::10.0.0.1:8080::cx_total::7',
        'web::10.0.0.1:8080::rq_active::0',
        'web::10.0.0.1:8080::rq_error::1',
        'web::10.0.0.1:8080::rq_success::39',
        'web::10.0.0.1:8080::rq_timeout::0',
        'web::10.0.0.1:8080::rq_total::40',
        'web::10.0.0.1:8080::hostname::web-1.example',
        'web::10.0.0.1:8080::health_flags::healthy',
        'web::10.0.0.1:8080::weight::1',
        'web::10.0.0.1:8080::region::',
        'web::10.0.0.1:8080::zone::',
        'web::10.0.0.1:8080::sub_zone::',
        'web::10.0.0.1:8080::canary::false',
        'web::10.0.0.1:8080::priority::0',
        'web::10.0.0.1:8080::success_rate::-1',
        'web::10.0.0.1:8080::local_origin_success_rate::-1',
      ].join('\n') + '\n';
    expect(text.slice(0, firstHost.length)).toBe(firstHost);
    expect(text).toContain('web::[2001:db8::2]:8080::health_flags::/failed_active_hc\n');
    expect(text).toContain('web::[2001:db8::2]:8080::weight::3\n');
    expect(text).toContain('web::[2001:db8::2]:8080::priority::1\n');
    expect(text).toContain('web::[2001:db8::2]:8080::cx_total::0\n');
  });

  it('answers ?format=json as admin.v3.Clusters in proto3 JSON', async () => {
    const { type, text } = await get('/clusters?format=json');
    expect(type).toBe('application/json');
    const body = JSON.parse(text) as { cluster_statuses: Array<Record<string, unknown>> };
    expect(body.cluster_statuses.map((c) => c.name)).toStrictEqual(['api', 'web']);
    const [api, web] = body.cluster_statuses as [Record<string, unknown>, Record<string, unknown>];
    expect(api).toStrictEqual({
      name: 'api',
      added_via_api: true,
      circuit_breakers: {
        thresholds: [
          { max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 },
          { priority: 'HIGH', max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 },
        ],
      },
      observability_name: 'api_stats',
    });
    const hosts = web.host_statuses as Array<Record<string, unknown>>;
    expect(web.added_via_api).toBeUndefined();
    expect(hosts[0]).toMatchObject({
      address: { socket_address: { address: '10.0.0.1', port_value: 8080 } },
      health_status: { eds_health_status: 'HEALTHY' },
      weight: 1,
      hostname: 'web-1.example',
    });
    expect(hosts[0]?.stats).toContainEqual({ value: '7', name: 'cx_total' });
    expect(hosts[0]?.stats).toContainEqual({ name: 'cx_connect_fail' });
    expect(hosts[0]?.stats).toContainEqual({ type: 'GAUGE', value: '2', name: 'cx_active' });
    expect(hosts[1]).toMatchObject({
      address: { socket_address: { address: '2001:db8::2', port_value: 8080 } },
      health_status: { failed_active_health_check: true, eds_health_status: 'HEALTHY' },
      weight: 3,
      priority: 1,
    });
  });

  it('maps circuit_breakers.thresholds from cluster config', () => {
    expect(adminCircuitBreakers([{ max_connections: 10 }, { priority: 'HIGH', max_retries: 1 }])).toStrictEqual({ default: { maxConnections: 10 }, high: { maxRetries: 1 } });
    expect(adminCircuitBreakers(undefined)).toStrictEqual({});
  });
});

describe('/listeners', () => {
  it('prints name::address lines', async () => {
    expect((await get('/listeners')).text).toBe('ingress::0.0.0.0:8443\negress_v6::[::1]:15001\n');
  });

  it('answers ?format=json as admin.v3.Listeners', async () => {
    expect(JSON.parse((await get('/listeners?format=json')).text)).toStrictEqual({
      listener_statuses: [
        { name: 'ingress', local_address: { socket_address: { address: '0.0.0.0', port_value: 8443 } } },
        { name: 'egress_v6', local_address: { socket_address: { address: '::1', port_value: 15001 } } },
      ],
    });
  });
});
