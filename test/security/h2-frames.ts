/**
 * Hand-written HTTP/2 frames over a plain socket (h2c, prior knowledge), for the flood and rapid-reset
 * tests: a client that does exactly what an attacker does, no client library smoothing it over.
 * HPACK is kept to static-table indexes and literals without indexing (no Huffman, no dynamic table).
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;
export const SETTING = { MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an n-bit prefix (RFC 7541 5.1), first byte ORed with `high`. */
function hpackInt(value: number, prefixBits: number, high: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([high | value]);
  const out = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

function literal(value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  return Buffer.concat([hpackInt(bytes.length, 7, 0), bytes]);
}

/** A literal header field without indexing, new name (0x00 prefix). */
export function literalHeader(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0]), literal(name), literal(value)]);
}

/** GET <path> with :scheme http and :authority, as one header block. */
export function requestBlock(authority: string, path = '/', extra: Buffer[] = []): Buffer {
  // :method GET (static 2), :scheme http (static 6), :path from static name 4, :authority from static name 1.
  const pathField = path === '/' ? Buffer.from([0x84]) : Buffer.concat([hpackInt(4, 4, 0), literal(path)]);
  return Buffer.concat([Buffer.from([0x82, 0x86]), pathField, hpackInt(1, 4, 0), literal(authority), ...extra]);
}

export function settingsFrame(settings: Array<[number, number]> = []): Buffer {
  const payload = Buffer.alloc(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, payload);
}

export function rstStream(streamId: number, code: number = ERROR.CANCEL): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, payload);
}

export function ping(data = 0): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(data >>> 0, 4);
  return frame(FRAME.PING, 0, 0, payload);
}

export interface ReceivedFrame { type: number; flags: number; streamId: number; payload: Buffer }

/** A raw h2c connection that records every frame the server sends, until the server closes it. */
export class RawH2Connection {
  readonly frames: ReceivedFrame[] = [];
  readonly closed: Promise<void>;
  private buffered = Buffer.alloc(0);
  private ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.ended = true;
      resolve();
    }));
  }

  /** Connects, sends the preface and an empty SETTINGS frame (and ACKs the server's). */
  static async open(port: number, settings: Array<[number, number]> = []): Promise<RawH2Connection> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const conn = new RawH2Connection(socket);
    conn.write(Buffer.concat([PREFACE, settingsFrame(settings)]));
    return conn;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Writes unless the server already closed; resolves once the bytes are handed to the kernel. */
  write(bytes: Buffer): Promise<void> {
    if (this.ended || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  goaway(): { lastStreamId: number; errorCode: number } | undefined {
    const f = this.frames.find((x) => x.type === FRAME.GOAWAY);
    return f ? { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, errorCode: f.payload.readUInt32BE(4) } : undefined;
  }

  /** The server's SETTINGS (the first non-ACK one) as id -> value. */
  serverSettings(): Map<number, number> {
    const f = this.frames.find((x) => x.type === FRAME.SETTINGS && (x.flags & FLAG.ACK) === 0);
    const out = new Map<number, number>();
    for (let i = 0; f && i + 6 <= f.payload.length; i += 6) out.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
    return out;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) return;
      const f: ReceivedFrame = {
        type: this.buffered.readUInt8(3),
        flags: this.buffered.readUInt8(4),
        streamId: this.buffered.readUInt32BE(5) & 0x7fffffff,
        payload: this.buffered.subarray(9, 9 + length),
      };
      this.buffered = this.buffered.subarray(9 + length);
      this.frames.push(f);
      if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0) void this.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    }
  }
}
