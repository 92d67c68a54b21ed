/**
 * The request smuggling classes of Envoy's edge guidance, on raw sockets: Transfer-Encoding with
 * Content-Length, transfer codings other than chunked, whitespace before the colon, CR/LF/controls
 * in values, obs-fold, Transfer-Encoding on HTTP/1.0, conflicting Content-Length. Each is refused
 * (400, or 501 for a coding Envoy does not implement), the connection closes, and nothing reaches
 * the upstream. Requests pipelined behind a `connection: close` request are not run. And Node's
 * lenient parser stays off even when the process is started with NODE_OPTIONS=--insecure-http-parser.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy } from '../e2e/helpers/proxy-process.js';
import type { RunningProxy } from '../e2e/helpers/proxy-process.js';
import { rawExchange } from './fixture.js';
import { smuggledRequest, startSmugglingFixture } from './smuggling.js';
import type { SmugglingFixture } from './smuggling.js';

const post = (target: string, headers: string, body: string) => `POST /${target} HTTP/1.1\r\nhost: app.test\r\n${headers}\r\n${body}`;

describe('HTTP/1 request smuggling is refused at the edge', () => {
  let s: SmugglingFixture;
  beforeAll(async () => {
    s = await startSmugglingFixture();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('Transfer-Encoding together with Content-Length: 400 (CL.TE / TE.CL), nothing forwarded', async () => {
    const inner = smuggledRequest('tecl-smuggled');
    const body = `0\r\n\r\n${inner}`;
    await s.refused(post('tecl', `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`, body), ['tecl', 'tecl-smuggled']);
    await s.refused(post('clte', `Transfer-Encoding: chunked\r\nContent-Length: 4\r\n`, body), ['clte', 'tecl-smuggled']);
  });

  it.each([
    ['chunked, gzip (chunked not last)', 'chunked, gzip', [400, 501]],
    ['gzip, chunked (a coding Envoy does not implement)', 'gzip, chunked', [501]],
    ['xchunked', 'xchunked', [400, 501]],
    ['identity', 'identity', [400, 501]],
    ['chunked with a parameter', 'chunked;q=1', [400, 501]],
  ] as const)('Transfer-Encoding: %s is refused, nothing forwarded', async (_name, coding, statuses) => {
    const marker = `te-${coding.replace(/\W+/g, '-')}`;
    const answer = await s.refused(post(marker, `Transfer-Encoding: ${coding}\r\n`, `0\r\n\r\n${smuggledRequest(`${marker}-smuggled`)}`), [marker, `${marker}-smuggled`], statuses);
    if (answer.status === 501) expect(answer.raw.toLowerCase()).toContain('connection: close');
  });

  it('Transfer-Encoding on an HTTP/1.0 request: 400 (RFC 9112 6.1), nothing forwarded', async () => {
    await s.refused(`POST /te10 HTTP/1.0\r\nhost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggledRequest('te10-smuggled')}`, ['te10', 'te10-smuggled']);
  });

  it.each([
    ['space before the colon', 'Content-Length : 5\r\n'],
    ['tab before the colon', 'Transfer-Encoding\t: chunked\r\n'],
    ['space inside the name', 'Content Length: 5\r\n'],
    ['an empty name', ': 5\r\n'],
  ])('%s: 400, nothing forwarded', async (name, line) => {
    const marker = `ws-${name.replace(/\W+/g, '-')}`;
    await s.refused(post(marker, line, `0\r\n\r\n${smuggledRequest(`${marker}-smuggled`)}`), [marker, `${marker}-smuggled`]);
  });

  it.each([
    ['CR inside a value', 'x-user: alice\radmin\r\n'],
    ['LF inside a value', 'x-user: alice\nx-admin: 1\r\n'],
    ['NUL inside a value', 'x-user: alice\u0000\r\n'],
    ['a control character inside a value', 'x-user: alice\u0001\r\n'],
    ['DEL inside a value', 'x-user: alice\u007f\r\n'],
    ['obs-fold (a continuation line)', 'x-user: alice\r\n admin\r\n'],
    ['obs-fold with a tab', 'x-user: alice\r\n\tadmin\r\n'],
  ])('%s: 400, nothing forwarded', async (name, line) => {
    const marker = `value-${name.replace(/\W+/g, '-')}`;
    await s.refused(`GET /${marker} HTTP/1.1\r\nhost: app.test\r\n${line}\r\n`, [marker]);
  });

  it.each([
    ['two different Content-Length headers', 'Content-Length: 0\r\nContent-Length: 44\r\n'],
    ['two equal Content-Length headers', 'Content-Length: 44\r\nContent-Length: 44\r\n'],
    ['a list in Content-Length', 'Content-Length: 44, 44\r\n'],
    ['a sign in Content-Length', 'Content-Length: +44\r\n'],
  ])('%s: 400, nothing forwarded', async (name, lines) => {
    const marker = `cl-${name.replace(/\W+/g, '-')}`;
    await s.refused(post(marker, lines, smuggledRequest(`${marker}-smuggled`).padEnd(44, 'x')), [marker, `${marker}-smuggled`]);
  });

  it('a Host with characters no authority has: 400, nothing forwarded', async () => {
    await s.refused('GET /bad-host HTTP/1.1\r\nhost: app.test" x="1\r\n\r\n', ['bad-host']);
    await s.refused('GET /bad-host-2 HTTP/1.1\r\nhost: app.test/admin\r\n\r\n', ['bad-host-2']);
  });

  it('requests pipelined behind connection: close are not run; well-formed pipelining still works', async () => {
    const closing = `GET /pipe-first HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n\r\n${smuggledRequest('pipe-after-close')}`;
    const answer = await rawExchange(s.port, closing);
    expect(answer.status).toBe(200);
    expect(s.fx.reached('pipe-first')).toHaveLength(1);
    expect(s.fx.reached('pipe-after-close')).toEqual([]);

    const both = `${smuggledRequest('pipe-one')}GET /pipe-two HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n\r\n`;
    const two = await rawExchange(s.port, both);
    expect(two.raw.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    expect(s.fx.reached('pipe-one')).toHaveLength(1);
    expect(s.fx.reached('pipe-two')).toHaveLength(1);
  });
});

/** A plain Node HTTP server with default options in a process started with these env vars; its port. */
async function plainNodeServer(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number }> {
  const script = "require('node:http').createServer((q, s) => s.end('lenient')).listen(0, '127.0.0.1', function () { console.log('port=' + this.address().port); });";
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port=(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`node exited ${code}: ${out}`)));
  });
  return { child, port };
}

describe('the strict parser stays on under NODE_OPTIONS=--insecure-http-parser', () => {
  let dir: string;
  let app: Server;
  let proxy: RunningProxy | undefined;
  let plain: ChildProcess | undefined;
  let plainPort: number;
  const seen: string[] = [];
  const lenientEnv = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --insecure-http-parser`.trim() };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-insecure-parser-'));
    app = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('app');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as { port: number }).port;
    proxy = await startProxy(dir, 'edge', `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          route_config: { virtual_hosts: [{ name: app, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: app } }] }] }
          http_filters: [{ name: envoy.filters.http.router, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } }]
  clusters:
  - name: app
    type: STATIC
    load_assignment: { cluster_name: app, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${appPort} } } } }] }] }
`, { env: lenientEnv });
    ({ child: plain, port: plainPort } = await plainNodeServer(lenientEnv));
  });
  afterAll(async () => {
    plain?.kill();
    await proxy?.stop();
    await new Promise((r) => app?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a default Node server under the flag accepts bare LF; the proxy under the same flag still answers 400', async () => {
    expect((await rawExchange(plainPort, 'GET /lenient HTTP/1.1\nhost: app.test\nconnection: close\n\n')).status).toBe(200);
    const port = proxy?.listenerPort('http') as number;
    for (const [marker, bytes] of [
      ['lenient-lf', 'GET /lenient-lf HTTP/1.1\nhost: app.test\n\n'],
      ['lenient-fold', 'GET /lenient-fold HTTP/1.1\r\nhost: app.test\r\nx-a: 1\r\n 2\r\n\r\n'],
      ['lenient-te', `POST /lenient-te HTTP/1.1\r\nhost: app.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${smuggledRequest('lenient-te-smuggled')}`],
    ] as const) {
      const answer = await rawExchange(port, bytes);
      expect(answer.status, `${marker}: ${answer.raw}`).toBe(400);
      expect(seen.filter((u) => u.includes(marker))).toEqual([]);
    }
    const ok = await rawExchange(port, 'GET /strict-ok HTTP/1.1\r\nhost: app.test\r\nconnection: close\r\n\r\n');
    expect(ok.status).toBe(200);
    expect(seen).toEqual(['/strict-ok']);
  });
});
