import type { Logger } from 'pino';
import { exportPrivateKeyPem, renewalTime, requestCertificate, toPem } from '../../pki/index.js';
import type { Certificate } from '../../pki/index.js';
import type { SecretStore } from './sds.js';

export interface WorkloadCertificateOptions {
  /** host:port of the CA service (Istio's CA API). */
  readonly caAddress: string;
  /** PEM roots to verify the CA service, and the mesh trust bundle. */
  readonly rootsPem: string;
  readonly spiffeId: string;
  /** Bootstrap token for the first certificate; renewals authenticate with the current one. */
  readonly token?: string;
  readonly ttlMs?: number;
  readonly secrets: SecretStore;
  readonly logger?: Logger;
}

const inline = (pem: string) => ({ inline_bytes: Buffer.from(pem).toString('base64') });

/**
 * What istio-agent does for its Envoy: a key and CSR per certificate, signed by the mesh CA over the
 * CSR service, installed as the SDS secrets `default` (certificate) and `ROOTCA` (trust), and renewed
 * before it expires (at half its lifetime), with back-off when the CA is away.
 */
export class WorkloadCertificateManager {
  private timer: NodeJS.Timeout | undefined;
  private current: { certPem: string; keyPem: string; leaf: Certificate } | undefined;
  private failures = 0;
  private stopped = false;
  /** Serial numbers of the certificates installed, oldest first. */
  readonly issued: string[] = [];

  constructor(private readonly options: WorkloadCertificateOptions) {}

  /** Gets the first certificate; resolves once it is installed (or rejects with the CA's answer). */
  async start(): Promise<void> {
    await this.fetch();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * The current certificate while it is valid; once it expired (the CA was away past its end), the
   * bootstrap token again if there is one, as istio-agent always has its token: the CA refuses an
   * expired certificate, and without this the proxy could never get a certificate again.
   */
  private credentials(): { clientCertificate: { certPem: string; keyPem: string } } | { token: string } | Record<string, never> {
    const current = this.current;
    if (current && (current.leaf.notAfter.getTime() > Date.now() || !this.options.token)) return { clientCertificate: { certPem: current.certPem, keyPem: current.keyPem } };
    return this.options.token ? { token: this.options.token } : {};
  }

  /**
   * The trust bundle the control plane delivered as SDS `ROOTCA`, when it is not the one installed
   * here. During a root rotation it holds the new root next to the old: the CA service then presents a
   * certificate under the new root, and peers renew under it.
   */
  private deliveredRoots(): string | undefined {
    const trusted = this.options.secrets.get('ROOTCA')?.validation_context?.trusted_ca;
    const pem = trusted?.inline_bytes ? Buffer.from(trusted.inline_bytes, 'base64').toString() : trusted?.inline_string;
    return pem && pem !== this.options.rootsPem ? pem : undefined;
  }

  private async fetch(): Promise<void> {
    const o = this.options;
    const delivered = this.deliveredRoots();
    const response = await requestCertificate({
      address: o.caAddress,
      // The CA is verified against the configured roots and, after a rotation, the mesh's current bundle.
      rootsPem: delivered ? `${o.rootsPem.trimEnd()}\n${delivered}` : o.rootsPem,
      spiffeId: o.spiffeId,
      ...this.credentials(),
      ...(o.ttlMs ? { ttlMs: o.ttlMs } : {}),
    });
    const [leaf, ...rest] = response.chain;
    if (!leaf) throw new Error('the CA returned no certificate');
    const intermediates = rest.filter((c) => c.subject !== c.issuer);
    const certPem = toPem([leaf, ...intermediates]);
    const keyPem = await exportPrivateKeyPem(response.keys.privateKey);
    this.current = { certPem, keyPem, leaf };
    this.issued.push(leaf.serialNumber);
    // ROOTCA from the configured roots only until the control plane delivers its bundle: writing the
    // file's roots over it at each renewal dropped a rotated root from the proxy's trust.
    o.secrets.set([
      { name: 'default', tls_certificate: { certificate_chain: inline(certPem), private_key: inline(keyPem) } },
      // Until the control plane sends its own ROOTCA (rotated roots, federation), which a renewal must not overwrite.
      ...(o.secrets.get('ROOTCA') ? [] : [{ name: 'ROOTCA', validation_context: { trusted_ca: inline(o.rootsPem) } }]),
    ]);
    o.logger?.info({ spiffeId: o.spiffeId, serial: leaf.serialNumber, notAfter: leaf.notAfter.toISOString() }, 'workload certificate installed');
    this.failures = 0;
    // Never sooner than a second: a CA that hands out already-due certificates must not be hammered.
    this.schedule(Math.max(1_000, renewalTime(leaf).getTime() - Date.now()));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fetch().catch((err: unknown) => {
        this.failures += 1;
        const retry = retryDelayMs(this.failures, this.current?.leaf);
        this.options.logger?.warn({ err: (err as Error).message, retryMs: retry }, 'certificate renewal failed; the current certificate stays in use');
        this.schedule(retry);
      });
    }, Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
    this.timer.unref();
  }
}

/**
 * Back-off after a failed renewal: doubling from 1 s to 30 s, but never more than a tenth of the
 * certificate's lifetime (at least 500 ms). With short-lived certificates a plain back-off slept past
 * the certificate's end while the CA was away for a few seconds, and peers then refused the proxy.
 */
export function retryDelayMs(failures: number, leaf?: Pick<Certificate, 'notBefore' | 'notAfter'>): number {
  const backoff = Math.min(30_000, 500 * 2 ** failures);
  if (!leaf) return backoff;
  const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
  return Math.min(backoff, Math.max(500, Math.floor(lifetime / 10)));
}
