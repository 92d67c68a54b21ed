import type { TlsDetails } from '../trace/types.js';

/** What a network filter knows about its downstream connection. */
export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: boolean;
  /** SNI from the ClientHello (tls_inspector) or the TLS handshake. */
  readonly serverName?: string;
  /** ALPN offered by the client (tls_inspector). */
  readonly clientAlpn?: readonly string[];
  /** ALPN negotiated when TLS is terminated here. */
  readonly negotiatedAlpn?: string;
  readonly peerUriSan?: string;
  readonly tlsVersion?: string;
  /** The listener and filter chain that took the connection (for the trace recorder). */
  readonly listenerName?: string;
  readonly filterChainName?: string;
  /** TLS terminated here: version, ALPN, the client's certificate chain (mTLS). */
  readonly downstreamTls?: TlsDetails;
  /** Bytes read before the filter chain was chosen (the ClientHello), to replay upstream. */
  readonly preread?: Buffer;
}
