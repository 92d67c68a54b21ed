import type { TlsDetails } from '../trace/types.js';

/** Names of a downstream peer certificate: URI and DNS SANs, and the subject as an RFC 2253 string. */
export interface PeerIdentity {
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  readonly subject: string;
}

/** A downstream client certificate; the PEM forms and our own URI SANs are built only when asked for. */
export interface ClientCertificate {
  /** SHA-256 of the DER certificate, lower-case hex (XFCC's Hash). */
  readonly sha256: string;
  pem(): string;
  /** The chain as Node verified it, leaf first, PEM. */
  chainPem(): string;
  /** URI SANs of the certificate this proxy presented (XFCC's By). */
  localUriSans(): readonly string[];
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
  /** The verified client certificate itself (mTLS), for x-forwarded-client-cert. */
  readonly clientCertificate?: ClientCertificate;
  readonly tlsVersion?: string;
  /** The listener and filter chain that took the connection (for the trace recorder). */
  readonly listenerName?: string;
  readonly filterChainName?: string;
  /** TLS terminated here: version, ALPN, the client's certificate chain (mTLS). */
  readonly downstreamTls?: TlsDetails;
  /** Bytes read before the filter chain was chosen (the ClientHello), to replay upstream. */
  readonly preread?: Buffer;
}
