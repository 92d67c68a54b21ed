import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret, UpstreamTlsContext } from '../envoy/index.js';
import { TYPE_URL, validateMessage } from '../envoy/index.js';
import type { Logger } from 'pino';
import { RouteTable } from './http/route-table.js';
import type { RouteStore } from './http/route-store.js';
import { ListenerRuntime, MissingSecretsError } from './listener/listener.js';
import type { ListenerContext } from './listener/listener.js';
import { resolveTlsContext } from './tls/sds.js';
import type { SecretStore } from './tls/sds.js';
import type { UpstreamClusterManager } from './upstream/index.js';
import { applyAutoSni } from './upstream/auto-sni.js';

/** The outcome of applying one xDS response: an error (for the NACK) when something was refused. */
export interface ApplyResult {
  readonly error?: string;
}

export interface DynamicEntry<T> {
  resource: T;
  version: string;
  lastUpdated: Date;
}

function validateAll<T>(items: readonly unknown[], message: string, what: string): { values: T[]; errors: string[] } {
  const values: T[] = [];
  const errors: string[] = [];
  items.forEach((item, i) => {
    const result = validateMessage<T>(item, message, `${what}[${i}]`);
    if (result.valid) values.push(result.value);
    else errors.push(...result.errors.map((e) => `${e.path}: ${e.message}`));
  });
  return { values, errors };
}

/**
 * Resources from xDS (CDS, EDS, LDS, RDS, SDS) applied to a running proxy without dropping live
 * connections: clusters are replaced in the cluster manager (pools drain), listeners are updated in
 * place, route tables are swapped. A response with an invalid resource is refused whole (NACK) and the
 * last good configuration keeps serving. Resources that name SDS secrets not delivered yet warm until
 * the secrets arrive, as in Envoy.
 */
export class DynamicResources {
  readonly clusters = new Map<string, DynamicEntry<Cluster>>();
  readonly listeners = new Map<string, DynamicEntry<Listener>>();
  readonly routes = new Map<string, DynamicEntry<RouteConfiguration>>();
  readonly secrets = new Map<string, DynamicEntry<Secret>>();
  private readonly runtimes = new Map<string, ListenerRuntime>();
  private readonly clusterSecrets = new Map<string, string[]>();
  private readonly warmingClusters = new Set<string>();
  private readonly warmingListeners = new Set<string>();
  /** EDS service_name -> cluster names that read it. */
  private readonly edsNames = new Map<string, Set<string>>();
  /** Called with the full set of listeners after an LDS update was applied (the DNS proxy reads its name table there). */
  onListenersApplied: ((listeners: readonly Listener[]) => void) | undefined;

  constructor(
    private readonly clusterManager: UpstreamClusterManager,
    private readonly routeStore: RouteStore,
    private readonly secretStore: SecretStore,
    private readonly listenerContext: ListenerContext,
    private readonly staticClusterNames: ReadonlySet<string>,
    private readonly drainTimeMs: number,
    private readonly logger?: Logger,
  ) {
    secretStore.onChange((names) => void this.onSecretsChanged(names));
  }

  /** Names of EDS resources the clusters need (for the EDS subscription). */
  edsResourceNames(): string[] {
    return [...this.edsNames.keys()];
  }

  /** Names of RDS route configurations the listeners need. */
  rdsResourceNames(): string[] {
    const names = new Set<string>();
    for (const { resource } of this.listeners.values()) {
      for (const chain of [...(resource.filter_chains ?? []), ...(resource.default_filter_chain ? [resource.default_filter_chain] : [])]) {
        for (const f of chain.filters ?? []) {
          const rds = (f.typed_config as { rds?: { route_config_name?: string } } | undefined)?.rds;
          if (rds?.route_config_name) names.add(rds.route_config_name);
        }
      }
    }
    return [...names];
  }

  /** Names of SDS secrets clusters and listeners refer to. */
  sdsResourceNames(): string[] {
    const names = new Set<string>();
    for (const list of this.clusterSecrets.values()) for (const n of list) names.add(n);
    for (const runtime of this.runtimes.values()) for (const n of runtime.secretNames) names.add(n);
    for (const { resource } of this.listeners.values()) for (const n of secretRefs(resource)) names.add(n);
    return [...names];
  }

  warming(): { clusters: string[]; listeners: string[] } {
    return { clusters: [...this.warmingClusters], listeners: [...this.warmingListeners] };
  }

  listenerRuntimes(): ListenerRuntime[] {
    return [...this.runtimes.values()];
  }

  /** CDS (state of the world): the full set of dynamic clusters. */
  async applyClusters(items: readonly unknown[], version: string): Promise<ApplyResult> {
    const { values, errors } = validateAll<Cluster>(items, 'Cluster', 'clusters');
    const clash = values.find((c) => this.staticClusterNames.has(c.name));
    if (clash) errors.push(`clusters: "${clash.name}" is a static cluster and cannot be replaced by CDS`);
    if (errors.length > 0) return { error: errors.join('; ') };
    const now = new Date();
    const keep = new Set(values.map((c) => c.name));
    for (const name of [...this.clusters.keys()]) {
      if (keep.has(name)) continue;
      this.clusters.delete(name);
      this.clusterSecrets.delete(name);
      this.warmingClusters.delete(name);
      await this.clusterManager.remove(name);
    }
    this.edsNames.clear();
    const failures: string[] = [];
    for (const cluster of values) {
      if (cluster.type === 'EDS') {
        const service = cluster.eds_cluster_config?.service_name ?? cluster.name;
        let set = this.edsNames.get(service);
        if (!set) this.edsNames.set(service, (set = new Set()));
        set.add(cluster.name);
      }
      const previous = this.clusters.get(cluster.name);
      if (previous && JSON.stringify(previous.resource) === JSON.stringify(cluster) && !this.warmingClusters.has(cluster.name)) continue;
      this.clusters.set(cluster.name, { resource: cluster, version, lastUpdated: now });
      const error = await this.addCluster(cluster);
      if (error) failures.push(error);
    }
    return failures.length ? { error: failures.join('; ') } : {};
  }

  private async addCluster(config: Cluster): Promise<string | undefined> {
    const cluster = applyAutoSni(config);
    let resolved = cluster;
    const tls = cluster.transport_socket?.typed_config;
    if (tls && tls['@type'] === TYPE_URL.upstreamTlsContext) {
      const { '@type': type, ...ctx } = tls;
      const sds = resolveTlsContext(ctx as UpstreamTlsContext, this.secretStore);
      this.clusterSecrets.set(cluster.name, sds.names);
      if (sds.missing.length > 0) {
        this.warmingClusters.add(cluster.name);
        return undefined;
      }
      resolved = { ...cluster, transport_socket: { ...cluster.transport_socket, name: cluster.transport_socket?.name ?? 'envoy.transport_sockets.tls', typed_config: { '@type': type, ...sds.resolved } } };
    }
    try {
      await this.clusterManager.addOrUpdate(resolved);
      this.warmingClusters.delete(cluster.name);
      return undefined;
    } catch (err) {
      return `cluster ${cluster.name}: ${(err as Error).message}`;
    }
  }

  /** EDS: assignments by cluster (or EDS service) name. */
  applyEndpoints(items: readonly unknown[]): ApplyResult {
    const { values, errors } = validateAll<ClusterLoadAssignment>(items, 'ClusterLoadAssignment', 'endpoints');
    if (errors.length > 0) return { error: errors.join('; ') };
    const failures: string[] = [];
    for (const cla of values) {
      const name = cla.cluster_name ?? '';
      for (const cluster of this.edsNames.get(name) ?? [name]) {
        try {
          this.clusterManager.updateEndpoints(cluster, cla);
        } catch (err) {
          failures.push(`endpoints ${name}: ${(err as Error).message}`);
        }
      }
    }
    return failures.length ? { error: failures.join('; ') } : {};
  }

  /** RDS: route configurations by name. */
  applyRoutes(items: readonly unknown[], version: string): ApplyResult {
    const { values, errors } = validateAll<RouteConfiguration>(items, 'RouteConfiguration', 'routes');
    for (const rc of values) {
      const problem = RouteTable.problem(rc);
      if (problem) errors.push(`route ${rc.name}: ${problem}`);
    }
    if (errors.length > 0) return { error: errors.join('; ') };
    const now = new Date();
    for (const rc of values) this.routes.set(rc.name ?? '', { resource: rc, version, lastUpdated: now });
    this.routeStore.set(values);
    return {};
  }

  /** SDS: secrets by name; clusters and listeners that use a changed secret are rebuilt. */
  applySecrets(items: readonly unknown[], version: string): ApplyResult {
    const { values, errors } = validateAll<Secret>(items, 'Secret', 'secrets');
    if (errors.length > 0) return { error: errors.join('; ') };
    const now = new Date();
    for (const s of values) this.secrets.set(s.name, { resource: s, version, lastUpdated: now });
    this.secretStore.set(values);
    return {};
  }

  /** LDS (state of the world): the full set of dynamic listeners. */
  async applyListeners(items: readonly unknown[], version: string): Promise<ApplyResult> {
    const { values, errors } = validateAll<Listener>(items, 'Listener', 'listeners');
    values.forEach((l, i) => {
      if (!l.name) errors.push(`listeners[${i}].name: a listener from LDS needs a name`);
    });
    if (errors.length > 0) return { error: errors.join('; ') };
    const now = new Date();
    const keep = new Set(values.map((l) => l.name as string));
    for (const [name, runtime] of [...this.runtimes]) {
      if (keep.has(name)) continue;
      this.runtimes.delete(name);
      this.listeners.delete(name);
      void runtime.drain(this.drainTimeMs);
    }
    for (const name of [...this.warmingListeners]) if (!keep.has(name)) this.warmingListeners.delete(name);
    const failures: string[] = [];
    for (const listener of values) {
      const name = listener.name as string;
      const previous = this.listeners.get(name);
      if (previous && JSON.stringify(previous.resource) === JSON.stringify(listener) && !this.warmingListeners.has(name)) continue;
      this.listeners.set(name, { resource: listener, version, lastUpdated: now });
      const error = await this.startOrUpdateListener(listener);
      if (error) failures.push(error);
    }
    // After the listeners started: a name never resolves to a VIP whose listener is not there yet.
    this.onListenersApplied?.(values);
    return failures.length ? { error: failures.join('; ') } : {};
  }

  private async startOrUpdateListener(listener: Listener): Promise<string | undefined> {
    const name = listener.name as string;
    const path = `listener ${name}`;
    const existing = this.runtimes.get(name);
    try {
      const want = listener.address.socket_address;
      const sameAddress = existing && existing.config.address.socket_address.address === want.address
        && (existing.config.address.socket_address.port_value === want.port_value || existing.address.port === want.port_value)
        && existing.bindsToPort === (listener.bind_to_port !== false);
      if (existing && sameAddress) {
        await existing.update(listener, path);
      } else {
        const runtime = await ListenerRuntime.create(listener, this.listenerContext, path);
        await runtime.start();
        if (existing) void existing.drain(this.drainTimeMs);
        this.runtimes.set(name, runtime);
      }
      this.warmingListeners.delete(name);
      return undefined;
    } catch (err) {
      if (err instanceof MissingSecretsError) {
        this.warmingListeners.add(name);
        this.logger?.info({ listener: name, waitingFor: err.names }, 'listener warming: waiting for SDS secrets');
        return undefined;
      }
      return `${path}: ${(err as Error).message}`;
    }
  }

  private async onSecretsChanged(names: ReadonlySet<string>): Promise<void> {
    for (const [cluster, used] of this.clusterSecrets) {
      const entry = this.clusters.get(cluster);
      if (entry && used.some((n) => names.has(n))) {
        const error = await this.addCluster(entry.resource);
        if (error) this.logger?.warn({ cluster, error }, 'cluster not rebuilt after a secret change');
      }
    }
    for (const [name, entry] of this.listeners) {
      const runtime = this.runtimes.get(name);
      const uses = runtime ? runtime.secretNames.some((n) => names.has(n)) : this.warmingListeners.has(name);
      if (!uses) continue;
      const error = await this.startOrUpdateListener(entry.resource);
      if (error) this.logger?.warn({ listener: name, error }, 'listener not rebuilt after a secret change');
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.runtimes.values()].map((r) => r.drain(0)));
    this.runtimes.clear();
  }
}

/** SDS names a listener's TLS contexts refer to (also while it warms and has no runtime). */
function secretRefs(listener: Listener): string[] {
  const names: string[] = [];
  for (const chain of [...(listener.filter_chains ?? []), ...(listener.default_filter_chain ? [listener.default_filter_chain] : [])]) {
    const common = (chain.transport_socket?.typed_config as { common_tls_context?: Record<string, unknown> } | undefined)?.common_tls_context;
    if (!common) continue;
    for (const ref of (common.tls_certificate_sds_secret_configs as Array<{ name: string }> | undefined) ?? []) names.push(ref.name);
    const vc = common.validation_context_sds_secret_config as { name: string } | undefined;
    if (vc) names.push(vc.name);
    const combined = common.combined_validation_context as { validation_context_sds_secret_config?: { name: string } } | undefined;
    if (combined?.validation_context_sds_secret_config) names.push(combined.validation_context_sds_secret_config.name);
  }
  return names;
}
