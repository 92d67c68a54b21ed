import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Where Envoy's .proto files come from: the ones @grpc/grpc-js-xds publishes (Envoy's data-plane-api,
 * cncf/xds, googleapis, protoc-gen-validate under its deps/), plus protobufjs' copy of
 * google/protobuf/descriptor.proto, which the option annotations import.
 */
export function protoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const xdsPackage = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const protobufjsPackage = dirname(require.resolve('protobufjs/package.json'));
  const deps = join(xdsPackage, 'deps');
  return [
    join(deps, 'envoy-api'),
    join(deps, 'xds'),
    join(deps, 'googleapis'),
    join(deps, 'protoc-gen-validate'),
    protobufjsPackage,
  ];
}

/** Finds an import ("envoy/config/core/v3/base.proto") in the include dirs, as protoc's -I does. */
export function findProtoFile(includeDirs: readonly string[], file: string): string | undefined {
  for (const dir of includeDirs) {
    const candidate = join(dir, file);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The files loaded on first use: every resource the control plane serves and every extension it
 * configures. Other Envoy types load on demand, by their package's directory (see registry.ts).
 */
export const CORE_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/sni_cluster/v3/sni_cluster.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/grpc_json_transcoder/v3/transcoder.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

/** Loaded when first asked for: admin's ConfigDump and the bootstrap pull in a few more files. */
export const ON_DEMAND_PROTO_FILES: Readonly<Record<string, string>> = {
  'envoy.admin.v3.ConfigDump': 'envoy/admin/v3/config_dump.proto',
  'envoy.config.bootstrap.v3.Bootstrap': 'envoy/config/bootstrap/v3/bootstrap.proto',
};
