/**
 * Properties of the xDS decoders: the proxy's (DiscoveryResponse, then each resource's Any into the
 * JSON the proxy validates) and the control plane's (DiscoveryRequest / DeltaDiscoveryRequest with the
 * node). Random bytes and mutated valid messages give a message or a ProtoError; never another
 * exception (which would escape gRPC's deserializer or the ADS client's NACK path).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtoError, TYPE_URL, decodeAny, discoveryCodec, encodeAny, encodeMessage, validateMessage } from '../../src/envoy/index.js';
import { envoyXdsCodec } from '../../src/proxy/xds-client/codec.js';
import { MiB, byteMutation, mutate, params, retainedGrowth } from './fuzz-helpers.js';
import { meshSnapshot } from '../controlplane/xds/helpers.js';

const TYPES = [TYPE_URL.cluster, TYPE_URL.clusterLoadAssignment, TYPE_URL.listener, TYPE_URL.routeConfiguration] as const;
const MESSAGE_BY_TYPE: Record<string, string> = {
  [TYPE_URL.cluster]: 'Cluster',
  [TYPE_URL.clusterLoadAssignment]: 'ClusterLoadAssignment',
  [TYPE_URL.listener]: 'Listener',
  [TYPE_URL.routeConfiguration]: 'RouteConfiguration',
};

/** Encoded DiscoveryResponses of a real snapshot, one per type, as the control plane sends them. */
const snapshot = meshSnapshot(1);
const RESPONSES = TYPES.map((typeUrl) => discoveryCodec.encodeResponse({
  version_info: 'v1',
  resources: [...snapshot.resources(typeUrl).values()].map((r) => r.any),
  type_url: typeUrl,
  nonce: '1',
  control_plane: { identifier: 'istiod' },
}));
const REQUEST = discoveryCodec.encodeRequest({
  version_info: 'v1',
  node: { id: 'sidecar~10.0.0.1~a.ns~ns.svc.cluster.local', cluster: 'a', metadata: { NAMESPACE: 'ns', LABELS: { app: 'a' }, ISTIO_VERSION: '1.20' }, locality: { region: 'r', zone: 'z' } },
  resource_names: ['a', 'b'],
  type_url: TYPE_URL.cluster,
  response_nonce: '1',
  error_detail: { code: 3, message: 'bad' },
});
const DELTA_REQUEST = discoveryCodec.encodeDeltaRequest({
  node: { id: 'n', metadata: { k: [1, 'x', { y: null }] } },
  type_url: TYPE_URL.listener,
  resource_names_subscribe: ['x'],
  initial_resource_versions: { x: 'v1' },
  response_nonce: '2',
});

const mutation = byteMutation(16);

/** Runs a decoder; only a value or a ProtoError may come out. */
function decodes<T>(decode: () => T): T | ProtoError {
  try {
    return decode();
  } catch (err) {
    expect(err, String(err)).toBeInstanceOf(ProtoError);
    return err as ProtoError;
  }
}

/** What the proxy does with a response: decode it, then each resource, then validate it by type. */
function proxySide(bytes: Buffer): void {
  const codec = envoyXdsCodec();
  const response = decodes(() => codec.decodeDiscoveryResponse(bytes));
  if (response instanceof ProtoError) return;
  for (const any of response.resources) {
    const json = decodes(() => codec.decodeResource(any));
    if (json instanceof ProtoError) continue;
    const message = MESSAGE_BY_TYPE[any.type_url];
    if (message) validateMessage(json, message, 'resources[0]');
  }
}

describe('fuzz: xDS decoders', () => {
  it('the valid messages decode (the mutations start from real ones)', () => {
    for (const bytes of RESPONSES) expect(discoveryCodec.decodeResponse(bytes).resources.length).toBeGreaterThan(0);
    expect(discoveryCodec.decodeRequest(REQUEST).node?.id).toBe('sidecar~10.0.0.1~a.ns~ns.svc.cluster.local');
    expect(discoveryCodec.decodeDeltaRequest(DELTA_REQUEST).initial_resource_versions).toEqual({ x: 'v1' });
  });

  it('random bytes: every decoder gives a message or a ProtoError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (raw) => {
        const bytes = Buffer.from(raw);
        decodes(() => discoveryCodec.decodeRequest(bytes));
        decodes(() => discoveryCodec.decodeDeltaRequest(bytes));
        decodes(() => discoveryCodec.decodeDeltaResponse(bytes));
        proxySide(bytes);
        for (const typeUrl of TYPES) decodes(() => decodeAny({ type_url: typeUrl, value: bytes }));
      }),
      params(2000),
    );
  });

  it('mutated DiscoveryResponses: the proxy decodes, or NACKs with a ProtoError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...RESPONSES), fc.array(mutation, { minLength: 1, maxLength: 5 }), (bytes, ms) => proxySide(mutate(bytes, ms))),
      params(3000),
    );
  });

  it('mutated DiscoveryRequests: the control plane decodes, or refuses with a ProtoError', () => {
    fc.assert(
      fc.property(fc.constantFrom(REQUEST, DELTA_REQUEST), fc.array(mutation, { minLength: 1, maxLength: 5 }), (bytes, ms) => {
        const mutated = mutate(bytes, ms);
        decodes(() => discoveryCodec.decodeRequest(mutated));
        decodes(() => discoveryCodec.decodeDeltaRequest(mutated));
      }),
      params(3000),
    );
  });

  it('resources under random or mistyped type URLs: decoded or a ProtoError', () => {
    const typeUrl = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom(...TYPES, TYPE_URL.secret, 'type.googleapis.com/google.protobuf.Struct', 'type.googleapis.com/google.protobuf.Any', 'type.googleapis.com/', '/', 'type.googleapis.com/envoy.config.core.v3.Node', 'type.googleapis.com/constructor', 'type.googleapis.com/__proto__'),
    );
    fc.assert(
      fc.property(typeUrl, fc.constantFrom(...RESPONSES.map((r) => discoveryCodec.decodeResponse(r).resources[0]?.value ?? new Uint8Array())), (url, value) => {
        decodes(() => decodeAny({ type_url: url, value }));
      }),
      params(1500),
    );
  });

  it('deeply nested Any and Struct values give a ProtoError, not a stack overflow', () => {
    // Any inside Any inside Any...: each level is a few bytes, so a 4 MiB message could nest a million.
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constantFrom(1_000, 20_000, 100_000)), fc.constantFrom('any', 'struct'), (depth, kind) => {
        const bytes = kind === 'any' ? nestedAny(depth) : nestedNodeMetadata(depth);
        if (kind === 'any') decodes(() => decodeAny({ type_url: 'type.googleapis.com/google.protobuf.Any', value: bytes }));
        else decodes(() => discoveryCodec.decodeRequest(bytes));
      }),
      params(40),
    );
  });

  it('decoding keeps no memory over many runs', async () => {
    const samples = fc.sample(fc.tuple(fc.constantFrom(...RESPONSES, REQUEST), fc.array(mutation, { maxLength: 3 })), { numRuns: 200, seed: 9 }).map(([b, ms]) => mutate(b, ms));
    const growth = await retainedGrowth(() => {
      for (let round = 0; round < 20; round++) {
        for (const s of samples) {
          proxySide(s);
          try {
            discoveryCodec.decodeRequest(s);
          } catch {
            // refused
          }
        }
      }
    });
    expect(growth).toBeLessThan(4 * MiB);
  });
});

/**
 * `depth` levels of a message whose last field is the next level: each level is `head` bytes, then
 * the tag of `childField` and the child's length. Built top-down in linear time (a bottom-up concat
 * would copy the message once per level).
 */
function nested(depth: number, head: Buffer, childField: number): Buffer {
  const lengths: number[] = [0];
  for (let i = 1; i <= depth; i++) {
    const inner = lengths[i - 1] as number;
    lengths.push(head.length + varint((childField << 3) | 2).length + varint(inner).length + inner);
  }
  const parts: Buffer[] = [];
  for (let i = depth; i >= 1; i--) parts.push(head, varint((childField << 3) | 2), varint(lengths[i - 1] as number));
  return Buffer.concat(parts);
}

/** google.protobuf.Any { type_url: ".../google.protobuf.Any", value: Any { ... } }, `depth` levels. */
function nestedAny(depth: number): Buffer {
  return nested(depth, field(1, Buffer.from('type.googleapis.com/google.protobuf.Any')), 2);
}

/** A DiscoveryRequest whose node.metadata is a Struct nested `depth` levels. */
function nestedNodeMetadata(depth: number): Buffer {
  // One level is Struct.fields[k] (field 1: entry {key = 1, value = 2}) -> Value.struct_value (5) -> Struct.
  // As a chain of "last field is the child": Struct{1: Entry{1: "k", 2: Value{5: Struct...}}}. Two of
  // the three hops have no head; build it as three interleaved chains collapsed into one loop.
  const key = field(1, Buffer.from('k'));
  const lengths: number[] = [0];
  for (let i = 1; i <= depth; i++) {
    const struct = lengths[i - 1] as number;
    const value = varint((5 << 3) | 2).length + varint(struct).length + struct;
    const entry = key.length + varint((2 << 3) | 2).length + varint(value).length + value;
    lengths.push(varint((1 << 3) | 2).length + varint(entry).length + entry);
  }
  const parts: Buffer[] = [];
  for (let i = depth; i >= 1; i--) {
    const struct = lengths[i - 1] as number;
    const value = varint((5 << 3) | 2).length + varint(struct).length + struct;
    const entry = key.length + varint((2 << 3) | 2).length + varint(value).length + value;
    parts.push(varint((1 << 3) | 2), varint(entry), key, varint((2 << 3) | 2), varint(value), varint((5 << 3) | 2), varint(struct));
  }
  const metadata = Buffer.concat(parts);
  const node = Buffer.concat([field(1, Buffer.from('n')), field(3, metadata)]);
  // DiscoveryRequest.node = 2, type_url = 4
  return Buffer.concat([field(2, node), field(4, Buffer.from(TYPE_URL.cluster))]);
}

/** A length-delimited protobuf field. */
function field(number: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

describe('xDS decoder regressions and the encodings the properties use', () => {
  it('a "__proto__" or "constructor" type URL is an unknown type (ProtoError), not a TypeError', () => {
    // Shrunk counterexample: ON_DEMAND_PROTO_FILES["__proto__"] was taken for a file name. (The other
    // escapes the properties found, Buffer.from(undefined) for a resource value and hasOwnProperty of a
    // null ListValue entry, came from multi-byte mutations; the mutation properties above cover them.)
    expect(() => decodeAny({ type_url: 'type.googleapis.com/__proto__', value: new Uint8Array([10, 1, 97]) })).toThrow(ProtoError);
    expect(() => decodeAny({ type_url: 'type.googleapis.com/constructor', value: new Uint8Array() })).toThrow(ProtoError);
  });

  it('the hand-built nested messages are what they claim (small depth decodes)', () => {
    expect(discoveryCodec.decodeRequest(nestedNodeMetadata(2)).node?.metadata).toEqual({ k: { k: {} } });
    // Three real levels reach the empty innermost Any; 200 levels stop at protobuf's nesting limit.
    expect(() => decodeAny({ type_url: 'type.googleapis.com/google.protobuf.Any', value: nestedAny(3) })).toThrow(/"" is not a type URL/);
    expect(() => decodeAny({ type_url: 'type.googleapis.com/google.protobuf.Any', value: nestedAny(200) })).toThrow(/nested more than 100 levels deep/);
    expect(encodeMessage('envoy.config.core.v3.Node', { id: 'n' }).length).toBeGreaterThan(0);
    expect(encodeAny(TYPE_URL.cluster, { name: 'c' }).type_url).toBe(TYPE_URL.cluster);
  });
});
