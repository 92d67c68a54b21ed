import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Cluster } from '../../envoy/index.js';
import type { HeaderMap } from '../http/filter.js';
import type { TlsDetails } from '../trace/types.js';

/** One resolved endpoint of a cluster. */
export interface UpstreamHost {
  /** IP address (or the name, for LOGICAL_DNS before resolution). */
  readonly address: string;
  readonly port: number;
  /** The endpoint's configured hostname or DNS name, if any. */
  readonly hostname?: string;
  readonly weight: number;
  /** Requests in flight to this host (LEAST_REQUEST uses it). */
  readonly activeRequests: number;
  /** "ip:port", as Envoy prints UPSTREAM_HOST. */
  readonly id: string;
  /** The last TLS handshake with this host (SNI, ALPN, peer certificate), for the trace recorder. */
  readonly tls?: TlsDetails | undefined;
}

export interface UpstreamRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly authority: string;
  /** Without pseudo-headers and without hop-by-hop headers (connection, keep-alive, te, upgrade, ...). */
  readonly headers: HeaderMap;
  readonly body: Readable | Buffer | null;
  /** Per-try timeout for the whole response headers wait, ms; undefined = none. */
  readonly timeoutMs?: number;
  /** Cancels the request (an AbortSignal will do): the exchange fails and its stream or connection is reset. */
  readonly signal?: CancelSignal;
}

/** What the upstream needs of a cancellation signal: an AbortSignal has it, and so has the HCM's DownstreamReset. */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: EventListenerObject): void;
  removeEventListener(type: 'abort', listener: EventListenerObject): void;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: Readable;
  /** Resolves when the body has ended: the response trailers ({} when none). */
  readonly trailers: Promise<HeaderMap>;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly host: UpstreamHost;
  /**
   * The whole body when it has already arrived and `body` was never read (the codec kept it): the
   * caller writes it with the head at once. Undefined otherwise; `body` then streams it.
   */
  takeCompleteBody?(): Buffer | undefined;
}

/** Envoy response flags for upstream failures, used in access logs and local replies. */
export type UpstreamFailure =
  | 'UF' // upstream connection failure
  | 'UO' // upstream overflow (circuit breaker)
  | 'UT' // upstream request timeout
  | 'UC' // upstream connection termination
  | 'UR' // upstream remote reset
  | 'UH'; // no healthy upstream host

export class UpstreamError extends Error {
  /** The TLS side of a failed connect: the SNI sent and, when the handshake finished, the peer's certificate. */
  tls: TlsDetails | undefined;

  constructor(readonly flag: UpstreamFailure, message: string, options?: { cause?: unknown; tls?: TlsDetails }) {
    super(message, options);
    this.name = 'UpstreamError';
    this.tls = options?.tls;
  }
}

export interface ClusterHandle {
  readonly name: string;
  /** The config as loaded (for /config_dump). */
  readonly config: Cluster;
  /** Picks a host by the cluster's lb_policy; undefined when there is none. */
  chooseHost(exclude?: ReadonlySet<UpstreamHost>): UpstreamHost | undefined;
  /** Sends an HTTP request on a pooled connection to the host (HTTP/1.1 or HTTP/2 by cluster config). */
  httpRequest(request: UpstreamRequest, host: UpstreamHost): Promise<UpstreamResponse>;
  /** Opens a TCP connection (wrapped in the cluster's transport socket if any), within connect_timeout. */
  connectTcp(host: UpstreamHost): Promise<Socket>;
  /** Current hosts, for /clusters. */
  hosts(): readonly UpstreamHost[];
  close(): Promise<void>;
}

export interface ClusterManager {
  get(name: string): ClusterHandle | undefined;
  names(): string[];
  /** Adds or replaces a cluster; a replaced cluster's pools drain. Throws on invalid config. */
  addOrUpdate(config: Cluster): Promise<void>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}
