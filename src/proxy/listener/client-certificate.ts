import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { parseSubjectAltNames } from '../tls/san.js';
import type { ClientCertificate } from './connection-info.js';

function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The client certificate of a verified mTLS connection, read lazily from the TLS socket. */
export function clientCertificate(socket: TLSSocket, peer: PeerCertificate): ClientCertificate {
  return {
    sha256: peer.fingerprint256.replaceAll(':', '').toLowerCase(),
    pem: () => pem(peer.raw),
    chainPem() {
      let out = '';
      const seen = new Set<string>();
      // Node links the chain through issuerCertificate; a self-signed root points at itself.
      for (let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
        seen.add(c.fingerprint256);
        out += pem(c.raw);
      }
      return out;
    },
    localUriSans() {
      const local = socket.getCertificate();
      const text = local && 'subjectaltname' in local ? local.subjectaltname : undefined;
      return parseSubjectAltNames(text).filter((san) => san.type === 'URI').map((san) => san.value);
    },
  };
}
