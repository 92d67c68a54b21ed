/**
 * Properties of the TLS inspector's ClientHello parser (envoy.filters.listener.tls_inspector): for
 * generated well-formed ClientHellos (TLS 1.2 and 1.3 style, extensions in any order, big key shares)
 * it finds exactly the SNI and ALPN that were written, whatever TCP segmentation delivered them; for
 * mutated and random bytes it returns one of its typed results and never throws or loops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../../src/proxy/listener/tls-inspector.js';
import type { ClientHelloResult } from '../../src/proxy/listener/tls-inspector.js';
import { MiB, byteMutation, mutate, params, retainedGrowth } from './fuzz-helpers.js';

interface HelloSpec {
  readonly recordMinor: number;
  readonly sessionId: Uint8Array;
  readonly cipherCount: number;
  readonly sni?: string;
  readonly alpn?: readonly string[];
  /** Other extensions (type, body), e.g. supported_versions, key_share, padding. */
  readonly others: ReadonlyArray<readonly [number, Uint8Array]>;
  /** Where SNI and ALPN go among the others. */
  readonly sniAt: number;
  readonly alpnAt: number;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u24(n: number): Buffer {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

function extension(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(body.length), body]);
}

function sniExtension(name: string): Buffer {
  const host = Buffer.from(name, 'latin1');
  const entry = Buffer.concat([Buffer.from([0]), u16(host.length), host]);
  return extension(0, Buffer.concat([u16(entry.length), entry]));
}

function alpnExtension(protocols: readonly string[]): Buffer {
  const list = Buffer.concat(protocols.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])));
  return extension(16, Buffer.concat([u16(list.length), list]));
}

/** Serializes a ClientHello in one TLS record, as RFC 8446 section 4.1.2 lays it out. */
function buildHello(spec: HelloSpec): Buffer {
  const exts: Buffer[] = spec.others.map(([type, body]) => extension(type, Buffer.from(body)));
  if (spec.sni !== undefined) exts.splice(Math.min(spec.sniAt, exts.length), 0, sniExtension(spec.sni));
  if (spec.alpn !== undefined) exts.splice(Math.min(spec.alpnAt, exts.length), 0, alpnExtension(spec.alpn));
  const extensions = Buffer.concat(exts);
  const ciphers = Buffer.concat(Array.from({ length: spec.cipherCount }, (_, i) => u16(0x1301 + i)));
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]), // legacy_version: TLS 1.2, also in TLS 1.3 hellos
    Buffer.alloc(32, 7), // random
    Buffer.from([spec.sessionId.length]), Buffer.from(spec.sessionId),
    u16(ciphers.length), ciphers,
    Buffer.from([1, 0]), // compression_methods: null
    u16(extensions.length), extensions,
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01]), u24(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, spec.recordMinor]), u16(handshake.length), handshake]);
}

/** Extension types that are not server_name (0) or ALPN (16). */
const otherType = fc.integer({ min: 1, max: 0xffff }).filter((t) => t !== 16);
const keyShare = fc.integer({ min: 32, max: 4000 }).map((n) => [51, new Uint8Array(n).fill(0x42)] as const);
const supportedVersions = fc.constant([43, new Uint8Array([4, 0x03, 0x04, 0x03, 0x03])] as const);
const otherExtension = fc.oneof(fc.tuple(otherType, fc.uint8Array({ maxLength: 300 })), keyShare, supportedVersions);
const alpnProtocol = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-./'), minLength: 1, maxLength: 40 });

const helloSpec: fc.Arbitrary<HelloSpec> = fc.record(
  {
    recordMinor: fc.constantFrom(1, 3),
    sessionId: fc.oneof(fc.constant(new Uint8Array()), fc.uint8Array({ minLength: 32, maxLength: 32 })),
    cipherCount: fc.integer({ min: 1, max: 400 }),
    sni: fc.domain(),
    alpn: fc.array(alpnProtocol, { minLength: 1, maxLength: 6 }),
    others: fc.array(otherExtension, { maxLength: 6 }),
    sniAt: fc.nat(6),
    alpnAt: fc.nat(6),
  },
  { requiredKeys: ['recordMinor', 'sessionId', 'cipherCount', 'others', 'sniAt', 'alpnAt'] },
);

function expected(spec: HelloSpec): ClientHelloResult {
  return spec.sni === undefined ? { kind: 'tls', alpn: [...(spec.alpn ?? [])] } : { kind: 'tls', serverName: spec.sni.toLowerCase(), alpn: [...(spec.alpn ?? [])] };
}

/** What any input may produce: one of the parser's typed results (too-large: a hello over 64 KiB). */
function assertTyped(result: ClientHelloResult): void {
  expect(['need-more', 'not-tls', 'too-large', 'tls']).toContain(result.kind);
  if (result.kind === 'tls') {
    expect(Array.isArray(result.alpn)).toBe(true);
    for (const p of result.alpn) expect(typeof p).toBe('string');
    if (result.serverName !== undefined) expect(typeof result.serverName).toBe('string');
  }
}

const mutation = byteMutation(64);

describe('fuzz: TLS inspector ClientHello parser', () => {
  it('finds the SNI and ALPN written in any well-formed ClientHello', () => {
    fc.assert(
      fc.property(helloSpec, (spec) => {
        expect(parseClientHello(buildHello(spec))).toEqual(expected(spec));
      }),
      params(1500),
    );
  });

  it('says need-more for every incomplete prefix and gives the same answer whatever the segmentation', () => {
    fc.assert(
      fc.property(helloSpec, fc.array(fc.nat(), { maxLength: 8 }), fc.uint8Array({ maxLength: 64 }), (spec, cuts, trailing) => {
        const hello = buildHello(spec);
        // The listener re-parses the growing buffer after each TCP segment.
        const points = [...new Set(cuts.map((c) => 1 + (c % (hello.length - 1))))].sort((a, b) => a - b);
        for (const p of points) expect(parseClientHello(hello.subarray(0, p))).toEqual({ kind: 'need-more' });
        // Bytes after the record (the rest of the client's flight) change nothing.
        expect(parseClientHello(Buffer.concat([hello, Buffer.from(trailing)]))).toEqual(expected(spec));
      }),
      params(500),
    );
  });

  it('mutated ClientHellos give a typed result, never an exception', () => {
    fc.assert(
      fc.property(helloSpec, fc.array(mutation, { minLength: 1, maxLength: 6 }), (spec, mutations) => {
        assertTyped(parseClientHello(mutate(buildHello(spec), mutations)));
      }),
      params(3000),
    );
  });

  it('lengths that lie (record, handshake, extension, name list) give a typed result', () => {
    // Overwrite each 16-bit length field the hello has with random values.
    fc.assert(
      fc.property(helloSpec, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff })), { minLength: 1, maxLength: 4 }), (spec, lies) => {
        const hello = Buffer.from(buildHello(spec));
        for (const [at, value] of lies) hello.writeUInt16BE(value, at % (hello.length - 1));
        assertTyped(parseClientHello(hello));
      }),
      params(2000),
    );
  });

  it('random bytes: not-tls unless they start like a TLS handshake record; never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const result = parseClientHello(Buffer.from(bytes));
        assertTyped(result);
        if (bytes.length > 0 && bytes[0] !== 0x16) expect(result).toEqual({ kind: 'not-tls' });
      }),
      params(3000),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        // A handshake record header in front of garbage, so the parser goes past the first checks.
        const body = Buffer.from(bytes);
        assertTyped(parseClientHello(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(body.length), body])));
      }),
      params(3000),
    );
  });

  it('a record that claims more than the inspector buffers is not waited for forever', () => {
    // The listener stops reading at MAX_CLIENT_HELLO_BYTES; the parser agrees there is nothing more to wait for.
    const header = Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(0xffff)]);
    const big = Buffer.concat([header, Buffer.alloc(MAX_CLIENT_HELLO_BYTES - header.length)]);
    expect(parseClientHello(big).kind).not.toBe('need-more');
  });

  it('parsing keeps no memory: the retained heap does not grow over many runs', async () => {
    const sample = fc.sample(helloSpec, { numRuns: 200, seed: 7 }).map(buildHello);
    const growth = await retainedGrowth(() => {
      for (let round = 0; round < 50; round++) for (const hello of sample) parseClientHello(hello);
    });
    expect(growth).toBeLessThan(2 * MiB);
  });
});
