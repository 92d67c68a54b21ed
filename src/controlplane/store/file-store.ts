import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { buildSnapshot } from '../../api/index.js';
import type { ConfigError, ConfigSnapshot, IstioResource } from '../../api/index.js';
import { ConfigDirSource } from './config-dir.js';
import { formatProblem, storeError } from './errors.js';
import { compareRefs, refKey, refOf, sameContent } from './refs.js';
import { readState, writeState } from './state-file.js';
import type { PersistedResource } from './state-file.js';
import type {
  ApplyOptions, ApplyResultItem, ConfigStore, DeleteOptions, DeleteResultItem, ResourceRef, StoreChange, StoreListener,
  StoreOutcome, StoreProblem, StoredResource,
} from './types.js';
import { validateResources } from './validate.js';

export interface FileStoreOptions {
  /** Where writes through the control plane are persisted (in its `store/` subdirectory). */
  readonly stateDir: string;
  /** A directory of YAML/JSON files edited by hand, watched for changes. */
  readonly configDir?: string;
  /** Quiet time after the last file-system event before the config dir is re-read. */
  readonly debounceMs?: number;
  /** Watch the config dir (default true); without it, call `rescan()`. */
  readonly watch?: boolean;
  readonly logger?: Logger;
}

/** Kubernetes prints times to the second. */
function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function toStored(entry: PersistedResource, origin: StoredResource['origin']): StoredResource {
  return { resource: entry.resource, resourceVersion: entry.resourceVersion, creationTimestamp: entry.creationTimestamp, origin, source: entry.source };
}

/**
 * The embedded store: resources written through the control plane persisted as one JSON document in the
 * state dir (atomic, fsync'd), overlaid with a watched directory of hand-edited files. A resource
 * defined by a file belongs to that file: the API refuses to change it, and it shadows an API copy.
 */
export class FileStore implements ConfigStore {
  private apiLayer = new Map<string, StoredResource>();
  private dirLayer = new Map<string, StoredResource>();
  private view = new Map<string, StoredResource>();
  private current: ConfigSnapshot;
  private rev: number;
  private dirConflicts: StoreProblem[] = [];
  /** Persisted resources that no longer validate: kept on disk untouched, not served. */
  private quarantined: PersistedResource[] = [];
  private quarantineErrors: ConfigError[] = [];
  private readonly listeners = new Set<StoreListener>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly stateDir: string,
    private readonly dir: ConfigDirSource | undefined,
    private readonly logger: Logger | undefined,
    revision: number,
  ) {
    this.rev = revision;
    this.current = buildSnapshot([]);
  }

  static async open(options: FileStoreOptions): Promise<FileStore> {
    const stateDir = join(resolve(options.stateDir), 'store');
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const state = await readState(stateDir);
    const dir = options.configDir === undefined ? undefined : new ConfigDirSource(resolve(options.configDir));
    const store = new FileStore(stateDir, dir, options.logger, state.revision);
    store.loadPersisted(state.resources);
    if (dir) {
      await dir.scan();
      store.adoptDir();
      if (options.watch !== false) dir.watch(() => void store.rescan().catch((err: unknown) => store.logger?.error({ err }, 'config dir rescan failed')), options.debounceMs ?? 100);
    }
    store.publish(true);
    if (store.rev !== state.revision) await store.persist();
    store.reportProblems();
    return store;
  }

  snapshot(): ConfigSnapshot {
    return this.current;
  }

  revision(): number {
    return this.rev;
  }

  watch(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(kind?: string, namespace?: string, name?: string): StoredResource[] {
    return [...this.view.values()]
      .filter((s) => (kind === undefined || s.resource.kind === kind) && (namespace === undefined || s.resource.metadata.namespace === namespace) && (name === undefined || s.resource.metadata.name === name))
      .sort((a, b) => compareRefs(refOf(a.resource), refOf(b.resource)));
  }

  problems(): readonly StoreProblem[] {
    const shadowed = [...this.dirLayer.entries()]
      .filter(([key]) => this.apiLayer.has(key))
      .map(([, s]) => storeError('SHADOWED', refOf(s.resource), s.source, `the copy applied through the control plane is shadowed by ${s.source}`, `delete one of the two copies`, 'warning'));
    return [...(this.dir?.problems() ?? []), ...this.dirConflicts, ...shadowed, ...this.quarantineErrors];
  }

  apply(resources: readonly IstioResource[], options: ApplyOptions): Promise<StoreOutcome<ApplyResultItem>> {
    const checked = validateResources(resources, options.source);
    if (checked.errors.length > 0) return Promise.resolve({ ok: false, errors: checked.errors });
    return this.serialized(async () => {
      const errors: StoreProblem[] = [];
      const results: ApplyResultItem[] = [];
      const next = new Map(this.apiLayer);
      const revision = this.rev + 1;
      const seen = new Set<string>();
      for (const resource of checked.resources) {
        const ref = refOf(resource);
        const key = refKey(ref);
        const owner = this.dirLayer.get(key)?.source;
        if (seen.has(key)) {
          errors.push(storeError('DUPLICATE', ref, options.source, 'appears twice in this request', 'keep one copy'));
          continue;
        }
        seen.add(key);
        if (owner) {
          errors.push(storeError('CONFLICT', ref, options.source, `is defined by ${owner} in the config dir`, `edit ${owner} instead`));
          continue;
        }
        const existing = next.get(key);
        if (existing && options.createOnly) {
          errors.push(storeError('ALREADY_EXISTS', ref, options.source, 'already exists', 'delete it first, or use apply to change it'));
          continue;
        }
        if (existing && sameContent(existing.resource, resource)) {
          results.push({ ref, apiVersion: resource.apiVersion, action: 'unchanged', resourceVersion: existing.resourceVersion });
          continue;
        }
        next.set(key, { resource, resourceVersion: revision, creationTimestamp: existing?.creationTimestamp ?? now(), origin: 'api', source: options.source });
        results.push({ ref, apiVersion: resource.apiVersion, action: existing ? 'configured' : 'created', resourceVersion: revision });
      }
      errors.push(...this.meshConfigConflicts(next, options.source));
      if (errors.length > 0) return { ok: false, errors };
      if (options.dryRun || results.every((r) => r.action === 'unchanged')) return { ok: true, revision: this.rev, results };
      await this.commit(next, revision);
      return { ok: true, revision, results };
    });
  }

  delete(refs: readonly ResourceRef[], options: DeleteOptions = {}): Promise<StoreOutcome<DeleteResultItem>> {
    return this.serialized(async () => {
      const errors: StoreProblem[] = [];
      const results: DeleteResultItem[] = [];
      const next = new Map(this.apiLayer);
      for (const ref of refs) {
        const key = refKey(ref);
        const owner = this.dirLayer.get(key)?.source;
        if (owner) errors.push(storeError('CONFLICT', ref, 'delete', `is defined by ${owner} in the config dir`, `remove it from ${owner} instead`));
        else if (next.delete(key)) results.push({ ref, action: 'deleted' });
        else if (options.ignoreNotFound) results.push({ ref, action: 'not found' });
        else errors.push(storeError('NOT_FOUND', ref, 'delete', 'not found', 'check the kind, namespace (-n) and name; isthmus get lists what exists'));
      }
      if (errors.length > 0) return { ok: false, errors };
      if (options.dryRun || results.every((r) => r.action === 'not found')) return { ok: true, revision: this.rev, results };
      const revision = this.rev + 1;
      await this.commit(next, revision);
      return { ok: true, revision, results };
    });
  }

  /** Re-reads the config dir now (the watcher calls this after edits settle). */
  rescan(): Promise<void> {
    return this.serialized(async () => {
      if (!this.dir || this.closed) return;
      if (!(await this.dir.scan())) return;
      const previousRevision = this.rev;
      this.adoptDir();
      // Persisting the bumped revision keeps it monotonic across a restart. The files stay the source
      // of truth, so they are served even if that write fails.
      if (this.rev !== previousRevision) await this.persist().catch((err: unknown) => this.logger?.error({ err }, 'cannot persist the store revision'));
      // Publishing and notifying in one step: nobody sees the new view before watchers are told.
      this.notify(this.publish());
      this.reportProblems();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dir?.close();
    this.listeners.clear();
    await this.queue.catch(() => undefined);
  }

  // ─── internals ─────────────────────────────────────────────────────────────────────────────────

  /** Runs mutations one at a time, so that each sees the result of the previous one. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The mesh has one MeshConfig: a second one (by another name) is refused. */
  private meshConfigConflicts(apiLayer: Map<string, StoredResource>, source: string): StoreProblem[] {
    const all = new Map(apiLayer);
    for (const [key, stored] of this.dirLayer) all.set(key, stored);
    const meshConfigs = [...all.values()].filter((s) => s.resource.kind === 'MeshConfig');
    const [kept, ...others] = meshConfigs.sort((a, b) => a.resourceVersion - b.resourceVersion);
    return others.map((s) => storeError('CONFLICT', refOf(s.resource), source, `only one MeshConfig is allowed; ${kept?.resource.metadata.name} exists`, `change MeshConfig ${kept?.resource.metadata.name} instead, or delete it first`));
  }

  private loadPersisted(entries: readonly PersistedResource[]): void {
    for (const entry of entries) {
      const checked = validateResources([entry.resource], entry.source);
      const resource = checked.resources[0];
      if (!resource) {
        this.quarantined.push(entry);
        this.quarantineErrors.push(...checked.errors.map((e) => ({ ...e, message: `stored resource no longer valid, not served: ${e.message}` })));
        continue;
      }
      this.apiLayer.set(refKey(refOf(resource)), toStored({ ...entry, resource }, 'api'));
    }
  }

  /** Takes the config dir's current good resources, keeping versions of those whose content is the same. */
  private adoptDir(): void {
    if (!this.dir) return;
    const { resources, conflicts } = this.dir.resources();
    this.dirConflicts = conflicts;
    const next = new Map<string, StoredResource>();
    const revision = this.rev + 1;
    let changed = false;
    for (const { resource, path } of resources) {
      const key = refKey(refOf(resource));
      const existing = this.dirLayer.get(key);
      if (existing && existing.source === path && sameContent(existing.resource, resource)) {
        next.set(key, existing);
        continue;
      }
      const shadowedOrPrevious = existing ?? this.apiLayer.get(key);
      next.set(key, { resource, resourceVersion: revision, creationTimestamp: shadowedOrPrevious?.creationTimestamp ?? now(), origin: 'config-dir', source: path });
      changed = true;
    }
    changed ||= [...this.dirLayer.keys()].some((key) => !next.has(key));
    this.dirLayer = next;
    if (changed) this.rev = revision;
  }

  /** Persists first, so that what a client is told was stored survives a crash; then serves it. */
  private async commit(apiLayer: Map<string, StoredResource>, revision: number): Promise<void> {
    await this.persist(apiLayer, revision);
    this.apiLayer = apiLayer;
    this.rev = revision;
    this.notify(this.publish());
  }

  private async persist(apiLayer = this.apiLayer, revision = this.rev): Promise<void> {
    const resources = [...apiLayer.values()].map((s) => ({ resource: s.resource, resourceVersion: s.resourceVersion, creationTimestamp: s.creationTimestamp, source: s.source }));
    await writeState(this.stateDir, { revision, resources: [...resources, ...this.quarantined] });
  }

  /** Rebuilds the merged view and the snapshot; returns what changed in the view. */
  private publish(force = false): StoreChange[] {
    const view = new Map(this.apiLayer);
    for (const [key, stored] of this.dirLayer) view.set(key, stored);
    const changes: StoreChange[] = [];
    for (const [key, stored] of view) {
      const before = this.view.get(key);
      if (!before) changes.push({ ref: refOf(stored.resource), action: 'created' });
      else if (before !== stored) changes.push({ ref: refOf(stored.resource), action: 'configured' });
    }
    for (const [key, before] of this.view) if (!view.has(key)) changes.push({ ref: refOf(before.resource), action: 'deleted' });
    this.view = view;
    if (changes.length > 0 || force) this.current = buildSnapshot([...view.values()].map((s) => s.resource));
    return changes;
  }

  private notify(changes: StoreChange[]): void {
    if (changes.length === 0) return;
    const event = { revision: this.rev, snapshot: this.current, changes };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger?.error({ err }, 'config store listener failed');
      }
    }
  }

  private reportProblems(): void {
    for (const problem of this.problems()) {
      this.logger?.[problem.severity === 'error' ? 'error' : 'warn'](formatProblem(problem));
    }
  }
}

/** Opens (or creates) the file-backed store: loads the persisted state, reads and watches the config dir. */
export function createFileStore(options: FileStoreOptions): Promise<FileStore> {
  return FileStore.open(options);
}
