/**
 * The primary's xDS target: every ADS response goes to every live worker, which applies it to its own
 * DynamicResources; the response is ACKed only when every worker accepted it (a NACK from any worker is a
 * NACK, with its reason). The primary keeps what was applied so that a worker started later (a crashed
 * one's replacement) is brought to the same configuration before it takes traffic.
 */
import type { ApplyResult } from '../dynamic.js';
import type { XdsTarget } from '../xds-client/ads-client.js';
import type { ApplyReply, ResourceKind, ResourceNames } from './messages.js';

/** What the fan-out needs of a worker. */
export interface FanoutWorker {
  readonly index: number;
  /** Applies one response; undefined when the worker went away meanwhile (its replacement replays). */
  apply(type: ResourceKind, resources: readonly unknown[], version: string): Promise<ApplyReply | undefined>;
}

interface Applied { readonly resources: readonly unknown[]; readonly version: string }

/** Resources keyed by name, for the types whose responses may carry a subset (EDS, RDS, SDS). */
const KEYED: Partial<Record<ResourceKind, (r: Record<string, unknown>) => string>> = {
  endpoints: (r) => String(r.cluster_name ?? ''),
  routes: (r) => String(r.name ?? ''),
  secrets: (r) => String(r.name ?? ''),
};

/** Replay order: secrets first (nothing warms), listeners last (a new worker serves only when configured). */
const REPLAY: readonly ResourceKind[] = ['secrets', 'clusters', 'endpoints', 'routes', 'listeners'];

/**
 * What the workers applied, per type: the last accepted state of the world (clusters, listeners) or the
 * accepted resources by name (endpoints, routes, secrets), and a refused response after it, replayed too
 * so a new worker ends up exactly where the others are (they applied the valid part of it).
 */
export class AppliedState {
  private readonly accepted = new Map<ResourceKind, Applied>();
  private readonly keyed = new Map<ResourceKind, Map<string, unknown>>();
  private readonly refused = new Map<ResourceKind, Applied>();

  record(type: ResourceKind, resources: readonly unknown[], version: string, ok: boolean): void {
    if (!ok) {
      this.refused.set(type, { resources, version });
      return;
    }
    this.refused.delete(type);
    const key = KEYED[type];
    if (!key) {
      this.accepted.set(type, { resources, version });
      return;
    }
    let byName = this.keyed.get(type);
    if (!byName) this.keyed.set(type, (byName = new Map()));
    for (const r of resources) byName.set(key(r as Record<string, unknown>), r);
    this.accepted.set(type, { resources: [...byName.values()], version });
  }

  /** The responses that bring a fresh worker to the current state, in order. */
  replay(): Array<{ type: ResourceKind } & Applied> {
    const out: Array<{ type: ResourceKind } & Applied> = [];
    for (const type of REPLAY) {
      const accepted = this.accepted.get(type);
      if (accepted) out.push({ type, ...accepted });
      const refused = this.refused.get(type);
      if (refused) out.push({ type, ...refused });
    }
    return out;
  }
}

export class WorkerFanout implements XdsTarget {
  private names: ResourceNames = { eds: [], rds: [], sds: [] };
  private readonly state = new AppliedState();
  /** Responses and replays one at a time, in order: a replay never interleaves with an update. */
  private serial: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly liveWorkers: () => readonly FanoutWorker[],
    private readonly onListenersApplied?: (listeners: readonly unknown[]) => void,
  ) {}

  applyClusters(items: readonly unknown[], version: string): Promise<ApplyResult> { return this.apply('clusters', items, version); }
  applyEndpoints(items: readonly unknown[]): Promise<ApplyResult> { return this.apply('endpoints', items, ''); }
  applyListeners(items: readonly unknown[], version: string): Promise<ApplyResult> { return this.apply('listeners', items, version); }
  applyRoutes(items: readonly unknown[], version: string): Promise<ApplyResult> { return this.apply('routes', items, version); }
  applySecrets(items: readonly unknown[], version: string): Promise<ApplyResult> { return this.apply('secrets', items, version); }
  edsResourceNames(): string[] { return this.names.eds; }
  rdsResourceNames(): string[] { return this.names.rds; }
  sdsResourceNames(): string[] { return this.names.sds; }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.serial.then(job, job);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private apply(type: ResourceKind, resources: readonly unknown[], version: string): Promise<ApplyResult> {
    return this.enqueue(async () => {
      const workers = this.liveWorkers();
      const replies = await Promise.all(workers.map((w) => w.apply(type, resources, version)));
      const answered = replies.filter((r): r is ApplyReply => r !== undefined);
      if (answered[0]) this.names = answered[0].names;
      // Workers apply the same config the same way: one line per distinct reason.
      const errors = [...new Set(answered.flatMap((r) => (r.error ? [r.error] : [])))];
      this.state.record(type, resources, version, errors.length === 0);
      if (errors.length === 0 && type === 'listeners') this.onListenersApplied?.(resources);
      return errors.length ? { error: errors.join('; ') } : {};
    });
  }

  /**
   * Brings a new worker to the configuration the others have; `live` runs in the same turn of the queue,
   * so the next update includes the worker and none is missed.
   */
  join(worker: FanoutWorker, live: () => void): Promise<void> {
    return this.enqueue(async () => {
      for (const step of this.state.replay()) {
        const reply = await worker.apply(step.type, step.resources, step.version);
        if (!reply) return;
        if (reply.names.eds.length || reply.names.rds.length || reply.names.sds.length) this.names = reply.names;
      }
      live();
    });
  }
}
