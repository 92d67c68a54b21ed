import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { parseSubjectAltNames } from '../tls/san.js';
import type { CertificateSummary, TlsDetails } from './types.js';

const MAX_CHAIN = 8;

function dn(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  return Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`).join(', ');
}

function summary(cert: PeerCertificate): CertificateSummary {
  const sans = parseSubjectAltNames(cert.subjectaltname);
  const uri = sans.filter((s) => s.type === 'URI').map((s) => s.value);
  const dns = sans.filter((s) => s.type === 'DNS').map((s) => s.value);
  return {
    subject: dn(cert.subject),
    issuer: dn(cert.issuer),
    ...(uri.length ? { uriSans: uri } : {}),
    ...(dns.length ? { dnsSans: dns } : {}),
    ...(cert.valid_to ? { notAfter: cert.valid_to } : {}),
  };
}

/** The chain a peer presented, leaf first (Node links it through issuerCertificate; a root links to itself). */
export function peerChain(socket: TLSSocket): CertificateSummary[] {
  const chain: CertificateSummary[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<DetailedPeerCertificate>();
  while (cert && cert.raw && !seen.has(cert) && chain.length < MAX_CHAIN) {
    seen.add(cert);
    chain.push(summary(cert));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * What a TLS connection tells about its peer, built once per connection (not per request). `sni` is the
 * name this side sent (upstream) or received (downstream).
 */
export function tlsDetails(socket: TLSSocket, sni: string | undefined): TlsDetails {
  const chain = peerChain(socket);
  const leaf = chain[0];
  const alpn = socket.alpnProtocol;
  const version = socket.getProtocol();
  return {
    ...(sni ? { sni } : {}),
    ...(typeof alpn === 'string' ? { alpn } : {}),
    ...(version ? { version } : {}),
    ...(leaf?.uriSans?.[0] ? { peerSpiffeId: leaf.uriSans[0] } : {}),
    ...(leaf?.dnsSans ? { peerDnsSans: leaf.dnsSans } : {}),
    ...(chain.length ? { peerChain: chain } : {}),
  };
}

/** OpenSSL's words for the verify errors Node reports by code (socket.authorizationError). */
const VERIFY_ERRORS: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
  INVALID_CA: 'invalid CA certificate',
};

/** "UNABLE_TO_VERIFY_LEAF_SIGNATURE" -> "unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)". */
export function verifyErrorText(code: unknown): string {
  const text = String(code);
  const words = VERIFY_ERRORS[text];
  return words ? `${words} (${text})` : text;
}
