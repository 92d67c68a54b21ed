// HTTP/2 upstreams over node:http2 (h2c and TLS) and a real @grpc/grpc-js server: one shared session
// per host, trailers, streamed request bodies, resets, GOAWAY reconnects and protocol selection.
import * as grpc from '@grpc/grpc-js';
import { constants, createSecureServer, createServer } from 'node:http2';
import type { Http2SecureServer, Http2Server, Http2Session, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../../src/envoy/index.js';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { UpstreamError } from '../../../src/proxy/upstream/index.js';
import type { UpstreamCluster, UpstreamClusterManager } from '../../../src/proxy/upstream/index.js';
import type { TestPki } from './fixtures.js';
import { eventually, makePki, manager, readBody, request, send, staticCluster } from './fixtures.js';

let cm: UpstreamClusterManager;
let stat: (name: string) => number;
let pki: TestPki;
const cleanup: Array<() => Promise<void>> = [];

beforeAll(async () => {
  pki = await makePki();
});
afterEach(async () => {
  await cm?.close();
  for (const c of cleanup.splice(0)) await c();
});

const H2: Partial<Cluster> = { http2_protocol_options: {} };

interface H2Backend {
  port: number;
  sessions: Http2Session[];
}

/** Starts an HTTP/2 server (h2c or TLS) whose stream handler the test provides. */
async function h2Backend(onStream: (stream: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>) => void, secure?: { allowHTTP1?: boolean; onRequest?: (version: string) => void }): Promise<H2Backend> {
  const server: Http2Server | Http2SecureServer = secure
    ? createSecureServer({ cert: pki.server.cert, key: pki.server.key, allowHTTP1: secure.allowHTTP1 ?? false })
    : createServer();
  const backend: H2Backend = { port: 0, sessions: [] };
  server.on('session', (s: Http2Session) => backend.sessions.push(s));
  if (secure?.allowHTTP1) {
    server.on('request', (req: { httpVersion: string }, res: { end(s: string): void }) => {
      secure.onRequest?.(req.httpVersion);
      res.end(`version ${req.httpVersion}`);
    });
  } else {
    server.on('stream', onStream);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  cleanup.push(async () => {
    for (const s of backend.sessions) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return backend;
}

async function cluster(config: Cluster): Promise<UpstreamCluster> {
  ({ cm, stat } = manager());
  await cm.addOrUpdate(config);
  return cm.get(config.name)!;
}

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

describe('HTTP/2 upstream (h2c)', () => {
  it('multiplexes concurrent requests on one session and delivers trailers', async () => {
    const b = await h2Backend((stream, headers) => {
      stream.respond({ ':status': 200, 'x-path': headers[':path'] as string }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': `done ${headers[':path']}` }));
      setTimeout(() => stream.end(`${headers[':authority']} ${headers[':path']}`), 20);
    });
    const c = await cluster(staticCluster('h2c', [b.port], H2));
    const responses = await Promise.all([1, 2, 3, 4, 5].map((i) => c.httpRequest(request({ path: `/${i}`, authority: 'svc.test' }), c.chooseHost()!)));
    for (const [i, r] of responses.entries()) {
      expect(r.protocol).toBe('HTTP/2');
      expect(r.status).toBe(200);
      expect(r.headers['x-path']).toBe(`/${i + 1}`);
      expect(r.headers).not.toHaveProperty(':status');
      expect(await readBody(r)).toBe(`svc.test /${i + 1}`);
      expect(await r.trailers).toEqual({ 'x-trailer': `done /${i + 1}` });
    }
    expect(b.sessions).toHaveLength(1);
    expect(stat('cluster.h2c.upstream_cx_http2_total')).toBe(1);
    expect(stat('cluster.h2c.upstream_rq_total')).toBe(5);
    expect(stat('cluster.h2c.upstream_rq_active')).toBe(0);
  });

  it('streams a request body and never sends connection-specific headers', async () => {
    let seen: Record<string, unknown> = {};
    const b = await h2Backend((stream, headers) => {
      seen = headers;
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end(Buffer.concat(chunks));
      });
    });
    const c = await cluster(staticCluster('h2body', [b.port], H2));
    const body = Readable.from((async function* () {
      for (const part of ['one ', 'two ', 'three']) {
        yield Buffer.from(part);
        await new Promise((r) => setTimeout(r, 5));
      }
    })());
    const { body: echoed } = await send(c, {
      method: 'POST',
      body,
      headers: { 'x-keep': 'yes', connection: 'keep-alive', 'keep-alive': '5', 'transfer-encoding': 'chunked', upgrade: 'h2c', host: 'other' },
    });
    expect(echoed).toBe('one two three');
    expect(seen['x-keep']).toBe('yes');
    expect(seen[':method']).toBe('POST');
    expect(seen[':scheme']).toBe('http');
    expect(seen[':authority']).toBe('backend.test');
    for (const h of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host']) expect(seen).not.toHaveProperty(h);
  });

  it('opens a new session after the server sends GOAWAY', async () => {
    const b = await h2Backend((stream) => {
      stream.respond({ ':status': 200 });
      stream.end('ok');
      stream.session?.goaway(constants.NGHTTP2_NO_ERROR);
    });
    const c = await cluster(staticCluster('goaway', [b.port], H2));
    expect((await send(c)).body).toBe('ok');
    await eventually(() => c.hosts()[0]!.cxActive === 0);
    expect((await send(c)).body).toBe('ok');
    expect(b.sessions).toHaveLength(2);
  });

  it('a stream reset by the server fails with UR; the session keeps serving', async () => {
    let n = 0;
    const b = await h2Backend((stream) => {
      if (++n === 1) {
        stream.on('error', () => undefined); // the server's own side of the reset
        stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      }
      else {
        stream.respond({ ':status': 200 });
        stream.end('fine');
      }
    });
    const c = await cluster(staticCluster('rst', [b.port], H2));
    const err = await failure(send(c));
    expect(err.flag).toBe('UR');
    expect(stat('cluster.rst.upstream_rq_rx_reset')).toBe(1);
    expect((await send(c)).body).toBe('fine');
    expect(b.sessions).toHaveLength(1);
  });

  it('a per-try timeout fails with UT and cancels only that stream', async () => {
    let cancelled = false;
    const b = await h2Backend((stream, headers) => {
      if (headers[':path'] === '/slow') {
        stream.on('close', () => (cancelled = stream.rstCode === constants.NGHTTP2_CANCEL));
        return;
      }
      stream.respond({ ':status': 200 });
      stream.end('quick');
    });
    const c = await cluster(staticCluster('h2timeout', [b.port], H2));
    const err = await failure(send(c, { path: '/slow', timeoutMs: 100 }));
    expect(err.flag).toBe('UT');
    await eventually(() => cancelled);
    expect(stat('cluster.h2timeout.upstream_rq_timeout')).toBe(1);
    expect((await send(c)).body).toBe('quick');
    expect(b.sessions).toHaveLength(1);
  });

  it('destroying the response body cancels the stream, not the session', async () => {
    let cancelled = false;
    const b = await h2Backend((stream, headers) => {
      stream.respond({ ':status': 200 });
      if (headers[':path'] === '/endless') {
        stream.write('first chunk');
        stream.on('aborted', () => (cancelled = true)); // reset by the client before the server ended it
      } else {
        stream.end('next');
      }
    });
    const c = await cluster(staticCluster('h2destroy', [b.port], H2));
    const r = await c.httpRequest(request({ path: '/endless' }), c.chooseHost()!);
    r.body.destroy();
    await eventually(() => cancelled);
    await eventually(() => stat('cluster.h2destroy.upstream_rq_active') === 0);
    expect(stat('cluster.h2destroy.upstream_rq_tx_reset')).toBe(1);
    expect(stat('cluster.h2destroy.upstream_rq_rx_reset')).toBe(0);
    expect((await send(c)).body).toBe('next');
    expect(b.sessions).toHaveLength(1);
  });

  it('requests waiting for the session to connect are pending: max_pending_requests overflows with UO', async () => {
    const b = await h2Backend((stream) => {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    const c = await cluster(staticCluster('h2pending', [b.port], { ...H2, circuit_breakers: { thresholds: [{ max_pending_requests: 1 }] } }));
    const host = c.chooseHost()!;
    const first = c.httpRequest(request(), host);
    const err = await failure(c.httpRequest(request(), host));
    expect(err.flag).toBe('UO');
    expect(await readBody(await first)).toBe('ok');
    // Once the session is up, requests are no longer pending.
    const more = await Promise.all([1, 2, 3].map(() => c.httpRequest(request(), host)));
    expect(more.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(stat('cluster.h2pending.upstream_rq_pending_overflow')).toBe(1);
  });
});

describe('HTTP/2 upstream over TLS', () => {
  const tls = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TYPE_URL.upstreamTlsContext, sni: 'h2.test' } };

  it('negotiates h2 by ALPN when the cluster uses explicit_http_config', async () => {
    let alpn: string | false | null = null;
    let servername: string | false | null = null;
    const b = await h2Backend((stream) => {
      const socket = stream.session?.socket as TLSSocket;
      alpn = socket.alpnProtocol;
      servername = socket.servername;
      stream.respond({ ':status': 200 });
      stream.end('secure');
    }, {});
    const c = await cluster(staticCluster('h2tls', [b.port], {
      transport_socket: tls,
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TYPE_URL.httpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } },
      },
    }));
    const { response, body } = await send(c);
    expect(body).toBe('secure');
    expect(response.protocol).toBe('HTTP/2');
    expect(alpn).toBe('h2');
    expect(servername).toBe('h2.test');
  });

  it('use_downstream_protocol_config follows the downstream protocol (HTTP/1.1 by default)', async () => {
    const versions: string[] = [];
    const b = await h2Backend(() => undefined, { allowHTTP1: true, onRequest: (v) => versions.push(v) });
    const c = await cluster(staticCluster('follow', [b.port], {
      transport_socket: tls,
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TYPE_URL.httpProtocolOptions, use_downstream_protocol_config: { http2_protocol_options: {} } },
      },
    }));
    const host = c.chooseHost()!;
    const h2 = await c.httpRequest(request(), host, { downstreamProtocol: 'HTTP/2' });
    expect(await readBody(h2)).toBe('version 2.0');
    expect(h2.protocol).toBe('HTTP/2');
    const h1 = await c.httpRequest(request(), host, { downstreamProtocol: 'HTTP/1.1' });
    expect(await readBody(h1)).toBe('version 1.1');
    const unspecified = await c.httpRequest(request(), host);
    expect(await readBody(unspecified)).toBe('version 1.1');
    expect(versions).toEqual(['2.0', '1.1', '1.1']);
  });
});

describe('gRPC through an HTTP/2 cluster', () => {
  let server: grpc.Server;
  let port = 0;
  const identity = (b: Buffer) => b;
  const method = { requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity, responseStream: false };

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService({
      Say: { ...method, path: '/test.Echo/Say', requestStream: false },
      Fail: { ...method, path: '/test.Echo/Fail', requestStream: false },
      Sum: { ...method, path: '/test.Echo/Sum', requestStream: true },
    }, {
      Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const trailer = new grpc.Metadata();
        trailer.set('x-echo-length', String(call.request.length));
        callback(null, Buffer.concat([Buffer.from('echo: '), call.request]), trailer);
      },
      Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        callback({ code: grpc.status.NOT_FOUND, details: 'no such fortune' });
      },
      Sum: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const parts: string[] = [];
        call.on('data', (m: Buffer) => parts.push(m.toString()));
        call.on('end', () => callback(null, Buffer.from(parts.join('+'))));
      },
    });
    port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  const frame = (text: string) => {
    const msg = Buffer.from(text);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(msg.length, 1);
    return Buffer.concat([head, msg]);
  };
  const unframe = (buf: Buffer) => buf.subarray(5, 5 + buf.readUInt32BE(1)).toString();
  const grpcRequest = (path: string, body: Buffer | Readable) => request({ method: 'POST', path, authority: 'echo.test', headers: { 'content-type': 'application/grpc' }, body });

  async function readBuffer(body: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  it('a unary call returns the message with grpc-status and custom metadata in the trailers', async () => {
    const c = await cluster(staticCluster('grpc', [port], H2));
    const r = await c.httpRequest(grpcRequest('/test.Echo/Say', frame('hello')), c.chooseHost()!);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc+proto');
    expect(unframe(await readBuffer(r.body))).toBe('echo: hello');
    const trailers = await r.trailers;
    expect(trailers['grpc-status']).toBe('0');
    expect(trailers['x-echo-length']).toBe('5');
  });

  it('a failing call carries its grpc-status and grpc-message', async () => {
    const c = await cluster(staticCluster('grpcfail', [port], H2));
    const r = await c.httpRequest(grpcRequest('/test.Echo/Fail', frame('x')), c.chooseHost()!);
    await readBuffer(r.body);
    const status = { ...r.headers, ...(await r.trailers) };
    expect(status['grpc-status']).toBe(String(grpc.status.NOT_FOUND));
    expect(status['grpc-message']).toBe('no%20such%20fortune'); // percent-encoded, as gRPC sends it
  });

  it('a client-streaming call receives a request body streamed in several frames', async () => {
    const c = await cluster(staticCluster('grpcstream', [port], H2));
    const body = Readable.from((async function* () {
      for (const n of ['1', '2', '3']) {
        yield frame(n);
        await new Promise((r) => setTimeout(r, 10));
      }
    })());
    const r = await c.httpRequest(grpcRequest('/test.Echo/Sum', body), c.chooseHost()!);
    expect(unframe(await readBuffer(r.body))).toBe('1+2+3');
    expect((await r.trailers)['grpc-status']).toBe('0');
  });
});
