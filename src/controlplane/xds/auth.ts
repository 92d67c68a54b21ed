import type * as grpc from '@grpc/grpc-js';
import { PkiError, parseCertificates, verifyPeerChain } from '../../pki/index.js';
import type { Certificate } from '../../pki/index.js';
import { XdsError } from './errors.js';
import type { XdsIdentity } from './status.js';

/** The parts of an ADS call an authenticator may look at. */
export type AdsCall = Pick<grpc.ServerDuplexStream<unknown, unknown>, 'getPeer' | 'getAuthContext' | 'metadata'>;

/** Decides who is calling, or throws XdsError('ERR_XDS_UNAUTHENTICATED') to end the stream. */
export type Authenticator = (call: AdsCall) => XdsIdentity | Promise<XdsIdentity>;

/** Everyone is "anonymous": for plaintext tests and a control plane on a trusted local network. */
export const allowAll: Authenticator = () => ({ principal: 'anonymous', method: 'none' });

export interface PeerCertificateOptions {
  /** Roots the proxy's certificate must chain to. */
  readonly roots: readonly Certificate[];
  /** Intermediates the proxy may not send (e.g. a VM CA). */
  readonly intermediates?: readonly Certificate[];
  readonly trustDomain?: string;
  readonly allowedTrustDomains?: readonly string[] | 'any';
}

/**
 * mTLS: the proxy's client certificate (as the TLS handshake presented it) must be a SPIFFE
 * certificate that chains to `roots`; its SPIFFE ID is the identity.
 */
export function peerCertificateAuthenticator(trust: PeerCertificateOptions | (() => PeerCertificateOptions)): Authenticator {
  return (call) => {
    // A getter lets the trust follow a root rotation without rebuilding the server.
    const options = typeof trust === 'function' ? trust() : trust;
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    if (!raw) {
      throw new XdsError('ERR_XDS_UNAUTHENTICATED', `${call.getPeer()} presented no client certificate that verifies against the control plane's roots`, {
        hint: 'connect over mTLS with a workload certificate issued by the mesh CA (isthmus ca issue)',
      });
    }
    try {
      const [leaf] = parseCertificates(`-----BEGIN CERTIFICATE-----\n${raw.toString('base64')}\n-----END CERTIFICATE-----\n`, 'peer certificate');
      const verified = verifyPeerChain([leaf as Certificate], {
        roots: options.roots,
        ...(options.intermediates ? { intermediates: options.intermediates } : {}),
        ...(options.trustDomain ? { trustDomain: options.trustDomain } : {}),
        ...(options.allowedTrustDomains ? { allowedTrustDomains: options.allowedTrustDomains } : {}),
        role: 'client',
      });
      return { principal: verified.spiffeId.uri, method: 'mtls', serial: verified.leaf.serialNumber };
    } catch (err) {
      if (err instanceof PkiError) throw new XdsError('ERR_XDS_UNAUTHENTICATED', `${call.getPeer()}: ${err.message}`, { ...(err.hint ? { hint: err.hint } : {}), cause: err });
      throw err;
    }
  };
}

/** "authorization: Bearer <token>", checked by `verify`, which returns the identity it proves. */
export function bearerTokenAuthenticator(verify: (token: string) => string | Promise<string>): Authenticator {
  return async (call) => {
    const header = call.metadata.get('authorization')[0];
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      throw new XdsError('ERR_XDS_UNAUTHENTICATED', `${call.getPeer()} sent no "authorization: Bearer <token>" header`, {
        hint: 'configure the proxy with a token for the control plane',
      });
    }
    try {
      return { principal: await verify(match[1] as string), method: 'token' };
    } catch (err) {
      if (err instanceof XdsError) throw err;
      throw new XdsError('ERR_XDS_UNAUTHENTICATED', `${call.getPeer()}: the token was refused: ${(err as Error).message}`, { cause: err });
    }
  };
}

/**
 * Istio's xDS-over-TLS port (15012): a proxy proves who it is with its workload certificate, or with a
 * bootstrap token before it has one. A certificate that TLS verified wins; a token is looked at only
 * when there is none. grpc-js hides a client certificate that failed verification (another CA,
 * expired), so such a caller counts as one without a certificate and the message says so.
 */
export function certificateOrToken(certificate: Authenticator, token: Authenticator): Authenticator {
  return (call) => {
    if (call.getAuthContext()?.sslPeerCertificate?.raw) return certificate(call);
    if (call.metadata.get('authorization').length > 0) return token(call);
    throw new XdsError('ERR_XDS_UNAUTHENTICATED', `${call.getPeer()} presented neither a client certificate that verifies against the mesh roots (one from another CA, or expired, counts as none) nor an "authorization: Bearer <token>" header`, {
      hint: 'start the proxy with its workload certificate (--ca-address with --bootstrap-token), or with a bootstrap token from `isthmus ca token` (--bootstrap-token)',
    });
  };
}
