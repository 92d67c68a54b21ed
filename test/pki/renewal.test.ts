import { describe, expect, it } from 'vitest';
import { CertificateAuthority, DEFAULT_GRACE_PERIOD_RATIO, isRenewalDue, renewalTime } from '../../src/pki/index.js';

const HOUR = 3_600_000;
const lifetime = (start: number, hours: number) => ({ notBefore: new Date(start), notAfter: new Date(start + hours * HOUR) });

describe('renewal', () => {
  it('is due when half the lifetime is left (Istio SECRET_GRACE_PERIOD_RATIO 0.5)', () => {
    expect(DEFAULT_GRACE_PERIOD_RATIO).toBe(0.5);
    const start = Date.UTC(2030, 0, 1);
    const cert = lifetime(start, 24);
    expect(renewalTime(cert).toISOString()).toBe(new Date(start + 12 * HOUR).toISOString());
    expect(isRenewalDue(cert, new Date(start + 12 * HOUR - 1))).toBe(false);
    expect(isRenewalDue(cert, new Date(start + 12 * HOUR))).toBe(true);
    expect(isRenewalDue(cert, new Date(start + 30 * HOUR))).toBe(true); // expired: certainly due
    expect(isRenewalDue(cert, new Date(start - HOUR))).toBe(false);
  });

  it('honours another grace ratio', () => {
    const start = Date.UTC(2030, 0, 1);
    const cert = lifetime(start, 10);
    expect(renewalTime(cert, 0.2).getTime()).toBe(start + 8 * HOUR);
    expect(isRenewalDue(cert, new Date(start + 7 * HOUR), 0.2)).toBe(false);
    expect(isRenewalDue(cert, new Date(start + 8 * HOUR), 0.2)).toBe(true);
    expect(renewalTime(cert, 1).getTime()).toBe(start);
  });

  it('works on issued certificates: a fresh one is not due, one past half its life is', async () => {
    const root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    const fresh = await root.issueWithNewKey({ spiffeId: 'spiffe://cluster.local/ns/a/sa/b', ttlMs: 24 * HOUR });
    expect(isRenewalDue(fresh.certificate)).toBe(false);
    // notBefore is backdated 5 minutes for clock skew; renewal still falls in the middle of the real lifetime.
    const due = renewalTime(fresh.certificate).getTime();
    expect(due).toBeGreaterThan(Date.now() + 11 * HOUR);
    expect(due).toBeLessThan(Date.now() + 12 * HOUR);
    const old = await root.issueWithNewKey({ spiffeId: 'spiffe://cluster.local/ns/a/sa/b', ttlMs: 2 * HOUR, now: new Date(Date.now() - 1.5 * HOUR) });
    expect(isRenewalDue(old.certificate)).toBe(true);
  });
});
