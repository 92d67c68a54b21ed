/**
 * What the trace recorder keeps per completed HTTP stream, TCP proxy connection or listener-level
 * refusal: plain JSON-able objects, so /isthmus/trace can return them as they are.
 */

/** One certificate of a peer's chain, leaf first. */
export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  /** URI SANs (a SPIFFE id in a mesh). */
  readonly uriSans?: readonly string[];
  readonly dnsSans?: readonly string[];
  readonly notAfter?: string;
}

/** The TLS side of one connection, downstream or upstream. */
export interface TlsDetails {
  /** SNI sent (upstream) or received (downstream). */
  readonly sni?: string;
  readonly alpn?: string;
  readonly version?: string;
  /** The peer certificate's first URI SAN: its SPIFFE id in a mesh. */
  readonly peerSpiffeId?: string;
  readonly peerDnsSans?: readonly string[];
  /** The peer's chain as presented, leaf first. */
  readonly peerChain?: readonly CertificateSummary[];
}

export type TraceEntryKind = 'http' | 'tcp' | 'listener';

export interface TraceEntry {
  readonly kind: TraceEntryKind;
  /** Start, ms since the epoch. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly listener?: string;
  readonly filterChain?: string;
  readonly downstreamRemoteAddress: string;
  readonly downstreamLocalAddress: string;
  /** SNI the downstream client sent (tls_inspector or the handshake). */
  readonly downstreamSni?: string;
  /** Downstream TLS terminated here: version, ALPN and the client certificate when mTLS. */
  readonly downstreamTls?: TlsDetails;
  readonly requestId?: string;
  readonly authority?: string;
  readonly path?: string;
  readonly method?: string;
  readonly routeConfig?: string;
  readonly virtualHost?: string;
  readonly route?: string;
  /** The matched route's match, e.g. "prefix /" or "path /hello". */
  readonly routeMatch?: string;
  readonly cluster?: string;
  readonly upstreamHost?: string;
  readonly upstreamTls?: TlsDetails;
  /** 0 for TCP and listener entries, and when no response was sent. */
  readonly responseCode: number;
  readonly responseCodeDetails?: string;
  /** Envoy response flags: NR, UF, UH, URX, UT, UC, UR, UO, DC, NC, DPE... */
  readonly responseFlags: readonly string[];
  /** Why the upstream (or, for listener entries, the downstream handshake) failed, e.g. a TLS alert. */
  readonly error?: string;
}

/** Filters of GET /isthmus/trace. */
export interface TraceQuery {
  readonly requestId?: string;
  /** Entries still open at or after this time (ms since the epoch): they ended at or after it. */
  readonly sinceMs?: number;
  /** Entries whose downstream or upstream SNI is this name. */
  readonly sni?: string;
  readonly kind?: TraceEntryKind;
  readonly limit?: number;
}

/** The downstream connection as the trace reads it (the proxy's per-connection info, kept by reference). */
export interface TraceConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly serverName?: string;
  readonly listenerName?: string;
  readonly filterChainName?: string;
  readonly downstreamTls?: TlsDetails;
}

/** The route a stream matched, as the trace reads it (the route table's match, kept by reference). */
export interface TraceRouteMatch {
  readonly virtualHost: { readonly name?: string };
  readonly route: { readonly name?: string; readonly match?: TraceRouteMatchSpec };
}

export interface TraceRouteMatchSpec {
  readonly prefix?: string;
  readonly path?: string;
  readonly safe_regex?: { readonly regex: string };
  readonly path_separated_prefix?: string;
}

/**
 * What a completed HTTP stream leaves in the recorder: one fixed-shape object of values and references
 * to objects that exist anyway (connection, matched route, upstream TLS). The TraceEntry (addresses as
 * strings, optional fields, the route's match in words) is built from it only when the trace is read.
 */
export interface HttpTraceRecord {
  readonly conn: TraceConnection;
  readonly startMs: number;
  readonly durationMs: number;
  readonly requestId: string | undefined;
  readonly authority: string;
  readonly path: string;
  readonly method: string;
  readonly routeConfig: string | undefined;
  readonly matched: TraceRouteMatch | undefined;
  readonly cluster: string | undefined;
  readonly upstreamHost: string | undefined;
  readonly upstreamTls: TlsDetails | undefined;
  readonly responseCode: number;
  readonly responseCodeDetails: string;
  readonly responseFlags: readonly string[];
  readonly error: string | undefined;
}
