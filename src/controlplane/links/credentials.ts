/**
 * The credentials of a link between two meshes without a shared root: each gateway's certificate comes
 * from its own mesh's CA, and each Secret's cacert is the OTHER mesh's trust bundle. These checks run
 * before anything is applied, so that a gateway is never handed a credential its peer would refuse.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { IsthmusError } from '../../common/index.js';
import { fingerprintSha256, isCertificateAuthority, isRenewalDue, parseCertificates, subjectAltNames, toPem, verifyPeerChain } from '../../pki/index.js';
import type { Certificate } from '../../pki/index.js';

/** Which check failed; stable, for callers and tests. */
export type LinkCheck = 'trust-bundle' | 'server-chain' | 'server-identity' | 'server-dns-san' | 'server-key' | 'client-chain' | 'client-identity' | 'client-key';

export class LinkCredentialError extends IsthmusError {
  constructor(readonly check: LinkCheck, message: string, hint: string, cause?: unknown) {
    super('ERR_LINK_CREDENTIAL', `check ${check} failed: ${message}`, { hint, ...(cause === undefined ? {} : { cause }) });
    this.name = 'LinkCredentialError';
  }
}

function parse(pem: string, what: string, check: LinkCheck): Certificate[] {
  try {
    const certs = parseCertificates(pem, what);
    if (certs.length === 0) throw new Error('no certificate');
    return certs;
  } catch (err) {
    throw new LinkCredentialError(check, `${what} is not PEM certificates: ${(err as Error).message}`, 'the CA answered something unexpected; check the control plane', err);
  }
}

/** A trust bundle: at least one certificate, and only CA certificates (never a leaf). */
export function checkTrustBundle(pem: string, mesh: string): Certificate[] {
  const certs = parse(pem, `trust bundle of ${mesh}`, 'trust-bundle');
  certs.forEach((cert, i) => {
    if (!isCertificateAuthority(cert)) {
      throw new LinkCredentialError('trust-bundle', `trust bundle of ${mesh}: certificate #${i + 1} ("${cert.subject || cert.serialNumber}") is not a CA certificate`,
        `a trust bundle holds CA certificates only; check ${mesh}'s GET /v1/ca/roots`);
    }
  });
  return certs;
}

/** Fingerprints of a bundle, to compare bundles regardless of order and PEM formatting. */
export function bundleFingerprints(pem: string): string[] {
  try {
    return parseCertificates(pem).map(fingerprintSha256).sort();
  } catch {
    return [];
  }
}

export function sameBundle(a: string, b: string): boolean {
  const fa = bundleFingerprints(a);
  const fb = bundleFingerprints(b);
  return fa.length > 0 && fa.length === fb.length && fa.every((f, i) => f === fb[i]);
}

export interface CredentialExpectation {
  /** "server" (the exporter's ingress gateway) or "client" (the importer's egress gateway). */
  readonly role: 'server' | 'client';
  /** The issuing mesh's name (its context) and trust bundle: the PEER verifies the certificate against it. */
  readonly mesh: string;
  readonly rootsPem: string;
  readonly trustDomain: string;
  readonly spiffeId: string;
  /** The DNS SAN a server certificate must carry (the name the client connects to, its SNI). */
  readonly dnsName?: string;
}

function keyMatches(leafPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(leafPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/**
 * Checks one gateway credential as its peer will: the chain verifies against the issuing mesh's bundle
 * (signatures, dates, CA rules, one SPIFFE id in the issuing trust domain, serverAuth/clientAuth), the
 * SPIFFE id is the expected gateway's, a server certificate carries the link's name as a DNS SAN, and the
 * private key belongs to the certificate. Throws LinkCredentialError naming the check; returns the leaf.
 */
export function checkCredential(chainPem: string, keyPem: string, expected: CredentialExpectation, at = new Date()): Certificate {
  const { role } = expected;
  const label = role === 'server' ? `server certificate (${expected.mesh} ingress gateway)` : `client certificate (${expected.mesh} egress gateway)`;
  const chain = parse(chainPem, label, `${role}-chain`);
  const roots = checkTrustBundle(expected.rootsPem, expected.mesh);
  let spiffeId: string;
  try {
    spiffeId = verifyPeerChain(chain, { roots, trustDomain: expected.trustDomain, role, at }).spiffeId.uri;
  } catch (err) {
    throw new LinkCredentialError(`${role}-chain`, `${label} does not verify against the trust bundle of ${expected.mesh}: ${(err as Error).message}`,
      `the peer gateway would refuse it; issue it again from ${expected.mesh}'s CA (isthmus mesh export ... --renew)`, err);
  }
  if (spiffeId !== expected.spiffeId) {
    throw new LinkCredentialError(`${role}-identity`, `${label} is ${spiffeId}, expected ${expected.spiffeId}`, 'check the gateway namespace and service account flags');
  }
  const leaf = chain[0] as Certificate;
  if (role === 'server' && expected.dnsName !== undefined && !subjectAltNames(leaf).dns.includes(expected.dnsName)) {
    throw new LinkCredentialError('server-dns-san', `${label} has no DNS SAN ${expected.dnsName} (it has ${subjectAltNames(leaf).dns.join(', ') || 'none'})`,
      'the server certificate must name the host clients connect to; issue it again (--renew)');
  }
  if (!keyMatches(toPem([leaf]), keyPem)) {
    throw new LinkCredentialError(`${role}-key`, `the private key does not belong to the ${label}`, 'issue the credential again (--renew)');
  }
  return leaf;
}

/** What a gateway's credential Secret holds today (PEM, decoded from the Secret's data). */
export interface ExistingCredential {
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  readonly caPem: string;
}

export type CredentialAction = 'reuse' | 'update-bundle' | 'issue';

export interface CredentialDecision {
  readonly action: CredentialAction;
  readonly reason: string;
}

/**
 * Whether a gateway's existing credential can stay: its certificate must still pass every check and not
 * be due for renewal (half its lifetime, Istio's grace ratio); its cacert must be the peer mesh's current
 * bundle (it changes when the peer rotates its root: old and new roots then). Only the bundle changing
 * keeps the certificate, so that a rotation on one side never forces new certificates on the other.
 */
export function decideCredential(existing: ExistingCredential | undefined, expected: CredentialExpectation, peerBundlePem: string, options: { renew?: boolean; at?: Date } = {}): CredentialDecision {
  if (!existing) return { action: 'issue', reason: 'no credential yet' };
  if (options.renew) return { action: 'issue', reason: 'renewal asked for (--renew)' };
  let leaf: Certificate;
  try {
    leaf = checkCredential(existing.certificateChainPem, existing.privateKeyPem, expected, options.at);
  } catch (err) {
    return { action: 'issue', reason: (err as Error).message };
  }
  if (isRenewalDue(leaf, options.at)) return { action: 'issue', reason: `certificate past half its lifetime (expires ${leaf.notAfter.toISOString()})` };
  if (!sameBundle(existing.caPem, peerBundlePem)) {
    const now = bundleFingerprints(peerBundlePem).length;
    return { action: 'update-bundle', reason: `the peer's trust bundle changed (${bundleFingerprints(existing.caPem).length} -> ${now} root${now === 1 ? '' : 's'})` };
  }
  return { action: 'reuse', reason: `valid until ${leaf.notAfter.toISOString()}` };
}
