import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBootstrapFile } from '../../src/envoy/index.js';
import { ProxyServer } from '../../src/proxy/index.js';

interface Seen { server: string; method: string; url: string; headers: IncomingMessage['headers'] }

/** An upstream that echoes what it received, as JSON, so tests see exactly what the proxy forwarded. */
async function echoServer(name: string, seen: Seen[], behaviour: (req: IncomingMessage) => { status?: number; delayMs?: number } = () => ({})): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    seen.push({ server: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const b = behaviour(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => setTimeout(() => {
      res.writeHead(b.status ?? 200, { 'content-type': 'application/json', 'x-upstream': name, 'x-remove-me': 'yes' });
      res.end(JSON.stringify({ server: name, url: req.url, body: Buffer.concat(chunks).toString() }));
    }, b.delayMs ?? 0));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

const cluster = (name: string, port: number, extra = '') => `
  - name: ${name}
    type: STATIC
    connect_timeout: 0.5s
    load_assignment:
      cluster_name: ${name}
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } } } ] } ]${extra}`;

describe('HTTP routing through the proxy (Envoy route semantics)', () => {
  let dir: string;
  let proxy: ProxyServer;
  let base: string;
  const seen: Seen[] = [];
  const servers: Server[] = [];
  let flakyCalls = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-routing-'));
    const a = await echoServer('a', seen);
    const b = await echoServer('b', seen);
    const slow = await echoServer('slow', seen, () => ({ delayMs: 1500 }));
    const flaky = await echoServer('flaky', seen, () => ({ status: ++flakyCalls % 2 === 1 ? 503 : 200 }));
    servers.push(a.server, b.server, slow.server, flaky.server);
    const config = join(dir, 'routing.yaml');
    writeFileSync(config, `
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          use_remote_address: true
          route_config:
            name: local_route
            response_headers_to_add: [ { header: { key: x-route-config, value: rc } } ]
            virtual_hosts:
            - name: app
              domains: ["app.example", "app.example:*"]
              request_headers_to_add: [ { header: { key: x-vhost, value: app } } ]
              routes:
              - match: { prefix: /old }
                redirect: { path_redirect: /new, response_code: FOUND }
              - match: { prefix: /secure }
                redirect: { https_redirect: true }
              - match: { path: /ping }
                direct_response: { status: 200, body: { inline_string: "pong" } }
              - match: { prefix: /api/ }
                route: { cluster: a, prefix_rewrite: /v2/, host_rewrite_literal: backend.internal }
                request_headers_to_add:
                - { header: { key: x-added, value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" } }
                - { header: { key: x-user, value: forced }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }
                request_headers_to_remove: [x-secret]
                response_headers_to_remove: [x-remove-me]
              - match: { prefix: /items/ }
                route: { cluster: a, regex_rewrite: { pattern: { regex: "^/items/([0-9]+)/(a+)+$" }, substitution: '/v3/\\2/\\1' } }
              - match: { prefix: /split }
                route:
                  weighted_clusters:
                    clusters: [ { name: a, weight: 50 }, { name: b, weight: 50 } ]
              - match: { prefix: /slow }
                route: { cluster: slow, timeout: 0.3s }
              - match: { prefix: /flaky }
                route:
                  cluster: flaky
                  retry_policy: { retry_on: 5xx, num_retries: 2, retry_back_off: { base_interval: 0.01s } }
              - match: { prefix: /nowhere }
                route: { cluster: missing }
              - match: { prefix: /down }
                route: { cluster: down }
              - match: { prefix: /, headers: [ { name: x-canary, exact_match: "1" } ] }
                route: { cluster: b }
              - match: { prefix: / }
                route: { cluster: a }
          http_filters:
          - name: envoy.filters.http.router
  clusters:${cluster('a', a.port)}${cluster('b', b.port)}${cluster('slow', slow.port)}${cluster('flaky', flaky.port)}${cluster('down', 1)}
`);
    proxy = await ProxyServer.create(await loadBootstrapFile(config), { drainTimeMs: 100 });
    await proxy.start();
    base = `http://127.0.0.1:${proxy.listenerPorts().http}`;
  });

  afterAll(async () => {
    await proxy?.stop(0);
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });

  /** undici's request, not fetch: fetch may not set Host, and virtual hosts are chosen by it. */
  const get = async (path: string, headers: Record<string, string> = {}, init: { method?: 'POST'; body?: string } = {}) => {
    const res = await request(`${base}${path}`, { ...init, headers: { host: 'app.example', ...headers } });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: { get: (name: string) => { const v = res.headers[name]; return v === undefined ? null : String(v); } },
      text: async () => text,
      json: async () => JSON.parse(text) as unknown,
    };
  };

  it('regex_rewrite replaces capture groups in the path, keeps the query, and stays linear on a hostile path', async () => {
    const res = await get('/items/42/aaa?x=1');
    expect(res.status).toBe(200);
    expect(seen[seen.length - 1]?.url).toBe('/v3/aaa/42?x=1');
    // (a+)+$ backtracks exponentially on V8's default engine; the linear-time engine answers at once.
    const hostile = await get(`/items/7/${'a'.repeat(40)}!`);
    expect(hostile.status).toBe(200);
    expect(seen[seen.length - 1]?.url).toBe(`/items/7/${'a'.repeat(40)}!`);
  });

  it('rewrites the prefix and host, adds and removes headers, and sets Envoy headers', async () => {
    const res = await get('/api/users?id=7', { 'x-secret': 's', 'x-user': 'spoofed', 'x-forwarded-for': '203.0.113.9', 'x-envoy-force-trace': '1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-remove-me')).toBeNull();
    expect(res.headers.get('x-route-config')).toBe('rc');
    expect(res.headers.get('server')).toBe('envoy');
    expect(Number(res.headers.get('x-envoy-upstream-service-time'))).toBeGreaterThanOrEqual(0);
    const s = seen[seen.length - 1] as Seen;
    expect(s.url).toBe('/v2/users?id=7');
    expect(s.headers.host).toBe('backend.internal');
    expect(s.headers['x-envoy-original-path']).toBe('/api/users?id=7');
    expect(s.headers['x-added']).toBe('127.0.0.1');
    expect(s.headers['x-user']).toBe('forced');
    expect(s.headers['x-vhost']).toBe('app');
    expect(s.headers['x-secret']).toBeUndefined();
    // use_remote_address: the peer is appended to x-forwarded-for, x-forwarded-proto is set,
    // untrusted x-envoy-* headers from an external client are dropped (127.0.0.1 counts as internal).
    expect(s.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(s.headers['x-forwarded-proto']).toBe('http');
    expect(s.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.headers['x-envoy-expected-rq-timeout-ms']).toBe('15000');
  });

  it('keeps a request id it is given by an internal client', async () => {
    await get('/', { 'x-request-id': 'abc-123' });
    expect(seen[seen.length - 1]?.headers['x-request-id']).toBe('abc-123');
  });

  it('answers redirects and direct responses itself', async () => {
    const found = await get('/old?q=1');
    expect(found.status).toBe(302);
    expect(found.headers.get('location')).toBe('http://app.example/new?q=1');
    const https = await get('/secure/x', { host: 'app.example:8080' });
    expect(https.status).toBe(301);
    expect(https.headers.get('location')).toBe('https://app.example/secure/x');
    const ping = await get('/ping');
    expect(ping.status).toBe(200);
    expect(await ping.text()).toBe('pong');
  });

  it('routes by header and splits by weight', async () => {
    expect((await (await get('/x', { 'x-canary': '1' })).json() as { server: string }).server).toBe('b');
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 60; i++) {
      const body = (await (await get('/split')).json()) as { server: string };
      counts[body.server] = (counts[body.server] ?? 0) + 1;
    }
    expect(counts.a).toBeGreaterThan(5);
    expect(counts.b).toBeGreaterThan(5);
  });

  it('forwards request bodies', async () => {
    const res = await get('/echo', { 'content-type': 'text/plain' }, { method: 'POST', body: 'hello body' });
    expect(((await res.json()) as { body: string }).body).toBe('hello body');
  });

  it('times out with 504 UT, retries 5xx, and answers 404/503 for missing routes, clusters and hosts', async () => {
    const slow = await get('/slow');
    expect(slow.status).toBe(504);
    expect(await slow.text()).toBe('upstream request timeout');
    const before = flakyCalls;
    const flaky = await get('/flaky');
    expect(flaky.status).toBe(200);
    expect(flakyCalls - before).toBe(2);
    expect((await get('/x', { host: 'unknown.example' })).status).toBe(404);
    expect((await get('/nowhere')).status).toBe(503);
    const down = await get('/down');
    expect(down.status).toBe(503);
    expect(await down.text()).toMatch(/^upstream connect error or disconnect\/reset before headers/);
    const stats = proxy.stats.samples();
    const value = (name: string) => stats.find((s) => s.name === name)?.value ?? 0;
    expect(value('http.ingress_http.downstream_rq_5xx')).toBeGreaterThanOrEqual(3);
    expect(value('cluster.flaky.upstream_rq_retry')).toBeGreaterThanOrEqual(1);
  });
});
