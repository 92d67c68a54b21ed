import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane, ManagementApiError, ManagementClient } from '../../../src/controlplane/index.js';
import { parseCertificates, requestCertificate, toPem, verifyPeerChain } from '../../../src/pki/index.js';

/** The management API's CA endpoints against a running control plane (real HTTP, real certificates). */
describe('control plane CA over the management API', () => {
  let stateDir: string;
  let cp: ControlPlane;
  let client: ManagementClient;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'isthmus-mesh-ca-'));
    cp = new ControlPlane({ stateDir, trustDomain: 'eks.local', vmTrustDomain: 'vm.local', xdsAddress: '127.0.0.1:0', managementAddress: '127.0.0.1:0' });
    await cp.start();
    client = new ManagementClient({ server: cp.management.url });
  });

  afterAll(async () => {
    await cp.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const verify = (chainPem: string, rootsPem: string, trustDomain: string) =>
    verifyPeerChain(parseCertificates(chainPem), { roots: parseCertificates(rootsPem), trustDomain, role: 'server' });

  it('issues mesh and VM identities that chain to the roots it publishes', async () => {
    const roots = await client.caRoots();
    expect(roots.trustDomain).toBe('eks.local');
    expect(roots.vmTrustDomain).toBe('vm.local');
    const gw = await client.issueCertificate({ spiffeId: 'spiffe://eks.local/ns/istio-ingress/sa/istio-ingressgateway', dnsNames: ['lambda.external'] });
    expect(verify(gw.certificateChainPem, roots.rootsPem, 'eks.local').spiffeId.uri).toBe('spiffe://eks.local/ns/istio-ingress/sa/istio-ingressgateway');
    expect(parseCertificates(gw.certificateChainPem)).toHaveLength(2);
    const vm = await client.issueCertificate({ authority: 'vm', spiffeId: 'spiffe://vm.local/vm/vm-1' });
    expect(verify(vm.certificateChainPem, roots.rootsPem, 'vm.local').spiffeId.trustDomain).toBe('vm.local');
  });

  it('refuses a malformed request with the field and the fix', async () => {
    const err = await client.issueCertificate({ spiffeId: 'not-a-spiffe-id' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManagementApiError);
    expect((err as ManagementApiError).message).toMatch(/spiffeId/);
    const authority = await client.issueCertificate({ spiffeId: 'spiffe://eks.local/x', authority: 'other' as never }).catch((e: unknown) => e);
    expect((authority as Error).message).toMatch(/authority "other"/);
  });

  it('root rotation keeps old certificates verifying, new ones chain to the new root, and survives a restart', async () => {
    const before = await client.issueCertificate({ spiffeId: 'spiffe://eks.local/ns/a/sa/old' });
    const rotated = await client.rotateRoot();
    expect(rotated.previous).not.toBe(rotated.current);
    const bundle = (await client.caRoots()).rootsPem;
    expect(parseCertificates(bundle)).toHaveLength(2);
    expect(verify(before.certificateChainPem, bundle, 'eks.local').spiffeId.path).toBe('/ns/a/sa/old');
    const after = await client.issueCertificate({ spiffeId: 'spiffe://eks.local/ns/a/sa/new' });
    // The new certificate does not chain to the old root alone: it really comes from the new hierarchy.
    expect(() => verify(after.certificateChainPem, before.rootsPem, 'eks.local')).toThrow();
    expect(verify(after.certificateChainPem, bundle, 'eks.local').spiffeId.path).toBe('/ns/a/sa/new');

    await cp.stop();
    cp = new ControlPlane({ stateDir, trustDomain: 'eks.local', xdsAddress: '127.0.0.1:0', managementAddress: '127.0.0.1:0' });
    await cp.start();
    client = new ManagementClient({ server: cp.management.url });
    const reopened = await client.caRoots();
    expect(reopened.rootsPem).toBe(bundle);
    expect(reopened.vmTrustDomain).toBe('vm.local');
  });

  it('after a root rotation the CA service renews a certificate of the retired intermediate, under the new root, also after a restart', async () => {
    await cp.stop();
    cp = new ControlPlane({ stateDir, trustDomain: 'eks.local', xdsAddress: '127.0.0.1:0', managementAddress: '127.0.0.1:0', caAddress: '127.0.0.1:0' });
    await cp.start();
    client = new ManagementClient({ server: cp.management.url });
    const old = await client.issueCertificate({ spiffeId: 'spiffe://eks.local/ns/a/sa/renewer' });
    const rotated = await client.rotateRoot();
    const renew = async () => {
      const response = await requestCertificate({
        address: `127.0.0.1:${cp.ports.ca}`, rootsPem: rotated.rootsPem, spiffeId: old.spiffeId, clientCertificate: { certPem: old.certificateChainPem, keyPem: old.privateKeyPem },
      });
      return toPem(response.chain.filter((c) => c.subject !== c.issuer));
    };
    const newRootOnly = parseCertificates(rotated.rootsPem).slice(0, 1);
    // The renewed certificate chains to the new root alone: it comes from the new hierarchy.
    const renewed = await renew();
    expect(verifyPeerChain(parseCertificates(renewed), { roots: newRootOnly, trustDomain: 'eks.local', role: 'client' }).spiffeId.uri).toBe(old.spiffeId);

    await cp.stop();
    cp = new ControlPlane({ stateDir, trustDomain: 'eks.local', xdsAddress: '127.0.0.1:0', managementAddress: '127.0.0.1:0', caAddress: '127.0.0.1:0' });
    await cp.start();
    client = new ManagementClient({ server: cp.management.url });
    expect(verifyPeerChain(parseCertificates(await renew()), { roots: newRootOnly, trustDomain: 'eks.local', role: 'client' }).spiffeId.uri).toBe(old.spiffeId);
  });
});
