/**
 * x-forwarded-client-cert as Envoy's forward_client_cert_details defines it. A client-supplied XFCC
 * only survives from an mTLS peer under FORWARD_ONLY / APPEND_FORWARD, or always under
 * ALWAYS_FORWARD_ONLY; SANITIZE (the default) drops it, SANITIZE_SET replaces it with the verified
 * client certificate: By=<our URI SAN>;Hash=<sha256>;Cert="...";Chain="...";Subject="...";URI=...;DNS=...
 */
import type { HttpConnectionManager } from '../../envoy/index.js';
import type { ConnectionInfo } from '../listener/connection-info.js';
import type { HeaderMap } from './filter.js';

const XFCC = 'x-forwarded-client-cert';

/** Applies forward_client_cert_details to the request headers, in place. */
export function forwardClientCert(headers: HeaderMap, config: HttpConnectionManager, conn: ConnectionInfo): void {
  const mode = config.forward_client_cert_details ?? 'SANITIZE';
  if (mode === 'ALWAYS_FORWARD_ONLY') return;
  const cert = conn.clientCertificate;
  if (mode === 'SANITIZE' || !cert || !conn.peerIdentity) {
    delete headers[XFCC];
    return;
  }
  if (mode === 'FORWARD_ONLY') return;
  const element = currentElement(config, conn);
  const existing = headers[XFCC];
  const previous = Array.isArray(existing) ? existing.join(',') : existing;
  headers[XFCC] = mode === 'APPEND_FORWARD' && previous ? `${previous},${element}` : element;
}

/** This hop's element, fields in Envoy's order; Hash always, By for each of our URI SANs. */
function currentElement(config: HttpConnectionManager, conn: ConnectionInfo): string {
  const cert = conn.clientCertificate;
  const peer = conn.peerIdentity;
  if (!cert || !peer) return '';
  const details = config.set_current_client_cert_details ?? {};
  const parts: string[] = [];
  for (const uri of cert.localUriSans()) parts.push(`By=${uri}`);
  parts.push(`Hash=${cert.sha256}`);
  if (details.cert) parts.push(`Cert="${encodeURIComponent(cert.pem())}"`);
  if (details.chain) parts.push(`Chain="${encodeURIComponent(cert.chainPem())}"`);
  if (details.subject) parts.push(`Subject="${quoted(peer.subject)}"`);
  if (details.uri) for (const uri of peer.uriSans) parts.push(`URI=${uri}`);
  if (details.dns) for (const dns of peer.dnsSans) parts.push(`DNS=${dns}`);
  return parts.join(';');
}

/** A quoted XFCC value escapes its quotes, so a subject cannot end the field early. */
function quoted(value: string): string {
  return value.replace(/(?<!\\)"/g, '\\"');
}
