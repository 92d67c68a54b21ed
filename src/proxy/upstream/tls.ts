/**
 * A cluster's UpstreamTlsContext compiled once into what each new upstream connection needs: a shared
 * SecureContext (certificates parsed once), SNI, ALPN and the post-handshake checks Envoy makes.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { ConnectionOptions, PeerCertificate, SecureContext, TLSSocket } from 'node:tls';
import type { CertificateValidationContext, DataSource, UpstreamTlsContext } from '../../envoy/index.js';
import { DataSourceError, readDataSource as readSharedDataSource } from '../tls/data-source.js';
import { tlsVersionOptions } from '../tls/params.js';
import { compileLeafCheck } from '../tls/peer-certificate.js';
import { compileSanMatcher } from '../tls/san.js';
import { compileSpiffeValidator, usesCustomValidator } from '../tls/spiffe-validator.js';
import { verifyErrorText } from '../trace/certificates.js';
export { parseSubjectAltNames } from '../tls/san.js';
export type { SubjectAltName } from '../tls/san.js';
import { ClusterConfigError } from './errors.js';

export interface UpstreamTls {
  readonly secureContext: SecureContext;
  /** The configured SNI; undefined sends none (Envoy does not derive SNI from the host). */
  readonly sni: string | undefined;
  /** common_tls_context.alpn_protocols as configured (may be empty). */
  readonly alpn: readonly string[];
  /** tls.connect options (without host/port); `alpnFallback` applies only when no ALPN is configured. */
  connectOptions(alpnFallback?: readonly string[]): ConnectionOptions;
  /** Checks Envoy makes after the handshake; an Error means the connection must not be used. */
  verify(socket: TLSSocket): Error | undefined;
}

/** The shared DataSource reader, its errors reported as cluster config errors. */
export async function readDataSource(source: DataSource, baseDir: string, path: string): Promise<Buffer> {
  try {
    return readSharedDataSource(source, baseDir, path);
  } catch (err) {
    if (err instanceof DataSourceError) throw new ClusterConfigError(err.path, err.detail, { cause: err });
    throw err;
  }
}

type PeerCheck = (cert: PeerCertificate) => string | undefined;

function sanCheck(vc: CertificateValidationContext, path: string): PeerCheck | undefined {
  const matches = compileSanMatcher(vc, path, (p, detail, cause) => new ClusterConfigError(p, detail, cause === undefined ? undefined : { cause }));
  if (!matches) return undefined;
  return (cert) => (matches(cert.subjectaltname)
    ? undefined
    : `upstream certificate SANs [${cert.subjectaltname ?? ''}] match none of the configured subject alt name matchers`);
}

/** verify_certificate_hash / verify_certificate_spki pin the leaf; either list matching is enough. */
function pinCheck(vc: CertificateValidationContext): PeerCheck | undefined {
  const hashes = new Set((vc.verify_certificate_hash ?? []).map((h) => h.replace(/:/g, '').toUpperCase()));
  const spkis = new Set(vc.verify_certificate_spki ?? []);
  if (hashes.size === 0 && spkis.size === 0) return undefined;
  return (cert) => {
    if (hashes.has(cert.fingerprint256.replace(/:/g, '').toUpperCase())) return undefined;
    if (spkis.size > 0 && cert.raw) {
      const spki = new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
      if (spkis.has(createHash('sha256').update(spki).digest('base64'))) return undefined;
    }
    return 'upstream certificate matches none of verify_certificate_hash / verify_certificate_spki';
  };
}

/** Builds the TLS side of a cluster's transport_socket; files are read here, once. */
export async function compileUpstreamTls(ctx: UpstreamTlsContext, baseDir: string, path: string): Promise<UpstreamTls> {
  const common = ctx.common_tls_context ?? {};
  const commonPath = `${path}.common_tls_context`;
  const certs = common.tls_certificates ?? [];
  const chains = await Promise.all(certs.map((c, i) => readDataSource(c.certificate_chain, baseDir, `${commonPath}.tls_certificates[${i}].certificate_chain`)));
  const keys = await Promise.all(certs.map((c, i) => readDataSource(c.private_key, baseDir, `${commonPath}.tls_certificates[${i}].private_key`)));
  const vc = common.validation_context ?? {};
  const vcPath = `${commonPath}.validation_context`;
  // The SPIFFE validator does all validation (Envoy ignores trusted_ca and the SAN matchers' other types then).
  const spiffe = usesCustomValidator(vc)
    ? compileSpiffeValidator(vc, baseDir, vcPath, (p, detail, cause) => new ClusterConfigError(p, detail, cause === undefined ? undefined : { cause }))
    : undefined;
  const trustedCa = spiffe ? Buffer.from(spiffe.handshakeCaPem) : vc.trusted_ca ? await readDataSource(vc.trusted_ca, baseDir, `${vcPath}.trusted_ca`) : undefined;
  const sans = spiffe ? undefined : sanCheck(vc, vcPath);
  if (sans && !trustedCa) {
    throw new ClusterConfigError(`${vcPath}.trusted_ca`, 'subject alt name matching needs a trusted_ca: SAN-based verification without a trusted CA is insecure (Envoy refuses it too)');
  }
  const pins = pinCheck(vc);
  // Without a trusted_ca Envoy does not verify the chain; ACCEPT_UNTRUSTED skips it on purpose.
  const verifyChain = trustedCa !== undefined && vc.trust_chain_verification !== 'ACCEPT_UNTRUSTED';
  const leafOk = verifyChain ? compileLeafCheck(vc, 'server') : undefined;

  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({
      ...(chains.length ? { cert: chains, key: keys } : {}),
      ...(trustedCa ? { ca: trustedCa } : {}),
      ...tlsVersionOptions(common.tls_params, 'client'),
      ...(common.tls_params?.ecdh_curves?.length ? { ecdhCurve: common.tls_params.ecdh_curves.join(':') } : {}),
    });
  } catch (err) {
    throw new ClusterConfigError(commonPath, `invalid TLS material or parameters: ${(err as Error).message}`, { cause: err });
  }

  const alpn = common.alpn_protocols ?? [];
  const sni = ctx.sni || undefined;
  return {
    secureContext,
    sni,
    alpn,
    connectOptions(alpnFallback) {
      const protocols = alpn.length ? alpn : alpnFallback;
      return {
        secureContext,
        ...(sni ? { servername: sni } : {}),
        ...(protocols?.length ? { ALPNProtocols: [...protocols] } : {}),
        // Chain and SAN checks run in verify() after the handshake, with Envoy's rules (no hostname check).
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      };
    },
    verify(socket) {
      if (spiffe) {
        const refused = spiffe.verify(socket, 'server') ?? pins?.(socket.getPeerCertificate());
        return refused ? new Error(`upstream certificate verification failed: ${refused}`) : undefined;
      }
      if (verifyChain && !socket.authorized) {
        return new Error(`upstream certificate verification failed: ${verifyErrorText(socket.authorizationError)}`);
      }
      if (!sans && !pins && !leafOk) return undefined;
      const cert = socket.getPeerCertificate();
      if (!cert || !cert.raw) return new Error('upstream presented no certificate');
      const leafProblem = leafOk?.(cert);
      const problem = (leafProblem && `upstream ${leafProblem}`) ?? sans?.(cert) ?? pins?.(cert);
      return problem ? new Error(problem) : undefined;
    },
  };
}
