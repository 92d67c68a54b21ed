import type { ConfigError, ConfigSnapshot, IstioResource } from '../../api/index.js';

/** Identifies one resource: Kind as Istio/Kubernetes write it ("Gateway", "Secret"), namespace ("" when cluster-scoped), name. */
export interface ResourceRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** Where a stored resource came from: written through the control plane, or a file in the watched config dir. */
export type ResourceOrigin = 'api' | 'config-dir';

/** A resource as the store holds it, with the bookkeeping kubectl shows (resourceVersion, creation time). */
export interface StoredResource {
  /** The resource as applied (loader-only fields such as `origin` removed). */
  readonly resource: IstioResource;
  /** Store revision at which this resource last changed; monotonic across restarts. */
  readonly resourceVersion: number;
  /** ISO time the resource was first created. */
  readonly creationTimestamp: string;
  readonly origin: ResourceOrigin;
  /** "stdin", a file name given by the client, or the path of the config-dir file that defines it. */
  readonly source: string;
}

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyResultItem {
  readonly ref: ResourceRef;
  readonly apiVersion: string;
  readonly action: ApplyAction;
  readonly resourceVersion: number;
}

export interface DeleteResultItem {
  readonly ref: ResourceRef;
  readonly action: 'deleted' | 'not found';
}

/** Refusals that come from the store's state rather than from the resource itself. */
export type StoreErrorCode = 'CONFLICT' | 'ALREADY_EXISTS' | 'NOT_FOUND' | 'SHADOWED';

/** A config problem (src/api's ConfigError, with file, document and field path) or a store refusal. */
export type StoreProblem = Omit<ConfigError, 'code'> & { readonly code: ConfigError['code'] | StoreErrorCode };

/** Config problems are results, not exceptions: a refused request carries every error with its field path. */
export type StoreOutcome<Item> =
  | { readonly ok: true; readonly revision: number; readonly results: readonly Item[] }
  | { readonly ok: false; readonly errors: readonly StoreProblem[] };

export interface ApplyOptions {
  /** Names the input in errors and in `source` of what gets stored ("stdin", "gateway.yaml"). */
  readonly source: string;
  /** Refuse resources that already exist (kubectl create). */
  readonly createOnly?: boolean;
  /** Validate and compute the result without storing anything. */
  readonly dryRun?: boolean;
}

export interface DeleteOptions {
  /** Without it, one missing resource refuses the whole request. */
  readonly ignoreNotFound?: boolean;
  readonly dryRun?: boolean;
}

export type ChangeAction = 'created' | 'configured' | 'deleted';

export interface StoreChange {
  readonly ref: ResourceRef;
  readonly action: ChangeAction;
}

/** What a watcher is told after every accepted change. */
export interface StoreEvent {
  readonly revision: number;
  readonly snapshot: ConfigSnapshot;
  readonly changes: readonly StoreChange[];
}

export type StoreListener = (event: StoreEvent) => void;

/**
 * The control plane's config, behind one interface so that files, Kubernetes (list/watch) or etcd can
 * back it. Every resource is validated before it is accepted; a refused change never replaces the last
 * good version.
 */
export interface ConfigStore {
  /** The current config as one immutable snapshot (its `version` is a content hash). */
  snapshot(): ConfigSnapshot;
  /** Monotonic store revision: increases with every accepted change, never reused after a restart. */
  revision(): number;
  /** Calls `listener` after every accepted change; returns a function that stops watching. */
  watch(listener: StoreListener): () => void;
  /** All-or-nothing: either every resource is stored (or unchanged) or nothing is. */
  apply(resources: readonly IstioResource[], options: ApplyOptions): Promise<StoreOutcome<ApplyResultItem>>;
  delete(refs: readonly ResourceRef[], options?: DeleteOptions): Promise<StoreOutcome<DeleteResultItem>>;
  /** Resources filtered by kind, namespace and name (each optional), sorted by kind, namespace, name. */
  get(kind?: string, namespace?: string, name?: string): StoredResource[];
  /** Problems in config sources the store watches (a broken file in the config dir), current ones only. */
  problems(): readonly StoreProblem[];
  close(): Promise<void>;
}
