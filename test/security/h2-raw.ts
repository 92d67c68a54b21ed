/**
 * A minimal HTTP/2 client over a raw socket (h2c prior knowledge), for requests that node:http2
 * refuses to send: connection-specific headers, upper-case names, CR/LF/NUL in values. Header blocks
 * are HPACK literals without Huffman coding; the answer is read far enough to tell a response status,
 * a stream reset or a GOAWAY apart.
 */
import { connect } from 'node:net';
import { FLAG, FRAME, PREFACE, frame, literalHeader, settingsFrame } from './h2-frames.js';

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
      const block = Buffer.concat(fields.map(([n, v]) => literalHeader(n, v)));
      socket.write(Buffer.concat([PREFACE, settingsFrame(), frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, 1, block)]));
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
        if (type === FRAME.SETTINGS && !(flags & FLAG.ACK)) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
        if (stream === 1 && type === FRAME.HEADERS && answer.status === undefined) answer.status = statusOf(payload);
        if (stream === 1 && type === FRAME.DATA) answer.body += payload.toString('latin1');
        if (stream === 1 && (type === FRAME.HEADERS || type === FRAME.DATA) && flags & FLAG.END_STREAM) return done();
        if (stream === 1 && type === FRAME.RST_STREAM) {
          answer.rstCode = payload.readUInt32BE(0);
          return done();
        }
        if (type === FRAME.GOAWAY) {
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
