/**
 * A real proxy for the HTTP/2 and connection-limit tests: plain-text listeners (HTTP/1.1 or h2c by
 * prior knowledge, codec AUTO) whose connection manager routes everything to one upstream. The upstream
 * counts what reaches it: "/hold" is never answered (until the proxy cancels it), "/slow" after a short
 * wait, anything else at once with "ok".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBootstrapFile } from '../../src/envoy/index.js';
import { ProxyServer } from '../../src/proxy/index.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

export interface Upstream {
  /** Requests that reached the upstream. */
  total: number;
  /** Requests open at the upstream now, and the most at once. */
  active: number;
  maxActive: number;
  readonly port: number;
}

export interface ListenerSpec {
  readonly name: string;
  /** Extra HttpConnectionManager fields (stat_prefix is the listener name). */
  readonly hcm?: Record<string, unknown>;
  /** Network filters before the connection manager (e.g. connection_limit). */
  readonly filters?: Array<Record<string, unknown>>;
  /** Extra Listener fields. */
  readonly listener?: Record<string, unknown>;
}

export interface H2Fixture {
  readonly upstream: Upstream;
  readonly proxy: ProxyServer;
  port(listener: string): number;
  stat(name: string): number;
  stop(): Promise<void>;
}

export function hcmFilter(statPrefix: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: statPrefix,
      route_config: { name: statPrefix, virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app', timeout: '0s' } }] }] },
      http_filters: [ROUTER],
      ...extra,
    },
  };
}

async function startUpstream(): Promise<{ upstream: Upstream; server: Server }> {
  const upstream: Upstream = { total: 0, active: 0, maxActive: 0, port: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    upstream.total++;
    upstream.active++;
    upstream.maxActive = Math.max(upstream.maxActive, upstream.active);
    res.once('close', () => upstream.active--);
    if (req.url === '/hold') return;
    if (req.url === '/slow') return void setTimeout(() => res.end('slow'), 100);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (upstream as { port: number }).port = (server.address() as { port: number }).port;
  return { upstream, server };
}

export async function startH2Fixture(listeners: readonly ListenerSpec[], bootstrapExtra: Record<string, unknown> = {}): Promise<H2Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-h2-'));
  const { upstream, server } = await startUpstream();
  const cluster = {
    name: 'app',
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstream.port } } } }] }] },
  };
  // The same upstream over one connection at most: a request behind a held one waits unread (pending).
  const oneConnection = { ...cluster, name: 'app-one-connection', circuit_breakers: { thresholds: [{ max_connections: 1 }] } };
  const bootstrap = {
    node: { id: 'h2-security', cluster: 'h2-security' },
    static_resources: {
      clusters: [cluster, { ...oneConnection, load_assignment: { ...cluster.load_assignment, cluster_name: oneConnection.name } }],
      listeners: listeners.map((l) => ({
        name: l.name,
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [{ filters: [...(l.filters ?? []), hcmFilter(l.name, l.hcm)] }],
        ...l.listener,
      })),
    },
    ...bootstrapExtra,
  };
  const file = join(dir, 'bootstrap.json');
  writeFileSync(file, JSON.stringify(bootstrap));
  let proxy: ProxyServer;
  try {
    proxy = await ProxyServer.create(await loadBootstrapFile(file), { drainTimeMs: 0 });
    await proxy.start();
  } catch (err) {
    server.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const ports = proxy.listenerPorts();
  return {
    upstream,
    proxy,
    port: (name) => ports[name] as number,
    stat: (name) => proxy.stats.samples().find((s) => s.name === name)?.value ?? 0,
    async stop() {
      await proxy.stop(0);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until check() holds (state reached), failing with the last value after many tries. */
export async function until<T>(read: () => T, check: (value: T) => boolean, what: string, tries = 200): Promise<T> {
  let value = read();
  for (let i = 0; i < tries && !check(value); i++) {
    await new Promise((r) => setTimeout(r, 25));
    value = read();
  }
  if (!check(value)) throw new Error(`${what}: still ${JSON.stringify(value)}`);
  return value;
}
