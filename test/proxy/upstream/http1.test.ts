// HTTP/1.1 upstreams through the pool's own codec: keep-alive, headers, bodies, trailers, failures mapped to
// Envoy flags, per-try timeouts and circuit breakers, against real node:http servers.
import { createHash } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../src/envoy/index.js';
import { UpstreamError } from '../../../src/proxy/upstream/index.js';
import type { UpstreamClusterManager } from '../../../src/proxy/upstream/index.js';
import type { Backend } from './fixtures.js';
import { closeServer, eventually, httpBackend, listen, manager, readBody, request, send, staticCluster, trackSockets } from './fixtures.js';

let cm: UpstreamClusterManager;
let stat: (name: string) => number;
const cleanup: Array<() => Promise<void>> = [];

async function backend(name: string, handler?: Parameters<typeof httpBackend>[1]): Promise<Backend> {
  const b = await httpBackend(name, handler);
  cleanup.push(() => b.close());
  return b;
}

async function cluster(name: string, port: number, extra: Parameters<typeof staticCluster>[2] = {}) {
  ({ cm, stat } = manager());
  await cm.addOrUpdate(staticCluster(name, [port], extra));
  return cm.get(name)!;
}

afterEach(async () => {
  await cm?.close();
  for (const c of cleanup.splice(0)) await c();
});

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}

describe('HTTP/1.1 upstream', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    const b = await backend('ka');
    const c = await cluster('ka', b.port);
    for (let i = 0; i < 10; i++) {
      expect((await send(c, { path: `/${i}` })).body).toBe(`ka GET /${i}`);
      // As the next downstream request would arrive: a turn later (the connection is free before that).
      await new Promise(setImmediate);
    }
    expect(b.connections).toBe(1);
    expect(stat('cluster.ka.upstream_cx_total')).toBe(1);
    expect(stat('cluster.ka.upstream_cx_http1_total')).toBe(1);
    expect(stat('cluster.ka.upstream_cx_active')).toBe(1);
    expect(stat('cluster.ka.upstream_rq_total')).toBe(10);
    expect(stat('cluster.ka.upstream_rq_active')).toBe(0);
    expect(c.hosts()[0]).toMatchObject({ cxTotal: 1, rqTotal: 10, rqSuccess: 10, activeRequests: 0 });
  });

  it('sends the authority as Host, forwards end-to-end headers and never hop-by-hop ones', async () => {
    const b = await backend('hdr', (req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('keep-alive', 'timeout=5');
      res.setHeader('x-upstream', 'yes');
      res.end(JSON.stringify(req.headers));
    });
    const c = await cluster('hdr', b.port);
    const { response, body } = await send(c, {
      authority: 'svc.example:8080',
      headers: { 'x-one': '1', 'x-many': ['a', 'b'], connection: 'close', 'keep-alive': 'timeout=1', upgrade: 'h2c', te: 'trailers', 'proxy-connection': 'x' },
    });
    const seen = JSON.parse(body) as Record<string, string>;
    expect(seen.host).toBe('svc.example:8080');
    expect(seen['x-one']).toBe('1');
    expect(seen['x-many']).toBe('a, b');
    expect(seen).not.toHaveProperty('upgrade');
    expect(seen).not.toHaveProperty('te');
    expect(seen).not.toHaveProperty('proxy-connection');
    // Not the caller's "close": HTTP/1.1 is keep-alive without saying so (as Envoy sends it).
    expect(seen).not.toHaveProperty('connection');
    expect(seen).not.toHaveProperty('keep-alive');
    expect(response.protocol).toBe('HTTP/1.1');
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(response.headers['x-upstream']).toBe('yes');
    expect(response.headers).not.toHaveProperty('keep-alive');
    expect(response.headers).not.toHaveProperty('connection');
    expect(response.headers).not.toHaveProperty('transfer-encoding');
    expect(b.connections).toBe(1);
  });

  it('streams a request body and delivers response trailers', async () => {
    const b = await backend('echo', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { trailer: 'x-checksum' });
        res.write(Buffer.concat(chunks));
        res.addTrailers({ 'x-checksum': String(Buffer.concat(chunks).length) });
        res.end();
      });
    });
    const c = await cluster('echo', b.port);
    const parts = ['hello ', 'streamed ', 'world'];
    const body = Readable.from((async function* () {
      for (const p of parts) {
        yield Buffer.from(p);
        await new Promise((r) => setTimeout(r, 5));
      }
    })());
    const response = await c.httpRequest(request({ method: 'POST', body }), c.chooseHost()!);
    expect(await readBody(response)).toBe('hello streamed world');
    expect(await response.trailers).toEqual({ 'x-checksum': '20' });
  });

  it('counts responses by status class', async () => {
    const b = await backend('status', (req, res) => {
      res.statusCode = Number(req.url?.slice(1));
      res.end();
    });
    const c = await cluster('status', b.port);
    for (const code of [200, 204, 404, 503, 503]) expect((await send(c, { path: `/${code}` })).response.status).toBe(code);
    expect(stat('cluster.status.upstream_rq_2xx')).toBe(2);
    expect(stat('cluster.status.upstream_rq_4xx')).toBe(1);
    expect(stat('cluster.status.upstream_rq_5xx')).toBe(2);
    expect(stat('cluster.status.upstream_rq_503')).toBe(2);
    expect(c.hosts()[0]).toMatchObject({ rqSuccess: 3, rqError: 2 });
  });

  it('a refused connection fails with UF and counts upstream_cx_connect_fail', async () => {
    const probe = createNetServer();
    const port = await listen(probe);
    await closeServer(probe);
    const c = await cluster('refused', port);
    const err = await failure(send(c));
    expect(err.flag).toBe('UF');
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(stat('cluster.refused.upstream_cx_connect_fail')).toBe(1);
    expect(stat('cluster.refused.upstream_cx_active')).toBe(0);
    expect(stat('cluster.refused.upstream_rq_active')).toBe(0);
  });

  it('a handshake that never completes fails with UF after connect_timeout (upstream_cx_connect_timeout)', async () => {
    const silent = createNetServer((s) => s.resume()); // reads the ClientHello, never answers it
    const sockets = trackSockets(silent);
    const port = await listen(silent);
    cleanup.push(() => closeServer(silent, sockets));
    const c = await cluster('silent', port, {
      connect_timeout: '0.2s',
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TYPE_URL.upstreamTlsContext } },
    });
    const started = Date.now();
    const err = await failure(send(c));
    expect(err.flag).toBe('UF');
    expect(err.message).toMatch(/connect_timeout/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(stat('cluster.silent.upstream_cx_connect_timeout')).toBe(1);
    expect(stat('cluster.silent.upstream_cx_connect_fail')).toBe(1);
    await eventually(() => sockets.size === 0);
  });

  it('a per-try timeout fails with UT, counts upstream_rq_timeout and resets the upstream request', async () => {
    let upstreamClosed = false;
    const b = await backend('slow', (req) => {
      req.socket.once('close', () => (upstreamClosed = true));
    });
    const c = await cluster('slow', b.port);
    const err = await failure(send(c, { timeoutMs: 100 }));
    expect(err.flag).toBe('UT');
    expect(stat('cluster.slow.upstream_rq_timeout')).toBe(1);
    await eventually(() => upstreamClosed);
    expect(stat('cluster.slow.upstream_rq_active')).toBe(0);
    expect(c.hosts()[0]).toMatchObject({ activeRequests: 0, rqTimeout: 1 });
  });

  it('a connection closed before the response fails with UC', async () => {
    const b = await backend('rude', (req) => req.socket.destroy());
    const c = await cluster('rude', b.port);
    const err = await failure(send(c));
    expect(err.flag).toBe('UC');
    expect(stat('cluster.rude.upstream_cx_destroy')).toBeGreaterThanOrEqual(1);
  });

  it('a connection closed mid-body errors the body and rejects the trailers', async () => {
    const b = await backend('cut', (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const c = await cluster('cut', b.port);
    const response = await c.httpRequest(request(), c.chooseHost()!);
    expect(response.status).toBe(200);
    const trailers = response.trailers;
    const bodyErr = await readBody(response).then(() => undefined, (e: unknown) => e);
    expect(bodyErr).toBeInstanceOf(UpstreamError);
    expect((bodyErr as UpstreamError).flag).toBe('UC');
    await expect(trailers).rejects.toBeInstanceOf(UpstreamError);
    expect(stat('cluster.cut.upstream_rq_active')).toBe(0);
  });

  it('an aborted signal rejects the request and closes the upstream request', async () => {
    let upstreamClosed = false;
    const b = await backend('abort', (req) => req.socket.once('close', () => (upstreamClosed = true)));
    const c = await cluster('abort', b.port);
    const controller = new AbortController();
    const pending = c.httpRequest(request({ signal: controller.signal }), c.chooseHost()!);
    await eventually(() => b.requests.length === 1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await eventually(() => upstreamClosed);
    expect(stat('cluster.abort.upstream_rq_tx_reset')).toBe(1);
    expect(stat('cluster.abort.upstream_rq_active')).toBe(0);
  });

  it('destroying the response body resets the upstream request', async () => {
    let upstreamClosed = false;
    const b = await backend('endless', (req, res) => {
      req.socket.once('close', () => (upstreamClosed = true));
      res.write('first chunk');
    });
    const c = await cluster('endless', b.port);
    const response = await c.httpRequest(request(), c.chooseHost()!);
    response.body.destroy();
    await eventually(() => upstreamClosed);
    expect(stat('cluster.endless.upstream_rq_tx_reset')).toBe(1);
    expect(stat('cluster.endless.upstream_rq_active')).toBe(0);
  });
});

describe('circuit breakers', () => {
  /** A backend that holds every response until release() is called. */
  async function heldBackend(name: string) {
    const held: Array<() => void> = [];
    const b = await backend(name, (req, res) => held.push(() => res.end(`${name} ${req.url}`)));
    return { b, held, release: () => held.splice(0).forEach((f) => f()) };
  }


  it('max_requests overflow fails with UO and counts upstream_rq_pending_overflow', async () => {
    const { b, held, release } = await heldBackend('maxrq');
    const c = await cluster('maxrq', b.port, { circuit_breakers: { thresholds: [{ max_requests: 1 }] } });
    const first = c.httpRequest(request({ path: '/1' }), c.chooseHost()!);
    await eventually(() => held.length === 1);
    const err = await failure(c.httpRequest(request({ path: '/2' }), c.chooseHost()!));
    expect(err.flag).toBe('UO');
    expect(stat('cluster.maxrq.upstream_rq_pending_overflow')).toBe(1);
    release();
    expect(await readBody(await first)).toBe('maxrq /1');
    const third = send(c, { path: '/3' });
    await eventually(() => held.length === 1);
    release();
    expect((await third).body).toBe('maxrq /3');
  });

  it('max_connections queues requests as pending; max_pending_requests bounds the queue', async () => {
    const { b, held, release } = await heldBackend('maxcx');
    const c = await cluster('maxcx', b.port, { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } });
    const host = c.chooseHost()!;
    const first = c.httpRequest(request({ path: '/1' }), host);
    await eventually(() => held.length === 1);
    const second = c.httpRequest(request({ path: '/2' }), host);
    expect(stat('cluster.maxcx.upstream_rq_pending_active')).toBe(1);
    const err = await failure(c.httpRequest(request({ path: '/3' }), host));
    expect(err.flag).toBe('UO');
    expect(stat('cluster.maxcx.upstream_rq_pending_overflow')).toBe(1);
    release();
    expect(await readBody(await first)).toBe('maxcx /1');
    await eventually(() => held.length === 1);
    release();
    expect(await readBody(await second)).toBe('maxcx /2');
    expect(b.connections).toBe(1);
    // Both waited: the first for the connection being opened, the second for it to be free.
    expect(stat('cluster.maxcx.upstream_rq_pending_total')).toBe(2);
    expect(stat('cluster.maxcx.upstream_rq_pending_active')).toBe(0);
  });

  it('max_connections caps connections across hosts: a second host waits for a free slot', async () => {
    const one = await backend('one');
    const two = await backend('two');
    ({ cm, stat } = manager());
    await cm.addOrUpdate(staticCluster('cap', [one.port, two.port], {
      circuit_breakers: { thresholds: [{ max_connections: 1 }] },
      common_http_protocol_options: { idle_timeout: '0.1s' },
    }));
    const c = cm.get('cap')!;
    const [h1, h2] = c.hosts();
    expect(await readBody(await c.httpRequest(request(), h1!))).toBe('one GET /');
    // The idle connection to `one` holds the only slot until its idle timeout closes it.
    expect(await readBody(await c.httpRequest(request(), h2!))).toBe('two GET /');
    expect(stat('cluster.cap.upstream_cx_overflow')).toBe(1);
    expect(one.connections + two.connections).toBe(2);
    expect(stat('cluster.cap.upstream_cx_active')).toBeLessThanOrEqual(1);
  });

  it('max_retries is a budget shared by concurrent retries', async () => {
    const b = await backend('retry');
    const c = await cluster('retry', b.port, { circuit_breakers: { thresholds: [{ max_retries: 2 }] } });
    expect(c.tryRetryBudget()).toBe(true);
    expect(c.tryRetryBudget()).toBe(true);
    expect(c.tryRetryBudget()).toBe(false);
    expect(stat('cluster.retry.upstream_rq_retry_overflow')).toBe(1);
    c.releaseRetry();
    expect(c.tryRetryBudget()).toBe(true);
  });

  it('defaults to Envoy thresholds (1024 / 1024 / 1024 / 3)', async () => {
    const b = await backend('defaults');
    const c = await cluster('defaults', b.port);
    expect(c.circuitBreakers).toEqual({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });
    expect(c.settings.connectTimeoutMs).toBe(1000);
  });
});

describe('connectTcp', () => {
  it('returns a connected socket, counts cx stats and honours max_connections with UO', async () => {
    const echo = createNetServer((s: Socket) => s.pipe(s));
    const sockets = trackSockets(echo);
    const port = await listen(echo);
    cleanup.push(() => closeServer(echo, sockets));
    const c = await cluster('tcp', port, { circuit_breakers: { thresholds: [{ max_connections: 1 }] } });
    const socket = await c.connectTcp(c.chooseHost()!);
    socket.write('ping');
    const echoed = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
    expect(echoed).toBe('ping');
    expect(stat('cluster.tcp.upstream_cx_total')).toBe(1);
    expect(stat('cluster.tcp.upstream_cx_active')).toBe(1);
    const err = await failure(c.connectTcp(c.chooseHost()!));
    expect(err.flag).toBe('UO');
    expect(stat('cluster.tcp.upstream_cx_overflow')).toBe(1);
    socket.destroy();
    await eventually(() => stat('cluster.tcp.upstream_cx_active') === 0);
    expect(stat('cluster.tcp.upstream_cx_destroy')).toBe(1);
    const again = await c.connectTcp(c.chooseHost()!);
    again.destroy();
  });
});

/** A server that answers every request on a connection with the next of `replies` (raw bytes, as given). */
async function rawBackend(replies: ReadonlyArray<string | ((socket: Socket) => void)>) {
  let next = 0;
  const connections: Socket[] = [];
  const server = createNetServer((socket: Socket) => {
    connections.push(socket);
    let seen = '';
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      while (seen.includes('\r\n\r\n')) {
        seen = seen.slice(seen.indexOf('\r\n\r\n') + 4);
        const reply = replies[Math.min(next++, replies.length - 1)]!;
        if (typeof reply === 'string') socket.write(reply);
        else reply(socket);
      }
    });
  });
  const sockets = trackSockets(server);
  const port = await listen(server);
  cleanup.push(() => closeServer(server, sockets));
  return { port, connections };
}

describe('HTTP/1.1 upstream codec on real connections', () => {
  it('reads a body delimited by the connection close, and opens a new connection for the next request', async () => {
    const raw = await rawBackend([(s) => s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end')]);
    const c = await cluster('close-delimited', raw.port);
    expect((await send(c)).body).toBe('until the end');
    expect((await send(c)).body).toBe('until the end');
    expect(raw.connections).toHaveLength(2);
  });

  it('a malformed response fails with UR and the connection is not reused', async () => {
    const raw = await rawBackend(['HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok']);
    const c = await cluster('malformed', raw.port);
    const err = await failure(send(c));
    expect(err.flag).toBe('UR');
    expect(err.message).toMatch(/conflicting content-length/);
    expect((await send(c)).body).toBe('ok');
    expect(raw.connections).toHaveLength(2);
  });

  it('a head that trickles in one byte at a time is parsed (and a body that follows later is streamed)', async () => {
    const head = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-slow: yes\r\n\r\n';
    const raw = await rawBackend([(s) => {
      let i = 0;
      const drip = setInterval(() => {
        if (i < head.length) return void s.write(head[i++]!);
        clearInterval(drip);
        s.write('3\r\nabc\r\n');
        setTimeout(() => s.write('2\r\nde\r\n0\r\nx-trailer: t\r\n\r\n'), 20);
      }, 1);
    }]);
    const c = await cluster('drip', raw.port);
    const response = await c.httpRequest(request(), c.chooseHost()!);
    expect(response.headers['x-slow']).toBe('yes');
    expect(response.takeCompleteBody?.()).toBeUndefined(); // the body was not there with the head
    expect(await readBody(response)).toBe('abcde');
    expect(await response.trailers).toEqual({ 'x-trailer': 't' });
  });

  it('hands a body that arrived with its head over whole, once', async () => {
    const raw = await rawBackend(['HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello']);
    const c = await cluster('whole', raw.port);
    const response = await c.httpRequest(request(), c.chooseHost()!);
    expect(response.takeCompleteBody?.()?.toString()).toBe('hello');
    expect(response.takeCompleteBody?.()).toBeUndefined();
    expect(await readBody(response)).toBe(''); // the stream, if asked for afterwards, is empty
  });

  it('closes an idle connection before the server\'s Keep-Alive timeout hint', async () => {
    const raw = await rawBackend(['HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok']);
    const c = await cluster('hint', raw.port);
    expect((await send(c)).body).toBe('ok');
    // timeout=1 minus the one-second margin: closed at once instead of racing the server's close.
    await eventually(() => raw.connections[0]!.destroyed || raw.connections[0]!.readableEnded);
    expect((await send(c)).body).toBe('ok');
    expect(raw.connections).toHaveLength(2);
  });

  it('streams a large chunked request body intact through socket back-pressure', async () => {
    const b = await backend('big', (req, res) => {
      const hash = createHash('sha256');
      let length = 0;
      req.pause(); // a slow reader: the proxy's writes fill the socket and must wait for 'drain'
      setTimeout(() => {
        req.on('data', (d: Buffer) => { hash.update(d); length += d.length; });
        req.resume();
      }, 50);
      req.on('end', () => res.end(JSON.stringify({ length, sha: hash.digest('hex'), te: req.headers['transfer-encoding'] })));
    });
    const c = await cluster('big', b.port);
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const expected = createHash('sha256');
    for (const chunk of chunks) expected.update(chunk);
    const seen = JSON.parse((await send(c, { method: 'POST', body: Readable.from(chunks) })).body);
    expect(seen).toEqual({ length: 64 * 64 * 1024, sha: expected.digest('hex'), te: 'chunked' });
  });

  it('a response that comes before the request body is all sent does not free the connection for the next request', async () => {
    const raw = await rawBackend(['HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok']);
    const c = await cluster('early', raw.port);
    const body = new Readable({ read() {} });
    body.push(Buffer.from('part one'));
    const first = await c.httpRequest(request({ method: 'POST', body }), c.chooseHost()!);
    expect(first.status).toBe(413);
    body.push(Buffer.from('part two'));
    body.push(null);
    expect((await send(c)).body).toBe('ok');
    expect(raw.connections).toHaveLength(2);
  });

  it('max_requests_per_connection closes a connection after that many requests', async () => {
    const b = await backend('maxrq');
    const c = await cluster('maxrq', b.port, {
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          common_http_protocol_options: { max_requests_per_connection: 2 },
          explicit_http_config: { http_protocol_options: {} },
        },
      },
    });
    for (let i = 0; i < 5; i++) {
      await send(c, { path: `/${i}` });
      await new Promise(setImmediate);
    }
    expect(b.connections).toBe(3);
  });

  it('serves queued requests in order when max_connections is 1', async () => {
    const b = await backend('fifo');
    const c = await cluster('fifo', b.port, { circuit_breakers: { thresholds: [{ max_connections: 1 }] } });
    const bodies = await Promise.all([0, 1, 2, 3].map(async (i) => (await send(c, { path: `/${i}` })).body));
    expect(bodies).toEqual(['fifo GET /0', 'fifo GET /1', 'fifo GET /2', 'fifo GET /3']);
    expect(b.requests.map((r) => r.url)).toEqual(['/0', '/1', '/2', '/3']);
    expect(b.connections).toBe(1);
  });

  it('streams a request body of unknown length chunked, and a POST without a body says content-length: 0', async () => {
    const b = await backend('post', (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => res.end(JSON.stringify({ te: req.headers['transfer-encoding'], cl: req.headers['content-length'], body })));
    });
    const c = await cluster('post', b.port);
    const streamed = JSON.parse((await send(c, { method: 'POST', body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]) })).body);
    expect(streamed).toEqual({ te: 'chunked', body: 'abcd' });
    const empty = JSON.parse((await send(c, { method: 'POST' })).body);
    expect(empty).toEqual({ cl: '0', body: '' });
  });
});
