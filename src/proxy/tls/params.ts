import type { SecureVersion } from 'node:tls';
import type { TlsParameters } from '../../envoy/index.js';

const VERSIONS: Record<string, SecureVersion | undefined> = {
  TLS_AUTO: undefined,
  TLSv1_0: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

/**
 * tls_params as Node TLS options: Envoy's defaults are TLS 1.2 minimum and TLS 1.3 maximum;
 * cipher_suites use OpenSSL names, with BoringSSL's "[A|B]" equal-preference groups flattened.
 */
export function tlsVersionOptions(params: TlsParameters | undefined): { minVersion: SecureVersion; maxVersion: SecureVersion; ciphers?: string; ecdhCurve?: string } {
  const out: { minVersion: SecureVersion; maxVersion: SecureVersion; ciphers?: string; ecdhCurve?: string } = {
    minVersion: VERSIONS[params?.tls_minimum_protocol_version ?? 'TLS_AUTO'] ?? 'TLSv1.2',
    maxVersion: VERSIONS[params?.tls_maximum_protocol_version ?? 'TLS_AUTO'] ?? 'TLSv1.3',
  };
  if (params?.cipher_suites?.length) {
    out.ciphers = params.cipher_suites.flatMap((s) => s.replace(/^\[|\]$/g, '').split('|')).join(':');
  }
  if (params?.ecdh_curves?.length) out.ecdhCurve = params.ecdh_curves.join(':');
  return out;
}
