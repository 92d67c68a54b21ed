import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateAuthority, PkiError, exportPrivateKeyPem, parseCertificates, verifyPeerChain,
} from '../../src/pki/index.js';
import type { Certificate, VerifyOptions } from '../../src/pki/index.js';
import { openssl, tempDir, writePem } from '../helpers/index.js';

const HOUR = 3_600_000;
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

function verifyError(chain: readonly Certificate[], options: VerifyOptions): PkiError {
  try {
    verifyPeerChain(chain, options);
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('verifyPeerChain accepted the chain');
}

let root: CertificateAuthority;
let meshCa: CertificateAuthority;
let vmCa: CertificateAuthority;
let otherRoot: CertificateAuthority;
let work: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  work = await tempDir('verify');
  root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  meshCa = await root.createIntermediate({ name: 'mesh-ca' });
  vmCa = await root.createIntermediate({ name: 'vm-ca', trustDomain: 'vm.local' });
  // Same subject name ("CN=Isthmus Root CA, O=cluster.local") as `root`, different key.
  otherRoot = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
});
afterAll(async () => {
  await work?.cleanup();
});

/** A leaf made by openssl and signed by `ca`'s key, with extensions the library would never put in. */
async function opensslLeaf(ca: CertificateAuthority, name: string, exts: string[]): Promise<Certificate> {
  const caCert = await writePem(work.dir, `${name}-ca.pem`, [ca.certificate]);
  const caKey = await writePem(work.dir, `${name}-ca-key.pem`, await exportPrivateKeyPem(ca.privateKey));
  const csr = join(work.dir, `${name}.csr`);
  const out = join(work.dir, `${name}.pem`);
  const req = await openssl([
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(work.dir, `${name}.key`),
    '-subj', `/CN=${name}`, '-out', csr, ...exts.flatMap((e) => ['-addext', e]),
  ]);
  expect(req.code, req.stderr).toBe(0);
  const sign = await openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', '0x1234', '-days', '1', '-copy_extensions', 'copyall', '-out', out]);
  expect(sign.code, sign.stderr).toBe(0);
  return parseCertificates(await readFile(out, 'utf8'))[0] as Certificate;
}

describe('verifyPeerChain', () => {
  it('accepts root -> mesh-ca -> leaf and returns the SPIFFE ID and the path', async () => {
    const issued = await meshCa.issueWithNewKey({ spiffeId: SLEEP });
    const peer = verifyPeerChain([issued.certificate, meshCa.certificate], { roots: [root.certificate], trustDomain: 'cluster.local' });
    expect(peer.spiffeId.uri).toBe(SLEEP);
    expect(peer.spiffeId.trustDomain).toBe('cluster.local');
    expect(peer.path.map((c) => c.subject)).toEqual([issued.certificate.subject, meshCa.certificate.subject, root.certificate.subject]);
  });

  it('finds an intermediate the peer did not send among the known intermediates', async () => {
    const issued = await meshCa.issueWithNewKey({ spiffeId: SLEEP });
    expect(verifyError([issued.certificate], { roots: [root.certificate] }).code).toBe('ERR_PKI_UNTRUSTED');
    const peer = verifyPeerChain([issued.certificate], { roots: [root.certificate], intermediates: [vmCa.certificate, meshCa.certificate] });
    expect(peer.path).toHaveLength(3);
  });

  it('ERR_PKI_UNTRUSTED: a chain from another root, even one with the same subject name', async () => {
    const otherMesh = await otherRoot.createIntermediate({ name: 'mesh-ca' });
    const issued = await otherMesh.issueWithNewKey({ spiffeId: SLEEP });
    const err = verifyError([issued.certificate, otherMesh.certificate, otherRoot.certificate], { roots: [root.certificate] });
    expect(err.code).toBe('ERR_PKI_UNTRUSTED');
    expect(err.message).toContain(SLEEP);
    expect(err.hint).toBeTruthy();
    // Directly under a root with the same name but another key: the signature decides.
    const direct = await otherRoot.issueWithNewKey({ spiffeId: SLEEP });
    expect(otherRoot.certificate.subject).toBe(root.certificate.subject);
    expect(verifyError([direct.certificate], { roots: [root.certificate] }).code).toBe('ERR_PKI_UNTRUSTED');
    // ... and both are accepted once the other root is in the bundle (federation).
    expect(verifyPeerChain([direct.certificate], { roots: [root.certificate, otherRoot.certificate] }).spiffeId.uri).toBe(SLEEP);
  });

  it('ERR_PKI_UNTRUSTED: no certificate at all', () => {
    expect(verifyError([], { roots: [root.certificate] }).code).toBe('ERR_PKI_UNTRUSTED');
  });

  it('ERR_PKI_UNTRUSTED: an intermediate with path length 0 cannot vouch for a CA below it', async () => {
    const sub = await meshCa.createIntermediate({ name: 'sub-ca' });
    const issued = await sub.issueWithNewKey({ spiffeId: SLEEP });
    const err = verifyError([issued.certificate, sub.certificate, meshCa.certificate], { roots: [root.certificate] });
    expect(err.code).toBe('ERR_PKI_UNTRUSTED');
    expect(err.message).toContain('path length 0');
  });

  it('ERR_PKI_EXPIRED: a leaf past its notAfter', async () => {
    const issued = await meshCa.issueWithNewKey({ spiffeId: SLEEP, ttlMs: 60_000, now: new Date(Date.now() - 2 * HOUR) });
    const err = verifyError([issued.certificate, meshCa.certificate], { roots: [root.certificate] });
    expect(err.code).toBe('ERR_PKI_EXPIRED');
    expect(err.message).toContain(issued.certificate.notAfter.toISOString());
    // A fresh certificate from the same CA verifies: the refusal is about the dates.
    const fresh = await meshCa.issueWithNewKey({ spiffeId: SLEEP, ttlMs: 60_000 });
    expect(verifyPeerChain([fresh.certificate, meshCa.certificate], { roots: [root.certificate] }).spiffeId.uri).toBe(SLEEP);
  });

  it('ERR_PKI_EXPIRED: an intermediate past its notAfter, under a leaf that is still valid', async () => {
    const oldCa = await root.createIntermediate({ name: 'old-ca', ttlMs: HOUR, now: new Date(Date.now() - 10 * HOUR) });
    // The library never lets a leaf outlive its CA; openssl does, which is what a verifier must catch.
    const leaf = await opensslLeaf(oldCa, 'outlives-ca', [`subjectAltName=URI:${SLEEP}`]);
    expect(leaf.notAfter.getTime()).toBeGreaterThan(Date.now());
    const err = verifyError([leaf, oldCa.certificate], { roots: [root.certificate] });
    expect(err.code).toBe('ERR_PKI_EXPIRED');
    expect(err.message).toContain('issuer certificate "CN=old-ca');
    // The library clamps: a leaf from the expired CA ends no later than the CA.
    const clamped = await oldCa.issueWithNewKey({ spiffeId: SLEEP, ttlMs: 100 * HOUR, now: new Date(Date.now() - 10 * HOUR) });
    expect(clamped.certificate.notAfter.getTime()).toBe(oldCa.certificate.notAfter.getTime());
  });

  it('ERR_PKI_NOT_YET_VALID: a leaf whose notBefore is in the future', async () => {
    const issued = await meshCa.issueWithNewKey({ spiffeId: SLEEP, now: new Date(Date.now() + 24 * HOUR) });
    const err = verifyError([issued.certificate, meshCa.certificate], { roots: [root.certificate] });
    expect(err.code).toBe('ERR_PKI_NOT_YET_VALID');
    expect(err.hint).toContain('clock');
  });

  it('ERR_PKI_TRUST_DOMAIN: a VM certificate (vm.local) at a cluster.local verifier, unless accepted', async () => {
    const vm = await vmCa.issueWithNewKey({ spiffeId: 'spiffe://vm.local/vm/vm-1' });
    const chain = [vm.certificate, vmCa.certificate];
    const err = verifyError(chain, { roots: [root.certificate], trustDomain: 'cluster.local' });
    expect(err.code).toBe('ERR_PKI_TRUST_DOMAIN');
    expect(err.message).toContain('vm.local');
    expect(verifyError(chain, { roots: [root.certificate], trustDomain: 'cluster.local', allowedTrustDomains: ['other.local'] }).code).toBe('ERR_PKI_TRUST_DOMAIN');
    expect(verifyPeerChain(chain, { roots: [root.certificate], trustDomain: 'cluster.local', allowedTrustDomains: ['vm.local'] }).spiffeId.trustDomain).toBe('vm.local');
    expect(verifyPeerChain(chain, { roots: [root.certificate], trustDomain: 'cluster.local', allowedTrustDomains: 'any' }).spiffeId.trustDomain).toBe('vm.local');
    expect(verifyPeerChain(chain, { roots: [root.certificate] }).spiffeId.trustDomain).toBe('vm.local');
  });

  it('the trust domain check comes after the chain check: an untrusted chain is ERR_PKI_UNTRUSTED even with "any"', async () => {
    const stranger = await otherRoot.issueWithNewKey({ spiffeId: 'spiffe://elsewhere.org/x' });
    expect(verifyError([stranger.certificate], { roots: [root.certificate], trustDomain: 'cluster.local', allowedTrustDomains: 'any' }).code).toBe('ERR_PKI_UNTRUSTED');
  });

  it('ERR_PKI_LEAF_IS_CA: a CA certificate presented as a peer certificate', () => {
    const err = verifyError([meshCa.certificate, root.certificate], { roots: [root.certificate] });
    expect(err.code).toBe('ERR_PKI_LEAF_IS_CA');
    expect(verifyError([root.certificate], { roots: [root.certificate] }).code).toBe('ERR_PKI_LEAF_IS_CA');
  });

  it('ERR_PKI_NOT_SPIFFE: a leaf signed by a trusted CA without a SPIFFE URI SAN, or with two', async () => {
    const dnsOnly = await opensslLeaf(meshCa, 'dns-only', ['subjectAltName=DNS:web.example.com']);
    expect(verifyError([dnsOnly, meshCa.certificate], { roots: [root.certificate] }).code).toBe('ERR_PKI_NOT_SPIFFE');
    const httpsUri = await opensslLeaf(meshCa, 'https-uri', ['subjectAltName=URI:https://example.com/x']);
    expect(verifyError([httpsUri, meshCa.certificate], { roots: [root.certificate] }).code).toBe('ERR_PKI_NOT_SPIFFE');
    const two = await opensslLeaf(meshCa, 'two-ids', [`subjectAltName=URI:${SLEEP},URI:spiffe://cluster.local/ns/default/sa/admin`]);
    const err = verifyError([two, meshCa.certificate], { roots: [root.certificate] });
    expect(err.code).toBe('ERR_PKI_NOT_SPIFFE');
    expect(err.message).toContain('sa/admin');
    // Control: the same openssl recipe with one SPIFFE ID verifies, so the refusals above are about the SANs.
    const ok = await opensslLeaf(meshCa, 'one-id', [`subjectAltName=URI:${SLEEP}`]);
    expect(verifyPeerChain([ok, meshCa.certificate], { roots: [root.certificate] }).spiffeId.uri).toBe(SLEEP);
  });

  it('ERR_PKI_USAGE: a serverAuth-only certificate cannot act as a TLS client', async () => {
    const serverOnly = await opensslLeaf(meshCa, 'server-only', [`subjectAltName=URI:${SLEEP}`, 'extendedKeyUsage=serverAuth']);
    expect(verifyPeerChain([serverOnly, meshCa.certificate], { roots: [root.certificate], role: 'server' }).spiffeId.uri).toBe(SLEEP);
    const err = verifyError([serverOnly, meshCa.certificate], { roots: [root.certificate], role: 'client' });
    expect(err.code).toBe('ERR_PKI_USAGE');
    expect(err.message).toContain('clientAuth');
  });
});
