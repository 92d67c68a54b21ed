import type { SecureVersion } from 'node:tls';
import type { TlsParameters } from '../../envoy/index.js';

const VERSIONS: Record<string, SecureVersion | undefined> = {
  TLS_AUTO: undefined,
  TLSv1_0: 'TLSv1',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

/** BoringSSL cipher names with "[A|B]" equal-preference groups as an OpenSSL cipher list. */
export function cipherList(suites: readonly string[]): string {
  return suites.flatMap((s) => s.replace(/^\[|\]$/g, '').split('|')).filter((s) => s.length > 0).join(':');
}

/**
 * Envoy's default server cipher list (TlsParameters.cipher_suites): ECDHE key exchange with an AEAD only,
 * so no static-RSA, CBC (Lucky13, BEAST class) or non-forward-secret suite is offered for TLS 1.2.
 * TLS 1.3 suites are all AEAD and stay OpenSSL's defaults.
 */
export const DEFAULT_SERVER_CIPHERS = cipherList([
  '[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]',
  '[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
]);

/**
 * tls_params as Node TLS options, with Envoy's defaults: TLS 1.2 minimum (TLS 1.0/1.1 only when asked for
 * explicitly); maximum TLS 1.3 for a server, TLS 1.2 for a client (upstream); for a server, the strong
 * cipher list above. cipher_suites use OpenSSL names.
 */
export function tlsVersionOptions(params: TlsParameters | undefined, side: 'server' | 'client' = 'server'): { minVersion: SecureVersion; maxVersion: SecureVersion; ciphers?: string; ecdhCurve?: string } {
  const out: { minVersion: SecureVersion; maxVersion: SecureVersion; ciphers?: string; ecdhCurve?: string } = {
    minVersion: VERSIONS[params?.tls_minimum_protocol_version ?? 'TLS_AUTO'] ?? 'TLSv1.2',
    maxVersion: VERSIONS[params?.tls_maximum_protocol_version ?? 'TLS_AUTO'] ?? (side === 'server' ? 'TLSv1.3' : 'TLSv1.2'),
  };
  if (params?.cipher_suites?.length) out.ciphers = cipherList(params.cipher_suites);
  else if (side === 'server') out.ciphers = DEFAULT_SERVER_CIPHERS;
  if (params?.ecdh_curves?.length) out.ecdhCurve = params.ecdh_curves.join(':');
  return out;
}
