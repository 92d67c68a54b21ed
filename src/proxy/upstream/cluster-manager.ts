/**
 * Envoy's cluster manager: clusters by name, added or replaced from static config or CDS, endpoints
 * from EDS. A replaced cluster drains (in-flight requests finish on its connections); an identical
 * config is a no-op so repeated xDS pushes keep keep-alive pools warm.
 */
import type { Logger } from 'pino';
import type { Cluster, ClusterLoadAssignment } from '../../envoy/index.js';
import type { StatsStore } from '../stats.js';
import { UpstreamClusterImpl } from './cluster.js';
import type { UpstreamCluster } from './cluster.js';
import { endpointSpecs } from './endpoints.js';
import { ClusterConfigError } from './errors.js';
import type { ClusterManager } from './types.js';

export interface UpstreamClusterManager extends ClusterManager {
  get(name: string): UpstreamCluster | undefined;
  /**
   * EDS: sets the hosts of an EDS cluster. An assignment for a cluster not (yet) known is kept and
   * applied when the cluster is added. Throws ClusterConfigError on an invalid assignment.
   */
  updateEndpoints(clusterName: string, assignment: ClusterLoadAssignment): void;
}

export interface ClusterManagerOptions {
  readonly stats: StatsStore;
  /** Relative file names in cluster config (certificates, keys) resolve against this directory. */
  readonly baseDir: string;
  readonly logger?: Logger;
}

class ClusterManagerImpl implements UpstreamClusterManager {
  private readonly clusters = new Map<string, UpstreamClusterImpl>();
  /** The JSON of each cluster's config, to skip updates that change nothing. */
  private readonly configs = new Map<string, string>();
  private readonly assignments = new Map<string, ClusterLoadAssignment>();
  /** Bumped per addOrUpdate/remove of a name, so a slow (DNS-warming) update cannot win over a newer one. */
  private readonly generations = new Map<string, number>();
  /** Replaced or removed clusters whose connections may still carry requests; closed by close(). */
  private readonly draining = new Set<UpstreamClusterImpl>();
  private closed = false;

  constructor(private readonly options: ClusterManagerOptions) {}

  get(name: string): UpstreamCluster | undefined {
    return this.clusters.get(name);
  }

  names(): string[] {
    return [...this.clusters.keys()];
  }

  async addOrUpdate(config: Cluster): Promise<void> {
    if (this.closed) throw new Error('the cluster manager is closed');
    const name = config.name;
    const json = JSON.stringify(config);
    if (this.clusters.has(name) && this.configs.get(name) === json) return;
    const generation = (this.generations.get(name) ?? 0) + 1;
    this.generations.set(name, generation);
    const cluster = await UpstreamClusterImpl.create(config, this.options, this.assignments.get(name));
    if (this.closed || this.generations.get(name) !== generation) {
      await cluster.close();
      return;
    }
    const previous = this.clusters.get(name);
    this.clusters.set(name, cluster);
    this.configs.set(name, json);
    if (previous) this.retire(previous);
    this.options.logger?.debug({ cluster: name, type: cluster.settings.type, hosts: cluster.hosts().length }, previous ? 'cluster updated' : 'cluster added');
  }

  async remove(name: string): Promise<void> {
    this.generations.set(name, (this.generations.get(name) ?? 0) + 1);
    const cluster = this.clusters.get(name);
    this.clusters.delete(name);
    this.configs.delete(name);
    this.assignments.delete(name);
    if (!cluster) return;
    this.retire(cluster);
    this.options.logger?.debug({ cluster: name }, 'cluster removed');
  }

  private retire(cluster: UpstreamClusterImpl): void {
    cluster.drain();
    for (const c of this.draining) if (c.idle) this.draining.delete(c);
    if (!cluster.idle) this.draining.add(cluster);
  }

  updateEndpoints(clusterName: string, assignment: ClusterLoadAssignment): void {
    const cluster = this.clusters.get(clusterName);
    // Validated before it is stored, so a rejected assignment never replaces the last good one.
    if (cluster?.settings.type === 'EDS') cluster.updateEndpoints(assignment);
    else {
      try {
        endpointSpecs(assignment, 'cluster_load_assignment', true);
      } catch (err) {
        throw err instanceof ClusterConfigError ? err.forCluster(clusterName) : err;
      }
    }
    this.assignments.set(clusterName, assignment);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.clusters.values(), ...this.draining];
    this.clusters.clear();
    this.draining.clear();
    this.configs.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}

export function createClusterManager(options: ClusterManagerOptions): UpstreamClusterManager {
  return new ClusterManagerImpl(options);
}
