// The upstream HTTP/1.1 wire format: request heads, and the response parser fed byte by byte and in one
// piece (framing must not depend on where the socket's chunks split), including what it must refuse.
import { describe, expect, it } from 'vitest';
import type { HeaderMap } from '../../../src/proxy/http/filter.js';
import { encodeRequestHead, Http1ProtocolError, MAX_RESPONSE_HEAD_BYTES, ResponseParser } from '../../../src/proxy/upstream/http1-codec.js';

interface Parsed { status: number; headers: HeaderMap; body: string; trailers: HeaderMap | undefined; reusable: boolean | undefined }

function parse(wire: string, options: { head?: boolean; split?: number } = {}): Parsed & { parser: ResponseParser } {
  const out: Parsed = { status: 0, headers: {}, body: '', trailers: undefined, reusable: undefined };
  const parser = new ResponseParser({
    onResponseHead: (status, headers) => Object.assign(out, { status, headers }),
    onResponseBody: (chunk) => (out.body += chunk.toString('latin1')),
    onResponseComplete: (trailers, reusable) => Object.assign(out, { trailers, reusable }),
  });
  parser.expect(options.head === true);
  const bytes = Buffer.from(wire, 'latin1');
  const step = options.split ?? bytes.length;
  for (let i = 0; i < bytes.length; i += step) parser.feed(bytes.subarray(i, i + step));
  return { ...out, parser };
}

/** Parsed in one piece and one byte at a time: both must agree. */
function parseBoth(wire: string, options: { head?: boolean } = {}): Parsed {
  const whole = parse(wire, options);
  const bytewise = parse(wire, { ...options, split: 1 });
  const strip = ({ parser: _p, ...rest }: Parsed & { parser: ResponseParser }) => rest;
  expect(strip(bytewise)).toEqual(strip(whole));
  return strip(whole);
}

function refused(wire: string): string {
  for (const split of [undefined, 1]) {
    expect(() => parse(wire, split ? { split } : {}), `split ${split}`).toThrow(Http1ProtocolError);
  }
  try {
    parse(wire);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('HTTP/1.1 response parser', () => {
  it('reads a Content-Length body, keeps repeated fields and drops hop-by-hop ones', () => {
    const r = parseBoth('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Pad:   v  \r\n\r\nhello');
    expect(r).toMatchObject({ status: 200, body: 'hello', trailers: {}, reusable: true });
    expect(r.headers).toEqual({ 'content-length': '5', 'set-cookie': ['a=1', 'b=2'], 'x-pad': 'v' });
  });

  it('drops the fields the Connection header names, as hop-by-hop', () => {
    const r = parseBoth('HTTP/1.1 200 OK\r\nConnection: x-hop, keep-alive\r\nX-Hop: secret\r\nX-End: kept\r\ncontent-length: 0\r\n\r\n');
    expect(r.headers).toEqual({ 'x-end': 'kept', 'content-length': '0' });
    expect(r.reusable).toBe(true);
  });

  it('decodes chunked bodies with extensions and trailers', () => {
    const r = parseBoth('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\ngrpc-status: 0\r\nx-t: 1\r\n\r\n');
    expect(r).toMatchObject({ body: 'hello 0123456789', trailers: { 'grpc-status': '0', 'x-t': '1' }, reusable: true });
    expect(r.headers).not.toHaveProperty('transfer-encoding');
  });

  it('skips 1xx responses and gives no body to HEAD, 204 and 304', () => {
    expect(parseBoth('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok')).toMatchObject({ status: 201, body: 'ok', headers: { 'content-length': '2' } });
    expect(parseBoth('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n', { head: true })).toMatchObject({ status: 200, body: '', reusable: true });
    expect(parseBoth('HTTP/1.1 204 No Content\r\n\r\n')).toMatchObject({ status: 204, reusable: true });
    expect(parseBoth('HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n')).toMatchObject({ status: 304, body: '', reusable: true });
  });

  it('reads a body without framing until the connection closes, and never reuses that connection', () => {
    const r = parse('HTTP/1.1 200 OK\r\n\r\nuntil close', { split: 3 });
    expect(r.body).toBe('until close');
    expect(r.reusable).toBeUndefined(); // not complete until the peer closes
    expect(r.parser.readsUntilClose).toBe(true);
    expect(r.parser.finish()).toBe(true);
    // A non-chunked transfer coding is read the same way.
    expect(parse('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\nxx').parser.readsUntilClose).toBe(true);
  });

  it('decides reuse by version and Connection, and ignores Content-Length beside chunked (but not trusting the connection)', () => {
    expect(parseBoth('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n').reusable).toBe(false);
    expect(parseBoth('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n').reusable).toBe(false);
    expect(parseBoth('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n').reusable).toBe(true);
    expect(parseBoth('HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n')).toMatchObject({ body: 'ab', reusable: false });
    expect(parseBoth('HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\n\r\nab')).toMatchObject({ body: 'ab', reusable: true });
  });

  it('keeps the server\'s Keep-Alive timeout hint', () => {
    expect(parse('HTTP/1.1 200 OK\r\nkeep-alive: timeout=7, max=100\r\ncontent-length: 0\r\n\r\n').parser.keepAliveHintMs).toBe(7000);
  });

  it('does not reuse a connection that sent bytes after the response', () => {
    expect(parse('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nabEXTRA').reusable).toBe(false);
  });

  it('refuses what would let framing be misread', () => {
    expect(refused('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc')).toMatch(/conflicting content-length/);
    expect(refused('HTTP/1.1 200 OK\r\ncontent-length: 2, 3\r\n\r\nabc')).toMatch(/invalid content-length/);
    expect(refused('HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n')).toMatch(/invalid content-length/);
    expect(refused('HTTP/1.1 200 OK\r\nx-a: 1\r\n folded\r\ncontent-length: 0\r\n\r\n')).toMatch(/obsolete line folding/);
    expect(refused('HTTP/1.1 200 OK\r\nx-a : 1\r\ncontent-length: 0\r\n\r\n')).toMatch(/invalid response header name/);
    expect(refused('HTTP/1.1 200 OK\r\nx-a: 1\nx-b: 2\r\ncontent-length: 0\r\n\r\n')).toMatch(/bare CR or LF/);
    expect(refused('HTTP/1.1 200 OK\r\nx-a: 1\0\r\ncontent-length: 0\r\n\r\n')).toMatch(/control character/);
    expect(refused('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nZZ\r\n')).toMatch(/invalid chunk size/);
    expect(refused('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n')).toMatch(/not followed by CRLF/);
    expect(refused('HTTP/2 200\r\n\r\n')).toMatch(/invalid status line/);
    expect(refused('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n')).toMatch(/101/);
    expect(refused(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(MAX_RESPONSE_HEAD_BYTES)}\r\n`)).toMatch(/exceed/);
  });

  it('refuses bytes when no response is expected', () => {
    const parser = new ResponseParser({ onResponseHead() {}, onResponseBody() {}, onResponseComplete() {} });
    expect(() => parser.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))).toThrow(/no response expected/);
  });
});

describe('HTTP/1.1 request head', () => {
  it('writes Host first, repeats list values and skips what the codec owns', () => {
    const head = encodeRequestHead('GET', '/a?b=1', 'svc:80', { 'x-many': ['1', '2'], connection: 'close', ':path': '/x', accept: '*/*' }, new Set(['connection']), '');
    expect(head).toBe('GET /a?b=1 HTTP/1.1\r\nhost: svc:80\r\nx-many: 1\r\nx-many: 2\r\naccept: */*\r\n\r\n');
    expect(encodeRequestHead('POST', '/', 'h', {}, new Set(), 'content-length: 3\r\n')).toBe('POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\n\r\n');
  });

  it('refuses header injection through names, values, the path or the method', () => {
    const none = new Set<string>();
    expect(() => encodeRequestHead('GET', '/', 'h', { 'x-a': 'v\r\nx-evil: 1' }, none, '')).toThrow(/control character/);
    expect(() => encodeRequestHead('GET', '/', 'h', { 'x a': 'v' }, none, '')).toThrow(/invalid header name/);
    expect(() => encodeRequestHead('GET', '/ HTTP/1.1\r\nx: y', 'h', {}, none, '')).toThrow(/invalid request path/);
    expect(() => encodeRequestHead('GE T', '/', 'h', {}, none, '')).toThrow(/invalid request method/);
    expect(() => encodeRequestHead('GET', '/', 'h\r\nx: 1', {}, none, '')).toThrow(/control character/);
  });
});
