/**
 * Property tests of the upstream HTTP/1.1 response parser (the proxy's own codec, on every HTTP/1 upstream):
 * - any well-formed response (random fields, Content-Length, chunked with extensions and trailers, or
 *   close-delimited), cut into random pieces, parses to exactly the model it was written from;
 * - random byte mutations of such responses give the model, another well-formed reading, or an
 *   Http1ProtocolError, never another exception, and memory stays bounded.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderMap } from '../../src/proxy/http/filter.js';
import { Http1ProtocolError, ResponseParser } from '../../src/proxy/upstream/http1-codec.js';
import { byteMutation, MiB, mutate, params, retainedGrowth } from './fuzz-helpers.js';

interface Model {
  status: number;
  fields: Array<[string, string]>;
  body: Buffer;
  framing: 'length' | 'chunked' | 'close';
  chunks: number[];
  trailers: Array<[string, string]>;
}

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((n) => !['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'upgrade'].includes(n));
const value = fc.stringMatching(/^[!-~]([ !-~]{0,30}[!-~])?$/);
const model: fc.Arbitrary<Model> = fc.record({
  status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
  fields: fc.array(fc.tuple(token, value), { maxLength: 12 }),
  body: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  framing: fc.constantFrom('length', 'chunked', 'close'),
  chunks: fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 8 }),
  trailers: fc.array(fc.tuple(token, value), { maxLength: 3 }),
});

function serialize(m: Model): Buffer {
  let head = `HTTP/1.1 ${m.status} Reason Phrase\r\n`;
  for (const [n, v] of m.fields) head += `${n}: ${v}\r\n`;
  if (m.framing === 'length') head += `content-length: ${m.body.length}\r\n`;
  if (m.framing === 'chunked') head += 'transfer-encoding: chunked\r\n';
  const parts: Buffer[] = [Buffer.from(`${head}\r\n`, 'latin1')];
  if (m.framing !== 'chunked') return Buffer.concat([...parts, m.body]);
  let offset = 0;
  let i = 0;
  while (offset < m.body.length) {
    const size = Math.min(m.chunks[i++ % Math.max(1, m.chunks.length)] ?? 64, m.body.length - offset);
    parts.push(Buffer.from(`${size.toString(16)}${i % 2 ? ';ext=1' : ''}\r\n`), m.body.subarray(offset, offset + size), Buffer.from('\r\n'));
    offset += size;
  }
  parts.push(Buffer.from(`0\r\n${m.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1'));
  return Buffer.concat(parts);
}

function expectedFields(pairs: Array<[string, string]>): HeaderMap {
  const map: HeaderMap = {};
  for (const [n, v] of pairs) {
    const prev = map[n];
    map[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return map;
}

interface Result { status: number; headers: HeaderMap; body: Buffer; trailers: HeaderMap | undefined }

/** Feeds `wire` cut at `cuts` (sorted offsets); a close-delimited body ends with finish(). */
function run(wire: Buffer, cuts: number[]): Result {
  const out: Result = { status: 0, headers: {}, body: Buffer.alloc(0), trailers: undefined };
  const body: Buffer[] = [];
  const parser = new ResponseParser({
    onResponseHead: (status, headers) => Object.assign(out, { status, headers }),
    onResponseBody: (chunk) => body.push(Buffer.from(chunk)),
    onResponseComplete: (trailers) => (out.trailers = trailers),
  });
  parser.expect(false);
  let from = 0;
  for (const cut of [...cuts, wire.length]) {
    if (cut > from && out.trailers === undefined) parser.feed(wire.subarray(from, cut));
    from = Math.max(from, cut);
  }
  if (out.trailers === undefined) parser.finish();
  out.body = Buffer.concat(body);
  return out;
}

const cutsFor = (length: number) => fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, length - 1) }), { maxLength: 20 }).map((c) => c.sort((a, b) => a - b));

describe('fuzz: upstream HTTP/1.1 response parser', () => {
  it('well-formed responses cut anywhere parse to the model they were written from', () => {
    fc.assert(
      fc.property(model.chain((m) => fc.tuple(fc.constant(m), cutsFor(serialize(m).length))), ([m, cuts]) => {
        const got = run(serialize(m), cuts);
        expect(got.status).toBe(m.status);
        const headers = { ...expectedFields(m.fields), ...(m.framing === 'length' ? { 'content-length': String(m.body.length) } : {}) };
        expect(got.headers).toEqual(headers);
        expect(got.body.equals(m.body)).toBe(true);
        expect(got.trailers).toEqual(m.framing === 'chunked' ? expectedFields(m.trailers) : {});
      }),
      params(400),
    );
  });

  it('mutated responses parse or fail with Http1ProtocolError, never another exception, in bounded memory', async () => {
    const growth = await retainedGrowth(() => {
      fc.assert(
        fc.property(model, fc.array(byteMutation(8), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 64 }), (m, mutations, step) => {
          const wire = mutate(serialize(m), mutations);
          const cuts = Array.from({ length: Math.floor(wire.length / step) }, (_, i) => (i + 1) * step);
          try {
            run(wire, cuts);
          } catch (err) {
            if (!(err instanceof Http1ProtocolError)) throw err;
          }
        }),
        params(1500),
      );
    });
    expect(growth).toBeLessThan(8 * MiB);
  });
});
