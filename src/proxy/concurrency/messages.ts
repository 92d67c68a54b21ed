/**
 * The IPC between the primary of `isthmus proxy --concurrency N` and its workers (node:cluster, 'advanced'
 * serialization so Dates and Buffers survive). Requests carry an id; the worker answers with a reply of
 * the same id.
 */
import type { Secret } from '../../envoy/index.js';
import type { AdminClusterInfo, AdminListenerInfo } from '../admin/index.js';
import type { StatSample } from '../stats.js';
import type { TraceEntry } from '../trace/index.js';

/** The xDS resource kinds a worker applies, in DynamicResources' words. */
export type ResourceKind = 'clusters' | 'endpoints' | 'listeners' | 'routes' | 'secrets';

/** The names a worker's resources refer to: what the primary's ADS client subscribes to. */
export interface ResourceNames {
  readonly eds: string[];
  readonly rds: string[];
  readonly sds: string[];
}

/** What the primary's admin reads from a worker: its config (the same in every worker) and views. */
export type ViewPart = 'configDump' | 'clusters' | 'listeners';

export type PrimaryMessage =
  | { readonly kind: 'apply'; readonly id: number; readonly type: ResourceKind; readonly resources: readonly unknown[]; readonly version: string }
  /** Workload certificates the primary got from the CA (--ca-address): no reply. */
  | { readonly kind: 'secrets'; readonly secrets: readonly Secret[] }
  | { readonly kind: 'stats'; readonly id: number }
  | { readonly kind: 'view'; readonly id: number; readonly parts: readonly ViewPart[] }
  | { readonly kind: 'trace'; readonly id: number };

export interface ApplyReply { readonly error?: string; readonly names: ResourceNames }
export interface StatsReply { readonly samples: readonly StatSample[] }
export interface ViewReply { readonly configDump?: object; readonly clusters?: AdminClusterInfo[]; readonly listeners?: AdminListenerInfo[] }
export interface TraceReply { readonly entries: readonly TraceEntry[]; readonly recorded: number; readonly sampledOut: number }

export type WorkerMessage =
  /** The worker's server started (static listeners listening): it can take config and traffic. */
  | { readonly kind: 'live' }
  | { readonly kind: 'reply'; readonly id: number; readonly body: ApplyReply | StatsReply | ViewReply | TraceReply };

/** Worker index (0..N-1, kept by a replacement) in the environment of a forked worker. */
export const WORKER_INDEX_ENV = 'ISTHMUS_WORKER_INDEX';

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === 'object' && m !== null && ((m as { kind?: unknown }).kind === 'live' || (m as { kind?: unknown }).kind === 'reply');
}
