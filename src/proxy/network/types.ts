import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ConnectionInfo } from '../listener/connection-info.js';
import type { HttpFilterFactory } from '../http/filter.js';
import type { RouteStore } from '../http/route-store.js';
import type { StatsStore } from '../stats.js';
import type { TraceRecorder } from '../trace/index.js';
import type { ClusterManager } from '../upstream/index.js';

/** Takes over a downstream connection once its filter chain (and TLS, if any) is chosen. */
export type ConnectionHandler = (socket: Duplex, info: ConnectionInfo) => void;

/** A compiled network filter: either rewrites what the next filter sees, or takes the connection. */
export type NetworkFilter =
  | { readonly kind: 'info'; apply(info: ConnectionInfo & { clusterOverride?: string }): ConnectionInfo & { clusterOverride?: string } }
  /**
   * Admits or refuses the connection (network RBAC, connection_limit); a refused connection is closed,
   * unless the gate answers 'closing' (it closes the connection itself, later).
   */
  | { readonly kind: 'gate'; admit(info: ConnectionInfo, socket?: Duplex): boolean | 'closing' }
  | { readonly kind: 'terminal'; readonly handle: ConnectionHandler; close(): Promise<void>; readonly routeConfig?: unknown };

export interface NetworkFilterContext {
  readonly clusters: ClusterManager;
  readonly stats: StatsStore;
  /** Relative file names resolve against it (Envoy: the working directory). */
  readonly baseDir: string;
  readonly logger?: Logger;
  /** The proxy's trace recorder (/isthmus/trace). */
  readonly trace?: TraceRecorder;
  readonly httpFilters: ReadonlyMap<string, HttpFilterFactory>;
  /** Route configurations from RDS, for connection managers configured with `rds`. */
  readonly routes?: RouteStore;
  /** Config path of this filter, for error messages. */
  readonly path: string;
}
