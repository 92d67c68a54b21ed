/**
 * What an access log line is made from: Envoy's StreamInfo plus the request/response header maps,
 * flattened into one plain object that the HTTP connection manager or tcp_proxy fills once per
 * request or connection.
 */

/** Looks up a header by lower-case name; pseudo-headers (":method", ":path", ...) included. */
export type HeaderLookup = (name: string) => string | undefined;

/** For TCP entries and responses that never started: every lookup misses. */
export const NO_HEADERS: HeaderLookup = () => undefined;

export interface AccessLogEntry {
  /** Request start (HTTP) or downstream connection start (TCP). */
  startTime: Date;
  /** Start to last byte out (HTTP) or connection lifetime (TCP), ms. */
  durationMs: number;
  /** Start to the last byte of the request received from downstream, ms. */
  requestDurationMs?: number;
  /** Start to the first byte read from the upstream, ms. */
  responseDurationMs?: number;
  /** Downstream protocol; undefined for TCP. */
  protocol?: 'HTTP/1.1' | 'HTTP/2' | 'HTTP/1.0';
  requestHeaders: HeaderLookup;
  responseHeaders: HeaderLookup;
  responseTrailers: HeaderLookup;
  /** 0 when no response was sent (client went away) and for TCP. */
  responseCode: number;
  responseCodeDetails?: string;
  /** Why the proxy closed the connection for L4 reasons (Istio's default format prints it). */
  connectionTerminationDetails?: string;
  /** Envoy response flags ("UH", "UF", "NR", ...), printed comma-joined or "-". */
  responseFlags: readonly string[];
  /** Body bytes (HTTP) or connection bytes (TCP). */
  bytesReceived: number;
  bytesSent: number;
  /** "ip:port" of the chosen upstream host. */
  upstreamHost?: string;
  /** The cluster's observability name (alt_stat_name if set). */
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  upstreamTransportFailureReason?: string;
  /** "ip:port" ("[v6]:port" for IPv6). */
  downstreamRemoteAddress: string;
  downstreamLocalAddress: string;
  /** SNI of the downstream TLS connection. */
  requestedServerName?: string;
  routeName?: string;
  /** URI SANs of the downstream peer certificate; several are joined with ",". */
  downstreamPeerUriSan?: string | readonly string[];
  downstreamLocalUriSan?: string | readonly string[];
  /** "TLSv1.2", "TLSv1.3". */
  downstreamTlsVersion?: string;
  connectionId: number;
}

type HeaderValues = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * A HeaderLookup over node-style headers (lower-case keys) plus pseudo-headers. Like Envoy, a
 * repeated header logs its first value; ":authority" falls back to Host for HTTP/1.
 */
export function headerLookup(headers: HeaderValues, pseudo: Readonly<Record<string, string | undefined>> = {}): HeaderLookup {
  return (name) => {
    if (name.startsWith(':')) {
      const value = pseudo[name];
      if (value !== undefined) return value;
      if (name !== ':authority') return undefined;
      name = 'host';
    }
    const value = headers[name];
    return typeof value === 'string' ? value : value?.[0];
  };
}
