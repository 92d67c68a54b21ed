import { ProtoError } from './errors.js';
import { envoyProtos } from './registry.js';
import { ProtoToJson } from './from-proto.js';
import { JsonToProto } from './to-proto.js';
import type { EncodedAny } from './to-proto.js';

let encoder: JsonToProto | undefined;
let decoder: ProtoToJson | undefined;

function toProto(): JsonToProto {
  encoder ??= new JsonToProto(envoyProtos());
  return encoder;
}

function fromProto(): ProtoToJson {
  decoder ??= new ProtoToJson(envoyProtos());
  return decoder;
}

/**
 * Encodes an Envoy v3 resource or extension config, given as our normalized JSON (snake_case field
 * names or proto3 JSON names; "@type" on nested Any; durations as "1.5s"; enums by name), as the real
 * protobuf message `typeUrl` names, packed in an Any. A "@type" at the top, if present, must be `typeUrl`.
 * Throws ProtoError (ERR_PROTO_UNKNOWN_FIELD, ERR_PROTO_INVALID_VALUE, ERR_PROTO_UNKNOWN_TYPE) with the path.
 */
export function encodeAny(typeUrl: string, json: Record<string, unknown>): EncodedAny {
  const { '@type': declared, ...body } = json;
  if (declared !== undefined && declared !== typeUrl) {
    throw new ProtoError('ERR_PROTO_INVALID_VALUE', '@type', `is "${String(declared)}" but the resource is encoded as ${typeUrl}`);
  }
  return toProto().encodeAny(typeUrl, body);
}

/**
 * Decodes an Any into our normalized JSON (snake_case, "@type" on nested Any only). The top level
 * carries no "@type": it is the resource itself, as schema.ts validates it by message name.
 */
export function decodeAny(any: { type_url: string; value: Uint8Array }): Record<string, unknown> {
  const { '@type': _type, ...body } = fromProto().any(any);
  return body;
}

/** Encodes JSON as the message with this full name ("envoy.config.core.v3.Node"). */
export function encodeMessage(messageName: string, json: unknown): Buffer {
  return toProto().encode(envoyProtos().messageType(messageName), json);
}

/** Decodes bytes of the message with this full name into normalized JSON. */
export function decodeMessage(messageName: string, bytes: Uint8Array): Record<string, unknown> {
  return fromProto().decode(envoyProtos().messageType(messageName), bytes) as Record<string, unknown>;
}

/** Parses Envoy's .proto files now rather than on first use (they take ~0.1-0.2 s). */
export function preloadEnvoyProtos(): void {
  envoyProtos().preload();
}
