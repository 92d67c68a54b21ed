/**
 * Istio's standard listeners of every proxy, from its bootstrap: the status port 15021 (/healthz/ready,
 * what load balancers probe) and the Prometheus port 15090 (/stats/prometheus). Both forward to the
 * proxy's admin interface; their inline route configs are what `proxy-config routes` lists under "*".
 */
import type { Listener } from '../../envoy/index.js';
import type { XdsCluster } from './envoy-ext.js';
import { httpConnectionManager } from './filters.js';
import { listenerName } from './names.js';

export const STATUS_PORT = 15021;
export const PROMETHEUS_PORT = 15090;
export const AGENT_CLUSTER = 'agent';
export const PROMETHEUS_CLUSTER = 'prometheus_stats';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

function inlineListener(port: number, statPrefix: string, prefix: string, cluster: string, prefixRewrite?: string): Listener {
  return {
    name: listenerName('0.0.0.0', port),
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    filter_chains: [
      {
        filters: [
          httpConnectionManager({
            statPrefix,
            routeConfig: {
              virtual_hosts: [
                { name: 'backend', domains: ['*'], routes: [{ match: { prefix }, route: { cluster, ...(prefixRewrite ? { prefix_rewrite: prefixRewrite } : {}) } }] },
              ],
            },
          }),
        ],
      },
    ],
  };
}

/** `portMap` (the proxy's PORT_MAP) moves them as it moves gateway ports, so that two proxies can share a machine. */
export function healthListeners(portMap: Readonly<Record<number, number>> = {}): Listener[] {
  // Isthmus' admin answers readiness on /ready (Envoy's); Istio's agent answered /healthz/ready.
  return [
    inlineListener(portMap[STATUS_PORT] ?? STATUS_PORT, 'agent', '/healthz/ready', AGENT_CLUSTER, '/ready'),
    inlineListener(portMap[PROMETHEUS_PORT] ?? PROMETHEUS_PORT, 'stats', '/stats/prometheus', PROMETHEUS_CLUSTER),
  ];
}

function staticCluster(name: string, admin: Endpoint): XdsCluster {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '0.250s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: admin.address, port_value: admin.port } } } }] }] },
  };
}

export function healthClusters(admin: Endpoint): XdsCluster[] {
  return [staticCluster(AGENT_CLUSTER, admin), staticCluster(PROMETHEUS_CLUSTER, admin)];
}
