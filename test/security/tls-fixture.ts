/**
 * A real Isthmus proxy for the TLS advisory tests: listeners and clusters are applied as LDS/CDS would
 * (proxy.dynamic), secrets as SDS would, certificates come inline from an Isthmus CA, and clients are
 * real TLS clients (node:tls, openssl s_client) on loopback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, connect as netConnect } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import { loadBootstrapFile, TYPE_URL } from '../../src/envoy/index.js';
import { ProxyServer } from '../../src/proxy/index.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

export const inline = (pem: string) => ({ inline_string: pem });

/** An HCM that answers every request with `body` (which filter chain answered), or routes to a cluster. */
export function hcm(statPrefix: string, target: { body: string } | { cluster: string }): Record<string, unknown> {
  const action = 'body' in target ? { direct_response: { status: 200, body: { inline_string: target.body } } } : { route: { cluster: target.cluster } };
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: statPrefix,
      route_config: { name: statPrefix, virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, ...action }] }] },
      http_filters: [ROUTER],
    },
  };
}

/** A filter chain's transport_socket with a DownstreamTlsContext. */
export function downstreamTls(context: Record<string, unknown>): Record<string, unknown> {
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TYPE_URL.downstreamTlsContext, ...context } };
}

export function upstreamTls(context: Record<string, unknown>): Record<string, unknown> {
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TYPE_URL.upstreamTlsContext, ...context } };
}

export function listener(name: string, chains: readonly Record<string, unknown>[], inspector = false): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    ...(inspector ? { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TYPE_URL.tlsInspector } }] } : {}),
    filter_chains: chains,
  };
}

export function staticCluster(name: string, port: number, transportSocket?: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
    ...(transportSocket ? { transport_socket: transportSocket } : {}),
  };
}

export interface TlsProxy {
  readonly proxy: ProxyServer;
  /** A directory for files openssl needs (certificates, keys); removed on stop. */
  readonly dir: string;
  file(name: string, content: string): string;
  applyListeners(listeners: readonly Record<string, unknown>[]): Promise<void>;
  applyClusters(clusters: readonly Record<string, unknown>[]): Promise<void>;
  port(listenerName: string): number;
  stat(name: string): number;
  stop(): Promise<void>;
}

let version = 0;

export async function startTlsProxy(): Promise<TlsProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-tls-sec-'));
  const bootstrap = join(dir, 'bootstrap.yaml');
  writeFileSync(bootstrap, 'node: { id: tls-security, cluster: tls-security }\n');
  const proxy = await ProxyServer.create(await loadBootstrapFile(bootstrap), { drainTimeMs: 100 });
  await proxy.start();
  return {
    proxy,
    dir,
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    async applyListeners(listeners) {
      const result = await proxy.dynamic.applyListeners(listeners as never, `l${++version}`);
      if (result.error) throw new Error(result.error);
    },
    async applyClusters(clusters) {
      const result = await proxy.dynamic.applyClusters(clusters as never, `c${++version}`);
      if (result.error) throw new Error(result.error);
    },
    port(name) {
      const port = (proxy.listenerPorts() as Record<string, number>)[name];
      if (!port) throw new Error(`no listener ${name}`);
      return port;
    },
    stat(name) {
      return proxy.stats.samples().find((s) => s.name === name)?.value ?? 0;
    },
    async stop() {
      await proxy.stop(0);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TlsAnswer {
  /** HTTP status, 0 when the connection ended without an answer. */
  readonly status: number;
  readonly body: string;
  /** The handshake error, or the reason the connection ended without an answer. */
  readonly error?: string;
  readonly cert?: PeerCertificate;
  readonly protocol?: string | null;
  readonly reused?: boolean;
  /** The last session ticket the server sent (for resumption tests). */
  readonly session?: Buffer;
}

/** One HTTP/1.1 GET over a real TLS connection; resolves with what came back, never rejects. */
export function tlsGet(port: number, options: ConnectionOptions, via?: number): Promise<TlsAnswer> {
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port: via ?? port, rejectUnauthorized: false, ...options });
    let data = '';
    let session: Buffer | undefined;
    let secure = false;
    let error: string | undefined;
    let handshake: Pick<TlsAnswer, 'cert' | 'protocol' | 'reused'> = {};
    socket.on('session', (s: Buffer) => (session = s));
    socket.on('secureConnect', () => {
      secure = true;
      handshake = { cert: socket.getPeerCertificate(), protocol: socket.getProtocol(), reused: socket.isSessionReused() };
      socket.write('GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n');
    });
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', (err) => (error = err.message));
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const split = data.indexOf('\r\n\r\n');
      resolve({
        status,
        body: split < 0 ? '' : data.slice(split + 4),
        ...(error || status === 0 ? { error: error ?? 'connection closed without an answer' } : {}),
        ...(secure ? handshake : {}),
        ...(session ? { session } : {}),
      });
    });
  });
}

/**
 * A TCP relay that writes what the client sends in small segments, one per event-loop turn with Nagle
 * off, so the proxy receives the ClientHello cut across many TCP segments.
 */
export async function segmentingRelay(targetPort: number, segmentBytes: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((client) => {
    const upstream = netConnect({ host: '127.0.0.1', port: targetPort, noDelay: true });
    sockets.add(client).add(upstream);
    client.setNoDelay(true);
    let queue = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      client.pause();
      queue = queue.then(async () => {
        for (let p = 0; p < chunk.length; p += segmentBytes) {
          upstream.write(chunk.subarray(p, p + segmentBytes));
          await new Promise((r) => setImmediate(r));
        }
        client.resume();
      });
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    // The proxy's answer is flushed to the client before it sees the end; a client that leaves ends both.
    upstream.on('close', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
