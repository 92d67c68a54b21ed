// A running admin server over a real StatsStore and small, fixed cluster/listener views.
import { StatsStore } from '../../../src/proxy/stats.js';
import { buildConfigDump, startAdminServer } from '../../../src/proxy/admin/index.js';
import type { AdminClusterInfo, AdminListenerInfo, AdminServer, AdminServerOptions } from '../../../src/proxy/admin/index.js';
import { TYPE_URL } from '../../../src/envoy/index.js';

export const CLUSTERS: AdminClusterInfo[] = [
  {
    name: 'web',
    addedViaApi: false,
    circuitBreakers: { default: { maxConnections: 100, maxRetries: 5 } },
    hosts: [
      { id: '10.0.0.1:8080', hostname: 'web-1.example', weight: 1, healthy: true, stats: { cx_active: 2, cx_total: 7, rq_total: 40, rq_success: 39, rq_error: 1 } },
      { id: '[2001:db8::2]:8080', weight: 3, healthy: false, healthFlags: ['failed_active_hc'], priority: 1, stats: {} },
    ],
  },
  { name: 'api', observabilityName: 'api_stats', addedViaApi: true, hosts: [] },
];

export const LISTENERS: AdminListenerInfo[] = [
  { name: 'ingress', address: '0.0.0.0:8443' },
  { name: 'egress_v6', address: '[::1]:15001' },
];

export const BOOTSTRAP = {
  node: { id: 'gateway~10.0.0.9~gw-1.default~default.svc.cluster.local', cluster: 'gateway' },
  admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
  static_resources: {
    secrets: [{ name: 'server-cert', tls_certificate: { certificate_chain: { filename: '/etc/certs/cert.pem' }, private_key: { inline_string: '-----BEGIN PRIVATE KEY-----\nMIIE...' } } }],
  },
};

export const LOADED_AT = new Date('2024-05-01T10:00:00Z');

export function fixtureDump() {
  return buildConfigDump({
    bootstrap: BOOTSTRAP,
    staticListeners: [{ name: 'ingress', address: { socket_address: { address: '0.0.0.0', port_value: 8443 } } }],
    dynamicListeners: [{ resource: { name: 'lds-http', address: { socket_address: { address: '0.0.0.0', port_value: 8080 } } }, versionInfo: 'v7', lastUpdated: new Date('2024-05-01T10:05:00.250Z') }],
    staticClusters: [{ '@type': TYPE_URL.cluster, name: 'web', type: 'STATIC' }, { name: 'api', type: 'STRICT_DNS' }],
    dynamicClusters: [{ resource: { name: 'cds-backend', type: 'EDS' }, versionInfo: 'v3' }],
    staticRouteConfigs: [{ name: 'local_route', virtual_hosts: [{ name: 'all', domains: ['*'] }] }],
    secrets: BOOTSTRAP.static_resources.secrets,
    lastUpdated: LOADED_AT,
    listenersVersionInfo: 'v7',
  });
}

export interface RunningAdmin {
  readonly admin: AdminServer;
  readonly stats: StatsStore;
  readonly url: (path: string) => string;
  ready: boolean;
  quits: number;
}

export async function startFixtureAdmin(overrides: Partial<AdminServerOptions> = {}): Promise<RunningAdmin> {
  const stats = new StatsStore();
  const running = { ready: true, quits: 0 } as RunningAdmin;
  const admin = await startAdminServer({
    host: '127.0.0.1',
    port: 0,
    stats,
    serverInfo: () => ({ version: 'isthmus/0.1.0', node: BOOTSTRAP.node, command_line_options: { config_path: '/etc/isthmus/bootstrap.yaml' } }),
    configDump: fixtureDump,
    clusters: () => CLUSTERS,
    listeners: () => LISTENERS,
    isReady: () => running.ready,
    onQuit: () => running.quits++,
    ...overrides,
  });
  return Object.assign(running, { admin, stats, url: (path: string) => `http://127.0.0.1:${admin.port}${path}` });
}
