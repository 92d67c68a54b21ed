import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBootstrapFile } from '../../src/envoy/index.js';
import { ProxyServer } from '../../src/proxy/index.js';
import { run } from '../helpers/index.js';
import { seedPki } from '../e2e/helpers/pki.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

async function namedServer(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

const cla = (name: string, port: number) => ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] });
const edsCluster = (name: string) => ({ name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} }, service_name: name } });
const routeConfig = (name: string, cluster: string, header = 'v1') => ({
  name,
  virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster }, response_headers_to_add: [{ header: { key: 'x-config', value: header } }] }] }],
});
const httpListener = (name: string, port: number, rds: string, statPrefix = 'dyn') => ({
  name,
  address: { socket_address: { address: '127.0.0.1', port_value: port } },
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM, stat_prefix: statPrefix, rds: { route_config_name: rds, config_source: { ads: {} } }, http_filters: [ROUTER] } }] }],
});

/**
 * The proxy's side of xDS without the wire: resources applied as an ADS client applies them (CDS,
 * EDS, LDS, RDS, SDS), while traffic flows.
 */
describe('dynamic resources (what xDS delivers) applied to a running proxy', () => {
  let dir: string;
  let proxy: ProxyServer;
  let a: { server: Server; port: number };
  let b: { server: Server; port: number };
  let listenerPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-dynamic-'));
    a = await namedServer('a');
    b = await namedServer('b');
    const bootstrap = join(dir, 'bootstrap.yaml');
    writeFileSync(bootstrap, 'node: { id: test, cluster: test }\n');
    proxy = await ProxyServer.create(await loadBootstrapFile(bootstrap), { drainTimeMs: 200 });
    await proxy.start();
    expect((await proxy.dynamic.applyClusters([edsCluster('svc'), edsCluster('svc-b')], 'c1')).error).toBeUndefined();
    expect(proxy.dynamic.applyEndpoints([cla('svc', a.port), cla('svc-b', b.port)]).error).toBeUndefined();
    expect((await proxy.dynamic.applyListeners([httpListener('http', 0, 'r1')], 'l1')).error).toBeUndefined();
    expect(proxy.dynamic.rdsResourceNames()).toEqual(['r1']);
    expect(proxy.dynamic.applyRoutes([routeConfig('r1', 'svc')], 'r1').error).toBeUndefined();
    listenerPort = proxy.listenerPorts().http as number;
  });

  afterAll(async () => {
    await proxy?.stop(0);
    await Promise.all([a, b].map((s) => new Promise((r) => s?.server.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves what CDS, EDS, LDS and RDS delivered', async () => {
    const res = await request(`http://127.0.0.1:${listenerPort}/`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-config']).toBe('v1');
    expect(await res.body.text()).toBe('a');
  });

  it('changes endpoints, routes and listeners while traffic flows, with zero failed requests', async () => {
    const agent = new Agent({ connections: 4 });
    let ok = 0;
    const failures: string[] = [];
    const bodies = new Set<string>();
    let running = true;
    const load = (async () => {
      while (running) {
        try {
          const res = await request(`http://127.0.0.1:${listenerPort}/`, { dispatcher: agent });
          const body = await res.body.text();
          if (res.statusCode === 200) {
            ok++;
            bodies.add(`${body}/${String(res.headers['x-config'])}`);
          } else failures.push(`${res.statusCode} ${body}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    const pause = () => new Promise((r) => setTimeout(r, 150));
    await pause();
    expect(proxy.dynamic.applyEndpoints([cla('svc', b.port)]).error).toBeUndefined(); // EDS: a -> b
    await pause();
    expect(proxy.dynamic.applyRoutes([routeConfig('r1', 'svc-b', 'v2')], 'r2').error).toBeUndefined(); // RDS
    await pause();
    const updated = httpListener('http', listenerPort, 'r1', 'dyn2');
    expect((await proxy.dynamic.applyListeners([updated], 'l2')).error).toBeUndefined(); // LDS in place
    await pause();
    expect((await proxy.dynamic.applyClusters([edsCluster('svc'), { ...edsCluster('svc-b'), connect_timeout: '2s' }], 'c2')).error).toBeUndefined(); // CDS
    await pause();
    running = false;
    await load;
    await agent.close();
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(10);
    expect(bodies).toContain('a/v1');
    expect(bodies).toContain('b/v2');
    expect(proxy.listenerPorts().http).toBe(listenerPort);
  });

  it('refuses an invalid update (the NACK reason names the field) and keeps serving the last good config', async () => {
    const bad = await proxy.dynamic.applyListeners([{ ...httpListener('http', listenerPort, 'r1'), use_original_dst: true }], 'l3');
    expect(bad.error).toMatch(/listeners\[0\]\.use_original_dst: unsupported field/);
    const badRoute = proxy.dynamic.applyRoutes([{ name: 'r1', virtual_hosts: [{ name: 'x', domains: ['a'] }, { name: 'y', domains: ['a'] }] }], 'r3');
    expect(badRoute.error).toMatch(/domain "a" appears in more than one virtual host/);
    // Found by test/security/fuzz-route-table.test.ts: a regex that does not compile used to be ACKed
    // and then throw while the route store swapped tables, leaving the store with the bad config.
    const regexRoute = (regex: string) => ({ name: 'r1', virtual_hosts: [{ name: 'x', domains: ['*'], routes: [{ match: { safe_regex: { regex } }, route: { cluster: 'svc' } }] }] });
    expect(proxy.dynamic.applyRoutes([regexRoute('(')], 'r4').error).toMatch(/route r1: virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: regex "\(" does not compile/);
    expect(proxy.dynamic.applyRoutes([regexRoute('(a)\\1')], 'r5').error).toMatch(/safe_regex\.regex: regex "\(a\)\\1" cannot be matched in linear time/);
    const res = await request(`http://127.0.0.1:${listenerPort}/`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-config']).toBe('v2');
    await res.body.text();
  });

  it('a TLS listener naming an SDS secret warms until the secret arrives, then serves with it', async () => {
    const pki = await seedPki(dir);
    const gw = await pki.issue(pki.meshCa, 'gw', 'spiffe://cluster.local/ns/istio-ingress/sa/gw', ['lambda.external']);
    const tlsListener = {
      name: 'https',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [{
        transport_socket: {
          name: 'envoy.transport_sockets.tls',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
            common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'kubernetes://mtls-credential', sds_config: { ads: {} } }] },
          },
        },
        filters: httpListener('x', 0, 'r1').filter_chains[0]?.filters,
      }],
    };
    expect((await proxy.dynamic.applyListeners([httpListener('http', listenerPort, 'r1', 'dyn2'), tlsListener], 'l4')).error).toBeUndefined();
    expect(proxy.dynamic.warming().listeners).toEqual(['https']);
    expect(proxy.dynamic.sdsResourceNames()).toContain('kubernetes://mtls-credential');
    expect(proxy.listenerPorts().https).toBeUndefined();
    const secret = {
      name: 'kubernetes://mtls-credential',
      tls_certificate: {
        certificate_chain: { inline_bytes: readFileSync(gw.cert).toString('base64') },
        private_key: { inline_bytes: readFileSync(gw.key).toString('base64') },
      },
    };
    expect(proxy.dynamic.applySecrets([secret], 's1').error).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    expect(proxy.dynamic.warming().listeners).toEqual([]);
    const port = proxy.listenerPorts().https as number;
    const res = await run('curl', ['-s', '--cacert', gw.bundle, '--resolve', `lambda.external:${port}:127.0.0.1`, `https://lambda.external:${port}/`]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('b');
    const dump = JSON.stringify(await (async () => proxy.stats.samples())());
    expect(dump).toContain('ssl.handshake');
  });
});
