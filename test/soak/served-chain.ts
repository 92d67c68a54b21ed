// Which root a TLS server's certificate chain leads to, seen as a client sees it.
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { DetailedPeerCertificate } from 'node:tls';

/**
 * The certificates a server presents, leaf first. No client certificate is sent: under TLS 1.3 the
 * client has the server's chain before the server decides on the client's, which is all this needs
 * (a STRICT mTLS server then ends the connection).
 */
export function servedChain(host: string, port: number, alpn: string[] = ['istio']): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ALPNProtocols: alpn, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    socket.once('secureConnect', () => {
      const chain: X509Certificate[] = [];
      const seen = new Set<string>();
      for (let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
        seen.add(c.fingerprint256);
        chain.push(new X509Certificate(c.raw));
      }
      socket.destroy();
      resolve(chain);
    });
    socket.once('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no TLS handshake with ${host}:${port}`)));
  });
}

/** Whether the chain's last certificate was signed by this root (PEM). */
export function chainsTo(chain: readonly X509Certificate[], rootPem: string): boolean {
  const root = new X509Certificate(rootPem);
  const top = chain.at(-1);
  return top !== undefined && top.checkIssued(root) && top.verify(root.publicKey);
}
