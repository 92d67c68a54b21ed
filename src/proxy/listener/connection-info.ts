import type { TlsDetails } from '../trace/types.js';

/** Names of a downstream peer certificate: URI and DNS SANs, and the subject as an RFC 2253 string. */
export interface PeerIdentity {
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  readonly subject: string;
}

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
  /** The verified client certificate's names (mTLS), for RBAC's `authenticated` principal. */
  readonly peerIdentity?: PeerIdentity;
  readonly tlsVersion?: string;
  /** The listener and filter chain that took the connection (for the trace recorder). */
  readonly listenerName?: string;
  readonly filterChainName?: string;
  /** TLS terminated here: version, ALPN, the client's certificate chain (mTLS). */
  readonly downstreamTls?: TlsDetails;
  /** Bytes read before the filter chain was chosen (the ClientHello), to replay upstream. */
  readonly preread?: Buffer;
}
