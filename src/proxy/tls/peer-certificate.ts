/**
 * Checks on a verified peer's leaf certificate that the chain verification does not make, or makes
 * too loosely, by the advisories Envoy fixed:
 * - CVE-2022-21657: the leaf must be meant for the peer's role — clientAuth for a client, serverAuth for
 *   a server — when it has an extendedKeyUsage extension, and it must allow digitalSignature (every
 *   ECDHE/TLS 1.3 handshake signs with it) when it has a keyUsage extension.
 * - X509-SVID rules for mesh peers (SPIFFE): exactly one URI SAN, a spiffe:// one, and a leaf that is not
 *   a CA (basicConstraints CA:TRUE, keyCertSign or cRLSign). OpenSSL does not refuse a CA:TRUE leaf, and
 *   its own "is a CA" test ignores basicConstraints when keyUsage lacks keyCertSign, so the extensions
 *   are read from the DER here.
 * Facts are parsed once per certificate (by SHA-256 fingerprint) and cached: a peer that reconnects
 * costs a map lookup.
 */
import type { PeerCertificate } from 'node:tls';
import type { CertificateValidationContext, StringMatcher } from '../../envoy/index.js';
import { extendedKeyUsages, isCertificateAuthority, keyUsages, parseDerCertificate, subjectAltNames } from '../../pki/index.js';

/** The side of the handshake the peer is on: a downstream peer is a client, an upstream one a server. */
export type PeerRole = 'client' | 'server';

export interface LeafFacts {
  readonly isCa: boolean;
  /** Key usage names, undefined without the extension. */
  readonly keyUsage: readonly string[] | undefined;
  /** Extended key usage names (or OIDs), undefined without the extension. */
  readonly extendedKeyUsage: readonly string[] | undefined;
  readonly uris: readonly string[];
}

const CACHE_LIMIT = 1024;
const cache = new Map<string, LeafFacts | string>();

/** The leaf's extensions, or a string saying why it cannot be read. */
export function leafFacts(cert: PeerCertificate): LeafFacts | string {
  const key = cert.fingerprint256;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let facts: LeafFacts | string;
  try {
    const leaf = parseDerCertificate(cert.raw, 'peer certificate');
    facts = { isCa: isCertificateAuthority(leaf), keyUsage: keyUsages(leaf), extendedKeyUsage: extendedKeyUsages(leaf), uris: subjectAltNames(leaf).uri };
  } catch (err) {
    facts = `peer certificate cannot be read: ${(err as Error).message}`;
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, facts);
  return facts;
}

/** CVE-2022-21657: the extended key usage of the peer's role, and digitalSignature. */
export function checkKeyUsage(facts: LeafFacts, role: PeerRole): string | undefined {
  const needed = role === 'client' ? 'clientAuth' : 'serverAuth';
  if (facts.extendedKeyUsage && !facts.extendedKeyUsage.includes(needed)) {
    return `${role} certificate lacks the ${needed} extended key usage (it allows ${facts.extendedKeyUsage.join(', ') || 'nothing'})`;
  }
  if (facts.keyUsage && !facts.keyUsage.includes('digitalSignature')) {
    return `${role} certificate key usage lacks digitalSignature (it allows ${facts.keyUsage.join(', ') || 'nothing'})`;
  }
  return undefined;
}

/** The X509-SVID leaf rules (SPIFFE X509-SVID standard, sections 4.1-4.3 and 5.2). */
export function checkX509Svid(facts: LeafFacts, role: PeerRole): string | undefined {
  if (facts.isCa) return `${role} certificate is a CA (basicConstraints CA:TRUE); a SPIFFE workload certificate must not be`;
  if (facts.keyUsage?.some((u) => u === 'keyCertSign' || u === 'cRLSign')) {
    return `${role} certificate may sign certificates (keyCertSign/cRLSign); a SPIFFE workload certificate must not`;
  }
  if (facts.uris.length !== 1) {
    return `${role} certificate must carry exactly one URI SAN (its SPIFFE ID), it carries ${facts.uris.length}${facts.uris.length ? `: ${facts.uris.join(', ')}` : ''}`;
  }
  if (!(facts.uris[0] as string).startsWith('spiffe://')) return `${role} certificate URI SAN ${facts.uris[0] as string} is not a SPIFFE ID`;
  return undefined;
}

function namesSpiffe(m: StringMatcher): boolean {
  return [m.exact, m.prefix].some((v) => v?.startsWith('spiffe://'));
}

/**
 * Whether a validation context expects SPIFFE peers: it matches URI SANs against spiffe:// ids, as
 * Istio's ISTIO_MUTUAL contexts do.
 */
export function expectsSpiffePeer(vc: CertificateValidationContext | undefined): boolean {
  return (vc?.match_typed_subject_alt_names ?? []).some((m) => m.san_type === 'URI' && namesSpiffe(m.matcher))
    || (vc?.match_subject_alt_names ?? []).some(namesSpiffe);
}

/**
 * The leaf checks for a verified peer: key usage always; the X509-SVID rules when the context expects a
 * SPIFFE peer (mesh mTLS). Not for every certificate that happens to carry a spiffe:// SAN: a gateway's
 * MUTUAL credential may pin a self-signed certificate as its own trust anchor (the first seed does), and
 * such a certificate is a CA by construction.
 */
export function compileLeafCheck(vc: CertificateValidationContext | undefined, role: PeerRole): (cert: PeerCertificate) => string | undefined {
  const spiffe = expectsSpiffePeer(vc);
  return (cert) => {
    const facts = leafFacts(cert);
    if (typeof facts === 'string') return facts;
    return checkKeyUsage(facts, role) ?? (spiffe ? checkX509Svid(facts, role) : undefined);
  };
}
