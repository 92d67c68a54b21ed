/**
 * The connection manager's timeouts against real clients: request_headers_timeout (a slowloris client
 * trickling headers gets 408 and is cut off), request_timeout (a body that never completes), idle_timeout
 * (common_http_protocol_options: keep-alive HTTP/1 connections and HTTP/2 sessions without streams are
 * closed, HTTP/2 with GOAWAY) and stream_idle_timeout (an HTTP/2 stream without activity gets 408 and its
 * upstream request is cancelled). Other connections are served meanwhile.
 */
import { connect as h2connect } from 'node:http2';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmTimeouts, http1TimeoutOptions } from '../../../src/proxy/network/hcm-limits.js';
import { startH2Fixture, until } from '../../security/h2-fixture.js';
import type { H2Fixture } from '../../security/h2-fixture.js';

/** Writes `head`, then one more byte of `trickle` every 50 ms until the proxy closes; returns what came back. */
function slowClient(port: number, head: string, trickle: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let answer = '';
    let i = 0;
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(trickle[i++ % trickle.length] as string);
    }, 50);
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(answer);
    });
  });
}

async function http1Get(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { host: 'app.test' } });
  await res.text();
  return res.status;
}

describe('connection manager timeouts', () => {
  let fx: H2Fixture;
  beforeAll(async () => {
    fx = await startH2Fixture([
      { name: 'headers', hcm: { request_headers_timeout: '0.3s' } },
      { name: 'request', hcm: { request_timeout: '0.3s' } },
      { name: 'idle', hcm: { common_http_protocol_options: { idle_timeout: '0.3s' } } },
      { name: 'stream_idle', hcm: { stream_idle_timeout: '0.3s' } },
    ]);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('defaults: request headers within 60 s, stream idle 5 min, idle 1 h, no whole-request limit', () => {
    const t = hcmTimeouts({ stat_prefix: 'x' });
    expect(t).toEqual({ idleMs: 3_600_000, requestMs: 0, requestHeadersMs: 60_000, streamIdleMs: 300_000 });
    expect(http1TimeoutOptions(t).headersTimeout).toBe(60_000);
    // A whole-request limit below the headers limit bounds the headers too (node requires it).
    expect(hcmTimeouts({ stat_prefix: 'x', request_timeout: '2s' }).requestHeadersMs).toBe(2_000);
    expect(hcmTimeouts({ stat_prefix: 'x', request_headers_timeout: '0s' }).requestHeadersMs).toBe(0);
  });

  it('request_headers_timeout: a client trickling header bytes gets 408 and the connection closes', async () => {
    const answer = await slowClient(fx.port('headers'), 'GET / HTTP/1.1\r\nhost: app.test\r\nx-slow: ', 'abcdefgh');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(fx.stat('http.headers.downstream_rq_timeout')).toBe(1);
    expect(await http1Get(fx.port('headers'))).toBe(200);
  });

  it('request_timeout: a request body that never completes gets 408', async () => {
    const before = fx.upstream.total;
    const answer = await slowClient(fx.port('request'), 'POST /hold HTTP/1.1\r\nhost: app.test\r\ncontent-length: 1000000\r\n\r\n', 'x');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(await http1Get(fx.port('request'))).toBe(200);
    await until(() => fx.upstream.active, (n) => n === 0, 'upstream requests still open');
    expect(fx.upstream.total).toBeGreaterThan(before);
  });

  it('idle_timeout: an idle keep-alive HTTP/1.1 connection is closed', async () => {
    const socket = connect(fx.port('idle'), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET / HTTP/1.1\r\nhost: app.test\r\n\r\n');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/\r\n\r\nok$/);
  });

  it('idle_timeout: an HTTP/2 session without streams gets GOAWAY and closes', async () => {
    const session = h2connect(`http://127.0.0.1:${fx.port('idle')}`);
    session.on('error', () => undefined);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    const status = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ':path': '/', ':authority': 'app.test' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.resume();
      req.end();
    });
    expect(status).toBe(200);
    expect(await goaway).toBe(0);
    await new Promise<void>((resolve) => (session.closed ? resolve() : session.once('close', () => resolve())));
    expect(fx.stat('http.idle.downstream_cx_idle_timeout')).toBe(1);
  });

  it('stream_idle_timeout: an HTTP/2 stream without activity gets 408 and its upstream request is cancelled', async () => {
    const session = h2connect(`http://127.0.0.1:${fx.port('stream_idle')}`);
    session.on('error', () => undefined);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = session.request({ ':path': '/hold', ':authority': 'app.test' });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
      req.end();
    });
    expect(answer).toEqual({ status: 408, body: 'stream timeout' });
    expect(fx.stat('http.stream_idle.downstream_rq_idle_timeout')).toBe(1);
    await until(() => fx.upstream.active, (n) => n === 0, 'upstream requests still open');
    session.close();
  });
});
