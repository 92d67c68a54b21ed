import type { X509Certificate as NodeX509 } from 'node:crypto';
import { PkiError } from './errors.js';
import type { Certificate } from './certificate.js';
import { basicConstraints, extendedKeyUsages, isCertificateAuthority, keyUsages, subjectAltNames, toNodeCertificate } from './certificate.js';
import { parseSpiffeId } from './spiffe.js';
import type { SpiffeId } from './spiffe.js';

export type PeerRole = 'client' | 'server';

export interface VerifyOptions {
  /** The trust bundle: roots (and, for federation, other meshes' roots). */
  readonly roots: readonly Certificate[];
  /** Intermediates known to the verifier besides those the peer sent (e.g. a VM CA). */
  readonly intermediates?: readonly Certificate[];
  /** The verifier's own trust domain. */
  readonly trustDomain?: string;
  /**
   * Other trust domains to accept, or "any" to accept every trust domain whose chain verifies
   * (Istio's PILOT_SKIP_VALIDATE_TRUST_DOMAIN). Without trustDomain, any trust domain is accepted.
   */
  readonly allowedTrustDomains?: readonly string[] | 'any';
  /** The role the peer plays in the handshake: decides which extended key usage it needs. */
  readonly role?: PeerRole;
  readonly at?: Date;
}

export interface VerifiedPeer {
  readonly spiffeId: SpiffeId;
  readonly leaf: Certificate;
  /** leaf, intermediates..., root */
  readonly path: readonly Certificate[];
}

const MAX_DEPTH = 8;

function checkValidity(cert: Certificate, at: Date, what: string): void {
  if (at < cert.notBefore) {
    throw new PkiError('ERR_PKI_NOT_YET_VALID', `${what} "${cert.subject || cert.serialNumber}" is not valid before ${cert.notBefore.toISOString()}`, {
      hint: 'check the clocks of both machines',
    });
  }
  if (at > cert.notAfter) {
    throw new PkiError('ERR_PKI_EXPIRED', `${what} "${cert.subject || cert.serialNumber}" expired at ${cert.notAfter.toISOString()}`, {
      hint: 'issue a new certificate (isthmus ca issue) or let the proxy rotate it',
    });
  }
}

function issuedBy(child: NodeX509, parent: NodeX509): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/**
 * Verifies a peer's certificate chain (leaf first) against a trust bundle and returns its SPIFFE ID.
 * Enforces what an X509-SVID verifier must: a path to a trusted root with valid signatures and dates,
 * issuers that are CAs allowed to sign certificates within their path length, a leaf that is not a
 * CA, carries exactly one SPIFFE URI SAN and may be used for the peer's role.
 */
export function verifyPeerChain(chain: readonly Certificate[], options: VerifyOptions): VerifiedPeer {
  const at = options.at ?? new Date();
  const leaf = chain[0];
  if (!leaf) throw new PkiError('ERR_PKI_UNTRUSTED', 'the peer presented no certificate', { hint: 'configure a client certificate' });

  if (isCertificateAuthority(leaf)) {
    throw new PkiError('ERR_PKI_LEAF_IS_CA', 'the peer certificate is a CA certificate; a workload certificate must not be a CA');
  }
  const usage = keyUsages(leaf);
  if (usage && !usage.includes('digitalSignature')) {
    throw new PkiError('ERR_PKI_USAGE', 'the peer certificate does not allow digitalSignature, which TLS needs');
  }
  const role = options.role ?? 'client';
  const eku = extendedKeyUsages(leaf);
  const neededEku = role === 'client' ? 'clientAuth' : 'serverAuth';
  if (eku && !eku.includes(neededEku)) {
    throw new PkiError('ERR_PKI_USAGE', `the peer certificate lacks the ${neededEku} extended key usage needed by a TLS ${role}`, {
      hint: 'issue it with isthmus ca issue, which sets both serverAuth and clientAuth',
    });
  }
  const uris = subjectAltNames(leaf).uri;
  if (uris.length !== 1 || !uris[0]?.startsWith('spiffe://')) {
    throw new PkiError('ERR_PKI_NOT_SPIFFE', `the peer certificate must carry exactly one SPIFFE URI SAN, it carries ${uris.length ? uris.join(', ') : 'none'}`);
  }
  const spiffeId = parseSpiffeId(uris[0]);
  checkValidity(leaf, at, 'certificate');

  const roots = options.roots.map((c) => ({ cert: c, node: toNodeCertificate(c) }));
  const pool = [...chain.slice(1), ...(options.intermediates ?? [])]
    .filter((c) => isCertificateAuthority(c))
    .map((c) => ({ cert: c, node: toNodeCertificate(c) }));

  const path: Certificate[] = [leaf];
  let current = toNodeCertificate(leaf);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const root = roots.find((r) => issuedBy(current, r.node));
    if (root) {
      checkIssuer(root.cert, at, depth);
      path.push(root.cert);
      checkTrustDomain(spiffeId, options);
      return { spiffeId, leaf, path };
    }
    const next = pool.find((p) => !path.includes(p.cert) && issuedBy(current, p.node));
    if (!next) break;
    checkIssuer(next.cert, at, depth);
    path.push(next.cert);
    current = next.node;
  }
  throw new PkiError('ERR_PKI_UNTRUSTED', `the peer certificate (${spiffeId.uri}) does not chain to any root in the trust bundle`, {
    hint: 'add the peer mesh\'s root to the trust bundle (isthmus ca bundle), or send the intermediate with the certificate',
  });
}

/** An issuer must be a valid CA allowed to sign certificates, with room in its path length. */
function checkIssuer(cert: Certificate, at: Date, intermediatesBelow: number): void {
  const basic = basicConstraints(cert);
  if (!basic?.ca) throw new PkiError('ERR_PKI_UNTRUSTED', `issuer "${cert.subject}" is not a CA`);
  const usage = keyUsages(cert);
  if (usage && !usage.includes('keyCertSign')) {
    throw new PkiError('ERR_PKI_USAGE', `issuer "${cert.subject}" may not sign certificates (no keyCertSign)`);
  }
  if (basic.pathLength !== undefined && intermediatesBelow > basic.pathLength) {
    throw new PkiError('ERR_PKI_UNTRUSTED', `issuer "${cert.subject}" has path length ${basic.pathLength} but ${intermediatesBelow} CAs below it`);
  }
  checkValidity(cert, at, 'issuer certificate');
}

export function checkTrustDomain(id: SpiffeId, options: Pick<VerifyOptions, 'trustDomain' | 'allowedTrustDomains'>): void {
  const allowed = options.allowedTrustDomains;
  if (!options.trustDomain || allowed === 'any') return;
  if (id.trustDomain === options.trustDomain || allowed?.includes(id.trustDomain)) return;
  throw new PkiError('ERR_PKI_TRUST_DOMAIN', `trust domain "${id.trustDomain}" of ${id.uri} is not accepted (local trust domain "${options.trustDomain}")`, {
    hint: `list "${id.trustDomain}" among the accepted trust domains, or skip the check as Istio's PILOT_SKIP_VALIDATE_TRUST_DOMAIN does`,
  });
}
