/**
 * Envoy's edge limits on request headers, for HTTP/1 (raw sockets) and HTTP/2 (node:http2): size
 * (max_request_headers_kb, 60 KiB by default) and count (common_http_protocol_options.max_headers_count,
 * 100 by default; pseudo-headers not counted). Past either limit the answer is 431 and nothing reaches
 * the upstream; at the limit the request goes through. Both are tunable per HCM, and an out-of-range
 * value is refused with the field named while the listeners keep their last good config.
 */
import { connect as http2Connect } from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange } from './fixture.js';
import { listenerResource, startHcmFixture } from './hcm-fixture.js';
import type { HcmFixture } from './hcm-fixture.js';

/** `n` header fields in all, Host included, each `valueSize` bytes of value. */
function http1Request(target: string, n: number, valueSize = 1): string {
  let head = `GET /${target} HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n`;
  for (let i = 0; i < n - 2; i++) head += `x-h${i}: ${'v'.repeat(valueSize)}\r\n`;
  return `${head}\r\n`;
}

/** A GET over HTTP/2 with these regular headers; the status, or the stream/session error. */
function http2Get(port: number, target: string, headers: OutgoingHttpHeaders): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    session.on('error', (err) => resolve({ error: err.message }));
    const req = session.request({ ':path': `/${target}`, ':authority': 'app.test', ...headers });
    req.on('response', (h) => {
      req.resume();
      req.on('end', () => {
        session.close();
        resolve({ status: Number(h[':status']) });
      });
    });
    req.on('error', (err) => {
      session.close();
      resolve({ error: err.message });
    });
    req.end();
  });
}

const manyHeaders = (n: number, valueSize = 1): OutgoingHttpHeaders => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v'.repeat(valueSize)]));

describe('request header limits: 431 past max_request_headers_kb and max_headers_count', () => {
  let fx: HcmFixture;
  beforeAll(async () => {
    fx = await startHcmFixture([
      { name: 'defaults' },
      { name: 'tuned', hcm: { max_request_headers_kb: 8, common_http_protocol_options: { max_headers_count: 20 } } },
    ]);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('HTTP/1, defaults: 100 header fields pass, 101 are 431', async () => {
    expect((await rawExchange(fx.ports.defaults as number, http1Request('h1-count-100', 100))).status).toBe(200);
    const answer = await rawExchange(fx.ports.defaults as number, http1Request('h1-count-101', 101));
    expect(answer.status).toBe(431);
    expect(fx.reached('h1-count-101')).toEqual([]);
  });

  it('HTTP/1, defaults: 59 KiB of headers pass, 61 KiB are 431', async () => {
    expect((await rawExchange(fx.ports.defaults as number, http1Request('h1-size-59k', 3, 59 * 1024))).status).toBe(200);
    const answer = await rawExchange(fx.ports.defaults as number, http1Request('h1-size-61k', 3, 61 * 1024));
    expect(answer.status).toBe(431);
    expect(fx.reached('h1-size-61k')).toEqual([]);
  });

  it('HTTP/1, tuned (8 KiB, 20 headers): the HCM\'s own limits apply', async () => {
    const port = fx.ports.tuned as number;
    expect((await rawExchange(port, http1Request('h1-tuned-20', 20))).status).toBe(200);
    expect((await rawExchange(port, http1Request('h1-tuned-21', 21))).status).toBe(431);
    expect((await rawExchange(port, http1Request('h1-tuned-7k', 3, 7 * 1024))).status).toBe(200);
    expect((await rawExchange(port, http1Request('h1-tuned-9k', 3, 9 * 1024))).status).toBe(431);
    expect(fx.reached('h1-tuned-21')).toEqual([]);
    expect(fx.reached('h1-tuned-9k')).toEqual([]);
  });

  it('HTTP/2, defaults: 100 regular headers pass, 101 are 431', async () => {
    expect(await http2Get(fx.ports.defaults as number, 'h2-count-100', manyHeaders(100))).toEqual({ status: 200 });
    expect(await http2Get(fx.ports.defaults as number, 'h2-count-101', manyHeaders(101))).toEqual({ status: 431 });
    expect(fx.reached('h2-count-101')).toEqual([]);
  });

  it('HTTP/2, defaults: 59 KiB of headers pass, 61 KiB are 431', async () => {
    expect(await http2Get(fx.ports.defaults as number, 'h2-size-59k', manyHeaders(2, 59 * 512))).toEqual({ status: 200 });
    expect(await http2Get(fx.ports.defaults as number, 'h2-size-61k', manyHeaders(2, 61 * 512))).toEqual({ status: 431 });
    expect(fx.reached('h2-size-61k')).toEqual([]);
  });

  it('HTTP/2, tuned (8 KiB, 20 headers): the HCM\'s own limits apply', async () => {
    const port = fx.ports.tuned as number;
    expect(await http2Get(port, 'h2-tuned-20', manyHeaders(20))).toEqual({ status: 200 });
    expect(await http2Get(port, 'h2-tuned-21', manyHeaders(21))).toEqual({ status: 431 });
    expect(await http2Get(port, 'h2-tuned-7k', manyHeaders(1, 7 * 1024))).toEqual({ status: 200 });
    expect(await http2Get(port, 'h2-tuned-9k', manyHeaders(1, 9 * 1024))).toEqual({ status: 431 });
    expect(fx.reached('h2-tuned-21')).toEqual([]);
    expect(fx.reached('h2-tuned-9k')).toEqual([]);
  });

  it.each([
    [{ max_request_headers_kb: 0 }, 'max_request_headers_kb: 0 is out of range; use 1..8192'],
    [{ max_request_headers_kb: 9000 }, 'max_request_headers_kb: 9000 is out of range; use 1..8192'],
    [{ common_http_protocol_options: { max_headers_count: 0 } }, 'common_http_protocol_options.max_headers_count: 0 is out of range'],
  ])('an out-of-range limit (%j) is refused with the field named; the listener keeps its last good config', async (fields, message) => {
    const update = fx.listeners.map((l) => listenerResource(l.name === 'tuned' ? { ...l, hcm: { ...l.hcm, ...fields } } : l));
    const result = await fx.proxy.dynamic.applyListeners(update as never, 'bad-limits');
    expect(result.error).toContain(`listener tuned`);
    expect(result.error).toContain(message);
    const port = fx.proxy.listenerPorts().tuned as number;
    expect((await rawExchange(port, http1Request('after-rejected-7k', 3, 7 * 1024))).status).toBe(200);
    expect((await rawExchange(port, http1Request('after-rejected-9k', 3, 9 * 1024))).status).toBe(431);
  });
});
