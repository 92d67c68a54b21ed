/**
 * Envoy's load balancers over a fixed list of candidate hosts (the cluster rebuilds the balancer when
 * its host set changes): ROUND_ROBIN (weighted), LEAST_REQUEST (power of two choices), RANDOM.
 */
import type { Host } from './host.js';
import type { LbPolicy } from './settings.js';
import type { UpstreamHost } from './types.js';

export interface LoadBalancer {
  /**
   * Picks a host, avoiding `exclude` (hosts already tried by a retry) while another is available;
   * when every host is excluded it still returns one, as Envoy does after its selection attempts.
   */
  choose(exclude?: ReadonlySet<UpstreamHost>): Host | undefined;
}

function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

abstract class Balancer implements LoadBalancer {
  protected readonly weighted: boolean;

  constructor(protected readonly hosts: readonly Host[]) {
    this.weighted = hosts.some((h) => h.weight !== hosts[0]?.weight);
  }

  protected abstract pick(): Host;

  choose(exclude?: ReadonlySet<UpstreamHost>): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    const host = this.pick();
    if (exclude === undefined || exclude.size === 0 || !exclude.has(host)) return host;
    // A couple more picks keep the policy's choice; then any host not yet tried, from a random start.
    for (let attempt = 0; attempt < 2; attempt++) {
      const again = this.pick();
      if (!exclude.has(again)) return again;
    }
    const start = randomIndex(n);
    for (let k = 0; k < n; k++) {
      const h = this.hosts[(start + k) % n] as Host;
      if (!exclude.has(h)) return h;
    }
    return host;
  }
}

/** Plain rotation for equal weights; smooth weighted round robin otherwise (even interleaving). */
class RoundRobin extends Balancer {
  // A random start keeps many proxies from hitting the same first host (Envoy seeds it too).
  private next = randomIndex(this.hosts.length);
  private readonly current = new Array<number>(this.hosts.length).fill(0);
  private readonly totalWeight = this.hosts.reduce((sum, h) => sum + h.weight, 0);

  protected pick(): Host {
    const hosts = this.hosts;
    if (!this.weighted) {
      const host = hosts[this.next] as Host;
      this.next = (this.next + 1) % hosts.length;
      return host;
    }
    let best = 0;
    for (let i = 0; i < hosts.length; i++) {
      this.current[i] = (this.current[i] as number) + (hosts[i] as Host).weight;
      if ((this.current[i] as number) > (this.current[best] as number)) best = i;
    }
    this.current[best] = (this.current[best] as number) - this.totalWeight;
    return hosts[best] as Host;
  }
}

/**
 * Equal weights: two random choices, the one with fewer active requests wins. Unequal weights: Envoy
 * scales weight by 1 / (active + 1) (active_request_bias 1.0); the highest effective weight wins.
 */
class LeastRequest extends Balancer {
  protected pick(): Host {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 1) return hosts[0] as Host;
    if (!this.weighted) {
      const a = hosts[randomIndex(n)] as Host;
      let bi = randomIndex(n - 1);
      if (hosts[bi] === a) bi = n - 1;
      const b = hosts[bi] as Host;
      return b.activeRequests < a.activeRequests ? b : a;
    }
    const start = randomIndex(n);
    let best = hosts[start] as Host;
    let bestScore = best.weight / (best.activeRequests + 1);
    for (let k = 1; k < n; k++) {
      const h = hosts[(start + k) % n] as Host;
      const score = h.weight / (h.activeRequests + 1);
      if (score > bestScore) {
        best = h;
        bestScore = score;
      }
    }
    return best;
  }
}

class RandomBalancer extends Balancer {
  private readonly cumulative: number[] = [];

  constructor(hosts: readonly Host[]) {
    super(hosts);
    let sum = 0;
    for (const h of hosts) this.cumulative.push((sum += h.weight));
  }

  protected pick(): Host {
    const hosts = this.hosts;
    if (!this.weighted) return hosts[randomIndex(hosts.length)] as Host;
    const target = Math.random() * (this.cumulative[this.cumulative.length - 1] as number);
    let lo = 0;
    let hi = hosts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return hosts[lo] as Host;
  }
}

export function createLoadBalancer(policy: LbPolicy, hosts: readonly Host[]): LoadBalancer {
  switch (policy) {
    case 'ROUND_ROBIN':
      return new RoundRobin(hosts);
    case 'LEAST_REQUEST':
      return new LeastRequest(hosts);
    case 'RANDOM':
      return new RandomBalancer(hosts);
  }
}
