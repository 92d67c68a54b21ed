import type { Certificate } from './certificate.js';

/**
 * Istio's agent renews when less than SECRET_GRACE_PERIOD_RATIO (default 0.5) of a certificate's
 * lifetime remains; the same rule here.
 */
export const DEFAULT_GRACE_PERIOD_RATIO = 0.5;

export function renewalTime(cert: Pick<Certificate, 'notBefore' | 'notAfter'>, graceRatio = DEFAULT_GRACE_PERIOD_RATIO): Date {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notAfter.getTime() - lifetime * graceRatio);
}

export function isRenewalDue(cert: Pick<Certificate, 'notBefore' | 'notAfter'>, now = new Date(), graceRatio = DEFAULT_GRACE_PERIOD_RATIO): boolean {
  return now >= renewalTime(cert, graceRatio);
}
