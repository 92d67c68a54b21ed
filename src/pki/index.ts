export { PkiError } from './errors.js';
export type { PkiErrorCode } from './errors.js';
export { parseSpiffeId, istioSpiffeId, trustDomainId, isSpiffeUri } from './spiffe.js';
export type { SpiffeId } from './spiffe.js';
export { generateKeyPair, exportPrivateKeyPem, importPrivateKeyPem, parseKeyType, KEY_TYPES } from './keys.js';
export type { KeyPair, KeyType } from './keys.js';
export {
  splitPem, parseCertificates, toPem, describeCertificate, subjectAltNames, spiffeUris, fingerprintSha256, isCertificateAuthority,
  parseDerCertificate, keyUsages, extendedKeyUsages,
} from './certificate.js';
export type { Certificate, CertificateInfo, SubjectAltNames } from './certificate.js';
export {
  CertificateAuthority, DEFAULT_ROOT_TTL_MS, DEFAULT_INTERMEDIATE_TTL_MS, DEFAULT_WORKLOAD_TTL_MS, DEFAULT_MAX_WORKLOAD_TTL_MS,
} from './authority.js';
export type { IssuedCertificate, IssueOptions } from './authority.js';
export { createCsr, parseCsr } from './csr.js';
export type { ParsedCsr } from './csr.js';
export { verifyPeerChain, checkTrustDomain } from './verify.js';
export type { VerifyOptions, VerifiedPeer, PeerRole } from './verify.js';
export { mergeTrustBundles, trustBundle } from './bundle.js';
export type { TrustBundle, BundleSource } from './bundle.js';
export { renewalTime, isRenewalDue, DEFAULT_GRACE_PERIOD_RATIO } from './renewal.js';
export {
  writeRootCa, writePluginCa, writeWorkload, loadCertificateAuthority, readCertificatesFile, ROOT_FILES, PLUGIN_CA_FILES, WORKLOAD_FILES,
} from './layout.js';
export { issueBootstrapToken, verifyBootstrapToken } from './token.js';
export { IstioCaServer, CA_SERVER_NAME } from './istio-ca/server.js';
export type { CaServerOptions } from './istio-ca/server.js';
export { requestCertificate } from './istio-ca/client.js';
export type { CertificateRequestOptions, CertificateResponse } from './istio-ca/client.js';
