import { randomBytes } from 'node:crypto';
import * as x509 from './x509.js';
import { PkiError } from './errors.js';
import { generateKeyPair, signingAlgorithm } from './keys.js';
import type { KeyPair, KeyType } from './keys.js';
import { parseSpiffeId, trustDomainId } from './spiffe.js';
import type { Certificate } from './certificate.js';
import { isCertificateAuthority, spiffeUris, toPem } from './certificate.js';
import { parseCsr } from './csr.js';

export const DEFAULT_ROOT_TTL_MS = 10 * 365 * 86_400_000;
export const DEFAULT_INTERMEDIATE_TTL_MS = 5 * 365 * 86_400_000;
export const DEFAULT_WORKLOAD_TTL_MS = 24 * 3_600_000;
/** Istio's default for max-workload-cert-ttl. */
export const DEFAULT_MAX_WORKLOAD_TTL_MS = 90 * 86_400_000;
/**
 * Backdate notBefore so that peers with a slightly slow clock accept a fresh certificate: 5 minutes,
 * or a tenth of a short lifetime, so that renewal at half the lifetime still means half the lifetime.
 */
const CLOCK_SKEW_MS = 5 * 60_000;
const backdate = (now: Date, ttlMs: number) => new Date(now.getTime() - Math.min(CLOCK_SKEW_MS, ttlMs / 10));

export interface IssuedCertificate {
  readonly certificate: Certificate;
  /** The issuing chain above the leaf, up to and including the root. */
  readonly chain: readonly Certificate[];
}

export interface IssueOptions {
  readonly spiffeId: string;
  readonly dnsNames?: readonly string[];
  readonly ttlMs?: number;
  readonly now?: Date;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f; // positive INTEGER
  return bytes.toString('hex');
}

async function caExtensions(publicKey: CryptoKey, trustDomain: string, pathLength: number | undefined, issuer?: Certificate): Promise<x509.Extension[]> {
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    // A signing certificate may carry its trust domain's SPIFFE ID (X509-SVID spec, section 4.1).
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: trustDomainId(trustDomain).uri }]),
  ];
  if (issuer) exts.push(await x509.AuthorityKeyIdentifierExtension.create(issuer, false));
  return exts;
}

/**
 * A certificate authority: a root, or an intermediate (mesh CA, VM CA) with its chain up to the root.
 * Issues SPIFFE workload certificates and signs CSRs; the same object serves the CLI and the
 * control plane's CSR service.
 */
export class CertificateAuthority {
  readonly certificate: Certificate;
  readonly privateKey: CryptoKey;
  readonly keyType: KeyType;
  /** Certificates above this CA, up to and including the root; empty for a root. */
  readonly chain: readonly Certificate[];
  readonly trustDomain: string;

  constructor(options: { certificate: Certificate; privateKey: CryptoKey; keyType: KeyType; chain: readonly Certificate[] }) {
    this.certificate = options.certificate;
    this.privateKey = options.privateKey;
    this.keyType = options.keyType;
    this.chain = options.chain;
    if (!isCertificateAuthority(options.certificate)) {
      throw new PkiError('ERR_PKI_LAYOUT', `certificate "${options.certificate.subject}" is not a CA certificate (basicConstraints cA is not set)`, {
        hint: 'point at a directory made by `isthmus ca init` or `isthmus ca intermediate`, or an Istio cacerts layout',
      });
    }
    const uris = spiffeUris(options.certificate);
    // CAs made elsewhere (e.g. openssl) carry no SPIFFE ID; Istio's default trust domain applies then.
    this.trustDomain = uris.length > 0 ? parseSpiffeId(uris[0] as string).trustDomain : 'cluster.local';
  }

  /** The root of this CA's hierarchy. */
  get root(): Certificate {
    return this.chain.length > 0 ? (this.chain[this.chain.length - 1] as Certificate) : this.certificate;
  }

  get isRoot(): boolean {
    return this.chain.length === 0;
  }

  /** Istio's cert-chain.pem: this CA's certificate followed by its chain up to the root. */
  certChainPem(): string {
    return toPem([this.certificate, ...this.chain]);
  }

  static async createRoot(options: { trustDomain: string; keyType?: KeyType; ttlMs?: number; organization?: string; now?: Date }): Promise<CertificateAuthority> {
    trustDomainId(options.trustDomain); // validates
    const keys = await generateKeyPair(options.keyType ?? 'ec-p256');
    const now = options.now ?? new Date();
    const name = `CN=Isthmus Root CA, O=${options.organization ?? options.trustDomain}`;
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name,
      notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
      notAfter: new Date(now.getTime() + (options.ttlMs ?? DEFAULT_ROOT_TTL_MS)),
      keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
      signingAlgorithm: signingAlgorithm(keys.keyType),
      extensions: await caExtensions(keys.publicKey, options.trustDomain, undefined),
    });
    return new CertificateAuthority({ certificate, privateKey: keys.privateKey, keyType: keys.keyType, chain: [] });
  }

  /**
   * An intermediate CA signed by this CA, e.g. "mesh-ca" and "vm-ca" under one root. pathLength 0: it
   * issues workload certificates only. A VM CA may have a trust domain of its own.
   */
  async createIntermediate(options: { name: string; trustDomain?: string; keyType?: KeyType; ttlMs?: number; now?: Date }): Promise<CertificateAuthority> {
    const trustDomain = options.trustDomain ?? this.trustDomain;
    trustDomainId(trustDomain);
    const keys = await generateKeyPair(options.keyType ?? this.keyType);
    const now = options.now ?? new Date();
    const notAfter = this.clampNotAfter(new Date(now.getTime() + (options.ttlMs ?? DEFAULT_INTERMEDIATE_TTL_MS)));
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `CN=${options.name}, O=${trustDomain}`,
      issuer: this.certificate.subjectName,
      notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
      notAfter,
      publicKey: keys.publicKey,
      signingKey: this.privateKey,
      signingAlgorithm: signingAlgorithm(this.keyType),
      extensions: await caExtensions(keys.publicKey, trustDomain, 0, this.certificate),
    });
    return new CertificateAuthority({
      certificate,
      privateKey: keys.privateKey,
      keyType: keys.keyType,
      chain: [this.certificate, ...this.chain],
    });
  }

  /** A leaf never outlives the CA that signs it. */
  private clampNotAfter(notAfter: Date): Date {
    return notAfter > this.certificate.notAfter ? this.certificate.notAfter : notAfter;
  }

  /**
   * Issues an X509-SVID: the SPIFFE ID as its single URI SAN (plus DNS SANs), not a CA, usable for both
   * TLS server and client authentication.
   */
  async issue(publicKey: CryptoKey | x509.PublicKey, options: IssueOptions): Promise<IssuedCertificate> {
    const id = parseSpiffeId(options.spiffeId);
    if (!id.path) {
      throw new PkiError('ERR_PKI_SPIFFE_ID', `SPIFFE ID "${id.uri}" names a trust domain, not a workload`, {
        hint: 'add a path, e.g. spiffe://cluster.local/ns/default/sa/sleep',
      });
    }
    const ttlMs = options.ttlMs ?? DEFAULT_WORKLOAD_TTL_MS;
    if (!(ttlMs > 0)) throw new PkiError('ERR_PKI_TTL', `TTL ${ttlMs}ms is not positive`, { hint: 'use a TTL such as 24h' });
    const now = options.now ?? new Date();
    const names: x509.JsonGeneralName[] = [{ type: 'url', value: id.uri }];
    for (const dns of options.dnsNames ?? []) names.push({ type: 'dns', value: dns });
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: '',
      issuer: this.certificate.subjectName,
      notBefore: backdate(now, ttlMs),
      notAfter: this.clampNotAfter(new Date(now.getTime() + ttlMs)),
      publicKey,
      signingKey: this.privateKey,
      signingAlgorithm: signingAlgorithm(this.keyType),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        await x509.AuthorityKeyIdentifierExtension.create(this.certificate, false),
        // The subject is empty, so the SAN extension must be critical (RFC 5280 4.2.1.6).
        new x509.SubjectAlternativeNameExtension(names, true),
      ],
    });
    return { certificate, chain: [this.certificate, ...this.chain] };
  }

  /** Generates a key pair and issues a certificate for it (what `isthmus ca issue` does). */
  async issueWithNewKey(options: IssueOptions & { keyType?: KeyType }): Promise<IssuedCertificate & { keys: KeyPair }> {
    const keys = await generateKeyPair(options.keyType ?? 'ec-p256');
    return { ...(await this.issue(keys.publicKey, options)), keys };
  }

  /**
   * Signs a PKCS#10 CSR. The issued identity is the one the caller is entitled to (`identity`); the CSR
   * must ask for exactly that identity, DNS names only from `allowedDnsNames`, and no CA certificate.
   */
  async signCsr(csrPem: string, options: { identity: string; allowedDnsNames?: readonly string[]; ttlMs?: number; maxTtlMs?: number; now?: Date }): Promise<IssuedCertificate> {
    const csr = await parseCsr(csrPem);
    if (csr.requestsCa) {
      throw new PkiError('ERR_PKI_CSR_CA_REQUESTED', 'the CSR asks for a CA certificate (basicConstraints cA or keyCertSign); only workload certificates are issued', {
        hint: 'remove the CA extensions from the CSR',
      });
    }
    const requested = csr.sans.uri;
    if (requested.length !== 1 || requested[0] !== options.identity) {
      throw new PkiError('ERR_PKI_CSR_IDENTITY', `the CSR asks for ${requested.length ? requested.join(', ') : 'no URI SAN'} but the caller is entitled only to ${options.identity}`, {
        hint: `put exactly one URI SAN, ${options.identity}, in the CSR`,
      });
    }
    const allowedDns = new Set(options.allowedDnsNames ?? []);
    const refusedNames = [...csr.sans.dns.filter((d) => !allowedDns.has(d)), ...csr.sans.ip, ...csr.sans.email];
    if (refusedNames.length > 0) {
      throw new PkiError('ERR_PKI_CSR_IDENTITY', `the CSR asks for names the caller is not entitled to: ${refusedNames.join(', ')}`, {
        hint: `ask only for ${options.identity}`,
      });
    }
    const maxTtl = options.maxTtlMs ?? DEFAULT_MAX_WORKLOAD_TTL_MS;
    const ttlMs = options.ttlMs ?? DEFAULT_WORKLOAD_TTL_MS;
    if (ttlMs > maxTtl) {
      throw new PkiError('ERR_PKI_TTL', `the requested TTL (${Math.round(ttlMs / 1000)}s) is greater than the maximum allowed (${Math.round(maxTtl / 1000)}s)`, {
        hint: 'ask for a shorter validity_duration',
      });
    }
    return this.issue(await csr.request.publicKey.export(), {
      spiffeId: options.identity,
      dnsNames: csr.sans.dns,
      ttlMs,
      ...(options.now ? { now: options.now } : {}),
    });
  }
}
