import * as x509 from './x509.js';
import { PkiError } from './errors.js';
import type { KeyPair } from './keys.js';
import { signingAlgorithm } from './keys.js';
import { basicConstraints, keyUsageFlags, subjectAltNames } from './certificate.js';
import type { SubjectAltNames } from './certificate.js';
import { isSpiffeUri } from './spiffe.js';

/** Makes a PKCS#10 CSR for a workload identity, as istio-agent does (SPIFFE URI SAN, empty subject). */
export async function createCsr(keys: KeyPair, options: { spiffeId: string; dnsNames?: string[] }): Promise<string> {
  const names: x509.JsonGeneralName[] = [{ type: 'url', value: options.spiffeId }];
  for (const dns of options.dnsNames ?? []) names.push({ type: 'dns', value: dns });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: signingAlgorithm(keys.keyType),
    extensions: [new x509.SubjectAlternativeNameExtension(names)],
  });
  return csr.toString('pem');
}

export interface ParsedCsr {
  readonly request: x509.Pkcs10CertificateRequest;
  readonly sans: SubjectAltNames;
  readonly spiffeIds: string[];
  /** True when the CSR asks for basicConstraints cA=TRUE or the keyCertSign usage. */
  readonly requestsCa: boolean;
}

/** Parses a PEM CSR and checks its self-signature (proof that the caller holds the private key). */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(pem.trim());
  } catch (err) {
    throw new PkiError('ERR_PKI_CSR_MALFORMED', 'the CSR is not a PEM-encoded PKCS#10 certificate request', {
      hint: 'send a CSR made by `openssl req -new` or an Istio agent, starting with -----BEGIN CERTIFICATE REQUEST-----',
      cause: err,
    });
  }
  let signatureOk: boolean;
  try {
    signatureOk = await request.verify();
  } catch (err) {
    throw new PkiError('ERR_PKI_CSR_SIGNATURE', 'the CSR signature cannot be checked', { cause: err });
  }
  if (!signatureOk) {
    throw new PkiError('ERR_PKI_CSR_SIGNATURE', 'the CSR is not signed by the key it carries', {
      hint: 'sign the CSR with the private key whose public key it holds',
    });
  }
  const sans = subjectAltNames(request);
  const usage = keyUsageFlags(request);
  const requestsCa = basicConstraints(request)?.ca === true || (usage !== undefined && (usage & x509.KeyUsageFlags.keyCertSign) !== 0);
  return { request, sans, spiffeIds: sans.uri.filter(isSpiffeUri), requestsCa };
}
