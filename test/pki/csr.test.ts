import { X509Certificate as NodeX509, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateAuthority, PkiError, createCsr, generateKeyPair, isCertificateAuthority, parseCsr, spiffeUris, subjectAltNames,
} from '../../src/pki/index.js';
import { opensslCsr, tempDir } from '../helpers/index.js';

const HOUR = 3_600_000;
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const ADMIN = 'spiffe://cluster.local/ns/default/sa/admin';

let root: CertificateAuthority;
let meshCa: CertificateAuthority;
let work: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  work = await tempDir('csr');
  root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  meshCa = await root.createIntermediate({ name: 'mesh-ca' });
});
afterAll(async () => {
  await work?.cleanup();
});

async function refusal(csrPem: string, options: Parameters<CertificateAuthority['signCsr']>[1]): Promise<PkiError> {
  try {
    await meshCa.signCsr(csrPem, options);
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('signCsr issued a certificate');
}

/** Flips a bit in the last byte of the DER (inside the signature value) and re-encodes the PEM. */
function tamperSignature(csrPem: string): string {
  const b64 = csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(b64, 'base64');
  der[der.length - 1] = (der[der.length - 1] as number) ^ 0x01;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

describe('CertificateAuthority.signCsr', () => {
  it('issues the requested identity for a library CSR, for the CSR key, not as a CA, with the TTL asked', async () => {
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, { spiffeId: SLEEP });
    const now = new Date();
    const issued = await meshCa.signCsr(csr, { identity: SLEEP, ttlMs: 2 * HOUR, now });
    expect(spiffeUris(issued.certificate)).toEqual([SLEEP]);
    expect(isCertificateAuthority(issued.certificate)).toBe(false);
    expect(issued.certificate.notAfter.getTime()).toBe(Math.floor((now.getTime() + 2 * HOUR) / 1000) * 1000);
    const node = new NodeX509(Buffer.from(issued.certificate.rawData));
    const csrKey = createPublicKey({ key: Buffer.from(await crypto.subtle.exportKey('spki', keys.publicKey)), format: 'der', type: 'spki' });
    expect(node.publicKey.equals(csrKey)).toBe(true);
    expect(node.verify(new NodeX509(Buffer.from(meshCa.certificate.rawData)).publicKey)).toBe(true);
    expect(issued.chain).toEqual([meshCa.certificate, root.certificate]);
  });

  it('issues for a CSR made by openssl req', async () => {
    const { csrPem, keyPath } = await opensslCsr(work.dir, { uris: [SLEEP] });
    const issued = await meshCa.signCsr(csrPem, { identity: SLEEP });
    const key = createPublicKey(await readFile(keyPath, 'utf8'));
    expect(new NodeX509(Buffer.from(issued.certificate.rawData)).publicKey.equals(key)).toBe(true);
  });

  it('refuses a CSR for another identity than the caller is entitled to', async () => {
    const keys = await generateKeyPair();
    const err = await refusal(await createCsr(keys, { spiffeId: ADMIN }), { identity: SLEEP });
    expect(err.code).toBe('ERR_PKI_CSR_IDENTITY');
    expect(err.message).toContain(ADMIN);
    expect(err.message).toContain(SLEEP);
  });

  it('refuses a CSR with two URI SANs (its own and another) or with none', async () => {
    const both = await opensslCsr(work.dir, { uris: [SLEEP, ADMIN] });
    expect((await refusal(both.csrPem, { identity: SLEEP })).code).toBe('ERR_PKI_CSR_IDENTITY');
    const none = await opensslCsr(work.dir, { dnsNames: ['sleep.default.svc'] });
    const err = await refusal(none.csrPem, { identity: SLEEP });
    expect(err.code).toBe('ERR_PKI_CSR_IDENTITY');
    expect(err.message).toContain('no URI SAN');
  });

  it('refuses extra DNS names unless they are allowed', async () => {
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, { spiffeId: SLEEP, dnsNames: ['istiod.istio-system.svc'] });
    const err = await refusal(csr, { identity: SLEEP });
    expect(err.code).toBe('ERR_PKI_CSR_IDENTITY');
    expect(err.message).toContain('istiod.istio-system.svc');
    const issued = await meshCa.signCsr(csr, { identity: SLEEP, allowedDnsNames: ['istiod.istio-system.svc'] });
    expect(subjectAltNames(issued.certificate).dns).toEqual(['istiod.istio-system.svc']);
    // Allowed names do not open the door to others.
    const more = await createCsr(keys, { spiffeId: SLEEP, dnsNames: ['istiod.istio-system.svc', 'evil.example.com'] });
    expect((await refusal(more, { identity: SLEEP, allowedDnsNames: ['istiod.istio-system.svc'] })).message).toContain('evil.example.com');
  });

  it('refuses a CSR asking for a CA certificate (openssl -addext basicConstraints=critical,CA:TRUE)', async () => {
    const { csrPem } = await opensslCsr(work.dir, { uris: [SLEEP], ca: 'basicConstraints' });
    const err = await refusal(csrPem, { identity: SLEEP });
    expect(err.code).toBe('ERR_PKI_CSR_CA_REQUESTED');
    expect(err.hint).toContain('CA extensions');
    expect((await parseCsr(csrPem)).requestsCa).toBe(true);
  });

  it('refuses a CSR asking for the keyCertSign usage', async () => {
    const { csrPem } = await opensslCsr(work.dir, { uris: [SLEEP], ca: 'keyCertSign' });
    expect((await refusal(csrPem, { identity: SLEEP })).code).toBe('ERR_PKI_CSR_CA_REQUESTED');
  });

  it.each([
    ['text that is not PEM', 'hello, CA'],
    ['an empty string', ''],
    ['a PEM block of garbage', '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n'],
  ])('refuses a malformed CSR: %s', async (_what, csr) => {
    const err = await refusal(csr, { identity: SLEEP });
    expect(err.code).toBe('ERR_PKI_CSR_MALFORMED');
    expect(err.hint).toContain('BEGIN CERTIFICATE REQUEST');
  });

  it('refuses a certificate passed off as a CSR', async () => {
    const err = await refusal(meshCa.certificate.toString('pem'), { identity: SLEEP });
    expect(err.code).toBe('ERR_PKI_CSR_MALFORMED');
  });

  it('refuses a CSR whose signature does not match its key', async () => {
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, { spiffeId: SLEEP });
    expect((await refusal(tamperSignature(csr), { identity: SLEEP })).code).toBe('ERR_PKI_CSR_SIGNATURE');
  });

  it('refuses a TTL above the maximum and accepts one at the maximum', async () => {
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, { spiffeId: SLEEP });
    const err = await refusal(csr, { identity: SLEEP, ttlMs: 48 * HOUR, maxTtlMs: 24 * HOUR });
    expect(err.code).toBe('ERR_PKI_TTL');
    expect(err.message).toContain('172800s');
    const issued = await meshCa.signCsr(csr, { identity: SLEEP, ttlMs: 24 * HOUR, maxTtlMs: 24 * HOUR });
    expect(issued.certificate.notAfter.getTime() - Date.now()).toBeGreaterThan(23 * HOUR);
    // The default maximum is Istio's 90 days.
    expect((await refusal(csr, { identity: SLEEP, ttlMs: 91 * 24 * HOUR })).code).toBe('ERR_PKI_TTL');
  });
});
