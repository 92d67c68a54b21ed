/**
 * Certificates for the TLS advisory tests, signed by a real Isthmus CA (src/pki) but with the
 * extensions an attacker or a misconfigured CA would choose: SANs of a confusable type, a missing or
 * wrong extended key usage, no digitalSignature, CA:TRUE on a leaf, several URI SANs. The CA refuses
 * to issue such certificates itself, so they are built here with the same x509 library it uses.
 */
import { randomBytes } from 'node:crypto';
import { CertificateAuthority, exportPrivateKeyPem, generateKeyPair, toPem } from '../../src/pki/index.js';
import * as x509 from '../../src/pki/x509.js';

export interface LeafSpec {
  readonly uris?: readonly string[];
  readonly dns?: readonly string[];
  readonly emails?: readonly string[];
  readonly ips?: readonly string[];
  /** Extended key usages; `null` leaves the extension out. Default serverAuth + clientAuth. */
  readonly eku?: readonly ('serverAuth' | 'clientAuth' | 'codeSigning')[] | null;
  /** Key usages; `null` leaves the extension out. Default digitalSignature + keyEncipherment. */
  readonly keyUsage?: readonly ('digitalSignature' | 'keyEncipherment' | 'keyAgreement' | 'keyCertSign')[] | null;
  /** basicConstraints CA:TRUE on the leaf. */
  readonly isCa?: boolean;
  readonly subject?: string;
  /** The leaf's key; the CA signs with its own. Default ec-p256. */
  readonly keyType?: 'ec-p256' | 'rsa-2048';
}

export interface Pem {
  readonly cert: string;
  readonly key: string;
}

const EKU = { serverAuth: x509.ExtendedKeyUsage.serverAuth, clientAuth: x509.ExtendedKeyUsage.clientAuth, codeSigning: x509.ExtendedKeyUsage.codeSigning };
const KU = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
};

/** A leaf signed by `ca` with exactly the extensions of `spec`; the chain up to the root is appended. */
export async function issueLeaf(ca: CertificateAuthority, spec: LeafSpec): Promise<Pem> {
  const keys = await generateKeyPair(spec.keyType ?? 'ec-p256');
  const names: x509.JsonGeneralName[] = [
    ...(spec.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(spec.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(spec.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(spec.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(spec.isCa === true, undefined, true)];
  const ku = spec.keyUsage === undefined ? ['digitalSignature', 'keyEncipherment'] as const : spec.keyUsage;
  if (ku !== null) extensions.push(new x509.KeyUsagesExtension(ku.reduce((bits, u) => bits | KU[u], 0), true));
  const eku = spec.eku === undefined ? ['serverAuth', 'clientAuth'] as const : spec.eku;
  if (eku !== null) extensions.push(new x509.ExtendedKeyUsageExtension(eku.map((u) => EKU[u])));
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, spec.subject === undefined));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false));
  const now = Date.now();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: `01${randomBytes(15).toString('hex')}`,
    subject: spec.subject ?? '',
    issuer: ca.certificate.subjectName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions,
  });
  return { cert: toPem([leaf, ...(ca.isRoot ? [] : [ca.certificate, ...ca.chain.slice(0, -1)])]), key: await exportPrivateKeyPem(keys.privateKey) };
}

/** A root CA of its own trust domain and its PEM. */
export async function rootCa(trustDomain = 'cluster.local'): Promise<{ ca: CertificateAuthority; pem: string }> {
  const ca = await CertificateAuthority.createRoot({ trustDomain });
  return { ca, pem: toPem([ca.certificate]) };
}
