/**
 * xDS over TLS, istiod's 15012: the control plane presents a certificate from its own mesh CA (the
 * name proxies verify, istiod.istio-system.svc, and its SPIFFE ID), asks callers for a client
 * certificate, and takes as a proxy's identity either its mesh workload certificate or, before it has
 * one, the bootstrap token `isthmus ca token` / POST /v1/ca/tokens issued to it.
 */
import type { Logger } from 'pino';
import { CA_SERVER_NAME, PkiError, renewalTime, toPem, exportPrivateKeyPem, verifyBootstrapToken } from '../pki/index.js';
import type { Certificate } from '../pki/index.js';
import type { MeshCertificateAuthorities } from './mesh-ca.js';
import { RotatingServerCredentials, XdsError, bearerTokenAuthenticator, certificateOrToken, peerCertificateAuthenticator } from './xds/index.js';
import type { Authenticator, ServingIdentity } from './xds/index.js';

/** The control plane's own identity, as istiod's service account has it. */
export function controlPlaneSpiffeId(trustDomain: string): string {
  return `spiffe://${trustDomain}/ns/istio-system/sa/istiod-service-account`;
}

export class XdsTlsEndpoint {
  readonly authenticate: Authenticator;
  private timer: NodeJS.Timeout | undefined;
  /**
   * Intermediates that issued workload certificates: the current mesh and VM CAs, and those from before
   * a root rotation (their certificates stay valid until renewed, as the old root stays in the bundle).
   */
  private readonly intermediates: Certificate[] = [];
  private stopped = false;

  private constructor(private readonly authorities: MeshCertificateAuthorities, readonly credentials: RotatingServerCredentials, private readonly logger: Logger | undefined) {
    this.rememberIntermediates();
    const vmTrustDomain = authorities.vm.trustDomain;
    const certificate = peerCertificateAuthenticator(() => ({
      roots: this.authorities.roots(),
      intermediates: this.intermediates,
      trustDomain: this.authorities.trustDomain,
      ...(vmTrustDomain !== this.authorities.trustDomain ? { allowedTrustDomains: [vmTrustDomain] } : {}),
    }));
    this.authenticate = certificateOrToken(certificate, bearerTokenAuthenticator((token) => this.verifyToken(token)));
  }

  static async start(authorities: MeshCertificateAuthorities, logger?: Logger): Promise<XdsTlsEndpoint> {
    const { identity, renewAt } = await issueServing(authorities);
    const endpoint = new XdsTlsEndpoint(authorities, new RotatingServerCredentials(identity), logger);
    endpoint.schedule(renewAt);
    return endpoint;
  }

  /** A new serving certificate now (after a root rotation), trusting the current roots. */
  async refresh(): Promise<void> {
    this.rememberIntermediates();
    const { identity, renewAt } = await issueServing(this.authorities);
    this.credentials.update(identity);
    this.logger?.info({ spiffeId: controlPlaneSpiffeId(this.authorities.trustDomain), renewAt: renewAt.toISOString() }, 'xDS TLS serving certificate issued');
    this.schedule(renewAt);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(at: Date): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const delay = Math.min(Math.max(1_000, at.getTime() - Date.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.refresh().catch((err: unknown) => {
        this.logger?.error({ err: (err as Error).message }, 'xDS TLS serving certificate renewal failed; retrying in 30 s');
        this.schedule(new Date(Date.now() + 30_000));
      });
    }, delay);
    this.timer.unref();
  }

  private rememberIntermediates(): void {
    for (const ca of [this.authorities.mesh, this.authorities.vm]) {
      if (!this.intermediates.some((c) => c.equal(ca.certificate))) this.intermediates.push(ca.certificate);
    }
  }

  /** A token the mesh CA signed, or the VM CA (identities handed to VMs): the same ones the CA service takes. */
  private async verifyToken(token: string): Promise<string> {
    let first: unknown;
    for (const authority of [this.authorities.mesh, this.authorities.vm]) {
      try {
        return await verifyBootstrapToken(authority, token);
      } catch (err) {
        first ??= err;
      }
    }
    const why = first instanceof PkiError ? first.message : 'it cannot be read';
    throw new XdsError('ERR_XDS_UNAUTHENTICATED', `the bearer token was refused: ${why}`, {
      hint: 'get a current one with `isthmus ca token --spiffe spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>` from this control plane',
      cause: first,
    });
  }
}

async function issueServing(authorities: MeshCertificateAuthorities): Promise<{ identity: ServingIdentity; renewAt: Date }> {
  const ca = authorities.mesh;
  const issued = await ca.issueWithNewKey({ spiffeId: controlPlaneSpiffeId(authorities.trustDomain), dnsNames: [CA_SERVER_NAME, 'localhost'] });
  return {
    identity: {
      certificateChainPem: toPem([issued.certificate, ...issued.chain.filter((c) => c.subject !== c.issuer)]),
      privateKeyPem: await exportPrivateKeyPem(issued.keys.privateKey),
      rootsPem: authorities.rootsPem(),
    },
    renewAt: renewalTime(issued.certificate),
  };
}
