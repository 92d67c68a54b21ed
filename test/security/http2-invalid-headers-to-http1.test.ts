/**
 * An HTTP/2 request whose headers are malformed in HTTP/2 or cannot be written in HTTP/1 —
 * connection-specific headers, upper-case or non-token names, CR/LF/NUL/controls in values, padded
 * values — must not be translated into an HTTP/1 request upstream (where CR/LF would split headers,
 * or Transfer-Encoding would change the framing). Connection-specific headers, upper-case names and a
 * bad :authority are refused (a 400 response or a stream reset) and the HTTP/1 upstream never sees the
 * request. A regular field with a bad name or value is dropped by Node's HTTP/2 codec before the proxy
 * sees it (Node's nghttp2 on_invalid_header callback ignores such fields, where Envoy resets the
 * stream): the request may go on without it, but the field itself never reaches the upstream.
 * Requests are written frame by frame, since node:http2 refuses to send these.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h2Get, rawH2Request } from './h2-raw.js';
import { startHcmFixture } from './hcm-fixture.js';
import type { HcmFixture } from './hcm-fixture.js';

describe('HTTP/2 headers that are invalid in HTTP/1 never reach an HTTP/1 upstream', () => {
  let fx: HcmFixture;
  let port: number;
  beforeAll(async () => {
    fx = await startHcmFixture([{ name: 'h2c', hcm: { use_remote_address: true } }]);
    port = fx.ports.h2c as number;
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('a well-formed HTTP/2 request (te: trailers included) is forwarded to the HTTP/1 upstream', async () => {
    const answer = await rawH2Request(port, [...h2Get('/h2-ok'), ['te', 'trailers'], ['x-user', 'alice']]);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('app /h2-ok');
    expect(fx.reached('h2-ok')[0]?.headers['x-user']).toBe('alice');
  });

  const refusedOrDropped = async (path: string, fields: Array<[string, string]>, mayDrop: boolean) => {
    const answer = await rawH2Request(port, fields);
    const refused = answer.status === 400 || answer.rstCode !== undefined || answer.goawayCode !== undefined;
    const reached = fx.reached(path);
    if (!mayDrop || refused) {
      expect(refused, JSON.stringify(answer)).toBe(true);
      expect(reached).toEqual([]);
      return;
    }
    expect(answer.status, JSON.stringify(answer)).toBe(200);
    expect(reached).toHaveLength(1);
    const names = Object.keys(reached[0]?.headers ?? {});
    expect(names.filter((n) => n.startsWith('x-user') || n.startsWith('x user') || n.startsWith('x:user') || n === 'x-admin')).toEqual([]);
    expect(JSON.stringify(reached[0]?.headers)).not.toMatch(/\\[rnu]|admin|alice/);
  };

  it.each([
    ['connection', ['connection', 'keep-alive']],
    ['keep-alive', ['keep-alive', 'timeout=5']],
    ['proxy-connection', ['proxy-connection', 'keep-alive']],
    ['transfer-encoding', ['transfer-encoding', 'chunked']],
    ['upgrade', ['upgrade', 'websocket']],
    ['te other than trailers', ['te', 'gzip']],
    ['an upper-case name', ['X-User', 'alice']],
  ] as const)('%s: refused, not forwarded', async (name, field) => {
    const path = `/h2-bad-${name.replace(/\W+/g, '-')}`;
    await refusedOrDropped(path, [...h2Get(path), [field[0], field[1]]], false);
  });

  it('CR LF in :authority: refused, not forwarded', async () => {
    const path = '/h2-bad-authority';
    await refusedOrDropped(path, h2Get(path).map(([n, v]) => [n, n === ':authority' ? 'app.test\r\nx-admin: true' : v]), false);
  });

  it('a space in :path (a second request line on HTTP/1): refused, not forwarded', async () => {
    const path = '/h2-bad-path-space HTTP/1.1';
    await refusedOrDropped('h2-bad-path-space', h2Get(path), false);
  });

  it.each([
    ['a space in the name', ['x user', 'alice']],
    ['a colon in the name', ['x:user', 'alice']],
    ['CR LF in a value', ['x-user', 'alice\r\nx-admin: true']],
    ['LF in a value', ['x-user', 'alice\nx-admin: true']],
    ['CR in a value', ['x-user', 'alice\radmin']],
    ['NUL in a value', ['x-user', 'alice\u0000admin']],
    ['a control character in a value', ['x-user', 'alice\u0001']],
    ['a leading space in a value', ['x-user', ' alice']],
    ['a trailing tab in a value', ['x-user', 'alice\t']],
  ] as const)('%s: refused, or the field dropped; never forwarded', async (name, field) => {
    const path = `/h2-bad-${name.replace(/\W+/g, '-')}`;
    await refusedOrDropped(path, [...h2Get(path), [field[0], field[1]]], true);
  });
});
