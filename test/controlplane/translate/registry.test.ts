/** The service registry from ServiceEntries (endpoints, WorkloadEntry selection, resolutions) and mesh services. */
import { describe, expect, it } from 'vitest';
import { buildServiceRegistry, clusterRows, endpointRows, translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, ProxyNode } from '../../../src/controlplane/translate/index.js';

const snapshot: ConfigSnapshot = {
  serviceEntries: [
    {
      kind: 'ServiceEntry',
      metadata: { name: 'vms', namespace: 'vm' },
      spec: {
        hosts: ['legacy.vm.internal'],
        location: 'MESH_INTERNAL',
        ports: [{ number: 8080, name: 'http', protocol: 'HTTP', targetPort: 9080 }],
        resolution: 'STATIC',
        workloadSelector: { labels: { app: 'legacy' } },
      },
    },
    {
      kind: 'ServiceEntry',
      metadata: { name: 'static', namespace: 'vm' },
      spec: {
        hosts: ['db.vm.internal'],
        ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }],
        resolution: 'STATIC',
        endpoints: [{ address: '192.168.1.10', locality: 'eu-west/a' }, { address: '192.168.1.11', ports: { tcp: 6432 }, locality: 'eu-west/b' }],
      },
    },
    {
      kind: 'ServiceEntry',
      metadata: { name: 'rr', namespace: 'vm' },
      spec: { hosts: ['api.example.com', 'api2.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS_ROUND_ROBIN' },
    },
  ],
  workloadEntries: [
    { kind: 'WorkloadEntry', metadata: { name: 'vm-1', namespace: 'vm' }, spec: { address: '10.9.0.1', labels: { app: 'legacy' }, serviceAccount: 'legacy' } },
    { kind: 'WorkloadEntry', metadata: { name: 'vm-2', namespace: 'vm' }, spec: { address: '10.9.0.2', labels: { app: 'other' } } },
    { kind: 'WorkloadEntry', metadata: { name: 'elsewhere', namespace: 'other' }, spec: { address: '10.9.0.3', labels: { app: 'legacy' } } },
  ],
};
const proxy: ProxyNode = { id: 'client.vm', type: 'sidecar', namespace: 'vm' };

describe('service registry', () => {
  it('has one service per host, sorted, with endpoints from WorkloadEntries the selector picks in its namespace', () => {
    const registry = buildServiceRegistry(snapshot);
    expect(registry.services.map((s) => [s.hostname, s.resolution, s.meshExternal])).toEqual([
      ['api.example.com', 'DNS_ROUND_ROBIN', true],
      ['api2.example.com', 'DNS_ROUND_ROBIN', true],
      ['db.vm.internal', 'STATIC', true],
      ['legacy.vm.internal', 'STATIC', false],
    ]);
    expect(registry.services.find((s) => s.hostname === 'legacy.vm.internal')?.endpoints.map((e) => e.address)).toEqual(['10.9.0.1']);
  });

  it('serves STATIC services over EDS, endpoint ports by port name or targetPort, grouped by locality', () => {
    const out = translate(snapshot, proxy);
    expect(clusterRows(out.clusters).filter((r) => r.direction === 'outbound').map((r) => `${r.serviceFqdn}:${r.port} ${r.type}`)).toEqual([
      'api.example.com:443 LOGICAL_DNS',
      'api2.example.com:443 LOGICAL_DNS',
      'db.vm.internal:5432 EDS',
      'legacy.vm.internal:8080 EDS',
    ]);
    expect(endpointRows(out.endpoints).map((r) => `${r.cluster} ${r.endpoint}`)).toEqual([
      'outbound|5432||db.vm.internal 192.168.1.10:5432',
      'outbound|5432||db.vm.internal 192.168.1.11:6432',
      'outbound|8080||legacy.vm.internal 10.9.0.1:9080',
    ]);
    const db = out.endpoints.find((e) => e.cluster_name === 'outbound|5432||db.vm.internal');
    expect(db?.endpoints?.map((g) => g.locality)).toEqual([{ region: 'eu-west', zone: 'a' }, { region: 'eu-west', zone: 'b' }]);
  });

  it('gives TCP services a tcp_proxy listener and TLS services one shared listener told apart by SNI', () => {
    const out = translate(snapshot, proxy);
    const tls = out.listeners.find((l) => l.name === '0.0.0.0_443');
    expect(tls?.filter_chains?.map((c) => c.filter_chain_match?.server_names)).toEqual([['api.example.com'], ['api2.example.com']]);
    expect(tls?.listener_filters?.[0]?.name).toBe('envoy.filters.listener.tls_inspector');
    expect(out.listeners.find((l) => l.name === '0.0.0.0_5432')?.filter_chains?.[0]?.filters?.[0]?.typed_config?.cluster).toBe('outbound|5432||db.vm.internal');
  });
});

describe('sidecar TLS routes', () => {
  it('routes a TLS port by the SNI hosts of a VirtualService bound to mesh', () => {
    const withVs: ConfigSnapshot = {
      ...snapshot,
      virtualServices: [
        {
          kind: 'VirtualService',
          metadata: { name: 'api', namespace: 'vm' },
          spec: { hosts: ['api.example.com'], tls: [{ match: [{ port: 443, sniHosts: ['api.example.com'] }], route: [{ destination: { host: 'api2.example.com', port: { number: 443 } } }] }] },
        },
      ],
    };
    const out = translate(withVs, proxy);
    const chains = out.listeners.find((l) => l.name === '0.0.0.0_443')?.filter_chains ?? [];
    expect(chains.map((c) => [c.filter_chain_match?.server_names, c.filters?.[0]?.typed_config?.cluster])).toEqual([
      [['api.example.com'], 'outbound|443||api2.example.com'],
      [['api2.example.com'], 'outbound|443||api2.example.com'],
    ]);
  });
});
