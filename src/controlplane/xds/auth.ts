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
export function peerCertificateAuthenticator(options: PeerCertificateOptions): Authenticator {
  return (call) => {
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
      return { principal: verified.spiffeId.uri, method: 'mtls' };
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
