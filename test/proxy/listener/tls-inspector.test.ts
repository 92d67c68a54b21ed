import { connect } from 'node:tls';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseClientHello } from '../../../src/proxy/listener/tls-inspector.js';

/** Captures the real ClientHello Node's TLS client sends, without completing a handshake. */
async function captureClientHello(options: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.once('data', (data: Buffer) => {
        socket.destroy();
        server.close();
        resolve(data);
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
