import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, IstioCaServer, issueBootstrapToken, parseCertificates, spiffeUris, toPem } from '../../src/pki/index.js';
import { SecretStore } from '../../src/proxy/tls/sds.js';
import { retryDelayMs } from '../../src/proxy/tls/workload-certificate.js';
import { WorkloadCertificateManager } from '../../src/proxy/index.js';

const SPIFFE = 'spiffe://cluster.local/ns/istio-ingress/sa/istio-ingressgateway';

/** The proxy's istio-agent role: a workload certificate from the CA service, installed as SDS secrets and renewed. */
describe('workload certificates over the CSR service', () => {
  let root: CertificateAuthority;
  let server: IstioCaServer;
  let port: number;

  beforeAll(async () => {
    root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    const mesh = await root.createIntermediate({ name: 'mesh-ca' });
    server = new IstioCaServer({ authority: mesh });
    port = await server.start();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("installs 'default' and 'ROOTCA', then renews before expiry with the current certificate", async () => {
    const secrets = new SecretStore();
    const changes: string[][] = [];
    secrets.onChange((names) => changes.push([...names].sort()));
    // The token expires before the renewal (JWT expiry has second granularity: 2 s means at most 3 s), so
    // the renewal must authenticate with the certificate. Long enough to survive a loaded CI machine.
    const token = await issueBootstrapToken(server['options'].authority, SPIFFE, 2_000);
    const manager = new WorkloadCertificateManager({ caAddress: `127.0.0.1:${port}`, rootsPem: toPem([root.certificate]), spiffeId: SPIFFE, token, ttlMs: 8_000, secrets });
    await manager.start();
    try {
      const first = secrets.get('default')?.tls_certificate?.certificate_chain.inline_bytes;
      expect(first).toBeDefined();
      const leaf = parseCertificates(Buffer.from(first as string, 'base64').toString())[0];
      expect(leaf && spiffeUris(leaf)).toEqual([SPIFFE]);
      expect(secrets.get('ROOTCA')?.validation_context?.trusted_ca?.inline_bytes).toBe(Buffer.from(toPem([root.certificate])).toString('base64'));
      expect(changes[0]).toEqual(['ROOTCA', 'default']);
      // Renewal at half the 8 s lifetime.
      const deadline = Date.now() + 9_000;
      while (manager.issued.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(manager.issued.length).toBeGreaterThanOrEqual(2);
      expect(manager.issued[1]).not.toBe(manager.issued[0]);
      expect(changes.at(-1)).toEqual(['default']);
      expect(server.stats.issued).toBeGreaterThanOrEqual(2);
    } finally {
      manager.stop();
    }
  });

  it('the CA away past the end of a short-lived certificate: the token gets a new one once the CA is back', async () => {
    const authority = server['options'].authority;
    const away = new IstioCaServer({ authority });
    const awayPort = await away.start();
    const secrets = new SecretStore();
    const token = await issueBootstrapToken(authority, SPIFFE, 600_000);
    const manager = new WorkloadCertificateManager({ caAddress: `127.0.0.1:${awayPort}`, rootsPem: toPem([root.certificate]), spiffeId: SPIFFE, token, ttlMs: 2_000, secrets });
    let back: IstioCaServer | undefined;
    try {
      await manager.start();
      await away.stop();
      const first = parseCertificates(Buffer.from(secrets.get('default')?.tls_certificate?.certificate_chain.inline_bytes as string, 'base64').toString())[0];
      while (Date.now() <= (first?.notAfter.getTime() ?? 0) + 200) await new Promise((r) => setTimeout(r, 100));
      // The same CA service again, on the same port: the expired certificate is no credential any more.
      back = new IstioCaServer({ authority, port: awayPort });
      await back.start();
      const deadline = Date.now() + 10_000;
      while (manager.issued.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(manager.issued.length).toBeGreaterThanOrEqual(2);
      expect(back.stats.issued).toBeGreaterThanOrEqual(1);
    } finally {
      manager.stop();
      await back?.stop();
    }
  });

  it('a root rotation: verifies the CA against the ROOTCA the control plane delivered, renews under the new root, and keeps that ROOTCA', async () => {
    const oldMesh = server['options'].authority;
    const before = new IstioCaServer({ authority: oldMesh });
    const caPort = await before.start();
    const secrets = new SecretStore();
    const token = await issueBootstrapToken(oldMesh, SPIFFE, 600_000);
    const manager = new WorkloadCertificateManager({ caAddress: `127.0.0.1:${caPort}`, rootsPem: toPem([root.certificate]), spiffeId: SPIFFE, token, ttlMs: 4_000, secrets });
    let after: IstioCaServer | undefined;
    try {
      await manager.start();
      // The control plane rotates: a new root and intermediate, the CA service restarted under them
      // (still accepting the old intermediate's certificates), and ROOTCA = new + old over SDS.
      const newRoot = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
      const newMesh = await newRoot.createIntermediate({ name: 'mesh-ca' });
      await before.stop();
      after = new IstioCaServer({ authority: newMesh, port: caPort, roots: [newRoot.certificate, root.certificate], intermediates: [oldMesh.certificate] });
      await after.start();
      const bundle = toPem([newRoot.certificate, root.certificate]);
      secrets.set([{ name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: Buffer.from(bundle).toString('base64') } } }]);
      const deadline = Date.now() + 15_000;
      while ((after.stats.issued < 1 || manager.issued.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(after.stats.issued).toBeGreaterThanOrEqual(1);
      const chain = parseCertificates(Buffer.from(secrets.get('default')?.tls_certificate?.certificate_chain.inline_bytes as string, 'base64').toString());
      // Renewed by the new intermediate: the chain installed as 'default' is the new hierarchy's.
      expect(chain[1]?.equal(newMesh.certificate)).toBe(true);
      expect(Buffer.from(secrets.get('ROOTCA')?.validation_context?.trusted_ca?.inline_bytes as string, 'base64').toString()).toBe(bundle);
    } finally {
      manager.stop();
      await after?.stop();
    }
  });

  it('retries a failed renewal with back-off, never longer than a tenth of the certificate lifetime', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    const lived = (ms: number) => ({ notBefore: new Date(0), notAfter: new Date(ms) });
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, lived(11_000)))).toEqual([1_000, 1_100, 1_100, 1_100]);
    expect(retryDelayMs(3, lived(2_000))).toBe(500);
    expect(retryDelayMs(9, lived(24 * 3_600_000))).toBe(30_000);
  });

  it('a refused request says why and installs nothing', async () => {
    const secrets = new SecretStore();
    const manager = new WorkloadCertificateManager({ caAddress: `127.0.0.1:${port}`, rootsPem: toPem([root.certificate]), spiffeId: SPIFFE, secrets });
    await expect(manager.start()).rejects.toThrow(/no credentials|UNAUTHENTICATED/);
    expect(secrets.get('default')).toBeUndefined();
    manager.stop();
  });
});
