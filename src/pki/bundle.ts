import { PkiError } from './errors.js';
import type { Certificate } from './certificate.js';
import { fingerprintSha256, isCertificateAuthority, parseCertificates, spiffeUris, toPem } from './certificate.js';
import { parseSpiffeId } from './spiffe.js';

export interface BundleSource {
  /** Where the PEM came from, for errors ("gke/root-cert.pem"). */
  readonly name: string;
  readonly pem: string;
}

export interface TrustBundle {
  readonly certificates: readonly Certificate[];
  /** Roots by the trust domain in their SPIFFE URI SAN ("" when a root carries none). */
  readonly byTrustDomain: ReadonlyMap<string, readonly Certificate[]>;
  toPem(): string;
}

export function trustBundle(certificates: readonly Certificate[]): TrustBundle {
  const byTrustDomain = new Map<string, Certificate[]>();
  for (const cert of certificates) {
    const uri = spiffeUris(cert)[0];
    const td = uri ? parseSpiffeId(uri).trustDomain : '';
    byTrustDomain.set(td, [...(byTrustDomain.get(td) ?? []), cert]);
  }
  return { certificates, byTrustDomain, toPem: () => toPem(certificates) };
}

/**
 * Merges the roots of several meshes into one trust bundle: federation without a shared root.
 * Duplicates (same SHA-256 fingerprint) are kept once; a non-CA certificate is refused.
 */
export function mergeTrustBundles(sources: readonly BundleSource[]): TrustBundle {
  const seen = new Set<string>();
  const certificates: Certificate[] = [];
  for (const source of sources) {
    parseCertificates(source.pem, source.name).forEach((cert, i) => {
      if (!isCertificateAuthority(cert)) {
        throw new PkiError('ERR_PKI_BUNDLE', `${source.name}: certificate #${i + 1} ("${cert.subject || cert.serialNumber}") is not a CA certificate`, {
          hint: 'a trust bundle holds CA certificates only (root-cert.pem or ca-cert.pem files)',
        });
      }
      const fp = fingerprintSha256(cert);
      if (seen.has(fp)) return;
      seen.add(fp);
      certificates.push(cert);
    });
  }
  return trustBundle(certificates);
}
