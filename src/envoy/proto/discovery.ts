import type protobuf from 'protobufjs';
import { ProtoError } from './errors.js';
import { ProtoToJson } from './from-proto.js';
import { envoyProtos } from './registry.js';
import { packedResources, spliceDiscoveryResponse } from './packed-response.js';
import { JsonToProto } from './to-proto.js';
import type { EncodedAny } from './to-proto.js';

/**
 * The xDS transport messages (envoy.service.discovery.v3) with their codecs, for gRPC's
 * serialize/deserialize hooks. Resources stay packed (EncodedAny): a server encodes each resource once
 * per snapshot and copies the bytes into every response; a client decodes them with decodeAny.
 */
export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/**
 * envoy.config.core.v3.Node as JSON. Only the fields a control plane usually reads are typed; a
 * decoded node carries every field the proxy sent.
 */
export interface XdsNode {
  id?: string;
  cluster?: string;
  metadata?: Record<string, unknown>;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  user_agent_name?: string;
  user_agent_version?: string;
  client_features?: string[];
  user_agent_build_version?: unknown;
  extensions?: unknown[];
}

/** google.rpc.Status: what a client puts in error_detail when it NACKs. */
export interface RpcStatus {
  code?: number;
  message?: string;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: XdsNode;
  resource_names?: string[];
  type_url: string;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: EncodedAny[];
  type_url: string;
  nonce: string;
  control_plane?: { identifier: string };
}

export interface DeltaDiscoveryRequest {
  node?: XdsNode;
  type_url: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus;
}

/** envoy.service.discovery.v3.Resource: one named, versioned resource of a delta response. */
export interface DeltaResource {
  name: string;
  version: string;
  resource?: EncodedAny;
  aliases?: string[];
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
  control_plane?: { identifier: string };
}

const PKG = 'envoy.service.discovery.v3';

function type(name: string): protobuf.Type {
  return envoyProtos().messageType(`${PKG}.${name}`);
}

function asBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (!(bytes instanceof Uint8Array)) throw new ProtoError('ERR_PROTO_DECODE', 'value', 'is not bytes');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeRaw(name: string, bytes: Uint8Array): Record<string, unknown> {
  try {
    return type(name).decode(bytes) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new ProtoError('ERR_PROTO_DECODE', '', `the bytes are not a valid ${PKG}.${name}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Decoding takes bytes from the network: whatever goes wrong past protobufjs' own checks (a shape no
 * valid message has, nesting deeper than the stack) is a ProtoError, so gRPC's deserializer and the
 * ADS client's NACK path only ever see that.
 */
function guarded<T>(name: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ProtoError) throw err;
    throw new ProtoError('ERR_PROTO_DECODE', '', `the bytes are not a valid ${PKG}.${name}: ${(err as Error).message}`, { cause: err });
  }
}

function decodeNode(raw: Record<string, unknown>): XdsNode | undefined {
  if (!raw.node) return undefined;
  return new ProtoToJson(envoyProtos()).message(envoyProtos().messageType('envoy.config.core.v3.Node'), raw.node as Record<string, unknown>, 'node') as XdsNode;
}

/** error_detail by code and message only: its `details` may pack types no .proto here defines. */
function decodeStatus(raw: Record<string, unknown>): RpcStatus | undefined {
  const status = raw.error_detail as { code?: number; message?: string } | null | undefined;
  if (!status) return undefined;
  return { code: status.code ?? 0, message: status.message ?? '' };
}

/** The fields both request kinds share: node (sent on the first request) and error_detail (a NACK). */
function withNodeAndError<R extends { node?: XdsNode; error_detail?: RpcStatus }>(request: R, raw: Record<string, unknown>): R {
  const node = decodeNode(raw);
  if (node) request.node = node;
  const error = decodeStatus(raw);
  if (error) request.error_detail = error;
  return request;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? (value as string[]) : [];
}

function anyOf(value: unknown): EncodedAny {
  const any = value as { type_url?: string; value?: Uint8Array };
  return { type_url: any.type_url ?? '', value: asBuffer(any.value ?? new Uint8Array()) };
}

function encodeJson(name: string, json: unknown): Buffer {
  return new JsonToProto(envoyProtos()).encode(type(name), json);
}

/** Request and response codecs of the ADS streams, for both ends. */
export const discoveryCodec = {
  encodeRequest(request: DiscoveryRequest): Buffer {
    return encodeJson('DiscoveryRequest', request);
  },
  decodeRequest(bytes: Uint8Array): DiscoveryRequest {
    return guarded('DiscoveryRequest', (): DiscoveryRequest => {
      const raw = decodeRaw('DiscoveryRequest', bytes);
      const request: DiscoveryRequest = {
        version_info: (raw.version_info as string | undefined) ?? '',
        resource_names: strings(raw.resource_names),
        type_url: (raw.type_url as string | undefined) ?? '',
        response_nonce: (raw.response_nonce as string | undefined) ?? '',
      };
      return withNodeAndError(request, raw);
    });
  },
  encodeResponse(response: DiscoveryResponse): Buffer {
    const packed = packedResources(response.resources);
    if (packed) return spliceDiscoveryResponse(packed, response);
    return asBuffer(type('DiscoveryResponse').encode(response).finish());
  },
  decodeResponse(bytes: Uint8Array): DiscoveryResponse {
    return guarded('DiscoveryResponse', (): DiscoveryResponse => {
      const raw = decodeRaw('DiscoveryResponse', bytes);
      return {
        version_info: (raw.version_info as string | undefined) ?? '',
        resources: ((raw.resources ?? []) as unknown[]).map(anyOf),
        type_url: (raw.type_url as string | undefined) ?? '',
        nonce: (raw.nonce as string | undefined) ?? '',
      };
    });
  },
  encodeDeltaRequest(request: DeltaDiscoveryRequest): Buffer {
    return encodeJson('DeltaDiscoveryRequest', request);
  },
  decodeDeltaRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
    return guarded('DeltaDiscoveryRequest', (): DeltaDiscoveryRequest => {
      const raw = decodeRaw('DeltaDiscoveryRequest', bytes);
      const request: DeltaDiscoveryRequest = {
        type_url: (raw.type_url as string | undefined) ?? '',
        resource_names_subscribe: strings(raw.resource_names_subscribe),
        resource_names_unsubscribe: strings(raw.resource_names_unsubscribe),
        initial_resource_versions: { ...((raw.initial_resource_versions ?? {}) as Record<string, string>) },
        response_nonce: (raw.response_nonce as string | undefined) ?? '',
      };
      return withNodeAndError(request, raw);
    });
  },
  encodeDeltaResponse(response: DeltaDiscoveryResponse): Buffer {
    return asBuffer(type('DeltaDiscoveryResponse').encode(response).finish());
  },
  decodeDeltaResponse(bytes: Uint8Array): DeltaDiscoveryResponse {
    return guarded('DeltaDiscoveryResponse', (): DeltaDiscoveryResponse => {
      const raw = decodeRaw('DeltaDiscoveryResponse', bytes);
      return {
        system_version_info: (raw.system_version_info as string | undefined) ?? '',
        resources: ((raw.resources ?? []) as Array<Record<string, unknown>>).map((r) => {
          const resource: DeltaResource = { name: (r.name as string | undefined) ?? '', version: (r.version as string | undefined) ?? '' };
          if (r.resource) resource.resource = anyOf(r.resource);
          const aliases = strings(r.aliases);
          if (aliases.length > 0) resource.aliases = aliases;
          return resource;
        }),
        type_url: (raw.type_url as string | undefined) ?? '',
        removed_resources: strings(raw.removed_resources),
        nonce: (raw.nonce as string | undefined) ?? '',
      };
    });
  },
};
