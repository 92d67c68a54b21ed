import { createHash, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Bootstrap, DataSource, UpstreamTlsContext } from '../../envoy/index.js';
import { IsthmusError } from '../../common/index.js';
import { DataSourceError, readDataSource } from '../tls/data-source.js';
import { compileSanMatcher } from '../tls/san.js';
import { resolveCommonTlsContext } from '../tls/sds.js';
import type { SecretStore } from '../tls/sds.js';

/** What one (re)connection to the control plane presents. */
export interface AdsConnection {
  readonly credentials: grpc.ChannelCredentials;
  /** Changes when the credentials do (a renewed certificate): the client then dials a new connection. */
  readonly key: string;
  /** Sent with every ADS stream: grpc_services[0].initial_metadata (e.g. "authorization: Bearer ..."). */
  readonly metadata: grpc.Metadata;
  /** How this proxy authenticates, for its logs: plaintext, tls, certificate <serial>, token. */
  readonly auth: string;
}

export interface AdsTarget {
  readonly address: string;
  /** The name the control plane's certificate must carry (UpstreamTlsContext.sni). */
  readonly serverName?: string;
  /**
   * Credentials for the next connection, read at every (re)connect: files are read again and SDS
   * secrets (the workload certificate an agent renews) looked up again, so a rotated certificate is
   * what the next connection presents.
   */
  connection(): AdsConnection;
}

function configError(path: string, detail: string, cause?: unknown): IsthmusError {
  return new IsthmusError('ERR_XDS_CONFIG', `${path}: ${detail}`, {
    hint: 'fix the ads_config cluster of the bootstrap (or the --xds flags)',
    ...(cause === undefined ? {} : { cause }),
  });
}

function read(source: DataSource | undefined, baseDir: string, path: string): Buffer | null {
  if (!source) return null;
  try {
    return readDataSource(source, baseDir, path);
  } catch (err) {
    if (err instanceof DataSourceError) throw configError(err.path, err.detail, err);
    throw err;
  }
}

/**
 * Where and how to reach the control plane, from the bootstrap's ads_config: its envoy_grpc cluster
 * must be a static cluster; its transport socket (if any) gives the TLS credentials, with the client
 * certificate from tls_certificates or an SDS secret of `secrets` (tls_certificate_sds_secret_configs,
 * e.g. "default" that --ca-address keeps fresh). Until such a secret exists the proxy connects without
 * a client certificate (a bootstrap token in initial_metadata then proves who it is).
 */
export function adsTarget(bootstrap: Bootstrap, baseDir: string, secrets?: SecretStore): AdsTarget | undefined {
  const ads = bootstrap.dynamic_resources?.ads_config;
  if (!ads) return undefined;
  const service = ads.grpc_services?.[0];
  const clusterName = service?.envoy_grpc?.cluster_name;
  if (ads.api_type !== 'GRPC' && ads.api_type !== 'AGGREGATED_GRPC') {
    throw new IsthmusError('ERR_XDS_CONFIG', `dynamic_resources.ads_config.api_type: ${ads.api_type ?? '(unset)'} is not supported`, { hint: 'use GRPC (state of the world ADS)' });
  }
  const cluster = bootstrap.static_resources?.clusters?.find((c) => c.name === clusterName);
  const endpoint = cluster?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint.address.socket_address;
  if (!cluster || !endpoint) {
    throw new IsthmusError('ERR_XDS_CONFIG', `dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: "${clusterName}" is not a static cluster with an endpoint`, {
      hint: 'add the control plane as a static cluster, or start with --xds HOST:PORT',
    });
  }
  const address = `${endpoint.address}:${endpoint.port_value ?? 15010}`;
  const metadataEntries = (service?.initial_metadata ?? []).map((h, i) => {
    const key = h.key.toLowerCase();
    if (!/^[0-9a-z_.-]+$/.test(key) || key.endsWith('-bin')) throw configError(`dynamic_resources.ads_config.grpc_services[0].initial_metadata[${i}].key`, `"${h.key}" is not a valid ASCII gRPC metadata key`);
    return [key, h.value ?? ''] as const;
  });
  const metadata = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    for (const [k, v] of metadataEntries) m.add(k, v);
    return m;
  };
  const hasToken = metadataEntries.some(([k]) => k === 'authorization');
  const tls = cluster.transport_socket?.typed_config as (UpstreamTlsContext & { '@type': string }) | undefined;
  if (!tls) {
    const plaintext: AdsTarget = { address, connection: () => ({ credentials: grpc.credentials.createInsecure(), key: 'plaintext', metadata: metadata(), auth: hasToken ? 'plaintext, token' : 'plaintext' }) };
    return plaintext;
  }
  const tlsPath = `static_resources.clusters[${clusterName}].transport_socket.typed_config.common_tls_context`;
  const connection = (): AdsConnection => {
    const common = secrets ? resolveCommonTlsContext(tls.common_tls_context, secrets).resolved ?? {} : tls.common_tls_context ?? {};
    const cert = common.tls_certificates?.[0];
    const roots = read(common.validation_context?.trusted_ca, baseDir, `${tlsPath}.validation_context.trusted_ca`);
    const key = read(cert?.private_key, baseDir, `${tlsPath}.tls_certificates[0].private_key`);
    const chain = read(cert?.certificate_chain, baseDir, `${tlsPath}.tls_certificates[0].certificate_chain`);
    const sans = compileSanMatcher(common.validation_context, `${tlsPath}.validation_context`, (p, detail, cause) => configError(p, detail, cause));
    const credentials = grpc.credentials.createSsl(roots, key, chain, {
      // SAN matchers when configured (as Envoy checks them); else the name is checked against sni.
      ...(sans ? { checkServerIdentity: (_host: string, peer: { subjectaltname?: string }) => (sans(peer.subjectaltname) ? undefined : new Error(`the control plane's certificate SANs [${peer.subjectaltname ?? ''}] match none of ${tlsPath}.validation_context's subject alt name matchers`)) } : {}),
    });
    const digest = createHash('sha256');
    for (const part of [roots, key, chain]) digest.update(part ?? '-').update('\0');
    const serial = chain ? serialOf(chain) : undefined;
    const auth = [serial ? `certificate ${serial}` : 'tls (no client certificate)', ...(hasToken ? ['token'] : [])].join(', ');
    return { credentials, key: digest.digest('hex'), metadata: metadata(), auth };
  };
  connection(); // a file that cannot be read, or a bad matcher, fails at start, naming the field
  return { address, ...(tls.sni ? { serverName: tls.sni } : {}), connection };
}

function serialOf(chainPem: Buffer): string | undefined {
  try {
    return new X509Certificate(chainPem).serialNumber.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The bootstrap as /config_dump shows it, with the values of authorization initial_metadata (a bootstrap
 * token) replaced: the admin page is for looking at config, not for lifting a proxy's credentials.
 */
export function redactAdsCredentials(bootstrap: Bootstrap): Bootstrap {
  const ads = bootstrap.dynamic_resources?.ads_config;
  if (!ads?.grpc_services?.some((s) => s.initial_metadata?.length)) return bootstrap;
  const grpcServices = ads.grpc_services.map((s) => (s.initial_metadata
    ? { ...s, initial_metadata: s.initial_metadata.map((h) => (h.key.toLowerCase() === 'authorization' ? { key: h.key, value: '[redacted]' } : h)) }
    : s));
  return { ...bootstrap, dynamic_resources: { ...bootstrap.dynamic_resources, ads_config: { ...ads, grpc_services: grpcServices } } };
}
