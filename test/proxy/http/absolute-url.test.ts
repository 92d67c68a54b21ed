// Absolute-form request targets (a client using the proxy as its HTTP proxy): routed by the URL's
// authority, forwarded in origin form; refused with 404 when allow_absolute_url is false (Envoy).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBootstrapFile } from '../../../src/envoy/index.js';
import { ProxyServer } from '../../../src/proxy/index.js';
import { parseAbsoluteTarget } from '../../../src/proxy/http/request-target.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

const listener = (name: string, allowAbsoluteUrl?: boolean) => ({
  name,
  address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
  filter_chains: [{
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': HCM,
        stat_prefix: name,
        ...(allowAbsoluteUrl === undefined ? {} : { http_protocol_options: { allow_absolute_url: allowAbsoluteUrl } }),
        route_config: {
          name,
          virtual_hosts: [
            { name: 'lambda', domains: ['lambda.external', 'lambda.external:80'], routes: [{ match: { prefix: '/' }, route: { cluster: 'lambda' } }] },
            { name: 'other', domains: ['other.example'], routes: [{ match: { prefix: '/' }, direct_response: { status: 418 } }] },
          ],
        },
        http_filters: [ROUTER],
      },
    }],
  }],
});

/** Sends raw request bytes and returns the status line and body of the answer. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      out += d;
      const end = out.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(out)?.[1];
      if (end >= 0 && length !== undefined && out.length >= end + 4 + Number(length)) socket.end();
    });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(new Error(`no answer: ${out}`)), 5_000).unref();
  });
}

describe('absolute-form request targets', () => {
  let dir: string;
  let proxy: ProxyServer;
  let app: Server;
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-absolute-url-'));
    app = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.end(`app ${req.url} host=${req.headers.host}`);
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as { port: number }).port;
    const bootstrap = join(dir, 'bootstrap.yaml');
    writeFileSync(bootstrap, 'node: { id: test, cluster: test }\n');
    proxy = await ProxyServer.create(await loadBootstrapFile(bootstrap), { drainTimeMs: 100 });
    await proxy.start();
    const cluster = { name: 'lambda', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'lambda', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }] } };
    expect((await proxy.dynamic.applyClusters([cluster], 'c1')).error).toBeUndefined();
    expect((await proxy.dynamic.applyListeners([listener('proxy', true), listener('default'), listener('strict', false)], 'l1')).error).toBeUndefined();
  });

  afterAll(async () => {
    await proxy?.stop(0);
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses the absolute form and leaves origin form alone', () => {
    expect(parseAbsoluteTarget('http://lambda.external/hello-world?x=1')).toEqual({ scheme: 'http', authority: 'lambda.external', path: '/hello-world?x=1' });
    expect(parseAbsoluteTarget('HTTP://user:pw@lambda.external:8080')).toEqual({ scheme: 'http', authority: 'lambda.external:8080', path: '/' });
    expect(parseAbsoluteTarget('/hello')).toBeUndefined();
    expect(parseAbsoluteTarget('*')).toBeUndefined();
    expect(parseAbsoluteTarget('ftp://x/y')).toBeUndefined();
  });

  it('routes by the URL authority (not the Host header) and forwards in origin form', async () => {
    const port = proxy.listenerPorts().proxy as number;
    const res = await raw(port, 'GET http://lambda.external/hello-world?q=1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1\.1 200/);
    expect(res.endsWith('app /hello-world?q=1 host=lambda.external')).toBe(true);
    expect(seen.at(-1)?.url).toBe('/hello-world?q=1');
  });

  it('accepts it by default (Envoy default) and refuses it with 404 when allow_absolute_url is false', async () => {
    const byDefault = await raw(proxy.listenerPorts().default as number, 'GET http://lambda.external/a HTTP/1.1\r\nHost: lambda.external\r\nConnection: close\r\n\r\n');
    expect(byDefault).toMatch(/^HTTP\/1\.1 200/);
    const before = seen.length;
    const refused = await raw(proxy.listenerPorts().strict as number, 'GET http://lambda.external/a HTTP/1.1\r\nHost: lambda.external\r\nConnection: close\r\n\r\n');
    expect(refused).toMatch(/^HTTP\/1\.1 404/);
    expect(seen.length).toBe(before);
    // Origin form on the same listener is unaffected.
    expect(await raw(proxy.listenerPorts().strict as number, 'GET /b HTTP/1.1\r\nHost: lambda.external\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200/);
  });
});
