/**
 * A cluster's current hosts: reconciles each discovery result with the existing Host objects (so pools
 * and counters survive a DNS refresh or an EDS push), picks the priority level to balance over and
 * rebuilds the load balancer only when something changed.
 */
import type { ClusterStats } from './cluster-stats.js';
import type { EndpointSpec } from './endpoints.js';
import { Host } from './host.js';
import { createLoadBalancer } from './load-balancer.js';
import type { LoadBalancer } from './load-balancer.js';
import type { LbPolicy } from './settings.js';

/** An endpoint with a stable identity across updates. */
export interface HostSpec extends EndpointSpec {
  readonly key: string;
}

/**
 * The hosts new requests go to: the healthy hosts of the lowest priority that has any (Envoy's
 * failover between priorities); when no host is healthy, all hosts (Envoy's panic mode).
 */
function lbCandidates(hosts: readonly Host[]): Host[] {
  let best: number | undefined;
  for (const h of hosts) if (h.healthy && (best === undefined || h.priority < best)) best = h.priority;
  if (best === undefined) return [...hosts];
  return hosts.filter((h) => h.healthy && h.priority === best);
}

export class HostSet {
  private byKey = new Map<string, Host>();
  private list: Host[] = [];
  lb: LoadBalancer;

  constructor(private readonly policy: LbPolicy, private readonly stats: ClusterStats) {
    this.lb = createLoadBalancer(policy, []);
    stats.membershipTotal.set(0);
    stats.membershipHealthy.set(0);
  }

  get hosts(): readonly Host[] {
    return this.list;
  }

  /** Applies a full host list; returns the hosts that left (the caller retires them). */
  update(specs: readonly HostSpec[]): Host[] {
    const next = new Map<string, Host>();
    let changed = specs.length !== this.byKey.size;
    for (const s of specs) {
      if (next.has(s.key)) continue;
      let host = this.byKey.get(s.key);
      if (!host) {
        host = new Host(this, s.address, s.port, s.hostname, s.weight, s.priority, s.healthy);
        changed = true;
      } else if (host.address !== s.address || host.weight !== s.weight || host.priority !== s.priority || host.healthy !== s.healthy) {
        if (host.address !== s.address) host.setAddress(s.address);
        host.weight = s.weight;
        host.priority = s.priority;
        host.healthy = s.healthy;
        changed = true;
      }
      next.set(s.key, host);
    }
    if (!changed) return [];
    const removed: Host[] = [];
    for (const [key, host] of this.byKey) if (!next.has(key)) removed.push(host);
    this.byKey = next;
    this.list = [...next.values()];
    this.lb = createLoadBalancer(this.policy, lbCandidates(this.list));
    this.stats.membershipTotal.set(this.list.length);
    this.stats.membershipHealthy.set(this.list.filter((h) => h.healthy).length);
    return removed;
  }
}
