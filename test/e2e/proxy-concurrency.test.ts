import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAddress, eventually, freePort, startProcess, stop } from './helpers/processes.js';
import type { StartedProcess } from './helpers/processes.js';
import { gatewayToUpstream, proxyStatus, randomNet, startControlPlane, syncedRows } from './helpers/mesh.js';
import type { ControlPlaneProcess } from './helpers/mesh.js';

/**
 * isthmus proxy --concurrency 2: two node:cluster workers share the listening sockets. Traffic lands in
 * both (Envoy's per-worker listener stats, summed by the primary's admin), a config update from the
 * control plane reaches both over the one xDS stream, and a killed worker is replaced.
 */

/** One request on a new connection (so the kernel picks a worker each time). */
function getFresh(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(5_000, () => req.destroy());
    req.end();
  });
}

async function stats(admin: string): Promise<Map<string, number>> {
  const res = await fetch(`${admin}/stats`);
  const text = await res.text();
  return new Map(text.split('\n').filter(Boolean).map((l) => {
    const i = l.lastIndexOf(': ');
    return [l.slice(0, i), Number(l.slice(i + 2))] as [string, number];
  }));
}

/** The per-worker downstream_cx_total of the listener on `port` (listener.<address>_<port>.worker_<i>.*). */
function perWorker(s: Map<string, number>, port: number): number[] {
  const out = [0, 0];
  for (const [name, value] of s) {
    const m = /^listener\..+_(\d+)\.worker_(\d+)\.downstream_cx_total$/.exec(name);
    if (m && Number(m[1]) === port) out[Number(m[2])] = value;
  }
  return out;
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function ready(admin: string): Promise<string> {
  try {
    return (await (await fetch(`${admin}/ready`)).text()).trim();
  } catch {
    return 'unreachable';
  }
}

function upstream(body: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(body));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

function staticBootstrap(listenerPort: number, upstreamPort: number): string {
  return `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: ${listenerPort} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: / }
                route: { cluster: app }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: app
    type: STATIC
    connect_timeout: 2s
    load_assignment:
      cluster_name: app
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} } } }
`;
}

describe('isthmus proxy --concurrency 2 (static bootstrap)', { timeout: 180_000 }, () => {
  let dir: string;
  let app: { server: Server; port: number };
  let proxy: StartedProcess | undefined;
  let admin: string;
  let port: number;
  const listenerStat = () => `listener.127.0.0.1_${port}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-concurrency-'));
    app = await upstream('from the app');
    port = await freePort();
    writeFileSync(join(dir, 'bootstrap.yaml'), staticBootstrap(port, app.port));
    proxy = await startProcess(['proxy', '-c', join(dir, 'bootstrap.yaml'), '--concurrency', '2', '--drain-time-s', '1',
      '--admin-address-path', join(dir, 'admin.txt')], /"workers":2.*proxy started/, 90_000);
    admin = await adminAddress(join(dir, 'admin.txt'));
  }, 120_000);

  afterAll(async () => {
    await stop(proxy?.child);
    await new Promise((r) => app.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs two worker processes; /ready is LIVE once both serve', async () => {
    expect(children(proxy?.child.pid ?? 0)).toHaveLength(2);
    expect(await ready(admin)).toBe('LIVE');
  });

  it('serves traffic from both workers: per-worker listener stats add up to the listener total', async () => {
    const served: Array<{ status: number; body: string }> = [];
    const final = await eventually(async () => {
      served.push(await getFresh(`http://127.0.0.1:${port}/`));
      return stats(admin);
    }, (s) => perWorker(s, port).every((n) => n > 0), 60_000);
    expect(served.every((r) => r.status === 200 && r.body === 'from the app')).toBe(true);
    const [w0, w1] = perWorker(final, port);
    expect(w0).toBeGreaterThan(0);
    expect(w1).toBeGreaterThan(0);
    expect(final.get(`${listenerStat()}.downstream_cx_total`)).toBe((w0 ?? 0) + (w1 ?? 0));
    // Counters of the HTTP connection manager are summed over workers too.
    expect(final.get('http.ingress.downstream_rq_2xx')).toBe(served.length);
    const prom = await (await fetch(`${admin}/stats/prometheus`)).text();
    expect(prom).toContain(`envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress"} ${served.length}`);
  });

  it('replaces a killed worker: a new process takes its place and traffic keeps being served', async () => {
    const pid = proxy?.child.pid ?? 0;
    const before = children(pid);
    const victim = before[0] as number;
    process.kill(victim, 'SIGKILL');
    const after = await eventually(async () => children(pid), (c) => c.length === 2 && !c.includes(victim), 60_000);
    expect(after).toHaveLength(2);
    expect(after).not.toContain(victim);
    expect(await eventually(() => ready(admin), (s) => s === 'LIVE', 60_000)).toBe('LIVE');
    const responses = await Promise.all(Array.from({ length: 10 }, () => getFresh(`http://127.0.0.1:${port}/`)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(proxy?.output()).toMatch(/proxy worker exited; starting a replacement/);
  });

  it('drains every worker on SIGTERM and exits', async () => {
    const pid = proxy?.child.pid ?? 0;
    const workers = children(pid);
    const exit = new Promise<number | null>((r) => proxy?.child.once('exit', (code) => r(code)));
    proxy?.child.kill('SIGTERM');
    expect(await exit).toBe(0);
    for (const w of workers) expect(() => process.kill(w, 0)).toThrow();
  });
});

const NET = randomNet();
const GW_IP = `${NET}.2`;
const NODE_ID = `router~${GW_IP}~gw-c.ns~ns.svc.cluster.local`;


describe('isthmus proxy --concurrency 2 --xds', { timeout: 240_000 }, () => {
  let dir: string;
  let configDir: string;
  const apps: Array<{ server: Server; port: number }> = [];
  let cp: ControlPlaneProcess | undefined;
  let gateway: StartedProcess | undefined;
  let admin: string;
  const url = `http://${GW_IP}:8080/`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-concurrency-xds-'));
    configDir = join(dir, 'config');
    mkdirSync(configDir);
    apps.push(await upstream('one'), await upstream('two'));
    writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(apps[0]?.port ?? 0));
    cp = await startControlPlane(['--state-dir', join(dir, 'state'), '--config-dir', configDir, '--xds-address', `127.0.0.1:${await freePort()}`]);
    gateway = await startProcess(['proxy', '--xds', cp.xds, '--proxy-type', 'router', '--node-id', NODE_ID, '--ip', GW_IP, '--namespace', 'ns',
      '--label', 'app=gw', '--port-map', '80:8080', '--drain-time-s', '0', '--concurrency', '2', '--admin-address-path', join(dir, 'admin.txt')],
    /connected to the control plane/, 90_000);
    admin = await adminAddress(join(dir, 'admin.txt'));
  }, 150_000);

  afterAll(async () => {
    await stop(gateway?.child);
    await stop(cp?.child);
    for (const a of apps) await new Promise((r) => a.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('one xDS stream for the proxy (one proxy-status row), SYNCED, serving from the pushed config', async () => {
    const rows = await eventually(() => proxyStatus(cp?.server ?? ''), (r) => syncedRows(r, NODE_ID).length === 1, 60_000);
    expect(rows.filter((r) => r.nodeId === NODE_ID)).toHaveLength(1);
    expect(await eventually(() => getFresh(url), (r) => r.body === 'one', 30_000)).toMatchObject({ status: 200, body: 'one' });
    expect(await ready(admin)).toBe('LIVE');
  });

  it('a config update reaches both workers', async () => {
    writeFileSync(join(configDir, 'gateway.yaml'), gatewayToUpstream(apps[1]?.port ?? 0));
    await eventually(() => getFresh(url), (r) => r.body === 'two', 30_000);
    // From now on every new connection, whichever worker takes it, must see the new route.
    const base = perWorker(await stats(admin), 8080);
    const bodies: string[] = [];
    const final = await eventually(async () => {
      bodies.push((await getFresh(url)).body);
      return stats(admin);
    }, (s) => perWorker(s, 8080).every((n, i) => n > (base[i] ?? 0)), 60_000);
    expect(perWorker(final, 8080).every((n, i) => n > (base[i] ?? 0))).toBe(true);
    expect(new Set(bodies)).toEqual(new Set(['two']));
    const rows = await proxyStatus(cp?.server ?? '');
    expect(syncedRows(rows, NODE_ID)).toHaveLength(1);
  });

  it('a replacement worker gets the current config before it serves', async () => {
    const pid = gateway?.child.pid ?? 0;
    const victim = children(pid)[1] as number;
    process.kill(victim, 'SIGKILL');
    await eventually(async () => children(pid), (c) => c.length === 2 && !c.includes(victim), 60_000);
    expect(await eventually(() => ready(admin), (s) => s === 'LIVE', 60_000)).toBe('LIVE');
    const base = perWorker(await stats(admin), 8080);
    const bodies: string[] = [];
    const final = await eventually(async () => {
      bodies.push((await getFresh(url)).body);
      return stats(admin);
    }, (s) => perWorker(s, 8080).every((n, i) => n > (base[i] ?? 0)), 60_000);
    expect(perWorker(final, 8080).every((n, i) => n > (base[i] ?? 0))).toBe(true);
    expect(new Set(bodies)).toEqual(new Set(['two']));
    expect(rowsFor(await proxyStatus(cp?.server ?? ''))).toHaveLength(1);
  });
});

function rowsFor(rows: ReadonlyArray<{ nodeId: string }>): unknown[] {
  return rows.filter((r) => r.nodeId === NODE_ID);
}
