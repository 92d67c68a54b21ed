/**
 * A minimal HTTP/2 client over a raw socket (h2c prior knowledge), for requests that node:http2
 * refuses to send: connection-specific headers, upper-case names, CR/LF/NUL in values. Header blocks
 * are HPACK literals without Huffman coding; the answer is read far enough to tell a response status,
 * a stream reset or a GOAWAY apart.
 */
import { connect } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1). */
function hpackInt(value: number, prefixBits: number, flags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2), bytes as written. */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00]), hpackInt(n.length, 7, 0), n, hpackInt(v.length, 7, 0), v]);
}

const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/** The :status of the first field of a response header block (indexed, or a literal with :status's name). */
function statusOf(block: Buffer): number | undefined {
  const b = block[0] ?? 0;
  if (b & 0x80) return STATIC_STATUS[b & 0x7f];
  const index = (b & 0xc0) === 0x40 ? b & 0x3f : b & 0x0f;
  if (index !== 8) return undefined;
  const length = (block[1] ?? 0) & 0x7f;
  if ((block[1] ?? 0) & 0x80) return undefined; // Huffman: three digits never get shorter, so not expected
  return Number(block.subarray(2, 2 + length).toString('latin1'));
}

export interface H2Answer {
  /** The response :status on stream 1, if a response came. */
  status?: number;
  /** RST_STREAM error code on stream 1. */
  rstCode?: number;
  /** GOAWAY error code. */
  goawayCode?: number;
  body: string;
}

/** Sends one request (stream 1, END_STREAM) with the header fields in the given order. */
export function rawH2Request(port: number, fields: ReadonlyArray<readonly [string, string]>): Promise<H2Answer> {
  return new Promise((resolve) => {
    const answer: H2Answer = { body: '' };
    const socket = connect(port, '127.0.0.1', () => {
      const block = Buffer.concat(fields.map(([n, v]) => literal(n, v)));
      socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), frame(HEADERS, END_STREAM | END_HEADERS, 1, block)]));
    });
    let buffered = Buffer.alloc(0);
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) return;
        const [type, flags] = [buffered[3] as number, buffered[4] as number];
        const stream = buffered.readUInt32BE(5) & 0x7fffffff;
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        if (type === SETTINGS && !(flags & ACK)) socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
        if (stream === 1 && type === HEADERS && answer.status === undefined) answer.status = statusOf(payload);
        if (stream === 1 && type === DATA) answer.body += payload.toString('latin1');
        if (stream === 1 && (type === HEADERS || type === DATA) && flags & END_STREAM) return done();
        if (stream === 1 && type === RST_STREAM) {
          answer.rstCode = payload.readUInt32BE(0);
          return done();
        }
        if (type === GOAWAY) {
          answer.goawayCode = payload.readUInt32BE(4);
          return done();
        }
      }
    });
    socket.on('error', () => done());
    socket.on('close', () => done());
    socket.setTimeout(5_000, () => done());
  });
}

/** The request pseudo-headers for GET `path` on app.test. */
export function h2Get(path: string): Array<[string, string]> {
  return [[':method', 'GET'], [':scheme', 'http'], [':authority', 'app.test'], [':path', path]];
}
