import { Debouncer } from './debounce.js';
import { XdsError } from './errors.js';
import type { Snapshot } from './snapshot.js';

export type SnapshotWatcher = (snapshot: Snapshot) => void;

export interface SnapshotCacheOptions {
  /** Quiet time before watchers hear of a change (default 100 ms; 0 pushes at once). */
  readonly debounceMs?: number;
  /** Longest a change waits while updates keep coming (default 1 s). */
  readonly maxDelayMs?: number;
  /** Refuse snapshots whose consistent() check fails (default: accept, the caller decides). */
  readonly requireConsistent?: boolean;
}

interface NodeEntry {
  snapshot: Snapshot | undefined;
  readonly watchers: Set<SnapshotWatcher>;
  readonly debouncer: Debouncer;
}

/**
 * Per-node snapshots and the watches of the streams serving them. Only knows snapshots: how they reach
 * a proxy (SotW or delta, ACK/NACK) is the server's business, as in go-control-plane's cache/server split.
 * A new watcher reads the current snapshot itself; changes reach watchers debounced, so a burst of
 * updates becomes one push of the latest snapshot.
 */
export class SnapshotCache {
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  /** Snapshots set, and notifications delivered to watchers (after debouncing). */
  readonly stats = { snapshotsSet: 0, notifications: 0 };

  constructor(private readonly options: SnapshotCacheOptions = {}) {
    this.debounceMs = options.debounceMs ?? 100;
    this.maxDelayMs = Math.max(this.debounceMs, options.maxDelayMs ?? 1000);
  }

  setSnapshot(nodeId: string, snapshot: Snapshot): void {
    if (this.options.requireConsistent) {
      const check = snapshot.consistent();
      if (!check.ok) {
        throw new XdsError('ERR_XDS_INCONSISTENT_SNAPSHOT', `the snapshot for node "${nodeId}" is inconsistent:\n  ${check.problems.join('\n  ')}`, {
          hint: 'add the missing EDS/RDS/SDS resources or remove the references; the previous snapshot stays in effect',
        });
      }
    }
    const entry = this.entry(nodeId);
    if (entry.snapshot === snapshot) return;
    entry.snapshot = snapshot;
    this.stats.snapshotsSet += 1;
    if (entry.watchers.size > 0) entry.debouncer.trigger();
  }

  getSnapshot(nodeId: string): Snapshot | undefined {
    return this.nodes.get(nodeId)?.snapshot;
  }

  clearSnapshot(nodeId: string): void {
    const entry = this.nodes.get(nodeId);
    if (!entry) return;
    entry.snapshot = undefined;
    entry.debouncer.cancel();
    if (entry.watchers.size === 0) this.nodes.delete(nodeId);
  }

  nodeIds(): string[] {
    return [...this.nodes].filter(([, entry]) => entry.snapshot).map(([id]) => id);
  }

  /** Calls `watcher` with each later snapshot of the node; returns the function that stops it. */
  watch(nodeId: string, watcher: SnapshotWatcher): () => void {
    const entry = this.entry(nodeId);
    entry.watchers.add(watcher);
    return () => {
      entry.watchers.delete(watcher);
      if (entry.watchers.size === 0) {
        entry.debouncer.cancel();
        if (!entry.snapshot) this.nodes.delete(nodeId);
      }
    };
  }

  /** Delivers pending changes now (shutdown, tests). */
  flush(): void {
    for (const entry of this.nodes.values()) entry.debouncer.flush();
  }

  close(): void {
    for (const entry of this.nodes.values()) entry.debouncer.cancel();
  }

  private entry(nodeId: string): NodeEntry {
    let entry = this.nodes.get(nodeId);
    if (!entry) {
      const created: NodeEntry = {
        snapshot: undefined,
        watchers: new Set(),
        debouncer: new Debouncer(this.debounceMs, this.maxDelayMs, () => this.notify(created)),
      };
      entry = created;
      this.nodes.set(nodeId, entry);
    }
    return entry;
  }

  private notify(entry: NodeEntry): void {
    const snapshot = entry.snapshot;
    if (!snapshot) return;
    this.stats.notifications += 1;
    for (const watcher of [...entry.watchers]) watcher(snapshot);
  }
}
