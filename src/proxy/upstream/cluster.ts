/**
 * One cluster: its settings, TLS, hosts (from load_assignment, DNS or EDS), load balancer, circuit
 * breakers and per-host connection pools. This is the ClusterHandle the router and tcp_proxy use.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Cluster, ClusterLoadAssignment } from '../../envoy/index.js';
import type { StatsStore } from '../stats.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { ClusterStats } from './cluster-stats.js';
import { Connector } from './connector.js';
import { DnsRefresher } from './dns.js';
import { endpointSpecs } from './endpoints.js';
import type { ExchangeContext } from './exchange.js';
import type { EndpointSpec } from './endpoints.js';
import { ClusterConfigError } from './errors.js';
import { Host } from './host.js';
import { HostSet } from './host-set.js';
import type { HostSpec } from './host-set.js';
import { Http1Pool } from './http1-pool.js';
import { Http2Pool } from './http2-pool.js';
import { clusterSettings } from './settings.js';
import type { CircuitBreakerThresholds, ClusterSettings } from './settings.js';
import { compileUpstreamTls } from './tls.js';
import type { UpstreamTls } from './tls.js';
import { UpstreamError } from './types.js';
import type { ClusterHandle, UpstreamHost, UpstreamRequest, UpstreamResponse } from './types.js';

export interface HttpRequestOptions {
  /** With use_downstream_protocol_config, HTTP/2 downstream requests go upstream as HTTP/2. */
  readonly downstreamProtocol?: 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';
}

/** The cluster handle with what the router, tcp_proxy and admin need beyond ClusterHandle. */
export interface UpstreamCluster extends ClusterHandle {
  readonly settings: ClusterSettings;
  readonly circuitBreakers: CircuitBreakerThresholds;
  httpRequest(request: UpstreamRequest, host: UpstreamHost, options?: HttpRequestOptions): Promise<UpstreamResponse>;
  /** Takes one retry from max_retries; false (and upstream_rq_retry_overflow) when none is left. */
  tryRetryBudget(): boolean;
  /** Returns a retry taken with tryRetryBudget, once that retry attempt has finished. */
  releaseRetry(): void;
  hosts(): readonly Host[];
}

export interface ClusterContext {
  readonly stats: StatsStore;
  readonly baseDir: string;
  readonly logger?: Logger;
}

/** Keys STATIC/EDS hosts by address, numbering repeats so duplicate endpoints stay separate hosts. */
function keyedByAddress(specs: readonly EndpointSpec[]): HostSpec[] {
  const seen = new Map<string, number>();
  return specs.map((s) => {
    const base = `${s.address}:${s.port}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return { ...s, key: n === 0 ? base : `${base}#${n}` };
  });
}

export class UpstreamClusterImpl implements UpstreamCluster {
  readonly name: string;
  readonly stats: ClusterStats;
  private readonly breaker: CircuitBreaker;
  private readonly connector: Connector;
  private readonly hostSet: HostSet;
  private refresher: DnsRefresher | undefined;
  private state: 'active' | 'draining' | 'closed' = 'active';
  /** Hosts that left while connections to them were still open; closed on close(). */
  private readonly retired = new Set<Host>();
  private readonly exchangeContext: ExchangeContext;

  private constructor(readonly config: Cluster, readonly settings: ClusterSettings, tls: UpstreamTls | undefined, private readonly ctx: ClusterContext) {
    this.name = config.name;
    this.stats = new ClusterStats(ctx.stats, settings.statPrefix);
    this.breaker = new CircuitBreaker(settings.thresholds);
    this.connector = new Connector(config.name, settings.connectTimeoutMs, tls, this.stats, this.breaker);
    this.hostSet = new HostSet(settings.lbPolicy, this.stats);
    this.exchangeContext = { clusterName: config.name, stats: this.stats, breaker: this.breaker };
  }

  /** Validates and builds a cluster; DNS clusters resolve once before this resolves (Envoy's warming). */
  static async create(config: Cluster, ctx: ClusterContext, edsAssignment?: ClusterLoadAssignment): Promise<UpstreamClusterImpl> {
    const settings = clusterSettings(config);
    let tls: UpstreamTls | undefined;
    try {
      tls = settings.tls ? await compileUpstreamTls(settings.tls, ctx.baseDir, 'transport_socket.typed_config') : undefined;
    } catch (err) {
      throw err instanceof ClusterConfigError ? err.forCluster(config.name) : err;
    }
    const cluster = new UpstreamClusterImpl(config, settings, tls, ctx);
    try {
      await cluster.discover(edsAssignment);
    } catch (err) {
      await cluster.close();
      throw err instanceof ClusterConfigError ? err.forCluster(config.name) : err;
    }
    return cluster;
  }

  private async discover(edsAssignment: ClusterLoadAssignment | undefined): Promise<void> {
    const { type } = this.settings;
    if (type === 'STATIC') {
      this.setHosts(keyedByAddress(endpointSpecs(this.config.load_assignment, 'load_assignment', true)));
    } else if (type === 'EDS') {
      // Hosts arrive from xDS (updateEndpoints); until then the cluster has none ('UH').
      if (edsAssignment) this.updateEndpoints(edsAssignment);
    } else {
      const endpoints = endpointSpecs(this.config.load_assignment, 'load_assignment', false);
      const previous: Array<string[] | undefined> = [];
      const logical = type === 'LOGICAL_DNS';
      this.refresher = new DnsRefresher(endpoints.map((e) => e.address), this.settings.dnsLookupFamily, this.settings.dnsRefreshMs, (results) => {
        const specs: HostSpec[] = [];
        endpoints.forEach((e, i) => {
          const addresses = results[i] ?? previous[i] ?? [];
          previous[i] = addresses;
          if (logical) {
            // One logical host per endpoint; new connections use the latest first address.
            specs.push({ ...e, address: addresses[0] ?? e.address, hostname: e.hostname ?? e.address, key: String(i) });
          } else {
            for (const address of addresses) specs.push({ ...e, address, hostname: e.hostname ?? e.address, key: `${i}/${address}` });
          }
        });
        this.setHosts(specs);
      }, `cluster "${this.name}"`, this.ctx.logger);
      await this.refresher.start();
    }
  }

  /** No connection open or opening and no request in flight. */
  get idle(): boolean {
    return this.breaker.connections === 0 && this.breaker.requests === 0;
  }

  get circuitBreakers(): CircuitBreakerThresholds {
    return this.settings.thresholds;
  }

  /** EDS: replaces the hosts with a ClusterLoadAssignment. Throws ClusterConfigError on a bad one. */
  updateEndpoints(assignment: ClusterLoadAssignment): void {
    if (this.settings.type !== 'EDS') {
      throw new ClusterConfigError('type', `endpoints can only be pushed to EDS clusters, this one is ${this.settings.type}`).forCluster(this.name);
    }
    let specs: EndpointSpec[];
    try {
      specs = endpointSpecs(assignment, 'cluster_load_assignment', true);
    } catch (err) {
      throw err instanceof ClusterConfigError ? err.forCluster(this.name) : err;
    }
    this.setHosts(keyedByAddress(specs));
  }

  private setHosts(specs: readonly HostSpec[]): void {
    if (this.state !== 'active') return;
    for (const h of this.hostSet.update(specs)) this.retire(h);
  }

  /** Keeps a host that left only while it still has connections, so close() can end them. */
  private retire(host: Host): void {
    host.retire();
    for (const h of this.retired) if (h.activeRequests === 0 && h.cxActive === 0) this.retired.delete(h);
    if (host.activeRequests > 0 || host.cxActive > 0) this.retired.add(host);
  }

  chooseHost(exclude?: ReadonlySet<UpstreamHost>): Host | undefined {
    return this.hostSet.lb.choose(exclude);
  }

  hosts(): readonly Host[] {
    return this.hostSet.hosts;
  }

  httpRequest(request: UpstreamRequest, upstreamHost: UpstreamHost, options?: HttpRequestOptions): Promise<UpstreamResponse> {
    const host = upstreamHost as Host;
    if (this.state !== 'active' || !(host instanceof Host) || host.owner !== this.hostSet || host.retired) {
      return Promise.reject(new UpstreamError('UH', `host ${upstreamHost.id} is not (or no longer) in cluster "${this.name}"`));
    }
    if (request.signal?.aborted) return Promise.reject(request.signal.reason);
    const protocol = this.settings.protocol;
    const http2 = protocol === 'HTTP/2' || (protocol === 'downstream' && options?.downstreamProtocol === 'HTTP/2');
    const pool = http2 ? (host.http2 ??= this.http2Pool(host)) : (host.http1 ??= this.http1Pool(host));
    const breaker = this.breaker;
    if (!breaker.canRequest()) return this.overflow('max_requests', breaker.thresholds.maxRequests);
    const pending = pool.wouldQueue();
    if (pending && !breaker.canQueue()) return this.overflow('max_pending_requests', breaker.thresholds.maxPendingRequests);
    return pool.request(request, pending).response;
  }

  private overflow(threshold: string, limit: number): Promise<never> {
    this.stats.rqPendingOverflow.inc();
    return Promise.reject(new UpstreamError('UO', `cluster "${this.name}": circuit breaker ${threshold} (${limit}) reached`));
  }

  private http1Pool(host: Host): Http1Pool {
    return new Http1Pool(this.exchangeContext, host, this.connector, {
      maxConnections: this.settings.thresholds.maxConnections,
      idleTimeoutMs: this.settings.idleTimeoutMs,
      maxRequestsPerConnection: this.settings.maxRequestsPerConnection,
    });
  }

  private http2Pool(host: Host): Http2Pool {
    return new Http2Pool(this.exchangeContext, host, this.connector, {
      secure: this.connector.secure,
      http2: this.settings.http2,
      idleTimeoutMs: this.settings.idleTimeoutMs,
      maxRequestsPerConnection: this.settings.maxRequestsPerConnection,
    });
  }


  connectTcp(upstreamHost: UpstreamHost): Promise<Socket> {
    const host = upstreamHost as Host;
    if (this.state === 'closed' || !(host instanceof Host) || host.owner !== this.hostSet) {
      return Promise.reject(new UpstreamError('UH', `host ${upstreamHost.id} is not in cluster "${this.name}"`));
    }
    return new Promise((resolve, reject) => {
      this.connector.connect(host, undefined, 'reject', (err, socket) => (err || !socket ? reject(err) : resolve(socket)));
    });
  }

  tryRetryBudget(): boolean {
    if (this.breaker.tryRetry()) return true;
    this.stats.rqRetryOverflow.inc();
    return false;
  }

  releaseRetry(): void {
    this.breaker.releaseRetry();
  }

  /** Replaced or removed: no new requests; open connections finish what they carry, then close. */
  drain(): void {
    if (this.state !== 'active') return;
    this.state = 'draining';
    this.refresher?.stop();
    for (const h of this.hostSet.hosts) {
      h.retire();
      this.retired.add(h);
    }
  }

  /** Closes every connection, pool and timer now. */
  async close(): Promise<void> {
    this.state = 'closed';
    this.refresher?.stop();
    this.breaker.clearWaiters();
    const hosts = new Set([...this.hostSet.hosts, ...this.retired]);
    this.retired.clear();
    await Promise.all([...hosts].map((h) => h.destroyPools()));
  }
}
