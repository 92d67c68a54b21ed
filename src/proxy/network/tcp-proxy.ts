import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { durationMs } from '../../envoy/index.js';
import type { TcpProxy } from '../../envoy/index.js';
import { createAccessLoggers } from '../access-log/index.js';
import type { ConnectionInfo } from '../listener/connection-info.js';
import type { TlsDetails } from '../trace/index.js';
import { UpstreamError } from '../upstream/index.js';
import type { UpstreamHost } from '../upstream/index.js';
import type { NetworkFilter, NetworkFilterContext } from './types.js';

function pickWeighted(clusters: Array<{ name: string; weight: number }>): string | undefined {
  const total = clusters.reduce((s, c) => s + c.weight, 0);
  let r = Math.random() * total;
  for (const c of clusters) {
    r -= c.weight;
    if (r < 0) return c.name;
  }
  return clusters[clusters.length - 1]?.name;
}

/**
 * envoy.filters.network.tcp_proxy: connects to a host of the cluster (or the one sni_cluster chose) and
 * relays bytes both ways, replaying what the listener already read (the ClientHello of a passthrough).
 */
export function createTcpProxy(config: TcpProxy, ctx: NetworkFilterContext): NetworkFilter {
  const prefix = `tcp.${config.stat_prefix}.`;
  const cxTotal = ctx.stats.counter(`${prefix}downstream_cx_total`);
  const noRoute = ctx.stats.counter(`${prefix}downstream_cx_no_route`);
  const connectFail = ctx.stats.counter(`${prefix}upstream_connect_fail`);
  const idleMs = durationMs(config.idle_timeout) ?? 3_600_000;
  const attempts = Math.max(1, config.max_connect_attempts ?? 1);
  const accessLoggers = createAccessLoggers(config.access_log, ctx.baseDir);

  const handle = (downstream: Duplex, info: ConnectionInfo & { clusterOverride?: string }) => {
    cxTotal.inc();
    const start = new Date();
    const clusterName = info.clusterOverride ?? config.cluster ?? pickWeighted(config.weighted_clusters?.clusters ?? []);
    const cluster = clusterName ? ctx.clusters.get(clusterName) : undefined;
    let bytesReceived = 0;
    let bytesSent = 0;
    let upstreamHost: string | undefined;
    let chosenHost: UpstreamHost | undefined;
    let failure: string | undefined;
    let failureTls: TlsDetails | undefined;
    const flags: string[] = [];
    downstream.pause();
    const log = (at: 'connected' | 'closed' = 'closed') => {
      const trace = ctx.trace;
      if (trace?.enabled && at === 'closed') {
        const upstreamTls = failureTls ?? chosenHost?.tls;
        trace.record({
          kind: 'tcp',
          startMs: start.getTime(),
          durationMs: Date.now() - start.getTime(),
          ...(info.listenerName ? { listener: info.listenerName } : {}),
          ...(info.filterChainName ? { filterChain: info.filterChainName } : {}),
          downstreamRemoteAddress: `${info.remoteAddress}:${info.remotePort}`,
          downstreamLocalAddress: `${info.localAddress}:${info.localPort}`,
          ...(info.serverName ? { downstreamSni: info.serverName } : {}),
          ...(info.downstreamTls ? { downstreamTls: info.downstreamTls } : {}),
          ...(clusterName ? { cluster: clusterName } : {}),
          ...(upstreamHost ? { upstreamHost } : {}),
          ...(upstreamTls ? { upstreamTls } : {}),
          responseCode: 0,
          responseFlags: flags,
          ...(failure ? { error: failure } : {}),
        });
      }
      for (const logger of accessLoggers) {
        logger.log({
          startTime: start,
          durationMs: Date.now() - start.getTime(),
          requestHeaders: () => undefined,
          responseHeaders: () => undefined,
          responseTrailers: () => undefined,
          responseCode: 0,
          responseFlags: flags,
          bytesReceived,
          bytesSent,
          ...(upstreamHost ? { upstreamHost } : {}),
          ...(clusterName ? { upstreamCluster: clusterName } : {}),
          downstreamRemoteAddress: `${info.remoteAddress}:${info.remotePort}`,
          downstreamLocalAddress: `${info.localAddress}:${info.localPort}`,
          ...(info.serverName ? { requestedServerName: info.serverName } : {}),
          connectionId: info.id,
        });
      }
    };
    if (!cluster) {
      noRoute.inc();
      flags.push('NR');
      failure = clusterName ? `cluster "${clusterName}" not found` : 'no cluster';
      downstream.destroy();
      log();
      return;
    }
    const connect = async (): Promise<Socket | undefined> => {
      const tried = new Set();
      for (let i = 0; i < attempts; i++) {
        const host = cluster.chooseHost(tried as never);
        if (!host) {
          flags.push('UH');
          return undefined;
        }
        tried.add(host);
        upstreamHost = host.id;
        chosenHost = host;
        try {
          return await cluster.connectTcp(host);
        } catch (err) {
          connectFail.inc();
          failure = err instanceof Error ? err.message : String(err);
          failureTls = err instanceof UpstreamError ? err.tls : undefined;
        }
      }
      flags.push('UF');
      return undefined;
    };
    void connect().then((upstream) => {
      if (!upstream) {
        downstream.destroy();
        log();
        return;
      }
      // Passthrough connections live long (pooled by the client): an entry at connect shows the hop now.
      if (config.access_log_options?.flush_access_log_on_connected) log('connected');
      // Byte counts only feed access logs: no per-chunk listener on the relay's hot path without one.
      if (accessLoggers.length > 0) {
        downstream.on('data', (chunk: Buffer) => (bytesReceived += chunk.length));
        upstream.on('data', (chunk: Buffer) => (bytesSent += chunk.length));
      }
      upstream.setTimeout(idleMs, () => {
        flags.push('UT');
        upstream.destroy();
        downstream.destroy();
      });
      downstream.pipe(upstream);
      upstream.pipe(downstream);
      let closed = 0;
      const onClose = () => {
        if (++closed === 2) log();
      };
      // Half-close follows the peer; an error on either side resets both, as Envoy does.
      upstream.on('error', () => downstream.destroy());
      downstream.on('error', () => upstream.destroy());
      upstream.on('close', () => {
        downstream.end();
        onClose();
      });
      downstream.on('close', () => {
        upstream.end();
        onClose();
      });
      downstream.resume();
    });
  };

  return {
    kind: 'terminal',
    handle,
    async close() {
      await Promise.all(accessLoggers.map((l) => l.close()));
    },
  };
}

/** envoy.filters.network.sni_cluster: the tcp_proxy after it connects to the cluster named by the SNI. */
export function createSniCluster(): NetworkFilter {
  return {
    kind: 'info',
    apply: (info) => (info.serverName ? { ...info, clusterOverride: info.serverName } : info),
  };
}
