import * as grpc from '@grpc/grpc-js';
import * as x509 from '../x509.js';
import type { Logger } from 'pino';
import type { CertificateAuthority } from '../authority.js';
import { DEFAULT_MAX_WORKLOAD_TTL_MS, DEFAULT_WORKLOAD_TTL_MS } from '../authority.js';
import type { Certificate } from '../certificate.js';
import { toPem } from '../certificate.js';
import { PkiError } from '../errors.js';
import { exportPrivateKeyPem } from '../keys.js';
import { renewalTime } from '../renewal.js';
import { verifyBootstrapToken } from '../token.js';
import { verifyPeerChain } from '../verify.js';
import { istioCertificateService } from './proto.js';
import type { IstioCertificateRequest, IstioCertificateResponse } from './proto.js';

/** The name clients verify the CA server's certificate against (istiod's service name). */
export const CA_SERVER_NAME = 'istiod.istio-system.svc';

export interface CaServerOptions {
  readonly authority: CertificateAuthority;
  readonly host?: string;
  /** 0 picks a free port. Istio serves its CA on 15012. */
  readonly port?: number;
  /** Roots that caller certificates must chain to; the CA's own root by default. */
  readonly roots?: readonly Certificate[];
  /** Intermediates besides the CA's own chain that may have issued caller certificates (e.g. a VM CA). */
  readonly intermediates?: readonly Certificate[];
  /**
   * Other intermediates under the same root that sign for the callers they vouch for (a VM CA): a token
   * one of them signed, or a certificate it issued, gets a certificate from that authority.
   */
  readonly extraAuthorities?: readonly CertificateAuthority[];
  /** Other trust domains whose callers may renew, or "any" (PILOT_SKIP_VALIDATE_TRUST_DOMAIN). */
  readonly allowedTrustDomains?: readonly string[] | 'any';
  readonly defaultTtlMs?: number;
  readonly maxTtlMs?: number;
  readonly logger?: Logger;
}

type Identity = { spiffeId: string; via: 'certificate' | 'token'; authority: CertificateAuthority };

function statusFor(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof PkiError) {
    const details = err.hint ? `${err.message} (fix: ${err.hint})` : err.message;
    switch (err.code) {
      case 'ERR_PKI_CSR_MALFORMED':
      case 'ERR_PKI_CSR_SIGNATURE':
      case 'ERR_PKI_TTL':
      case 'ERR_PKI_SPIFFE_ID':
        return { code: grpc.status.INVALID_ARGUMENT, details };
      case 'ERR_PKI_CSR_CA_REQUESTED':
      case 'ERR_PKI_CSR_IDENTITY':
        return { code: grpc.status.PERMISSION_DENIED, details };
      default:
        return { code: grpc.status.UNAUTHENTICATED, details };
    }
  }
  return { code: grpc.status.INTERNAL, details: 'internal error while signing the certificate' };
}

/**
 * A CSR-signing service compatible with Istio's CA API (istio.v1.auth.IstioCertificateService) over TLS.
 * A caller authenticates with a certificate this CA's hierarchy issued (renewal) or with a bootstrap
 * token (first certificate), and obtains only the SPIFFE identity it is entitled to.
 */
export class IstioCaServer {
  private readonly server = new grpc.Server();
  private readonly options: CaServerOptions;
  private readonly identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  private identity: grpc.experimental.IdentityCertificateUpdate | null = null;
  private rotationTimer: NodeJS.Timeout | undefined;
  private boundPort = 0;
  /** Counters for admin/metrics, and for tests to check that a refusal issued nothing. */
  readonly stats = { issued: 0, refused: 0 };

  constructor(options: CaServerOptions) {
    this.options = options;
    this.server.addService(istioCertificateService().service, {
      CreateCertificate: (call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, callback: grpc.sendUnaryData<IstioCertificateResponse>) => {
        this.createCertificate(call).then(
          (response) => {
            this.stats.issued += 1;
            callback(null, response);
          },
          (err: unknown) => {
            this.stats.refused += 1;
            const status = statusFor(err);
            this.options.logger?.warn({ peer: call.getPeer(), code: grpc.status[status.code], reason: status.details }, 'certificate request refused');
            callback({ code: status.code, details: status.details });
          },
        );
      },
    });
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<number> {
    await this.rotateServingCertificate();
    const ca = this.options.authority;
    const rootsPem = Buffer.from(toPem(this.options.roots ?? [ca.root]));
    // Ask for a client certificate but do not require one: a first-time caller has only a token.
    const credentials = grpc.experimental.createCertificateProviderServerCredentials(
      this.identityProvider(),
      {
        addCaCertificateListener: (listener) => queueMicrotask(() => listener({ caCertificate: rootsPem })),
        removeCaCertificateListener: () => undefined,
        addIdentityCertificateListener: () => undefined,
        removeIdentityCertificateListener: () => undefined,
      },
      false,
    );
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(`${this.options.host ?? '127.0.0.1'}:${this.options.port ?? 0}`, credentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
    this.options.logger?.info({ port: this.boundPort, trustDomain: ca.trustDomain }, 'Istio CA service listening');
    return this.boundPort;
  }

  async stop(): Promise<void> {
    clearTimeout(this.rotationTimer);
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private identityProvider(): grpc.experimental.CertificateProvider {
    return {
      addCaCertificateListener: () => undefined,
      removeCaCertificateListener: () => undefined,
      addIdentityCertificateListener: (listener) => {
        this.identityListeners.add(listener);
        // grpc-js registers its watcher only after adding listeners: deliver asynchronously.
        queueMicrotask(() => listener(this.identity));
      },
      removeIdentityCertificateListener: (listener) => {
        this.identityListeners.delete(listener);
      },
    };
  }

  /** Issues the server's own certificate and re-issues it before it is due, without a restart. */
  private async rotateServingCertificate(): Promise<void> {
    const ca = this.options.authority;
    const issued = await ca.issueWithNewKey({
      spiffeId: `spiffe://${ca.trustDomain}/ns/istio-system/sa/istiod-service-account`,
      dnsNames: [CA_SERVER_NAME, 'localhost'],
    });
    this.identity = {
      certificate: Buffer.from(toPem([issued.certificate, ...issued.chain.filter((c) => c.subject !== c.issuer)])),
      privateKey: Buffer.from(await exportPrivateKeyPem(issued.keys.privateKey)),
    };
    for (const listener of this.identityListeners) listener(this.identity);
    const delay = Math.max(1000, renewalTime(issued.certificate).getTime() - Date.now());
    this.rotationTimer = setTimeout(() => void this.rotateServingCertificate(), Math.min(delay, 2 ** 31 - 1));
    this.rotationTimer.unref();
  }

  private async authenticate(call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>): Promise<Identity> {
    const ca = this.options.authority;
    const authorization = call.metadata.get('authorization')[0];
    if (typeof authorization === 'string' && authorization.length > 0) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!match) throw new PkiError('ERR_PKI_TOKEN', 'the authorization header is not "Bearer <token>"');
      return this.verifyToken(match[1] as string);
    }
    const peer = call.getAuthContext().sslPeerCertificate;
    if (peer?.raw) {
      const leaf = new x509.X509Certificate(peer.raw);
      const extra = this.options.extraAuthorities ?? [];
      const allowed = this.options.allowedTrustDomains === 'any' ? 'any' : [...(this.options.allowedTrustDomains ?? []), ...extra.map((a) => a.trustDomain)];
      const verified = verifyPeerChain([leaf], {
        roots: this.options.roots ?? [ca.root],
        intermediates: [ca.certificate, ...ca.chain, ...extra.map((a) => a.certificate), ...(this.options.intermediates ?? [])],
        trustDomain: ca.trustDomain,
        ...(allowed === 'any' || allowed.length > 0 ? { allowedTrustDomains: allowed } : {}),
        role: 'client',
      });
      // The chain verified above; the intermediate that issued the leaf renews it.
      const issuer = extra.find((a) => a.certificate.subject === leaf.issuer);
      return { spiffeId: verified.spiffeId.uri, via: 'certificate', authority: issuer ?? ca };
    }
    // grpc-js hides a client certificate that failed TLS verification (another root, expired), so this
    // also covers a caller whose certificate was not accepted: say so rather than "no certificate".
    throw new PkiError('ERR_PKI_UNTRUSTED', 'no credentials: the caller presented no bootstrap token and no client certificate that verifies against this CA\'s roots (a certificate that is expired or from another root counts as none)', {
      hint: 'connect with a current certificate issued by this CA, or send "authorization: Bearer <token>" from `isthmus ca token`',
    });
  }

  /** The primary CA's token first, then the extra authorities': the one that signed it issues. */
  private async verifyToken(token: string): Promise<Identity> {
    const ca = this.options.authority;
    try {
      return { spiffeId: await verifyBootstrapToken(ca, token), via: 'token', authority: ca };
    } catch (err) {
      for (const authority of this.options.extraAuthorities ?? []) {
        try {
          return { spiffeId: await verifyBootstrapToken(authority, token), via: 'token', authority };
        } catch {
          // not this one's
        }
      }
      throw err;
    }
  }

  private async createCertificate(call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>): Promise<IstioCertificateResponse> {
    const identity = await this.authenticate(call);
    const request = call.request;
    const fields = (request.metadata as { fields?: Record<string, unknown> } | undefined)?.fields ?? {};
    if ('ImpersonatedIdentity' in fields) {
      throw new PkiError('ERR_PKI_CSR_IDENTITY', 'impersonation (metadata ImpersonatedIdentity) is not allowed', {
        hint: 'ask for the identity you authenticate as',
      });
    }
    const seconds = Number(request.validity_duration);
    const ttlMs = seconds > 0 ? seconds * 1000 : (this.options.defaultTtlMs ?? DEFAULT_WORKLOAD_TTL_MS);
    const issued = await identity.authority.signCsr(request.csr, {
      identity: identity.spiffeId,
      ttlMs,
      maxTtlMs: this.options.maxTtlMs ?? DEFAULT_MAX_WORKLOAD_TTL_MS,
    });
    this.options.logger?.info(
      { spiffeId: identity.spiffeId, via: identity.via, serial: issued.certificate.serialNumber, notAfter: issued.certificate.notAfter.toISOString() },
      'certificate issued',
    );
    return { cert_chain: [issued.certificate, ...issued.chain].map((c) => c.toString('pem')) };
  }
}
