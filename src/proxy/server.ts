import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Bootstrap, LoadedBootstrap } from '../envoy/index.js';
import { TYPE_URL } from '../envoy/index.js';
import { buildConfigDump, startAdminServer } from './admin/index.js';
import type { AdminClusterInfo, AdminServerOptions } from './admin/index.js';
import { checkAdminAddress } from './admin/loopback.js';
import { builtinHttpFilters } from './http/filters/index.js';
import { ListenerRuntime } from './listener/listener.js';
import { globalConnectionLimitOf } from './listener/global-connection-limit.js';
import { StatsStore } from './stats.js';
import { createClusterManager } from './upstream/index.js';
import type { UpstreamClusterManager } from './upstream/index.js';
import { DynamicResources } from './dynamic.js';
import { DnsProxyServer, dnsCaptureOf, nameTableFromListeners } from './dns/index.js';
import type { DnsBindAddress } from './dns/index.js';
import { applyAutoSni } from './upstream/auto-sni.js';
import { RouteStore } from './http/route-store.js';
import { SecretStore } from './tls/sds.js';
import { TraceRecorder } from './trace/index.js';
import { AdsClient } from './xds-client/ads-client.js';
import type { XdsCodec, XdsTarget } from './xds-client/ads-client.js';
import { adsTarget, redactAdsCredentials } from './xds-client/connect.js';

export const ISTHMUS_VERSION = '0.1.0';

export interface ProxyOptions {
  readonly logger?: Logger;
  /** Where relative file names resolve (Envoy: the working directory). */
  readonly baseDir?: string;
  /** --drain-time-s: how long SIGTERM waits for open connections. */
  readonly drainTimeMs?: number;
  /** --ip: the instance ("pod") IP; listeners on 0.0.0.0 or :: bind to it. */
  readonly instanceIp?: string;
  /** How many completed requests/connections /isthmus/trace keeps (default 2,000; 0 turns it off). */
  readonly traceEntries?: number;
  /**
   * isthmus proxy --concurrency N: the primary compiles the config (errors before any worker starts) and
   * runs admin, xDS and DNS but binds no listener; a worker binds the listeners (ports shared through
   * node:cluster) and runs neither admin nor DNS. 'single' (default) does everything in one process.
   */
  readonly role?: 'single' | 'primary' | 'worker';
  /** --admin-allow-non-loopback: accept an admin address off loopback (refused by default). */
  readonly allowNonLoopbackAdmin?: boolean;
}

type State = 'PRE_INITIALIZING' | 'LIVE' | 'DRAINING';

/**
 * The Isthmus proxy: Envoy's role from a v3 bootstrap — static listeners and clusters, the admin
 * endpoint and access logs — built from small parts (listener, network filters, cluster manager).
 */
export class ProxyServer {
  readonly stats = new StatsStore();
  private readonly listeners: ListenerRuntime[] = [];
  private admin: { port: number; close(): Promise<void> } | undefined;
  private ads: AdsClient | undefined;
  private state: State = 'PRE_INITIALIZING';
  private readonly startedAt = Date.now();
  readonly clusters: UpstreamClusterManager;
  readonly secrets = new SecretStore();
  readonly routes = new RouteStore();
  readonly trace: TraceRecorder;
  /** Resources from xDS; created with the server so an ADS client can apply to it. */
  dynamic!: DynamicResources;
  /** istio-agent's DNS proxy, when the node metadata sets DNS_CAPTURE=true. */
  dns: DnsProxyServer | undefined;

  private constructor(readonly bootstrap: Bootstrap, private readonly options: ProxyOptions, readonly source: string) {
    this.trace = new TraceRecorder(options.traceEntries !== undefined ? { maxEntries: options.traceEntries } : {});
    this.clusters = createClusterManager({ stats: this.stats, baseDir: options.baseDir ?? process.cwd(), ...(options.logger ? { logger: options.logger } : {}) });
  }

  /** Builds every listener and cluster; a config problem throws with the field path, before any port opens. */
  static async create(loaded: LoadedBootstrap, options: ProxyOptions = {}): Promise<ProxyServer> {
    const adminWarning = checkAdminAddress(loaded.bootstrap, options.allowNonLoopbackAdmin === true);
    if (adminWarning) options.logger?.warn(adminWarning);
    const server = new ProxyServer(loaded.bootstrap, options, loaded.source);
    const resources = loaded.bootstrap.static_resources ?? {};
    server.secrets.set(resources.secrets ?? []);
    for (const [i, cluster] of (resources.clusters ?? []).entries()) {
      if (cluster.outlier_detection) options.logger?.warn({ cluster: cluster.name, path: `static_resources.clusters[${i}].outlier_detection` }, 'outlier_detection is not enforced by the Isthmus proxy');
    }
    try {
      for (const [i, cluster] of (resources.clusters ?? []).entries()) {
        try {
          await server.clusters.addOrUpdate(applyAutoSni(cluster));
        } catch (err) {
          throw new Error(`static_resources.clusters[${i}] (${cluster.name}): ${(err as Error).message}`, { cause: err });
        }
      }
      const globalConnections = globalConnectionLimitOf(loaded.bootstrap);
      const ctx = {
        clusters: server.clusters,
        stats: server.stats,
        baseDir: options.baseDir ?? process.cwd(),
        ...(options.logger ? { logger: options.logger } : {}),
        httpFilters: builtinHttpFilters(),
        secrets: server.secrets,
        routes: server.routes,
        ...(options.instanceIp ? { instanceIp: options.instanceIp } : {}),
        trace: server.trace,
        ...(globalConnections ? { globalConnections } : {}),
      };
      server.dynamic = new DynamicResources(
        server.clusters, server.routes, server.secrets, ctx,
        new Set((resources.clusters ?? []).map((c) => c.name)), options.drainTimeMs ?? 5_000, options.logger,
      );
      for (const [i, listener] of (resources.listeners ?? []).entries()) {
        server.listeners.push(await ListenerRuntime.create(listener, ctx, `static_resources.listeners[${i}]`));
      }
      server.dns = createDnsProxy(loaded.bootstrap, options);
      if (server.dns) {
        const dns = server.dns;
        const staticListeners = resources.listeners ?? [];
        dns.setTable(nameTableFromListeners(staticListeners));
        server.dynamic.onListenersApplied = (listeners) => dns.setTable(nameTableFromListeners([...staticListeners, ...listeners]));
      }
    } catch (err) {
      await server.clusters.close();
      throw err;
    }
    return server;
  }

  /** `admin` replaces parts of the admin interface (the --concurrency primary reads stats from its workers). */
  async start(admin: Partial<AdminServerOptions> = {}): Promise<void> {
    const role = this.options.role ?? 'single';
    try {
      if (role !== 'primary') for (const listener of this.listeners) await listener.start();
      if (role !== 'worker') await this.dns?.start();
    } catch (err) {
      await this.stop(0);
      throw err;
    }
    const adminAddress = role === 'worker' ? undefined : this.bootstrap.admin?.address?.socket_address;
    if (adminAddress) {
      this.admin = await startAdminServer({
        host: adminAddress.address,
        port: adminAddress.port_value ?? 0,
        stats: this.stats,
        serverInfo: () => this.serverInfo(),
        configDump: () => this.configDump(),
        clusters: () => this.clusterInfo(),
        listeners: () => this.allListeners().map((l) => ({ name: l.name, address: `${l.address.address}:${l.address.port}` })),
        isReady: () => this.state === 'LIVE',
        state: () => this.state,
        trace: this.trace,
        ...admin,
      });
    }
    this.state = 'LIVE';
    if (role === 'primary') return; // it says "proxy started" once its workers listen
    this.options.logger?.info({ listeners: this.listeners.map((l) => `${l.name} ${l.address.address}:${l.address.port}`), admin: this.admin?.port }, role === 'worker' ? 'worker started' : 'proxy started');
  }

  /**
   * Starts the ADS client when the bootstrap has dynamic_resources (what `--xds` generates). The codec
   * is the protobuf layer; listeners and clusters then come from the control plane.
   */
  connectXds(codec: XdsCodec, applyTo: XdsTarget = this.dynamic): AdsClient | undefined {
    const target = adsTarget(this.bootstrap, this.options.baseDir ?? process.cwd(), this.secrets);
    if (!target) return undefined;
    this.ads = new AdsClient({
      address: target.address,
      connection: target.connection,
      ...(target.serverName ? { serverName: target.serverName } : {}),
      node: this.bootstrap.node ?? { id: hostname() },
      codec,
      dynamic: applyTo,
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
    this.ads.start();
    return this.ads;
  }

  get adminPort(): number | undefined {
    return this.admin?.port;
  }

  allListeners(): ListenerRuntime[] {
    return [...this.listeners, ...(this.dynamic?.listenerRuntimes() ?? [])];
  }

  listenerPorts(): Record<string, number> {
    return Object.fromEntries(this.allListeners().map((l) => [l.name, l.address.port]));
  }

  /** SIGTERM: stop accepting, let open connections finish for up to drainTimeMs, then close. */
  async stop(drainTimeMs = this.options.drainTimeMs ?? 5_000): Promise<void> {
    this.state = 'DRAINING';
    await this.ads?.stop();
    await Promise.all([...this.listeners.map((l) => l.drain(drainTimeMs)), this.dynamic?.close(), this.dns?.close()]);
    await this.clusters.close();
    await this.admin?.close();
  }

  private serverInfo(): object {
    const uptime = Math.floor((Date.now() - this.startedAt) / 1000);
    return {
      version: `isthmus/${ISTHMUS_VERSION}`,
      state: this.state,
      hot_restart_version: 'disabled',
      command_line_options: { config_path: this.source },
      node: { ...this.bootstrap.node, user_agent_name: 'isthmus' },
      uptime_current_epoch: `${uptime}s`,
      uptime_all_epochs: `${uptime}s`,
      hostname: hostname(),
    };
  }

  configDump(): object {
    const resources = this.bootstrap.static_resources ?? {};
    const dyn = <T extends object>(entries: Iterable<{ resource: T; version: string; lastUpdated: Date }>, typeUrl: string) =>
      [...entries].map((e) => ({ resource: { '@type': typeUrl, ...e.resource }, versionInfo: e.version, lastUpdated: e.lastUpdated }));
    return buildConfigDump({
      bootstrap: redactAdsCredentials(this.bootstrap),
      staticListeners: (resources.listeners ?? []).map((l) => ({ '@type': TYPE_URL.listener, ...l })),
      staticClusters: (resources.clusters ?? []).map((c) => ({ '@type': TYPE_URL.cluster, ...c })),
      staticRouteConfigs: [],
      secrets: (resources.secrets ?? []).map((s) => ({ '@type': TYPE_URL.secret, ...s })),
      dynamicListeners: dyn(this.dynamic.listeners.values(), TYPE_URL.listener),
      dynamicClusters: dyn(this.dynamic.clusters.values(), TYPE_URL.cluster),
      dynamicRouteConfigs: dyn(this.dynamic.routes.values(), TYPE_URL.routeConfiguration),
      dynamicSecrets: dyn(this.dynamic.secrets.values(), TYPE_URL.secret),
      lastUpdated: new Date(this.startedAt),
    });
  }

  clusterInfo(): AdminClusterInfo[] {
    return this.clusters.names().map((name) => {
      const cluster = this.clusters.get(name);
      return {
        name,
        addedViaApi: this.dynamic.clusters.has(name),
        hosts: (cluster?.hosts() ?? []).map((h) => ({
          id: h.id,
          ...(h.hostname ? { hostname: h.hostname } : {}),
          weight: h.weight,
          healthy: true,
          stats: {
            rq_active: h.activeRequests,
            rq_total: this.stats.counter(`cluster.${name}.upstream_rq_total`).value,
            cx_active: this.stats.gauge(`cluster.${name}.upstream_cx_active`).value,
          },
        })),
      };
    });
  }
}

/**
 * DNS_CAPTURE=true in the node metadata: a DNS server on <pod ip>:15053 and 127.0.0.1:<DNS_PORT> (istio-agent's
 * ports; there is no iptables rule sending port 53 to it, so clients name it as their resolver).
 */
function createDnsProxy(bootstrap: Bootstrap, options: ProxyOptions): DnsProxyServer | undefined {
  const { capture, port } = dnsCaptureOf(bootstrap.node?.metadata);
  if (!capture) return undefined;
  const addresses: DnsBindAddress[] = [];
  const podIp = options.instanceIp && options.instanceIp !== '0.0.0.0' && options.instanceIp !== '::' ? options.instanceIp : undefined;
  if (podIp) addresses.push({ host: podIp, port: 15053 });
  // Several sidecars on one machine share 127.0.0.1: the loopback port is best effort when the pod IP has one.
  if (!(podIp === '127.0.0.1' && port === 15053)) addresses.push({ host: '127.0.0.1', port, ...(podIp ? { optional: true } : {}) });
  return new DnsProxyServer({ addresses, ...(options.logger ? { logger: options.logger } : {}) });
}
