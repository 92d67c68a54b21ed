import { X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from './x509.js';
import { PkiError } from './errors.js';
import { isSpiffeUri } from './spiffe.js';

export type Certificate = x509.X509Certificate;

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every CERTIFICATE block in a PEM text, in order. */
export function splitPem(text: string): string[] {
  return text.match(PEM_CERT) ?? [];
}

/** Parses a PEM text holding one or more certificates; `source` names the file in errors. */
export function parseCertificates(text: string, source = 'input'): Certificate[] {
  const blocks = splitPem(text);
  if (blocks.length === 0) {
    throw new PkiError('ERR_PKI_PEM', `${source} holds no PEM certificate`, {
      hint: 'give a file with at least one -----BEGIN CERTIFICATE----- block',
    });
  }
  return blocks.map((block, i) => {
    try {
      return new x509.X509Certificate(block);
    } catch (err) {
      throw new PkiError('ERR_PKI_PEM', `${source}: certificate #${i + 1} cannot be parsed`, { cause: err });
    }
  });
}

/** One DER certificate, e.g. the `raw` of a TLS peer certificate. */
export function parseDerCertificate(der: Uint8Array<ArrayBuffer>, source = 'certificate'): Certificate {
  try {
    return new x509.X509Certificate(der);
  } catch (err) {
    throw new PkiError('ERR_PKI_PEM', `${source} cannot be parsed as a DER certificate`, { cause: err });
  }
}

export function toPem(certs: readonly Certificate[]): string {
  return certs.map((c) => `${c.toString('pem').trim()}\n`).join('');
}

/** Node's own X509Certificate, for fast signature checks and TLS-related helpers. */
export function toNodeCertificate(cert: Certificate): NodeX509 {
  return new NodeX509(Buffer.from(cert.rawData));
}

export interface SubjectAltNames {
  dns: string[];
  uri: string[];
  ip: string[];
  email: string[];
}

const OID = { subjectAltName: '2.5.29.17', basicConstraints: '2.5.29.19', keyUsage: '2.5.29.15', extKeyUsage: '2.5.29.37' } as const;

/** An extension decoded as its class, for certificates and CSRs alike (CSRs only look up by OID). */
function findExtension<T extends x509.Extension>(holder: { extensions: x509.Extension[] }, Ctor: new (raw: BufferSource) => T, oid: string): T | null {
  const ext = holder.extensions.find((e) => e.type === oid);
  if (!ext) return null;
  return ext instanceof Ctor ? ext : new Ctor(ext.rawData);
}

export function basicConstraints(holder: { extensions: x509.Extension[] }): x509.BasicConstraintsExtension | null {
  return findExtension(holder, x509.BasicConstraintsExtension, OID.basicConstraints);
}

export function keyUsageFlags(holder: { extensions: x509.Extension[] }): number | undefined {
  return findExtension(holder, x509.KeyUsagesExtension, OID.keyUsage)?.usages;
}

export function subjectAltNames(cert: { extensions: x509.Extension[] }): SubjectAltNames {
  const ext = findExtension(cert, x509.SubjectAlternativeNameExtension, OID.subjectAltName);
  const names: SubjectAltNames = { dns: [], uri: [], ip: [], email: [] };
  for (const name of ext?.names.items ?? []) {
    if (name.type === 'dns') names.dns.push(name.value);
    else if (name.type === 'url') names.uri.push(name.value);
    else if (name.type === 'ip') names.ip.push(name.value);
    else if (name.type === 'email') names.email.push(name.value);
  }
  return names;
}

export function isCertificateAuthority(cert: Certificate): boolean {
  return basicConstraints(cert)?.ca === true;
}

/** The SPIFFE ID of a certificate: its URI SANs that start with spiffe://. */
export function spiffeUris(cert: Certificate): string[] {
  return subjectAltNames(cert).uri.filter(isSpiffeUri);
}

export function fingerprintSha256(cert: Certificate): string {
  return toNodeCertificate(cert).fingerprint256;
}

/** What `isthmus ca inspect` shows, also its JSON form. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  isCA: boolean;
  pathLength?: number;
  selfSigned: boolean;
  keyAlgorithm: string;
  signatureAlgorithm: string;
  keyUsage: string[];
  extendedKeyUsage: string[];
  subjectAltNames: SubjectAltNames;
  spiffeId?: string;
  fingerprintSha256: string;
}

const KEY_USAGE_NAMES: Array<[x509.KeyUsageFlags, string]> = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
];

const EKU_NAMES: Record<string, string> = {
  [x509.ExtendedKeyUsage.serverAuth]: 'serverAuth',
  [x509.ExtendedKeyUsage.clientAuth]: 'clientAuth',
  [x509.ExtendedKeyUsage.codeSigning]: 'codeSigning',
  [x509.ExtendedKeyUsage.emailProtection]: 'emailProtection',
  [x509.ExtendedKeyUsage.timeStamping]: 'timeStamping',
  [x509.ExtendedKeyUsage.ocspSigning]: 'ocspSigning',
};

export function keyUsages(cert: Certificate): string[] | undefined {
  const usages = keyUsageFlags(cert);
  if (usages === undefined) return undefined;
  return KEY_USAGE_NAMES.filter(([flag]) => (usages & flag) !== 0).map(([, name]) => name);
}

export function extendedKeyUsages(cert: Certificate): string[] | undefined {
  const ext = findExtension(cert, x509.ExtendedKeyUsageExtension, OID.extKeyUsage);
  if (!ext) return undefined;
  return ext.usages.map((oid) => EKU_NAMES[String(oid)] ?? String(oid));
}

function describeKey(cert: Certificate): string {
  const node = toNodeCertificate(cert).publicKey;
  if (node.asymmetricKeyType === 'ec') return `ECDSA ${node.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'P-256' : node.asymmetricKeyDetails?.namedCurve}`;
  if (node.asymmetricKeyType === 'rsa') return `RSA ${node.asymmetricKeyDetails?.modulusLength}`;
  return String(node.asymmetricKeyType);
}

export function describeCertificate(cert: Certificate): CertificateInfo {
  const sans = subjectAltNames(cert);
  const basic = basicConstraints(cert);
  const spiffe = sans.uri.filter(isSpiffeUri);
  const info: CertificateInfo = {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    isCA: basic?.ca === true,
    selfSigned: cert.subject === cert.issuer && toNodeCertificate(cert).checkIssued(toNodeCertificate(cert)),
    keyAlgorithm: describeKey(cert),
    signatureAlgorithm: `${cert.signatureAlgorithm.name} ${cert.signatureAlgorithm.hash.name}`,
    keyUsage: keyUsages(cert) ?? [],
    extendedKeyUsage: extendedKeyUsages(cert) ?? [],
    subjectAltNames: sans,
    fingerprintSha256: fingerprintSha256(cert),
  };
  if (basic?.pathLength !== undefined) info.pathLength = basic.pathLength;
  if (spiffe.length === 1) info.spiffeId = spiffe[0];
  return info;
}
