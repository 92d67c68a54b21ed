/** Upstream TLS from DestinationRules (ISTIO_MUTUAL, SIMPLE, MUTUAL, auto mTLS) and downstream TLS of Gateway servers. */
import { describe, expect, it } from 'vitest';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, DestinationRule } from '../../../src/controlplane/translate/index.js';
import { buildDownstreamTls, buildUpstreamTls } from '../../../src/controlplane/translate/tls.js';
import type { UpstreamTlsRequest } from '../../../src/controlplane/translate/tls.js';
import { loadFixture, productpage, shopServices } from './fixtures.js';

const ADS = { ads: {}, resource_api_version: 'V3' };
const trust = { verifyCertificateAtClient: false, systemCaBundlePath: '/etc/ssl/certs/ca-certificates.crt', extraTrustedRoots: [] };
const base: UpstreamTlsRequest = {
  tls: undefined,
  clusterName: 'outbound|443||api.example.com',
  istioMtlsSni: 'outbound_.443_._.api.example.com',
  credentialsAllowed: true,
  http2: false,
  defaultSans: [],
  trust,
  enableAutoSni: true,
};

describe('upstream TLS', () => {
  it('ISTIO_MUTUAL: workload certificate and mesh root over SDS, Istio ALPN, SNI for AUTO_PASSTHROUGH, SPIFFE SAN', () => {
    const tls = buildUpstreamTls({ ...base, tls: { mode: 'ISTIO_MUTUAL' }, defaultSans: ['spiffe://cluster.local/ns/shop/sa/reviews'] });
    expect(tls.context).toEqual({
      sni: 'outbound_.443_._.api.example.com',
      common_tls_context: {
        alpn_protocols: ['istio-peer-exchange', 'istio'],
        tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: ADS }],
        combined_validation_context: {
          default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/shop/sa/reviews' } }] },
          validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: ADS },
        },
      },
    });
  });

  it('SIMPLE without caCertificates: no verification unless VERIFY_CERTIFICATE_AT_CLIENT, then the system bundle', () => {
    expect(buildUpstreamTls({ ...base, tls: { mode: 'SIMPLE' } }).context).toEqual({ common_tls_context: {} });
    const verified = buildUpstreamTls({ ...base, tls: { mode: 'SIMPLE', subjectAltNames: ['api.example.com'] }, trust: { ...trust, verifyCertificateAtClient: true } });
    expect(verified.context?.common_tls_context?.validation_context).toEqual({
      trusted_ca: { filename: '/etc/ssl/certs/ca-certificates.crt' },
      match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.example.com' } }],
    });
    expect(verified.autoSni).toBe(true);
    // SANs given: no automatic SAN check against the Host header.
    expect(verified.autoSanValidation).toBe(false);
  });

  it('appends extra trusted roots to the system bundle', () => {
    const tls = buildUpstreamTls({ ...base, tls: { mode: 'SIMPLE', sni: 'api.example.com' }, trust: { ...trust, verifyCertificateAtClient: true, systemCaBundlePem: 'SYSTEM\n', extraTrustedRoots: ['EXTRA'] } });
    expect(tls.context?.sni).toBe('api.example.com');
    expect(tls.context?.common_tls_context?.validation_context?.trusted_ca).toEqual({ inline_string: 'SYSTEM\nEXTRA\n' });
    expect(tls.autoSni).toBe(false);
  });

  it('MUTUAL with files: client certificate and CA as DataSources', () => {
    const tls = buildUpstreamTls({ ...base, http2: true, tls: { mode: 'MUTUAL', clientCertificate: '/certs/cert.pem', privateKey: '/certs/key.pem', caCertificates: '/certs/ca.pem', sni: 'x' } });
    expect(tls.context?.common_tls_context).toEqual({
      tls_certificates: [{ certificate_chain: { filename: '/certs/cert.pem' }, private_key: { filename: '/certs/key.pem' } }],
      validation_context: { trusted_ca: { filename: '/certs/ca.pem' } },
      alpn_protocols: ['h2'],
    });
    expect(buildUpstreamTls({ ...base, tls: { mode: 'MUTUAL' } }).warnings).toHaveLength(1);
  });

  it('SIMPLE with credentialName: only the CA over SDS', () => {
    const tls = buildUpstreamTls({ ...base, tls: { mode: 'SIMPLE', credentialName: 'api-ca' } });
    expect(tls.context?.common_tls_context).toEqual({
      combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: { name: 'kubernetes://api-ca-cacert', sds_config: ADS } },
    });
  });

  it('auto mTLS: mesh endpoints labelled tlsMode=istio get ISTIO_MUTUAL with their SPIFFE identity', () => {
    const out = translate(loadFixture('features.yaml'), productpage, { meshServices: shopServices });
    const c = out.clusters.find((x) => x.name === 'outbound|9080|v1|reviews.shop.svc.cluster.local');
    expect(c?.transport_socket?.typed_config?.sni).toBe('outbound_.9080_.v1_.reviews.shop.svc.cluster.local');
    expect(JSON.stringify(c?.transport_socket)).toContain('spiffe://cluster.local/ns/shop/sa/reviews');
    expect(out.clusters.find((x) => x.name === 'outbound|9080||ratings.shop.svc.cluster.local')?.transport_socket).toBeUndefined();
    expect(out.secrets).toEqual(['ROOTCA', 'default']);
  });

  it('DISABLE turns auto mTLS off', () => {
    const snap = loadFixture('features.yaml');
    const dr = snap.destinationRules?.[0] as DestinationRule;
    const disabled: ConfigSnapshot = { ...snap, destinationRules: [{ ...dr, spec: { ...dr.spec, trafficPolicy: { tls: { mode: 'DISABLE' } } } }] };
    const out = translate(disabled, productpage, { meshServices: shopServices });
    expect(out.clusters.find((x) => x.name === 'outbound|9080||reviews.shop.svc.cluster.local')?.transport_socket).toBeUndefined();
  });
});

describe('downstream TLS of Gateway servers', () => {
  it('SIMPLE with credentialName: certificate over SDS, no client certificate', () => {
    expect(buildDownstreamTls({ mode: 'SIMPLE', credentialName: 'web', minProtocolVersion: 'TLSV1_2' })).toEqual({
      common_tls_context: { alpn_protocols: ['h2', 'http/1.1'], tls_certificate_sds_secret_configs: [{ name: 'kubernetes://web', sds_config: ADS }], tls_params: { tls_minimum_protocol_version: 'TLSv1_2' } },
      require_client_certificate: false,
    });
  });

  it('MUTUAL with files: certificate, key and client CA as DataSources', () => {
    expect(buildDownstreamTls({ mode: 'MUTUAL', serverCertificate: '/s.crt', privateKey: '/s.key', caCertificates: '/ca.crt' })).toEqual({
      common_tls_context: {
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificates: [{ certificate_chain: { filename: '/s.crt' }, private_key: { filename: '/s.key' } }],
        validation_context: { trusted_ca: { filename: '/ca.crt' } },
      },
      require_client_certificate: true,
    });
  });

  it('ISTIO_MUTUAL: the mesh identity; passthrough: none', () => {
    expect(buildDownstreamTls({ mode: 'ISTIO_MUTUAL' })?.common_tls_context?.tls_certificate_sds_secret_configs?.[0]?.name).toBe('default');
    expect(buildDownstreamTls({ mode: 'PASSTHROUGH' })).toBeUndefined();
    expect(buildDownstreamTls({ mode: 'AUTO_PASSTHROUGH' })).toBeUndefined();
  });
});
