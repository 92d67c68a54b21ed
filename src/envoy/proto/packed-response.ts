import type { EncodedAny } from './to-proto.js';

/**
 * State-of-the-world responses repeat the same resources to every proxy that shares a snapshot: with
 * 1,000 sidecars a change re-sends ~1.6 MB of clusters to each. Encoding the `resources` field through
 * protobufjs per stream copied every Any twice and dominated the server's CPU. Instead the field is
 * written once per resource list (`packResources`) and a response is spliced together from that block
 * and its few per-stream fields. Field order does not matter in protobuf, so the result decodes exactly
 * as the generic encoding does (a test checks it).
 */
const PACKED = new WeakMap<readonly EncodedAny[], Buffer>();

/** Registers `resources` for the fast path; returns them. Do not mutate the array afterwards. */
export function packResources<T extends readonly EncodedAny[]>(resources: T): T {
  if (!PACKED.has(resources)) PACKED.set(resources, Buffer.concat(resources.map((any) => lengthDelimited(2, anyMessage(any)))));
  return resources;
}

/** The packed `resources` field (DiscoveryResponse field 2) of a registered list, if it was packed. */
export function packedResources(resources: readonly EncodedAny[]): Buffer | undefined {
  return PACKED.get(resources);
}

/** DiscoveryResponse from a packed resources block: version_info 1, resources 2, type_url 4, nonce 5, control_plane 6. */
export function spliceDiscoveryResponse(packed: Buffer, fields: { version_info: string; type_url: string; nonce: string; control_plane?: { identifier: string } }): Buffer {
  const parts = [stringField(1, fields.version_info), packed, stringField(4, fields.type_url), stringField(5, fields.nonce)];
  if (fields.control_plane) parts.push(lengthDelimited(6, stringField(1, fields.control_plane.identifier)));
  return Buffer.concat(parts);
}

function anyMessage(any: EncodedAny): Buffer {
  return Buffer.concat([stringField(1, any.type_url), lengthDelimited(2, any.value)]);
}

/** proto3 leaves empty strings out, as protobufjs does. */
function stringField(field: number, value: string): Buffer {
  return value === '' ? Buffer.alloc(0) : lengthDelimited(field, Buffer.from(value, 'utf8'));
}

function lengthDelimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
