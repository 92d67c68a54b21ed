/**
 * Opens upstream connections for a cluster: TCP, then the cluster's TLS transport socket if any, within
 * connect_timeout, under max_connections, counting Envoy's upstream_cx_* stats. Every pool and
 * connectTcp go through here, so SNI and ALPN are always the cluster's, never derived from a Host header.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import type { UpstreamTls } from './tls.js';
import { tlsDetails } from '../trace/certificates.js';
import type { TlsDetails } from '../trace/types.js';
import { UpstreamError } from './types.js';

export type ConnectCallback = (err: Error | null, socket: Socket | null) => void;

/** What to do when max_connections is reached: HTTP pools wait for a slot, TCP proxying fails ('UO'). */
export type OnConnectionOverflow = 'wait' | 'reject';

function noop(): void {}

export class Connector {
  /** tls.connect options per ALPN fallback, built once. */
  private readonly tlsOptions = new Map<string, ConnectionOptions>();

  constructor(
    private readonly clusterName: string,
    private readonly connectTimeoutMs: number,
    private readonly tls: UpstreamTls | undefined,
    private readonly stats: ClusterStats,
    private readonly breaker: CircuitBreaker,
  ) {}

  get secure(): boolean {
    return this.tls !== undefined;
  }

  connect(host: Host, alpnFallback: readonly string[] | undefined, overflow: OnConnectionOverflow, callback: ConnectCallback): void {
    if (this.breaker.canConnect()) {
      this.open(host, alpnFallback, callback);
      return;
    }
    this.stats.cxOverflow.inc();
    if (overflow === 'reject') {
      callback(new UpstreamError('UO', `cluster "${this.clusterName}": max_connections (${this.breaker.thresholds.maxConnections}) reached`), null);
      return;
    }
    this.breaker.whenConnectionSlotFree(() => this.open(host, alpnFallback, callback));
  }

  private options(alpnFallback: readonly string[] | undefined): ConnectionOptions {
    const key = alpnFallback?.join(',') ?? '';
    let options = this.tlsOptions.get(key);
    if (!options) this.tlsOptions.set(key, (options = (this.tls as UpstreamTls).connectOptions(alpnFallback)));
    return options;
  }

  private open(host: Host, alpnFallback: readonly string[] | undefined, callback: ConnectCallback): void {
    const { stats, breaker } = this;
    breaker.connections++;
    stats.cxTotal.inc();
    host.cxTotal++;
    const target = host.id;
    const socket: Socket = this.tls
      ? tlsConnect({ ...this.options(alpnFallback), host: host.address, port: host.port })
      : netConnect({ host: host.address, port: host.port });
    let state: 'connecting' | 'open' | 'failed' = 'connecting';

    const fail = (err: Error, timedOut: boolean, tls?: TlsDetails) => {
      if (state !== 'connecting') return;
      state = 'failed';
      clearTimeout(timer);
      stats.cxConnectFail.inc();
      if (timedOut) stats.cxConnectTimeout.inc();
      host.cxConnectFail++;
      socket.destroy();
      // The SNI we sent belongs to the failure: a peer that refuses the handshake is usually refusing it.
      const details = tls ?? (this.tls?.sni ? { sni: this.tls.sni } : undefined);
      callback(new UpstreamError('UF', `upstream connect to ${target} failed: ${err.message}`, { cause: err, ...(details ? { tls: details } : {}) }), null);
    };
    const timer = setTimeout(() => fail(new Error(`connect_timeout (${this.connectTimeoutMs} ms) expired`), true), this.connectTimeoutMs);
    socket.once('error', (err) => fail(err, false));
    socket.once('close', () => {
      breaker.connectionClosed();
      if (state === 'open') {
        stats.cxActive.dec();
        stats.cxDestroy.inc();
        host.cxActive--;
      } else if (state === 'connecting') {
        fail(new Error('connection closed during connect'), false);
      }
    });
    socket.once(this.tls ? 'secureConnect' : 'connect', () => {
      if (state !== 'connecting') return;
      const problem = this.tls?.verify(socket as TLSSocket);
      if (problem) {
        fail(problem, false, tlsDetails(socket as TLSSocket, this.tls?.sni));
        return;
      }
      // Once per connection, not per request: what the trace shows as this host's upstream TLS.
      if (this.tls) host.tls = tlsDetails(socket as TLSSocket, this.tls.sni);
      state = 'open';
      clearTimeout(timer);
      stats.cxActive.inc();
      host.cxActive++;
      socket.setNoDelay(true);
      // Keeps a late error (e.g. a reset before the owner attached its listeners) from crashing the process;
      // the owner still sees it on its own listeners and on 'close'.
      socket.on('error', noop);
      callback(null, socket);
    });
  }
}
