import { beforeAll, describe, expect, it } from 'vitest';
import { LinkCredentialError, checkCredential, checkTrustBundle, decideCredential, sameBundle } from '../../../src/controlplane/index.js';
import type { CredentialExpectation } from '../../../src/controlplane/index.js';
import { CertificateAuthority, exportPrivateKeyPem, toPem } from '../../../src/pki/index.js';

const SERVER_ID = 'spiffe://eks.local/ns/istio-ingress/sa/istio-ingressgateway-service-account';
const CLIENT_ID = 'spiffe://gke.local/ns/istio-egress/sa/istio-egressgateway-service-account';

interface Pem { chain: string; key: string }

/** Two meshes with their own roots, as two control planes have; real certificates, real signatures. */
describe('mesh export: credential checks', () => {
  let eksRoot: CertificateAuthority;
  let eksMesh: CertificateAuthority;
  let gkeMesh: CertificateAuthority;
  let eksRoots: string;
  let gkeRoots: string;
  let server: Pem;
  let client: Pem;
  const issue = async (ca: CertificateAuthority, spiffeId: string, dnsNames: string[] = [], ttlMs?: number): Promise<Pem> => {
    const issued = await ca.issueWithNewKey({ spiffeId, dnsNames, ...(ttlMs ? { ttlMs } : {}) });
    return { chain: toPem([issued.certificate, ...issued.chain.filter((c) => c.subject !== c.issuer)]), key: await exportPrivateKeyPem(issued.keys.privateKey) };
  };
  const serverExpect = (): CredentialExpectation => ({ role: 'server', mesh: 'eks', rootsPem: eksRoots, trustDomain: 'eks.local', spiffeId: SERVER_ID, dnsName: 'lambda.external' });
  const clientExpect = (): CredentialExpectation => ({ role: 'client', mesh: 'gke', rootsPem: gkeRoots, trustDomain: 'gke.local', spiffeId: CLIENT_ID });
  const failedCheck = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(LinkCredentialError);
      return (err as LinkCredentialError).check;
    }
    throw new Error('the check passed');
  };

  beforeAll(async () => {
    eksRoot = await CertificateAuthority.createRoot({ trustDomain: 'eks.local' });
    eksMesh = await eksRoot.createIntermediate({ name: 'mesh-ca' });
    const gkeRoot = await CertificateAuthority.createRoot({ trustDomain: 'gke.local' });
    gkeMesh = await gkeRoot.createIntermediate({ name: 'mesh-ca' });
    eksRoots = toPem([eksRoot.certificate]);
    gkeRoots = toPem([gkeRoot.certificate]);
    server = await issue(eksMesh, SERVER_ID, ['lambda.external']);
    client = await issue(gkeMesh, CLIENT_ID);
  });

  it('accepts the right credentials', () => {
    expect(checkCredential(server.chain, server.key, serverExpect()).subject).toBe('');
    expect(checkCredential(client.chain, client.key, clientExpect())).toBeDefined();
  });

  it('names the failed check: chain, identity, DNS SAN, key, bundle', async () => {
    // The server certificate checked against the other mesh's roots: no path.
    expect(failedCheck(() => checkCredential(server.chain, server.key, { ...serverExpect(), rootsPem: gkeRoots }))).toBe('server-chain');
    expect(failedCheck(() => checkCredential(client.chain, client.key, { ...clientExpect(), rootsPem: eksRoots }))).toBe('client-chain');
    const other = await issue(eksMesh, 'spiffe://eks.local/ns/default/sa/sleep', ['lambda.external']);
    expect(failedCheck(() => checkCredential(other.chain, other.key, serverExpect()))).toBe('server-identity');
    const noDns = await issue(eksMesh, SERVER_ID, ['other.external']);
    expect(failedCheck(() => checkCredential(noDns.chain, noDns.key, serverExpect()))).toBe('server-dns-san');
    expect(failedCheck(() => checkCredential(server.chain, other.key, serverExpect()))).toBe('server-key');
    expect(failedCheck(() => checkCredential(client.chain, client.key, { ...clientExpect(), rootsPem: `${gkeRoots}${client.chain}` }))).toBe('trust-bundle');
    expect(failedCheck(() => checkTrustBundle('not pem', 'gke'))).toBe('trust-bundle');
    const message = (() => {
      try {
        checkCredential(server.chain, server.key, { ...serverExpect(), rootsPem: gkeRoots });
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/^check server-chain failed: server certificate \(eks ingress gateway\) does not verify against the trust bundle of eks/);
  });

  it('decides: issue when missing, reuse when good, update the bundle only when the peer rotated, issue when due', async () => {
    expect(decideCredential(undefined, serverExpect(), gkeRoots).action).toBe('issue');
    const existing = { certificateChainPem: server.chain, privateKeyPem: server.key, caPem: gkeRoots };
    expect(decideCredential(existing, serverExpect(), gkeRoots).action).toBe('reuse');
    expect(decideCredential(existing, serverExpect(), gkeRoots, { renew: true }).action).toBe('issue');

    const rotatedRoot = await CertificateAuthority.createRoot({ trustDomain: 'gke.local' });
    const both = `${toPem([rotatedRoot.certificate])}${gkeRoots}`;
    expect(sameBundle(both, `${gkeRoots}${toPem([rotatedRoot.certificate])}`)).toBe(true);
    const decision = decideCredential(existing, serverExpect(), both);
    expect(decision).toEqual({ action: 'update-bundle', reason: "the peer's trust bundle changed (1 -> 2 roots)" });

    // Past half its lifetime (Istio's grace ratio): a new certificate.
    const later = new Date(Date.now() + 13 * 3_600_000);
    expect(decideCredential(existing, serverExpect(), gkeRoots, { at: later }).action).toBe('issue');
    // Its own mesh rotated and kept the old root: the certificate still verifies, so it stays.
    expect(decideCredential(existing, { ...serverExpect(), rootsPem: `${toPem([(await CertificateAuthority.createRoot({ trustDomain: 'eks.local' })).certificate])}${eksRoots}` }, gkeRoots).action).toBe('reuse');
    // Its own mesh retired the old root: the certificate no longer verifies, a new one is issued.
    expect(decideCredential(existing, { ...serverExpect(), rootsPem: toPem([(await CertificateAuthority.createRoot({ trustDomain: 'eks.local' })).certificate]) }, gkeRoots).action).toBe('issue');
  });
});
