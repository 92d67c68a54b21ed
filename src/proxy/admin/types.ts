import type { AccessLogger } from '../access-log/index.js';
import type { StatsStore } from '../stats.js';
import type { TraceRecorder } from '../trace/index.js';

/** Circuit breaker thresholds of one priority, as /clusters prints them (Envoy defaults when unset). */
export interface AdminThresholds {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
}

export interface AdminHostInfo {
  /** "ip:port" ("[v6]:port"), Envoy's host address string. */
  id: string;
  hostname?: string;
  weight: number;
  healthy: boolean;
  /** Why an unhealthy host is unhealthy: "failed_active_hc", "failed_outlier_check", "failed_eds_health". */
  healthFlags?: string[];
  priority?: number;
  region?: string;
  zone?: string;
  subZone?: string;
  /** Per-host stats by Envoy name: cx_total, cx_active, cx_connect_fail, rq_total, rq_active, rq_success, rq_error, rq_timeout. */
  stats: Record<string, number>;
}

export interface AdminClusterInfo {
  name: string;
  /** alt_stat_name when set; the name otherwise. */
  observabilityName?: string;
  /** true for clusters from CDS, false for static_resources. */
  addedViaApi: boolean;
  hosts: AdminHostInfo[];
  circuitBreakers?: { default?: AdminThresholds; high?: AdminThresholds };
}

export interface AdminListenerInfo {
  name: string;
  /** The bound address, "ip:port" ("[v6]:port"); the real port when the config said 0. */
  address: string;
}

export interface AdminServerOptions {
  host: string;
  /** 0 picks a free port; the started server reports it. */
  port: number;
  stats: StatsStore;
  /**
   * Fields of /server_info (version, node, command_line_options, hot_restart_version, ...). The admin
   * server sets `state` itself (so /healthcheck/fail shows as DRAINING) and fills uptimes when absent.
   */
  serverInfo(): object;
  /** The whole dump, usually from buildConfigDump(). */
  configDump(): object;
  clusters(): AdminClusterInfo[];
  listeners(): AdminListenerInfo[];
  isReady(): boolean;
  /** Envoy's server state (PRE_INITIALIZING, INITIALIZING, LIVE, DRAINING); derived from isReady() when absent. */
  state?(): string;
  /** POST /quitquitquit, called after the response is sent. */
  onQuit?(): void;
  /** GET /isthmus/trace reads it. */
  trace?: TraceRecorder;
  /**
   * Runs before a request is dispatched, with its path: the --concurrency primary gathers its workers'
   * stats or config there, so that the synchronous handlers read fresh data.
   */
  prepare?(path: string): Promise<void>;
  /** Logs every admin request (Envoy's admin.access_log). */
  accessLog?: AccessLogger;
}

export interface AdminServer {
  readonly port: number;
  /** Stops listening and closes open connections; the port is free when it resolves. */
  close(): Promise<void>;
}

/** What a handler sees of the server. */
export interface AdminContext {
  readonly options: AdminServerOptions;
  readonly startedAt: Date;
  /** Set by POST /healthcheck/fail, cleared by /healthcheck/ok. */
  healthCheckFailed: boolean;
  /** The server state with the health check override applied. */
  state(): string;
}

export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

export interface AdminResponse {
  status: number;
  contentType: 'text' | 'json' | 'prometheus';
  body: string;
  /** Runs once the response has been written (e.g. quitting). */
  afterSend?: () => void;
}

/** One admin endpoint, as Envoy registers them: a path, a help line, whether it mutates state. */
export interface AdminHandler {
  readonly path: string;
  readonly help: string;
  /** Mutating endpoints require POST (405 otherwise). */
  readonly mutatesState: boolean;
  handle(request: AdminRequest, context: AdminContext): AdminResponse;
}
