import type { CertificateValidationContext, CommonTlsContext, Secret } from '../../envoy/index.js';

/**
 * Secrets from SDS (and static_resources.secrets), by name. TLS contexts that refer to a secret by
 * name are resolved against this store into inline certificates before they are compiled, so one
 * TLS code path serves files, inline data and SDS alike.
 */
export class SecretStore {
  private readonly secrets = new Map<string, Secret>();
  private readonly listeners = new Set<(names: ReadonlySet<string>) => void>();

  get(name: string): Secret | undefined {
    return this.secrets.get(name);
  }

  names(): string[] {
    return [...this.secrets.keys()];
  }

  /** Replaces the given secrets; listeners hear which names changed. */
  set(secrets: readonly Secret[]): void {
    const changed = new Set<string>();
    for (const secret of secrets) {
      if (JSON.stringify(this.secrets.get(secret.name)) === JSON.stringify(secret)) continue;
      this.secrets.set(secret.name, secret);
      changed.add(secret.name);
    }
    if (changed.size > 0) for (const l of this.listeners) l(changed);
  }

  delete(names: readonly string[]): void {
    for (const n of names) this.secrets.delete(n);
  }

  onChange(listener: (names: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export interface SdsResolution<T> {
  readonly resolved: T;
  /** Every secret name the context refers to. */
  readonly names: string[];
  /** Names not (yet) in the store: the context is warming until they arrive. */
  readonly missing: string[];
}

/** Replaces SDS references in a CommonTlsContext with the secrets' certificates and trust. */
export function resolveCommonTlsContext(ctx: CommonTlsContext | undefined, store: SecretStore): SdsResolution<CommonTlsContext | undefined> {
  if (!ctx) return { resolved: ctx, names: [], missing: [] };
  const names: string[] = [];
  const missing: string[] = [];
  const lookup = (name: string) => {
    names.push(name);
    const secret = store.get(name);
    if (!secret) missing.push(name);
    return secret;
  };
  const { tls_certificate_sds_secret_configs: certRefs, validation_context_sds_secret_config: vcRef, combined_validation_context: combined, ...rest } = ctx;
  const out: CommonTlsContext = { ...rest };
  if (certRefs?.length) {
    out.tls_certificates = [...(ctx.tls_certificates ?? [])];
    for (const ref of certRefs) {
      const certificate = lookup(ref.name)?.tls_certificate;
      if (certificate) out.tls_certificates.push(certificate);
    }
  }
  const sdsValidation = (name: string): CertificateValidationContext | undefined => lookup(name)?.validation_context;
  if (vcRef) {
    const vc = sdsValidation(vcRef.name);
    if (vc) out.validation_context = vc;
  }
  if (combined) {
    // Envoy merges the default context (SAN matchers) with the one SDS delivers (trusted CA).
    const vc = sdsValidation(combined.validation_context_sds_secret_config.name);
    out.validation_context = { ...combined.default_validation_context, ...vc };
  }
  return { resolved: out, names, missing };
}

/** Resolves the common_tls_context inside a Downstream/UpstreamTlsContext typed config. */
export function resolveTlsContext<T extends { common_tls_context?: CommonTlsContext }>(ctx: T, store: SecretStore): SdsResolution<T> {
  const common = resolveCommonTlsContext(ctx.common_tls_context, store);
  return { resolved: common.resolved ? { ...ctx, common_tls_context: common.resolved } : ctx, names: common.names, missing: common.missing };
}
