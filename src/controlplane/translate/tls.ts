/**
 * TLS contexts as Istio builds them: upstream (DestinationRule tls) and downstream (Gateway server tls).
 * Kubernetes credentials and the mesh identity are SDS secrets served over ADS; file paths become
 * DataSources the proxy reads itself.
 */
import { TYPE_URL } from '../../envoy/index.js';
import type { CertificateValidationContext, DataSource, SubjectAltNameMatcher, TypedExtension } from '../../envoy/index.js';
import { ADS_CONFIG_SOURCE } from './envoy-ext.js';
import type { SdsSecretConfig, XdsCommonTlsContext, XdsDownstreamTlsContext, XdsUpstreamTlsContext } from './envoy-ext.js';
import type { ClientTlsSettings, ServerTlsSettings, TlsProtocolVersion } from './input.js';
import { credentialCaSecretName, credentialSecretName, SDS_DEFAULT, SDS_ROOTCA } from './names.js';

export const DEFAULT_SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** ALPN an Istio client offers to a mesh peer; the TCP metadata-exchange variant first. */
export const ALPN_IN_MESH = ['istio-peer-exchange', 'istio'];
export const ALPN_IN_MESH_H2 = ['istio-peer-exchange', 'istio', 'h2'];
export const ALPN_HTTP = ['h2', 'http/1.1'];

export function sdsSecret(name: string): SdsSecretConfig {
  return { name, sds_config: ADS_CONFIG_SOURCE };
}

/** SANs typed by their form: SPIFFE ids and other URIs, IP addresses, else DNS names (wildcards allowed). */
export function sanMatchers(sans: readonly string[]): SubjectAltNameMatcher[] {
  return sans.map((san) => ({
    san_type: san.includes('://') ? 'URI' : /^[\d.]+$|:/.test(san) ? 'IP_ADDRESS' : 'DNS',
    matcher: { exact: san },
  }));
}

function validationContext(trustedCa: DataSource | undefined, sans: readonly string[]): CertificateValidationContext {
  return {
    ...(trustedCa ? { trusted_ca: trustedCa } : {}),
    ...(sans.length > 0 ? { match_typed_subject_alt_names: sanMatchers(sans) } : {}),
  };
}

export function tlsTransportSocket(context: XdsUpstreamTlsContext | XdsDownstreamTlsContext, upstream: boolean): TypedExtension {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': upstream ? TYPE_URL.upstreamTlsContext : TYPE_URL.downstreamTlsContext, ...context },
  };
}

export interface TrustOptions {
  readonly verifyCertificateAtClient: boolean;
  readonly systemCaBundlePath: string;
  readonly systemCaBundlePem?: string;
  readonly extraTrustedRoots: readonly string[];
}

/** The system roots, as a file the proxy reads or, when extra roots must be added, inline PEM. */
export function systemTrust(trust: TrustOptions): { source: DataSource; warning?: string } {
  if (trust.extraTrustedRoots.length === 0) return { source: { filename: trust.systemCaBundlePath } };
  const parts = [...(trust.systemCaBundlePem ? [trust.systemCaBundlePem] : []), ...trust.extraTrustedRoots];
  return {
    source: { inline_string: parts.map((p) => p.trimEnd()).join('\n') + '\n' },
    ...(trust.systemCaBundlePem ? {} : { warning: 'extraTrustedRoots given without systemCaBundlePem: only the extra roots are trusted' }),
  };
}

export interface UpstreamTlsRequest {
  readonly tls: ClientTlsSettings | undefined;
  readonly clusterName: string;
  /** The SNI of ISTIO_MUTUAL when the rule sets none: outbound_.<port>_.<subset>_.<host>, what AUTO_PASSTHROUGH routes on. */
  readonly istioMtlsSni: string;
  /** Sidecars may not read Kubernetes credentials unless the rule selects them (Istio's rule). */
  readonly credentialsAllowed: boolean;
  readonly http2: boolean;
  /** SANs to expect when the settings name none (ServiceEntry subjectAltNames, SPIFFE ids of the endpoints). */
  readonly defaultSans: readonly string[];
  readonly trust: TrustOptions;
  readonly enableAutoSni: boolean;
}

export interface UpstreamTls {
  readonly context?: XdsUpstreamTlsContext;
  /** Envoy's auto_sni / auto_san_validation (HttpProtocolOptions.upstream_http_protocol_options). */
  readonly autoSni: boolean;
  readonly autoSanValidation: boolean;
  readonly warnings: readonly string[];
}

const NONE: UpstreamTls = { autoSni: false, autoSanValidation: false, warnings: [] };

export function buildUpstreamTls(req: UpstreamTlsRequest): UpstreamTls {
  const tls = req.tls;
  if (!tls || !tls.mode || tls.mode === 'DISABLE') return NONE;
  const sans = tls.subjectAltNames && tls.subjectAltNames.length > 0 ? tls.subjectAltNames : req.defaultSans;

  if (tls.mode === 'ISTIO_MUTUAL') {
    return {
      ...NONE,
      context: {
        sni: tls.sni ?? req.istioMtlsSni,
        common_tls_context: {
          alpn_protocols: req.http2 ? [...ALPN_IN_MESH_H2] : [...ALPN_IN_MESH],
          tls_certificate_sds_secret_configs: [sdsSecret(SDS_DEFAULT)],
          combined_validation_context: {
            default_validation_context: validationContext(undefined, sans),
            validation_context_sds_secret_config: sdsSecret(SDS_ROOTCA),
          },
        },
      },
    };
  }

  const mutual = tls.mode === 'MUTUAL';
  const warnings: string[] = [];
  const common: XdsCommonTlsContext = {};
  let validated = false;
  if (tls.credentialName) {
    if (!req.credentialsAllowed) {
      return { ...NONE, warnings: [`credentialName "${tls.credentialName}" is only used by gateways or by rules with a workloadSelector; no TLS for ${req.clusterName}`] };
    }
    if (mutual) common.tls_certificate_sds_secret_configs = [sdsSecret(credentialSecretName(tls.credentialName))];
    if (!tls.insecureSkipVerify) {
      common.combined_validation_context = {
        default_validation_context: validationContext(undefined, sans),
        validation_context_sds_secret_config: sdsSecret(credentialCaSecretName(tls.credentialName)),
      };
      validated = true;
    }
  } else {
    if (mutual) {
      if (!tls.clientCertificate || !tls.privateKey) {
        return { ...NONE, warnings: [`MUTUAL tls for ${req.clusterName} needs clientCertificate and privateKey (or credentialName); no TLS`] };
      }
      common.tls_certificates = [{ certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } }];
    }
    if (!tls.insecureSkipVerify) {
      if (tls.caCertificates) {
        common.validation_context = validationContext({ filename: tls.caCertificates }, sans);
        validated = true;
      } else if (req.trust.verifyCertificateAtClient) {
        const system = systemTrust(req.trust);
        if (system.warning) warnings.push(system.warning);
        common.validation_context = validationContext(system.source, sans);
        validated = true;
      }
    }
  }
  if (req.http2) common.alpn_protocols = ['h2'];
  const autoSni = !tls.sni && req.enableAutoSni;
  return {
    context: { ...(tls.sni ? { sni: tls.sni } : {}), common_tls_context: common },
    autoSni,
    autoSanValidation: autoSni && validated && (tls.subjectAltNames ?? []).length === 0,
    warnings,
  };
}

const TLS_VERSION: Record<TlsProtocolVersion, string> = { TLS_AUTO: 'TLS_AUTO', TLSV1_0: 'TLSv1_0', TLSV1_1: 'TLSv1_1', TLSV1_2: 'TLSv1_2', TLSV1_3: 'TLSv1_3' };

/** The DownstreamTlsContext of a TLS-terminating gateway server; undefined for passthrough. */
export function buildDownstreamTls(tls: ServerTlsSettings | undefined): XdsDownstreamTlsContext | undefined {
  if (!tls || !tls.mode || tls.mode === 'PASSTHROUGH' || tls.mode === 'AUTO_PASSTHROUGH') return undefined;
  const mutual = tls.mode === 'MUTUAL' || tls.mode === 'ISTIO_MUTUAL';
  const validate = mutual || tls.mode === 'OPTIONAL_MUTUAL';
  const sans = tls.subjectAltNames ?? [];
  const common: XdsCommonTlsContext = { alpn_protocols: [...ALPN_HTTP] };
  if (tls.mode === 'ISTIO_MUTUAL') {
    common.tls_certificate_sds_secret_configs = [sdsSecret(SDS_DEFAULT)];
    common.combined_validation_context = { default_validation_context: validationContext(undefined, sans), validation_context_sds_secret_config: sdsSecret(SDS_ROOTCA) };
  } else if (tls.credentialName) {
    common.tls_certificate_sds_secret_configs = [sdsSecret(credentialSecretName(tls.credentialName))];
    if (validate) {
      common.combined_validation_context = {
        default_validation_context: validationContext(undefined, sans),
        validation_context_sds_secret_config: sdsSecret(credentialCaSecretName(tls.credentialName)),
      };
    }
  } else {
    if (tls.serverCertificate && tls.privateKey) {
      common.tls_certificates = [{ certificate_chain: { filename: tls.serverCertificate }, private_key: { filename: tls.privateKey } }];
    }
    if (validate && tls.caCertificates) common.validation_context = validationContext({ filename: tls.caCertificates }, sans);
  }
  if (tls.mode !== 'ISTIO_MUTUAL') {
    const params: Record<string, unknown> = {};
    if (tls.minProtocolVersion && tls.minProtocolVersion !== 'TLS_AUTO') params.tls_minimum_protocol_version = TLS_VERSION[tls.minProtocolVersion];
    if (tls.maxProtocolVersion && tls.maxProtocolVersion !== 'TLS_AUTO') params.tls_maximum_protocol_version = TLS_VERSION[tls.maxProtocolVersion];
    if (tls.cipherSuites?.length) params.cipher_suites = [...tls.cipherSuites];
    if (Object.keys(params).length > 0) common.tls_params = params;
  }
  return { common_tls_context: common, require_client_certificate: mutual };
}
