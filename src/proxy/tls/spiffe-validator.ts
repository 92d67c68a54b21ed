/**
 * Envoy's `envoy.tls.cert_validator.spiffe` (SPIFFECertValidatorConfig, set as a validation context's
 * custom_validator_config): one trust bundle per SPIFFE trust domain. The peer's SPIFFE ID (its one URI
 * SAN) names its trust domain, and its chain is verified against that domain's bundle only, so no
 * trust domain's CA can mint identities of another (what federation between meshes relies on). A peer
 * of a trust domain without a bundle is refused. Used by downstream (client certificates) and upstream
 * (server certificates) TLS alike.
 */
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { TYPE_URL } from '../../envoy/index.js';
import type { CertificateValidationContext, SpiffeCertValidatorConfig } from '../../envoy/index.js';
import { keyUsages, parseCertificates, parseSpiffeId, subjectAltNames, toPem, verifyPeerChain } from '../../pki/index.js';
import type { Certificate, PeerRole } from '../../pki/index.js';
import { stringMatcher } from '../matchers.js';
import { readDataSource } from './data-source.js';
import type { SanConfigError } from './san.js';

export const SPIFFE_VALIDATOR = 'envoy.tls.cert_validator.spiffe';

export interface SpiffeValidator {
  /** The trust domains that have a bundle. */
  readonly trustDomains: readonly string[];
  /**
   * Every bundle's roots, PEM: what a server names in its CertificateRequest (as Envoy's validator does)
   * and what OpenSSL checks the chain against first. The trust decision is verify()'s, per domain.
   */
  readonly handshakeCaPem: string;
  /** Undefined when the peer passes; otherwise why it is refused. `role` is what the peer is in the handshake. */
  verify(socket: TLSSocket, role: PeerRole): string | undefined;
}

/** Whether a validation context hands validation to a custom validator (it then ignores trusted_ca). */
export function usesCustomValidator(vc: CertificateValidationContext | undefined): boolean {
  return vc?.custom_validator_config !== undefined;
}

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;

/** The certificates the peer presented (and OpenSSL completed), leaf first, each once. */
function peerChain(socket: TLSSocket): Certificate[] | undefined {
  const leaf = socket.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
  if (!leaf || !leaf.raw) return undefined;
  const seen = new Set<string>();
  const pems: string[] = [];
  for (let cert: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = leaf; cert?.raw && !seen.has(cert.fingerprint256); cert = cert.issuerCertificate) {
    seen.add(cert.fingerprint256);
    pems.push(`-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64')}\n-----END CERTIFICATE-----\n`);
  }
  return parseCertificates(pems.join(''), 'peer certificate chain');
}

/**
 * Compiles a validation context whose custom_validator_config is the SPIFFE validator. `path` is the
 * validation context's field path; errors name the field to fix. Only URI SAN matchers apply (Envoy's
 * rule: SPIFFE does not restrict other SAN types); a matcher of another type is refused here rather
 * than silently ignored, since ignoring it would accept more peers than the config says.
 */
export function compileSpiffeValidator(vc: CertificateValidationContext, baseDir: string, path: string, fail: SanConfigError): SpiffeValidator {
  const custom = vc.custom_validator_config;
  const at = `${path}.custom_validator_config`;
  if (!custom) throw fail(at, 'no custom validator configured');
  if (custom.name !== SPIFFE_VALIDATOR) throw fail(`${at}.name`, `unsupported certificate validator "${custom.name}"; Isthmus implements ${SPIFFE_VALIDATOR}`);
  const typeUrl = custom.typed_config?.['@type'];
  if (typeUrl !== TYPE_URL.spiffeCertValidatorConfig) {
    throw fail(`${at}.typed_config`, `${SPIFFE_VALIDATOR} needs a typed_config of type ${TYPE_URL.spiffeCertValidatorConfig}, got ${typeUrl === undefined ? 'none' : `"${String(typeUrl)}"`}`);
  }
  const config = custom.typed_config as unknown as SpiffeCertValidatorConfig;
  const domains = config.trust_domains ?? [];
  if (domains.length === 0) throw fail(`${at}.typed_config.trust_domains`, 'at least one trust domain (name and trust_bundle) is required');

  const bundles = new Map<string, Certificate[]>();
  domains.forEach((domain, i) => {
    const here = `${at}.typed_config.trust_domains[${i}]`;
    const name = domain.name ?? '';
    if (name.startsWith('spiffe://')) throw fail(`${here}.name`, `write the trust domain without "spiffe://" ("${name.slice('spiffe://'.length)}")`);
    if (!TRUST_DOMAIN.test(name)) throw fail(`${here}.name`, `"${name}" is not a trust domain: use lower-case letters, digits, ".", "-" and "_"`);
    if (bundles.has(name)) throw fail(`${here}.name`, `trust domain "${name}" has more than one trust bundle; give it one entry`);
    if (!domain.trust_bundle) throw fail(`${here}.trust_bundle`, `trust domain "${name}" needs a trust_bundle (its root certificates, PEM)`);
    let certs: Certificate[];
    try {
      certs = parseCertificates(readDataSource(domain.trust_bundle, baseDir, `${here}.trust_bundle`).toString('utf8'), `${here}.trust_bundle`);
    } catch (err) {
      throw fail(`${here}.trust_bundle`, (err as Error).message, err);
    }
    bundles.set(name, certs);
  });

  const uriMatchers: Array<(uri: string) => boolean> = [];
  (vc.match_typed_subject_alt_names ?? []).forEach((m, i) => {
    if (m.san_type !== 'URI') {
      throw fail(`${path}.match_typed_subject_alt_names[${i}].san_type`, `${SPIFFE_VALIDATOR} matches URI SANs (SPIFFE IDs) only, not ${m.san_type}; use san_type URI or remove the matcher`);
    }
    try {
      uriMatchers.push(stringMatcher(m.matcher));
    } catch (err) {
      throw fail(`${path}.match_typed_subject_alt_names[${i}].matcher`, (err as Error).message, err);
    }
  });
  // The untyped (deprecated) matchers apply to the one SAN the validator looks at, the URI.
  (vc.match_subject_alt_names ?? []).forEach((m, i) => {
    try {
      uriMatchers.push(stringMatcher(m));
    } catch (err) {
      throw fail(`${path}.match_subject_alt_names[${i}]`, (err as Error).message, err);
    }
  });

  return {
    trustDomains: [...bundles.keys()],
    handshakeCaPem: [...bundles.values()].map((certs) => toPem(certs)).join(''),
    verify(socket, role) {
      let chain: Certificate[] | undefined;
      try {
        chain = peerChain(socket);
      } catch (err) {
        return `peer certificate does not parse: ${(err as Error).message}`;
      }
      const leaf = chain?.[0];
      if (!chain || !leaf) return 'peer presented no certificate';
      const uris = subjectAltNames(leaf).uri;
      if (uris.length !== 1) return `a SPIFFE peer certificate carries exactly one URI SAN, this one carries ${uris.length}`;
      let trustDomain: string;
      try {
        trustDomain = parseSpiffeId(uris[0] as string).trustDomain;
      } catch (err) {
        return (err as Error).message;
      }
      const roots = bundles.get(trustDomain);
      if (!roots) return `no trust bundle for trust domain "${trustDomain}" of ${uris[0]}; trusted: ${[...bundles.keys()].join(', ')}`;
      // X509-SVID leaf rules (SPIFFE 5.2): not a CA, may not sign certificates or CRLs.
      const usage = keyUsages(leaf) ?? [];
      if (usage.includes('keyCertSign') || usage.includes('cRLSign')) return `${uris[0]}: a SPIFFE leaf certificate may not carry keyCertSign or cRLSign`;
      // OpenSSL checked the chain against every bundle together; only this domain's roots decide.
      if (!socket.authorized) return `${uris[0]}: certificate not trusted: ${String(socket.authorizationError)}`;
      try {
        verifyPeerChain(chain, { roots, role });
      } catch (err) {
        return `${uris[0]}: ${(err as Error).message} (trust domain "${trustDomain}")`;
      }
      if (uriMatchers.length > 0 && !uriMatchers.some((match) => match(uris[0] as string))) {
        return `${uris[0]} matches none of the configured subject alt name matchers`;
      }
      return undefined;
    },
  };
}
