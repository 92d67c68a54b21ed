import { constants } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { PeerCertificate, TLSSocket, TlsOptions } from 'node:tls';
import type { DownstreamTlsContext } from '../../envoy/index.js';
import { readDataSource } from './data-source.js';
import { tlsVersionOptions } from './params.js';
import { compileLeafCheck } from './peer-certificate.js';
import { compileSanMatcher } from './san.js';
import { compileSpiffeValidator, usesCustomValidator } from './spiffe-validator.js';
import { sessionOptions } from './session.js';

/** A filter chain's DownstreamTlsContext, compiled once: the options of its tls.Server. */
export interface DownstreamTls {
  /** Certificates, trust, versions, ciphers, ALPN, and whether to request/require client certificates. */
  readonly serverOptions: TlsOptions;
  /** Checks after the handshake that Node does not do itself (SAN match, untrusted optional certs). */
  verifyPeer(socket: TLSSocket): string | undefined;
}

export function compileDownstreamTls(ctx: DownstreamTlsContext, baseDir: string, path: string): DownstreamTls {
  const common = ctx.common_tls_context ?? {};
  const certs = common.tls_certificates ?? [];
  if (certs.length === 0) throw new Error(`${path}.common_tls_context.tls_certificates: a server-side TLS context needs at least one certificate`);
  const validation = common.validation_context;
  if (usesCustomValidator(validation)) return compileSpiffeDownstream(ctx, baseDir, path);
  const trustedCa = validation?.trusted_ca ? readDataSource(validation.trusted_ca, baseDir, `${path}.common_tls_context.validation_context.trusted_ca`) : undefined;
  if (ctx.require_client_certificate && !trustedCa) {
    throw new Error(`${path}.require_client_certificate: requires common_tls_context.validation_context.trusted_ca to verify client certificates`);
  }
  const contextOptions = {
    cert: certs.map((c, i) => readDataSource(c.certificate_chain, baseDir, `${path}.common_tls_context.tls_certificates[${i}].certificate_chain`)),
    key: certs.map((c, i) => ({ pem: readDataSource(c.private_key, baseDir, `${path}.common_tls_context.tls_certificates[${i}].private_key`) })),
    ...(trustedCa ? { ca: trustedCa } : {}),
    ...tlsVersionOptions(common.tls_params),
  };
  try {
    createSecureContext(contextOptions); // fail at start-up, with the path, on a bad key or certificate
  } catch (err) {
    throw new Error(`${path}.common_tls_context.tls_certificates: ${(err as Error).message}`, { cause: err });
  }
  const sanOk = compileSanMatcher(validation, `${path}.common_tls_context.validation_context`, (at, detail, cause) => new Error(`${at}: ${detail}`, cause === undefined ? undefined : { cause }));
  const acceptUntrusted = validation?.trust_chain_verification === 'ACCEPT_UNTRUSTED';
  const requestCert = trustedCa !== undefined;
  const leafOk = compileLeafCheck(validation, 'client');
  const session = sessionOptions(ctx, contextOptions);
  return {
    serverOptions: {
      ...contextOptions,
      requestCert,
      rejectUnauthorized: ctx.require_client_certificate === true && !acceptUntrusted,
      ...(common.alpn_protocols?.length ? { ALPNProtocols: common.alpn_protocols } : {}),
      ...session,
      // As BoringSSL in Envoy: a client may not renegotiate (TLS 1.2); each one costs the server a handshake.
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION | (session.secureOptions ?? 0),
    },
    verifyPeer(socket: TLSSocket): string | undefined {
      if (!requestCert) return undefined;
      const cert = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
      const presented = cert && Object.keys(cert).length > 0;
      if (!presented) return ctx.require_client_certificate ? 'client certificate required' : undefined;
      // Envoy verifies an optional client certificate when one is presented.
      if (!socket.authorized && !acceptUntrusted) return `client certificate not trusted: ${String(socket.authorizationError)}`;
      const leafProblem = acceptUntrusted ? undefined : leafOk(cert as PeerCertificate);
      if (leafProblem) return leafProblem;
      if (sanOk && !sanOk((cert as PeerCertificate).subjectaltname)) return 'client certificate SAN does not match';
      return undefined;
    },
  };
}

/**
 * A chain whose validation context hands validation to the SPIFFE validator: a client certificate is
 * always required (Envoy's validator asks for one), and each peer is checked against its own trust
 * domain's bundle after the handshake.
 */
function compileSpiffeDownstream(ctx: DownstreamTlsContext, baseDir: string, path: string): DownstreamTls {
  const common = ctx.common_tls_context ?? {};
  const certs = common.tls_certificates ?? [];
  const vcPath = `${path}.common_tls_context.validation_context`;
  const validator = compileSpiffeValidator(common.validation_context ?? {}, baseDir, vcPath, (at, detail, cause) => new Error(`${at}: ${detail}`, cause === undefined ? undefined : { cause }));
  const contextOptions = {
    cert: certs.map((c, i) => readDataSource(c.certificate_chain, baseDir, `${path}.common_tls_context.tls_certificates[${i}].certificate_chain`)),
    key: certs.map((c, i) => ({ pem: readDataSource(c.private_key, baseDir, `${path}.common_tls_context.tls_certificates[${i}].private_key`) })),
    ca: validator.handshakeCaPem,
    ...tlsVersionOptions(common.tls_params),
  };
  try {
    createSecureContext(contextOptions);
  } catch (err) {
    throw new Error(`${path}.common_tls_context.tls_certificates: ${(err as Error).message}`, { cause: err });
  }
  const session = sessionOptions(ctx, contextOptions);
  return {
    serverOptions: {
      ...contextOptions,
      requestCert: true,
      rejectUnauthorized: true,
      ...(common.alpn_protocols?.length ? { ALPNProtocols: common.alpn_protocols } : {}),
      ...session,
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION | (session.secureOptions ?? 0),
    },
    verifyPeer: (socket) => validator.verify(socket, 'client'),
  };
}
