import { connect } from 'node:tls';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { SecureVersion } from 'node:tls';
import { ClientHelloReader, MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../../../src/proxy/listener/tls-inspector.js';

/**
 * Captures the real ClientHello Node's TLS client sends, without completing a handshake: everything the
 * client writes before it waits for the server (it sends nothing more until a ServerHello comes).
 */
async function captureClientHello(options: { servername?: string; ALPNProtocols?: string[]; minVersion?: SecureVersion }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      const chunks: Buffer[] = [];
      let quiet: NodeJS.Timeout | undefined;
      socket.on('data', (data: Buffer) => {
        chunks.push(data);
        clearTimeout(quiet);
        quiet = setTimeout(() => {
          socket.destroy();
          server.close();
          resolve(Buffer.concat(chunks));
        }, 100);
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const client = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
      client.on('error', () => undefined);
    });
    server.on('error', reject);
  });
}

describe('tls_inspector ClientHello parsing', () => {
  it('reads SNI and ALPN from a real ClientHello', async () => {
    const hello = await captureClientHello({ servername: 'outbound_.80_._.frontend.simple-app.svc.cluster.local', ALPNProtocols: ['istio-peer-exchange', 'istio'] });
    expect(parseClientHello(hello)).toEqual({ kind: 'tls', serverName: 'outbound_.80_._.frontend.simple-app.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'] });
  });

  it('asks for more bytes while the record is incomplete, and says not-tls for plain HTTP', async () => {
    const hello = await captureClientHello({ servername: 'lambda.external' });
    expect(parseClientHello(hello.subarray(0, 3))).toEqual({ kind: 'need-more' });
    expect(parseClientHello(hello.subarray(0, hello.length - 1))).toEqual({ kind: 'need-more' });
    expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'not-tls' });
  });

  it('a ClientHello without SNI is TLS with no server name', async () => {
    const hello = await captureClientHello({});
    const parsed = parseClientHello(hello);
    expect(parsed.kind).toBe('tls');
    expect(parsed.kind === 'tls' && parsed.serverName).toBeFalsy();
  });
});

/** Record boundaries of a TLS byte stream: [content type, body length] per record. */
function records(data: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let p = 0; p + 5 <= data.length; p += 5 + data.readUInt16BE(p + 3)) out.push([data[p] as number, data.readUInt16BE(p + 3)]);
  return out;
}

/** The same handshake bytes re-cut into records of at most `size` bytes (what a TLS stack may send). */
function refragment(hello: Buffer, size: number): Buffer {
  const body = Buffer.concat(records(hello).reduce<Buffer[]>((acc, [, len], i, all) => {
    const start = all.slice(0, i).reduce((p, [, l]) => p + 5 + l, 0) + 5;
    acc.push(hello.subarray(start, start + len));
    return acc;
  }, []));
  const out: Buffer[] = [];
  for (let p = 0; p < body.length; p += size) {
    const part = body.subarray(p, p + size);
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    header.writeUInt16BE(part.length, 3);
    out.push(header, part);
  }
  return Buffer.concat(out);
}

/** Feeds bytes to a reader in segments of the given sizes (cycled), as TCP may deliver them. */
function feed(data: Buffer, sizes: readonly number[]): ReturnType<ClientHelloReader['push']> {
  const reader = new ClientHelloReader();
  let result: ReturnType<ClientHelloReader['push']> = { kind: 'need-more' };
  for (let p = 0, i = 0; p < data.length; i++) {
    const n = sizes[i % sizes.length] as number;
    result = reader.push(data.subarray(p, p + n));
    p += n;
  }
  return result;
}

// CVE-2020-8660: TLS 1.3-only and large ClientHellos must yield their SNI and ALPN like any other.
describe('tls_inspector: TLS 1.3-only, multi-record and segmented ClientHellos', () => {
  const manyAlpn = Array.from({ length: 120 }, (_, i) => `proto-${i}-${'x'.repeat(200)}`).concat('h2');

  it('a TLS 1.3-only hello (minVersion TLSv1.3) gives its SNI and ALPN', async () => {
    const hello = await captureClientHello({ servername: 'b.example.com', ALPNProtocols: ['h2', 'http/1.1'], minVersion: 'TLSv1.3' });
    // supported_versions (43) lists only 0x0304: the shape Envoy's inspector failed on.
    expect(hello.includes(Buffer.from([0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]))).toBe(true);
    expect(parseClientHello(hello)).toEqual({ kind: 'tls', serverName: 'b.example.com', alpn: ['h2', 'http/1.1'] });
  });

  it('a hello over 16 KiB spans several records and is reassembled', async () => {
    const hello = await captureClientHello({ servername: 'b.example.com', ALPNProtocols: manyAlpn, minVersion: 'TLSv1.3' });
    const recs = records(hello);
    expect(recs.length).toBeGreaterThan(1);
    expect(recs.every(([type]) => type === 0x16)).toBe(true);
    expect(parseClientHello(hello)).toEqual({ kind: 'tls', serverName: 'b.example.com', alpn: manyAlpn });
    // Until the last record is complete the reader waits; it never guesses from the first record.
    expect(parseClientHello(hello.subarray(0, hello.length - 1))).toEqual({ kind: 'need-more' });
    expect(parseClientHello(hello.subarray(0, 5 + (recs[0] as [number, number])[1]))).toEqual({ kind: 'need-more' });
    // One byte per TCP segment: the same answer (and work linear in the bytes, not in bytes x segments).
    expect(feed(hello, [1])).toEqual({ kind: 'tls', serverName: 'b.example.com', alpn: manyAlpn });
  });

  it.each([[1], [7], [100], [4096]])('records of at most %i bytes and any TCP segmentation give the same result', async (size) => {
    const hello = await captureClientHello({ servername: 'b.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
    const cut = refragment(hello, size);
    const expected = { kind: 'tls', serverName: 'b.example.com', alpn: ['h2', 'http/1.1'] };
    expect(parseClientHello(cut)).toEqual(expected);
    for (const sizes of [[1], [3, 1, 5], [6], [size + 5]]) expect(feed(cut, sizes)).toEqual(expected);
  });

  it('bytes after the ClientHello (early data, next records) do not change the result', async () => {
    const hello = await captureClientHello({ servername: 'b.example.com' });
    const trailing = Buffer.concat([hello, Buffer.from([0x17, 0x03, 0x03, 0x00, 0x02, 0xaa, 0xbb])]);
    expect(parseClientHello(trailing)).toEqual({ kind: 'tls', serverName: 'b.example.com', alpn: [] });
  });

  it('a hello declaring more than 64 KiB, or never ending, is too large', async () => {
    const huge = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x01]);
    expect(parseClientHello(huge)).toEqual({ kind: 'too-large' });
    // Zero-length handshake records forever: bounded by the byte limit, not by a count of records.
    const empty = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]);
    const reader = new ClientHelloReader();
    let result = reader.push(empty);
    for (let sent = empty.length; sent < MAX_CLIENT_HELLO_BYTES; sent += empty.length) result = reader.push(empty);
    expect(result).toEqual({ kind: 'too-large' });
  });

  it('says not-tls from the first byte, and a non-handshake record inside the hello leaves nothing to match', async () => {
    expect(parseClientHello(Buffer.from('G'))).toEqual({ kind: 'not-tls' });
    expect(parseClientHello(Buffer.from([0x16, 0x01]))).toEqual({ kind: 'not-tls' });
    const hello = refragment(await captureClientHello({ servername: 'b.example.com' }), 50);
    const alert = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
    expect(parseClientHello(Buffer.concat([hello.subarray(0, 55), alert, hello.subarray(55)]))).toEqual({ kind: 'tls', alpn: [] });
  });
});
