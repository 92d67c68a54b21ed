/**
 * One upstream host of a cluster: its address, LB weight and health, in-flight counters, and the
 * connection pools to it (created on first use).
 */
import { isIPv6 } from 'node:net';
import type { TlsDetails } from '../trace/types.js';
import type { UpstreamHost, UpstreamRequest, UpstreamResponse } from './types.js';

/** A pool of connections to one host, of either codec. */
export interface HostPool {
  /** True when a new request would wait for a connection (Envoy's "pending" request). */
  wouldQueue(): boolean;
  /** Sends a request; admission (circuit breakers) was checked by the caller. */
  request(request: UpstreamRequest, pending: boolean): { readonly response: Promise<UpstreamResponse> };
  /** Stops taking requests; in-flight ones finish (a cluster update or a host leaving). */
  drain(): void;
  /** Closes every connection now (shutdown). */
  destroy(): Promise<void>;
}

/** "ip:port", or "[v6]:port", as Envoy prints hosts. */
export function hostId(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

export class Host implements UpstreamHost {
  address: string;
  id: string;
  weight: number;
  /** Envoy priority level of the endpoint's locality (0 is used first). */
  priority: number;
  /** Envoy's EDS health_status; UNHEALTHY, DRAINING and TIMEOUT hosts get no new requests. */
  healthy: boolean;
  activeRequests = 0;
  // Per-host counters, as Envoy's /clusters prints them.
  cxTotal = 0;
  cxActive = 0;
  cxConnectFail = 0;
  rqTotal = 0;
  rqSuccess = 0;
  rqError = 0;
  rqTimeout = 0;
  /** Set by the connector after each TLS handshake with this host. */
  tls: TlsDetails | undefined;
  http1: HostPool | undefined;
  http2: HostPool | undefined;
  /** Left the cluster (or the cluster was replaced): no new requests. */
  retired = false;
  /** Pools that stopped taking requests but may still carry some; destroyed on shutdown. */
  private draining: HostPool[] = [];

  /**
   * @param owner the host set this host belongs to: a host object from another cluster is refused.
   */
  constructor(readonly owner: object, address: string, readonly port: number, readonly hostname: string | undefined, weight: number, priority: number, healthy: boolean) {
    this.address = address;
    this.id = hostId(address, port);
    this.weight = weight;
    this.priority = priority;
    this.healthy = healthy;
  }

  /** LOGICAL_DNS: new connections go to the latest resolved address. */
  setAddress(address: string): void {
    this.address = address;
    this.id = hostId(address, this.port);
  }

  /** Stops new requests to this host; open connections finish their requests, then close. */
  retire(): void {
    this.retired = true;
    for (const pool of [this.http1, this.http2]) {
      if (!pool) continue;
      pool.drain();
      this.draining.push(pool);
    }
    this.http1 = undefined;
    this.http2 = undefined;
  }

  async destroyPools(): Promise<void> {
    const pools = [this.http1, this.http2, ...this.draining];
    this.http1 = undefined;
    this.http2 = undefined;
    this.draining = [];
    await Promise.all(pools.map((p) => p?.destroy()));
  }
}
