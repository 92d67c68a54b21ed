import type { Logger } from 'pino';
import type { RejectedVersions } from './rejected-versions.js';
import type { SnapshotCache } from './snapshot-cache.js';
import type { ProxyStatusRegistry } from './status.js';

/** What a SotW or delta stream needs from the server: shared state, and nothing about gRPC. */
export interface StreamContext {
  readonly connectionId: string;
  readonly nodeId: string;
  readonly cache: SnapshotCache;
  readonly status: ProxyStatusRegistry;
  readonly rejected: RejectedVersions;
  readonly nextNonce: () => string;
  readonly controlPlaneId: string;
  readonly logger?: Logger | undefined;
}
