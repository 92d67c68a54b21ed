import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, IstioCaServer, issueBootstrapToken, parseCertificates, spiffeUris, toPem } from '../../src/pki/index.js';
import { SecretStore } from '../../src/proxy/tls/sds.js';
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

  it('a refused request says why and installs nothing', async () => {
    const secrets = new SecretStore();
    const manager = new WorkloadCertificateManager({ caAddress: `127.0.0.1:${port}`, rootsPem: toPem([root.certificate]), spiffeId: SPIFFE, secrets });
    await expect(manager.start()).rejects.toThrow(/no credentials|UNAUTHENTICATED/);
    expect(secrets.get('default')).toBeUndefined();
    manager.stop();
  });
});
