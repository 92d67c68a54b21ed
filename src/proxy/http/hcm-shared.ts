import type { Logger } from 'pino';
import type { DataSource, HttpConnectionManager, Route, RouteConfiguration, VirtualHost } from '../../envoy/index.js';
import type { AccessLogger } from '../access-log/index.js';
import type { Counter, Gauge } from '../stats.js';
import type { TraceRecorder } from '../trace/index.js';
import type { ClusterManager } from '../upstream/index.js';
import type { HttpFilter } from './filter.js';
import type { PathNormalizationOptions } from './path-normalization.js';
import type { RequestLimits } from './request-validation.js';
import type { CompiledRetryPolicy } from './retry.js';
import type { RouteTable } from './route-table.js';

/** Everything the streams of one http_connection_manager share, compiled once per filter chain. */
export interface HcmShared {
  readonly config: HttpConnectionManager;
  /** Replaced when RDS delivers a new version; a stream reads it once, when it routes. */
  routeTable: RouteTable;
  /** The route configuration in use (inline or from RDS), for header mutations at its level. */
  routeConfig: RouteConfiguration;
  /** normalize_path, merge_slashes, path_with_escaped_slashes_action, read once from the config. */
  readonly pathNormalization: PathNormalizationOptions;
  /** max_headers_count and max_request_headers_kb, checked once per request. */
  readonly requestLimits: RequestLimits;
  /** internal_address_config: is this downstream peer internal (trusted with x-envoy-* headers)? */
  isInternal(ip: string): boolean;
  readonly filterFactories: ReadonlyArray<() => HttpFilter>;
  readonly clusters: ClusterManager;
  readonly accessLoggers: readonly AccessLogger[];
  readonly logger?: Logger;
  /** Completed streams go here too, for /isthmus/trace. */
  readonly trace?: TraceRecorder;
  readonly stats: {
    readonly rqTotal: Counter;
    readonly rqActive: Gauge;
    readonly rqHttp1: Counter;
    readonly rqHttp2: Counter;
    rqByClass(statusClass: string): Counter;
  };
  clusterStat(cluster: string, name: string): Counter;
  retryPolicy(route: Route, virtualHost: VirtualHost): CompiledRetryPolicy | undefined;
  directResponseBody(source: DataSource): Buffer;
}
