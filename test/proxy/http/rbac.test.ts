// envoy.filters.http.rbac and envoy.filters.network.rbac in a running proxy: real HTTP and mTLS
// requests (certificates from src/pki) against static RBAC configs, stats, response details, and
// config errors with field paths.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBootstrapFile } from '../../../src/envoy/index.js';
import { ProxyServer } from '../../../src/proxy/index.js';
import { seedPki } from '../../e2e/helpers/pki.js';
import type { Workload } from '../../e2e/helpers/pki.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const HTTP_RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const NET_RBAC = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
const TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const ALLOWED = 'spiffe://cluster.local/ns/a/sa/allowed';
const OTHER = 'spiffe://cluster.local/ns/a/sa/other';

const rbac = (name: string, config: Record<string, unknown>) => ({ name, typed_config: { '@type': HTTP_RBAC, ...config } });

function httpListener(name: string, httpFilters: unknown[], transport?: unknown, extra: Record<string, unknown> = {}) {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      ...(transport ? { transport_socket: transport } : {}),
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM,
          stat_prefix: name,
          route_config: { name, virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] },
          http_filters: [...httpFilters, ROUTER],
          access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: `ACCESS_LOG_${name}`, log_format: { text_format: '%RESPONSE_CODE% %RESPONSE_CODE_DETAILS%\n' } } }],
          ...extra,
        },
      }],
    }],
  };
}

interface Answer { status?: number; body?: string; error?: string }

function mtls(port: number, rootPem: string, client: Workload | undefined, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, path, method, ca: rootPem, agent: false, timeout: 5_000,
      ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      checkServerIdentity: () => undefined,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

/** Opens mTLS to a TCP listener, writes a line, returns what comes back before the connection ends. */
function tcpExchange(port: number, rootPem: string, client: Workload): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: rootPem, cert: readFileSync(client.cert), key: readFileSync(client.key), checkServerIdentity: () => undefined }, () => socket.write('ping\n'));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) socket.end();
    });
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
    setTimeout(() => socket.destroy(), 5_000).unref();
  });
}

describe('RBAC filters in the proxy', () => {
  let dir: string;
  let proxy: ProxyServer;
  let app: Server;
  let echo: NetServer;
  let rootPem: string;
  let allowed: Workload;
  let other: Workload;
  let ports: Record<string, number> = {};
  const seen: string[] = [];
  const log = (name: string) => readFileSync(join(dir, `${name}.log`), 'utf8').trim().split('\n');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-rbac-'));
    const pki = await seedPki(dir);
    const server = await pki.issue(pki.meshCa, 'server', 'spiffe://cluster.local/ns/apps/sa/server');
    allowed = await pki.issue(pki.meshCa, 'allowed', ALLOWED);
    other = await pki.issue(pki.meshCa, 'other', OTHER);
    rootPem = readFileSync(server.bundle, 'utf8');
    app = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end(`app ${req.url}`);
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    echo = createNetServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const staticCluster = (name: string, port: number) => ({ name, type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] } });
    const bootstrap = join(dir, 'bootstrap.yaml');
    writeFileSync(bootstrap, 'node: { id: test, cluster: test }\n');
    proxy = await ProxyServer.create(await loadBootstrapFile(bootstrap), { drainTimeMs: 100 });
    await proxy.start();
    expect((await proxy.dynamic.applyClusters([staticCluster('app', (app.address() as { port: number }).port), staticCluster('echo', (echo.address() as { port: number }).port)], 'c1')).error).toBeUndefined();

    const transport = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TLS,
        require_client_certificate: true,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: server.cert }, private_key: { filename: server.key } }],
          validation_context: { trusted_ca: { filename: server.bundle } },
        },
      },
    };
    const withLog = (l: ReturnType<typeof httpListener>) => JSON.parse(JSON.stringify(l).replace(/ACCESS_LOG_(\w+)/g, (_m, n: string) => join(dir, `${n}.log`))) as unknown;
    const listeners = [
      // Istio's shape: a DENY filter first, then ALLOW; GET /public* for the allowed identity, DENY /admin* for everyone.
      withLog(httpListener('mtls', [
        rbac('envoy.filters.http.rbac', { rules: { action: 'DENY', policies: { 'deny-admin': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } } }),
        rbac('envoy.filters.http.rbac', {
          rules: {
            action: 'ALLOW',
            policies: {
              'allow-public': {
                permissions: [{ and_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }, { url_path: { path: { prefix: '/public' } } }] } }],
                principals: [{ authenticated: { principal_name: { exact: ALLOWED } } }],
              },
              'allow-admin-for-allowed': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ authenticated: { principal_name: { exact: ALLOWED } } }] },
            },
          },
          shadow_rules: { action: 'ALLOW', policies: { 'shadow-other': { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { suffix: '/sa/other' } } }] } } },
          shadow_rules_stat_prefix: 'istio_dry_run_',
        }),
      ], transport)),
      // Plain HTTP: client address rules and headers; x-forwarded-for decides remote_ip (use_remote_address false).
      withLog(httpListener('plain', [rbac('envoy.filters.http.rbac', {
        rules: {
          action: 'ALLOW',
          policies: {
            'from-loopback-with-header': { permissions: [{ header: { name: 'x-token', exact_match: 'let-me-in' } }], principals: [{ direct_remote_ip: { address_prefix: '127.0.0.0', prefix_len: 8 } }] },
            'from-office': { permissions: [{ any: true }], principals: [{ remote_ip: { address_prefix: '203.0.113.0', prefix_len: 24 } }] },
          },
        },
      })])),
      // LOG only: never refuses.
      withLog(httpListener('audit', [rbac('envoy.filters.http.rbac', { rules: { action: 'LOG', policies: { all: { permissions: [{ any: true }], principals: [{ any: true }] } } } })])),
      {
        name: 'tcp',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [{
          transport_socket: transport,
          filters: [
            { name: 'envoy.filters.network.rbac', typed_config: { '@type': NET_RBAC, stat_prefix: 'tcp.', rules: { action: 'ALLOW', policies: { p: { permissions: [{ any: true }], principals: [{ authenticated: { principal_name: { exact: ALLOWED } } }] } } } } },
            { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'tcp', cluster: 'echo' } },
          ],
        }],
      },
    ];
    const applied = await proxy.dynamic.applyListeners(listeners as never, 'l1');
    expect(applied.error).toBeUndefined();
    ports = proxy.listenerPorts();
  });

  afterAll(async () => {
    await proxy?.stop(0);
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
    await new Promise((r) => echo?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const counter = (name: string) => proxy.stats.samples().find((s) => s.name === name)?.value ?? 0;

  it('ALLOW by SPIFFE principal, method and path; others get 403 "RBAC: access denied"', async () => {
    const port = ports.mtls as number;
    expect(await mtls(port, rootPem, allowed, '/public/index.html?x=1')).toEqual({ status: 200, body: 'app /public/index.html?x=1' });
    expect(await mtls(port, rootPem, other, '/public/index.html')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(await mtls(port, rootPem, allowed, '/public/x', 'POST')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(await mtls(port, rootPem, allowed, '/private')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(seen).toEqual(['GET /public/index.html?x=1']);
  });

  it('the DENY filter wins over an ALLOW policy that matches, with the denying policy in the response details', async () => {
    const port = ports.mtls as number;
    expect(await mtls(port, rootPem, allowed, '/admin/users')).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect(seen).not.toContain('GET /admin/users');
    let lines: string[] = [];
    for (let i = 0; i < 50 && !(lines = log('mtls')).includes('403 rbac_access_denied_matched_policy[deny-admin]'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(lines).toContain('403 rbac_access_denied_matched_policy[deny-admin]');
    expect(lines).toContain('403 rbac_access_denied_matched_policy[none]');
    expect(lines).toContain('200 via_upstream');
  });

  it('counts allowed and denied per connection manager, and shadow rules without enforcing them', () => {
    // Two filters on one HCM share http.mtls.rbac.*: every request passes the DENY filter (allowed) unless /admin.
    expect(counter('http.mtls.rbac.denied')).toBe(4);
    expect(counter('http.mtls.rbac.allowed')).toBe(5);
    expect(counter('http.mtls.rbac.istio_dry_run_shadow_allowed')).toBe(1);
    expect(counter('http.mtls.rbac.istio_dry_run_shadow_denied')).toBe(3);
  });

  it('direct_remote_ip with a header, and remote_ip from x-forwarded-for', async () => {
    const base = `http://127.0.0.1:${ports.plain}`;
    const get = async (headers: Record<string, string>) => {
      const res = await request(`${base}/x`, { headers });
      return [res.statusCode, await res.body.text()];
    };
    expect(await get({})).toEqual([403, 'RBAC: access denied']);
    expect(await get({ 'x-token': 'let-me-in' })).toEqual([200, 'app /x']);
    expect(await get({ 'x-token': 'nope' })).toEqual([403, 'RBAC: access denied']);
    expect(await get({ 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })).toEqual([200, 'app /x']);
    expect(await get({ 'x-forwarded-for': '203.0.113.7, 198.51.100.1' })).toEqual([403, 'RBAC: access denied']);
  });

  it('LOG never refuses and counts logged requests', async () => {
    const res = await request(`http://127.0.0.1:${ports.audit}/anything`);
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(counter('http.audit.rbac.logged')).toBe(1);
    expect(counter('http.audit.rbac.denied')).toBe(0);
  });

  it('network RBAC: the allowed identity reaches the TCP upstream, another identity is disconnected', async () => {
    const port = ports.tcp as number;
    expect(await tcpExchange(port, rootPem, allowed)).toBe('ping\n');
    expect(await tcpExchange(port, rootPem, other)).toBe('');
    expect(counter('tcp.rbac.allowed')).toBe(1);
    expect(counter('tcp.rbac.denied')).toBe(1);
    // A plaintext client never gets a TLS session, let alone the upstream.
    const plain = await new Promise<string>((resolve) => {
      let out = '';
      const s = netConnect(port, '127.0.0.1', () => s.write('ping\n'));
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    expect(plain).not.toContain('ping');
  });

  it('a bad RBAC config is refused with the field path', async () => {
    const bad = httpListener('bad', [rbac('envoy.filters.http.rbac', {
      rules: { action: 'ALLOW', policies: { p: { permissions: [{ header: { name: 'x', safe_regex_match: { regex: '(' } } }], principals: [{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 40 } }] } } },
    })]);
    const res = await proxy.dynamic.applyListeners([bad] as never, 'l2');
    expect(res.error).toContain('http_filters[0].typed_config.rules.policies["p"].permissions[0].header.safe_regex_match');
    expect(res.error).toContain('rules.policies["p"].principals[0].direct_remote_ip.prefix_len');
    const schema = await proxy.dynamic.applyListeners([httpListener('bad2', [rbac('envoy.filters.http.rbac', { rules: { action: 'ALLOW', policies: { p: { permissions: [{ any: true, destination_port: 80 }], principals: [{ metadata: {} }] } } } })])] as never, 'l3');
    expect(schema.error).toContain('permissions[0]: only one of');
    expect(schema.error).toContain('principals[0].metadata: unsupported field');
    expect(proxy.listenerPorts().bad).toBeUndefined();
  });
});
