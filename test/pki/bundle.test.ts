import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, PkiError, mergeTrustBundles, parseCertificates, toPem, trustBundle } from '../../src/pki/index.js';
import { openssl } from '../helpers/index.js';

let cluster: CertificateAuthority;
let gke: CertificateAuthority;
let meshCa: CertificateAuthority;

beforeAll(async () => {
  cluster = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  gke = await CertificateAuthority.createRoot({ trustDomain: 'gke.example' });
  meshCa = await cluster.createIntermediate({ name: 'mesh-ca' });
});

function bundleError(fn: () => unknown): PkiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PkiError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('trust bundles', () => {
  it('merges roots of several meshes, keeping each certificate once, indexed by trust domain', () => {
    const bundle = mergeTrustBundles([
      { name: 'cluster/root-cert.pem', pem: toPem([cluster.certificate]) },
      { name: 'gke/root-cert.pem', pem: toPem([gke.certificate]) },
      { name: 'again/root-cert.pem', pem: toPem([cluster.certificate, gke.certificate]) },
    ]);
    expect(bundle.certificates).toHaveLength(2);
    expect(bundle.byTrustDomain.get('cluster.local')).toHaveLength(1);
    expect(bundle.byTrustDomain.get('gke.example')).toHaveLength(1);
    const reread = parseCertificates(bundle.toPem());
    expect(reread.map((c) => c.serialNumber)).toEqual([cluster.certificate.serialNumber, gke.certificate.serialNumber]);
  });

  it('accepts intermediates (CA certificates) too', () => {
    const bundle = mergeTrustBundles([{ name: 'cert-chain.pem', pem: meshCa.certChainPem() }]);
    expect(bundle.certificates).toHaveLength(2);
  });

  it('refuses a non-CA certificate, naming the source and the position', async () => {
    const leaf = await meshCa.issueWithNewKey({ spiffeId: 'spiffe://cluster.local/ns/default/sa/sleep' });
    const err = bundleError(() => mergeTrustBundles([
      { name: 'roots.pem', pem: toPem([cluster.certificate]) },
      { name: 'workload/cert.pem', pem: toPem([gke.certificate, leaf.certificate]) },
    ]));
    expect(err.code).toBe('ERR_PKI_BUNDLE');
    expect(err.message).toContain('workload/cert.pem: certificate #2');
  });

  it('refuses a source without certificates', () => {
    const err = bundleError(() => mergeTrustBundles([{ name: 'empty.pem', pem: 'nothing here' }]));
    expect(err.code).toBe('ERR_PKI_PEM');
    expect(err.message).toContain('empty.pem');
  });

  it('files a root without a SPIFFE ID (made by openssl) under ""', async () => {
    const made = await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Corp Root', '-days', '1']);
    expect(made.code, made.stderr).toBe(0);
    const bundle = mergeTrustBundles([{ name: 'corp.pem', pem: made.stdout }, { name: 'cluster.pem', pem: toPem([cluster.certificate]) }]);
    expect(bundle.byTrustDomain.get('')?.[0]?.subject).toBe('CN=Corp Root');
    expect(bundle.byTrustDomain.get('cluster.local')).toHaveLength(1);
    expect(trustBundle(bundle.certificates).certificates).toHaveLength(2);
  });
});
