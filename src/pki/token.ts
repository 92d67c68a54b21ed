import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { PkiError } from './errors.js';
import type { CertificateAuthority } from './authority.js';
import { parseSpiffeId } from './spiffe.js';

/**
 * Bootstrap tokens: a short-lived JWT signed by the CA's key that entitles its bearer to one SPIFFE ID,
 * for a workload's first certificate (later renewals authenticate with the certificate itself).
 * Stateless: the CA service verifies it with the CA certificate's public key.
 */
const AUDIENCE = 'istio-ca';
const ISSUER_PREFIX = 'isthmus-ca:';

export async function issueBootstrapToken(ca: CertificateAuthority, spiffeId: string, ttlMs: number): Promise<string> {
  const id = parseSpiffeId(spiffeId);
  const alg = ca.keyType === 'ec-p256' ? 'ES256' : 'RS256';
  return new SignJWT({})
    .setProtectedHeader({ alg, typ: 'JWT', kid: ca.certificate.serialNumber })
    .setIssuer(`${ISSUER_PREFIX}${ca.trustDomain}`)
    .setAudience(AUDIENCE)
    .setSubject(id.uri)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(Math.floor((Date.now() + ttlMs) / 1000))
    .sign(ca.privateKey);
}

/** Verifies a bootstrap token against the CA and returns the SPIFFE ID it entitles. */
export async function verifyBootstrapToken(ca: CertificateAuthority, token: string): Promise<string> {
  try {
    const publicKey = await ca.certificate.publicKey.export();
    const { payload } = await jwtVerify(token, publicKey, {
      audience: AUDIENCE,
      issuer: `${ISSUER_PREFIX}${ca.trustDomain}`,
      algorithms: [ca.keyType === 'ec-p256' ? 'ES256' : 'RS256'],
    });
    if (typeof payload.sub !== 'string') throw new PkiError('ERR_PKI_TOKEN', 'the bootstrap token names no identity (sub)');
    return parseSpiffeId(payload.sub).uri;
  } catch (err) {
    if (err instanceof PkiError) throw err;
    const why = err instanceof joseErrors.JWTExpired ? 'it has expired' : err instanceof joseErrors.JOSEError ? err.message : 'it cannot be read';
    throw new PkiError('ERR_PKI_TOKEN', `the bootstrap token is not valid: ${why}`, {
      hint: 'get a new one with `isthmus ca token --ca DIR --spiffe ID`',
      cause: err,
    });
  }
}
