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
 * tls_params as Node TLS options, with Envoy's defaults: TLS 1.2 minimum; maximum TLS 1.3 for a server,
 * TLS 1.2 for a client (upstream). cipher_suites use OpenSSL names.
 */
export function tlsVersionOptions(params: TlsParameters | undefined, side: 'server' | 'client' = 'server'): { minVersion: SecureVersion; maxVersion: SecureVersion; ciphers?: string; ecdhCurve?: string } {
  const out: { minVersion: SecureVersion; maxVersion: SecureVersion; ciphers?: string; ecdhCurve?: string } = {
    minVersion: VERSIONS[params?.tls_minimum_protocol_version ?? 'TLS_AUTO'] ?? 'TLSv1.2',
    maxVersion: VERSIONS[params?.tls_maximum_protocol_version ?? 'TLS_AUTO'] ?? (side === 'server' ? 'TLSv1.3' : 'TLSv1.2'),
  };
  if (params?.cipher_suites?.length) out.ciphers = cipherList(params.cipher_suites);
  if (params?.ecdh_curves?.length) out.ecdhCurve = params.ecdh_curves.join(':');
  return out;
}
