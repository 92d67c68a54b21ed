import * as grpc from '@grpc/grpc-js';

/** What an xDS-over-TLS server presents, and the roots its callers' certificates must chain to. */
export interface ServingIdentity {
  /** Leaf first, then its intermediates. */
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  /** The trust bundle client certificates are verified against. */
  readonly rootsPem: string;
}

type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

/**
 * gRPC server credentials whose certificate and client-certificate roots can be replaced while the
 * server runs (certificate renewal, root rotation): new handshakes use the latest, open connections
 * keep theirs. A client certificate is asked for but not required, so a proxy that has only a bootstrap
 * token can still connect; the authenticator decides.
 */
export class RotatingServerCredentials {
  readonly credentials: grpc.ServerCredentials;
  private identity: grpc.experimental.IdentityCertificateUpdate;
  private ca: grpc.experimental.CaCertificateUpdate;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();

  constructor(initial: ServingIdentity) {
    this.identity = identityUpdate(initial);
    this.ca = { caCertificate: Buffer.from(initial.rootsPem) };
    const identityProvider: grpc.experimental.CertificateProvider = {
      addCaCertificateListener: () => undefined,
      removeCaCertificateListener: () => undefined,
      addIdentityCertificateListener: (listener) => {
        this.identityListeners.add(listener);
        // grpc-js starts watching only after it added its listeners: deliver asynchronously.
        queueMicrotask(() => listener(this.identity));
      },
      removeIdentityCertificateListener: (listener) => void this.identityListeners.delete(listener),
    };
    const caProvider: grpc.experimental.CertificateProvider = {
      addCaCertificateListener: (listener) => {
        this.caListeners.add(listener);
        queueMicrotask(() => listener(this.ca));
      },
      removeCaCertificateListener: (listener) => void this.caListeners.delete(listener),
      addIdentityCertificateListener: () => undefined,
      removeIdentityCertificateListener: () => undefined,
    };
    this.credentials = grpc.experimental.createCertificateProviderServerCredentials(identityProvider, caProvider, false);
  }

  update(next: ServingIdentity): void {
    this.identity = identityUpdate(next);
    this.ca = { caCertificate: Buffer.from(next.rootsPem) };
    for (const listener of this.caListeners) listener(this.ca);
    for (const listener of this.identityListeners) listener(this.identity);
  }
}

function identityUpdate(identity: ServingIdentity): grpc.experimental.IdentityCertificateUpdate {
  return { certificate: Buffer.from(identity.certificateChainPem), privateKey: Buffer.from(identity.privateKeyPem) };
}
