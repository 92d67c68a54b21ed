import protobuf from 'protobufjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CORE_PROTO_FILES, ProtoError, TYPE_URL, decodeAny, decodeMessage, discoveryCodec, encodeAny, encodeMessage, protoIncludeDirs, validateMessage,
} from '../../../src/envoy/index.js';
import {
  caSecret, eastWestListener, edsAssignment, edsCluster, ingressListener, ingressRoutes, inlineSecret, networkRbac, seedVmCluster, seedVmListener,
} from './fixtures.js';

type Json = Record<string, unknown>;

function roundTrip(typeUrl: string, json: Json): Json {
  return decodeAny(encodeAny(typeUrl, json));
}

/** The proxy's schema: what it accepts from a bootstrap file it must accept from xDS. */
function normalized(json: unknown, message: string): Json {
  const result = validateMessage<Json>(json, message);
  if (!result.valid) throw new Error(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return result.value;
}

function thrown(fn: () => unknown): ProtoError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtoError) return err;
    throw err;
  }
  throw new Error('expected a ProtoError');
}

describe('Envoy v3 resources round-trip through the real protos', () => {
  it("seed 003's VM listener (HCM, grpc_json_transcoder, router by name) decodes to what the proxy's schema accepts", () => {
    // Normalizing gives the router its typed_config from its name, as the control plane must send it:
    // a current Envoy no longer looks an HTTP filter up by name alone.
    const expected = normalized(seedVmListener, 'Listener');
    const decoded = roundTrip(TYPE_URL.listener, structuredClone(expected));
    // proto3 does not carry a bool at its default: print_options' two `false`s are absent after the wire.
    const filters = (((expected.filter_chains as Json[])[0] as Json).filters as Json[])[0] as Json;
    const transcoder = ((filters.typed_config as Json).http_filters as Json[])[0] as Json;
    const printOptions = (transcoder.typed_config as Json).print_options as Json;
    delete printOptions.always_print_enums_as_ints;
    delete printOptions.preserve_proto_field_names;
    expect(decoded).toEqual(expected);
    expect(normalized(decoded, 'Listener')).toEqual(decoded);
  });

  it("seed 003's VM cluster with UpstreamTlsContext (camelCase alpnProtocols) decodes to snake_case", () => {
    const decoded = roundTrip(TYPE_URL.cluster, seedVmCluster);
    expect(decoded).toEqual(normalized(seedVmCluster, 'Cluster'));
    const tls = (decoded.transport_socket as Json).typed_config as Json;
    expect(tls['@type']).toBe(TYPE_URL.upstreamTlsContext);
    expect((tls.common_tls_context as Json).alpn_protocols).toEqual(['istio-peer-exchange', 'istio']);
  });

  it.each([
    ['ingress listener: tls_inspector, DownstreamTlsContext via SDS, RDS, RBAC, file access log', TYPE_URL.listener, ingressListener],
    ['ingress routes with a retry host predicate (a type loaded on demand)', TYPE_URL.routeConfiguration, ingressRoutes],
    ['east-west listener: SNI filter chains with sni_cluster + tcp_proxy', TYPE_URL.listener, eastWestListener],
    ['EDS cluster with HttpProtocolOptions and Struct metadata', TYPE_URL.cluster, edsCluster],
    ['ClusterLoadAssignment with localities and priorities', TYPE_URL.clusterLoadAssignment, edsAssignment],
    ['Secret with tls_certificate inline_bytes', TYPE_URL.secret, inlineSecret],
    ['Secret with a validation context', TYPE_URL.secret, caSecret],
    ['network RBAC filter config', networkRbac['@type'] as string, networkRbac],
  ])('%s: encode -> decode is the identity', (_name, typeUrl, json) => {
    const { '@type': _type, ...body } = json;
    expect(roundTrip(typeUrl, json)).toEqual(body);
  });

  it('the east-west listener and the EDS pair pass the proxy schema after decoding', () => {
    const listener = roundTrip(TYPE_URL.listener, eastWestListener);
    expect(normalized(listener, 'Listener')).toEqual(listener);
    const assignment = roundTrip(TYPE_URL.clusterLoadAssignment, { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } } }] }] });
    expect(normalized(assignment, 'ClusterLoadAssignment')).toEqual(assignment);
  });

  it('produces bytes that another protobuf implementation reads field for field', () => {
    const other = independentRoot();
    const any = encodeAny(TYPE_URL.cluster, { ...seedVmCluster, connect_timeout: '1.5s', per_connection_buffer_limit_bytes: 32768 });
    const Cluster = other.lookupType('envoy.config.cluster.v3.Cluster');
    const cluster = Cluster.toObject(Cluster.decode(any.value), { enums: String, longs: Number }) as Json;
    expect(cluster.name).toBe('frontend');
    expect(cluster.type).toBe('STRICT_DNS');
    expect(cluster.connectTimeout).toEqual({ seconds: 1, nanos: 500_000_000 });
    expect(cluster.perConnectionBufferLimitBytes).toEqual({ value: 32768 });
    const typed = (cluster.transportSocket as Json).typedConfig as { type_url: string; value: Uint8Array };
    expect(typed.type_url).toBe(TYPE_URL.upstreamTlsContext);
    const Tls = other.lookupType('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
    const tls = Tls.toObject(Tls.decode(typed.value)) as Json;
    expect(tls.sni).toBe('outbound_.80_._.frontend.simple-app.svc.cluster.local');
    expect((tls.commonTlsContext as Json).alpnProtocols).toEqual(['istio-peer-exchange', 'istio']);
  });

  it('decodes a binary that protobufjs built directly from Envoy messages', () => {
    const other = independentRoot();
    const Tls = other.lookupType('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
    const tlsBytes = Tls.encode(Tls.fromObject({
      requireClientCertificate: { value: true },
      commonTlsContext: { alpnProtocols: ['h2'], tlsCertificateSdsSecretConfigs: [{ name: 'default', sdsConfig: { ads: {} } }] },
    })).finish();
    const Listener = other.lookupType('envoy.config.listener.v3.Listener');
    const bytes = Listener.encode(Listener.fromObject({
      name: 'in',
      address: { socketAddress: { address: '0.0.0.0', portValue: 8443 } },
      listenerFiltersTimeout: { seconds: 2, nanos: 250_000_000 },
      filterChains: [{
        filterChainMatch: { serverNames: ['a.example'] },
        transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { type_url: TYPE_URL.downstreamTlsContext, value: tlsBytes } },
      }],
      metadata: { filterMetadata: { istio: { fields: { n: { numberValue: 2 }, ok: { boolValue: true } } } } },
    })).finish();
    expect(decodeAny({ type_url: TYPE_URL.listener, value: bytes })).toEqual({
      name: 'in',
      address: { socket_address: { address: '0.0.0.0', port_value: 8443 } },
      listener_filters_timeout: '2.25s',
      filter_chains: [{
        filter_chain_match: { server_names: ['a.example'] },
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': TYPE_URL.downstreamTlsContext,
            require_client_certificate: true,
            common_tls_context: { alpn_protocols: ['h2'], tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {} } }] },
          },
        },
      }],
      metadata: { filter_metadata: { istio: { n: 2, ok: true } } },
    });
  });
});

describe('strict encoding', () => {
  it('rejects an unknown field inside a nested Any, naming its path', () => {
    const bad = structuredClone(seedVmCluster);
    ((bad.transport_socket as Json).typed_config as Json).verify_sni = true;
    const err = thrown(() => encodeAny(TYPE_URL.cluster, bad));
    expect(err.code).toBe('ERR_PROTO_UNKNOWN_FIELD');
    expect(err.path).toBe('transport_socket.typed_config.verify_sni');
    expect(err.message).toContain('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  });

  it('names list indexes and map keys in paths', () => {
    const bad = structuredClone(eastWestListener);
    (((bad.filter_chains as Json[])[1] as Json).filters as Json[])[1] = { name: 'tcp', typed_config: { '@type': TYPE_URL.tcpProxy, stat_prefix: 's', clustr: 'x' } };
    expect(thrown(() => encodeAny(TYPE_URL.listener, bad)).path).toBe('filter_chains[1].filters[1].typed_config.clustr');
    const badMap = { ...edsCluster, typed_extension_protocol_options: { x: { '@type': TYPE_URL.httpProtocolOptions, auto: {} } } };
    expect(thrown(() => encodeAny(TYPE_URL.cluster, badMap)).path).toBe('typed_extension_protocol_options["x"].auto');
  });

  it('rejects an unknown "@type" and a missing one', () => {
    const unknown = thrown(() => encodeAny(TYPE_URL.listener, { filter_chains: [{ filters: [{ name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.nope.v3.Nope' } }] }] }));
    expect(unknown.code).toBe('ERR_PROTO_UNKNOWN_TYPE');
    expect(unknown.path).toBe('filter_chains[0].filters[0].typed_config.@type');
    const missing = thrown(() => encodeAny(TYPE_URL.listener, { filter_chains: [{ filters: [{ name: 'x', typed_config: { stat_prefix: 'a' } }] }] }));
    expect(missing.code).toBe('ERR_PROTO_INVALID_VALUE');
    expect(missing.path).toBe('filter_chains[0].filters[0].typed_config.@type');
  });

  it.each([
    ['a duration without unit', { name: 'c', connect_timeout: '5' }, 'connect_timeout'],
    ['an enum name Envoy does not have', { name: 'c', lb_policy: 'FASTEST' }, 'lb_policy'],
    ['a negative uint32', { name: 'c', per_connection_buffer_limit_bytes: -1 }, 'per_connection_buffer_limit_bytes'],
    ['a string where a message goes', { name: 'c', load_assignment: 'x' }, 'load_assignment'],
    ['a number where a string goes', { name: 7 }, 'name'],
    ['two members of one oneof', { name: 'c', type: 'EDS', cluster_type: { name: 'envoy.clusters.aggregate' } }, 'cluster_type'],
    ['a uint32 beyond 32 bits', { name: 'c', load_assignment: { cluster_name: 'c', endpoints: [{ priority: 4294967296 }] } }, 'load_assignment.endpoints[0].priority'],
    ['a fraction where an integer goes', { name: 'c', load_assignment: { cluster_name: 'c', endpoints: [{ priority: 1.5 }] } }, 'load_assignment.endpoints[0].priority'],
  ])('rejects %s', (_what, json, path) => {
    const err = thrown(() => encodeAny(TYPE_URL.cluster, json));
    expect(err.code).toBe('ERR_PROTO_INVALID_VALUE');
    expect(err.path).toBe(path);
  });

  it('rejects base64 that is not base64', () => {
    const err = thrown(() => encodeAny(TYPE_URL.secret, { name: 's', tls_certificate: { certificate_chain: { inline_bytes: 'not base64!' } } }));
    expect(err.path).toBe('tls_certificate.certificate_chain.inline_bytes');
  });

  it('rejects a top-level "@type" that differs from the type URL', () => {
    expect(thrown(() => encodeAny(TYPE_URL.cluster, { '@type': TYPE_URL.listener, name: 'c' })).path).toBe('@type');
    expect(roundTrip(TYPE_URL.cluster, { '@type': TYPE_URL.cluster, name: 'c' })).toEqual({ name: 'c' });
  });
});

describe('proto3 JSON details', () => {
  it('accepts JSON names and field names alike and gives back field names', () => {
    const decoded = roundTrip(TYPE_URL.cluster, { name: 'c', connectTimeout: '2s', perConnectionBufferLimitBytes: 1024, dns_lookup_family: 'V4_ONLY' });
    expect(decoded).toEqual({ name: 'c', connect_timeout: '2s', per_connection_buffer_limit_bytes: 1024, dns_lookup_family: 'V4_ONLY' });
    expect(thrown(() => encodeAny(TYPE_URL.cluster, { name: 'c', connectTimeout: '2s', connect_timeout: '3s' })).path).toBe('connect_timeout');
  });

  it('drops plain fields at their default but keeps oneof members and wrappers that are set', () => {
    // ROUND_ROBIN is enum value 0 and false the bool default: on the wire they are "not set". STATIC is
    // 0 too, but `type` is a member of the cluster_discovery_type oneof, so it stays.
    expect(roundTrip(TYPE_URL.cluster, { name: 'c', type: 'STATIC', lb_policy: 'ROUND_ROBIN', respect_dns_ttl: false })).toEqual({ name: 'c', type: 'STATIC' });
    const route = roundTrip(TYPE_URL.routeConfiguration, {
      name: 'r',
      validate_clusters: false,
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '', headers: [{ name: 'x', present_match: false }] }, direct_response: { status: 200 } }] }],
    });
    expect(route).toEqual({
      name: 'r',
      validate_clusters: false,
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '', headers: [{ name: 'x', present_match: false }] }, direct_response: { status: 200 } }] }],
    });
  });

  it('writes durations the way they are usually written, and reads the object form too', () => {
    const timeouts = ['0s', '5s', '0.25s', '1.000000001s', '-1.5s', '315576000000s'];
    for (const t of timeouts) expect(roundTrip(TYPE_URL.cluster, { name: 'c', connect_timeout: t }).connect_timeout).toBe(t);
    expect(roundTrip(TYPE_URL.cluster, { name: 'c', connect_timeout: { seconds: 3, nanos: 5_000_000 } }).connect_timeout).toBe('3.005s');
    expect(thrown(() => encodeAny(TYPE_URL.cluster, { name: 'c', connect_timeout: '315576000001s' })).code).toBe('ERR_PROTO_INVALID_VALUE');
  });

  it('keeps 64-bit integers exact (numbers while they fit a double, strings beyond)', () => {
    const range = (json: Json): Json => decodeMessage('envoy.type.v3.Int64Range', encodeMessage('envoy.type.v3.Int64Range', json));
    expect(range({ start: -5, end: '9223372036854775807' })).toEqual({ start: -5, end: '9223372036854775807' });
    expect(range({ start: '42', end: 2 ** 53 - 1 })).toEqual({ start: 42, end: 2 ** 53 - 1 });
    expect(thrown(() => range({ start: '9223372036854775808' })).code).toBe('ERR_PROTO_INVALID_VALUE');
    const fault = roundTrip('type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault', { max_active_faults: 3 });
    expect(fault).toEqual({ max_active_faults: 3 });
    const node = decodeMessage('envoy.config.core.v3.Node', encodeMessage('envoy.config.core.v3.Node', { id: 'n', user_agent_build_version: { version: { major_number: 1 } } }));
    expect(node).toEqual({ id: 'n', user_agent_build_version: { version: { major_number: 1 } } });
    const big = decodeMessage('envoy.config.cluster.v3.Cluster', encodeMessage('envoy.config.cluster.v3.Cluster', { name: 'c', ring_hash_lb_config: { minimum_ring_size: '18446744073709551615' } }));
    expect(big.ring_hash_lb_config).toEqual({ minimum_ring_size: '18446744073709551615' });
  });

  it('loads a type outside the core set on first use (admin ConfigDump, CORS filter)', () => {
    const cors = roundTrip('type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors', {});
    expect(cors).toEqual({});
    const dump = decodeMessage('envoy.admin.v3.ConfigDump', encodeMessage('envoy.admin.v3.ConfigDump', {
      configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', version_info: '3', dynamic_active_clusters: [{ version_info: '3', cluster: { '@type': TYPE_URL.cluster, name: 'c' }, last_updated: '2024-01-31T12:00:00.500Z' }] }],
    }));
    expect(dump).toEqual({
      configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', version_info: '3', dynamic_active_clusters: [{ version_info: '3', cluster: { '@type': TYPE_URL.cluster, name: 'c' }, last_updated: '2024-01-31T12:00:00.500Z' }] }],
    });
  });

  it('packs well-known types inside an Any as {"@type", "value"}', () => {
    const out = roundTrip(TYPE_URL.listener, {
      name: 'l',
      filter_chains: [{ filters: [{ name: 'n', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { a: [1, 'b'] } } }] }],
    });
    expect(((out.filter_chains as Json[])[0] as Json).filters).toEqual([{ name: 'n', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { a: [1, 'b'] } } }]);
  });
});

describe('discovery messages', () => {
  it('round-trip a DiscoveryRequest with node metadata and a NACK', () => {
    const bytes = discoveryCodec.encodeRequest({
      version_info: '7',
      node: { id: 'sidecar~10.0.0.1~vm-1.default~default.svc.cluster.local', cluster: 'vm', metadata: { ISTIO_VERSION: '1.17', LABELS: { app: 'vm' } } },
      resource_names: ['a', 'b'],
      type_url: TYPE_URL.clusterLoadAssignment,
      response_nonce: '12',
      error_detail: { code: 3, message: 'cluster a: bad' },
    });
    expect(discoveryCodec.decodeRequest(bytes)).toEqual({
      version_info: '7',
      node: { id: 'sidecar~10.0.0.1~vm-1.default~default.svc.cluster.local', cluster: 'vm', metadata: { ISTIO_VERSION: '1.17', LABELS: { app: 'vm' } } },
      resource_names: ['a', 'b'],
      type_url: TYPE_URL.clusterLoadAssignment,
      response_nonce: '12',
      error_detail: { code: 3, message: 'cluster a: bad' },
    });
  });

  it('keep resources packed in responses, for the receiver to decode', () => {
    const any = encodeAny(TYPE_URL.cluster, { name: 'c' });
    const response = discoveryCodec.decodeDeltaResponse(discoveryCodec.encodeDeltaResponse({
      system_version_info: '1', resources: [{ name: 'c', version: 'abc', resource: any }], type_url: TYPE_URL.cluster, removed_resources: ['old'], nonce: '1',
    }));
    expect(response.removed_resources).toEqual(['old']);
    expect(response.resources[0]?.resource?.value.equals(any.value)).toBe(true);
  });
});

function independentRoot(): protobuf.Root {
  const dirs = protoIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => dirs.map((d) => join(d, target)).find((p) => existsSync(p)) ?? target;
  root.loadSync(CORE_PROTO_FILES.map((f) => dirs.map((d) => join(d, f)).find((p) => existsSync(p)) as string));
  return root;
}
