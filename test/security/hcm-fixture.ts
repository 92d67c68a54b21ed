/**
 * A real proxy with one listener per test need (HCM fields, TLS, listener filters, access logs) in
 * front of an upstream that records every request it receives — method, target, headers and body — so
 * a test can prove that a refused or smuggled request never reached it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyServer } from '../../src/proxy/index.js';
import { startProxyWithApp } from './fixture.js';

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

export interface ListenerSpec {
  readonly name: string;
  /** Extra HttpConnectionManager fields. */
  readonly hcm?: Record<string, unknown>;
  readonly transportSocket?: unknown;
  readonly listenerFilters?: unknown[];
  readonly filterChainMatch?: unknown;
}

export interface UpstreamRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HcmFixture {
  readonly dir: string;
  readonly ports: Readonly<Record<string, number>>;
  /** Every request the upstream received, in order. */
  readonly upstream: UpstreamRequest[];
  readonly proxy: ProxyServer;
  /** The listener specs applied (to send an LDS update with one of them changed). */
  readonly listeners: readonly ListenerSpec[];
  /** Upstream requests whose target contains `marker`. */
  reached(marker: string): UpstreamRequest[];
  stop(): Promise<void>;
}

/** An HCM route_config sending everything to the recording upstream. */
export function hcmConfig(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@type': HCM_TYPE,
    stat_prefix: name,
    route_config: { name, virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] },
    http_filters: [ROUTER],
    ...extra,
  };
}

/** The Listener resource of a spec, on 127.0.0.1 and a port the kernel picks. */
export function listenerResource(l: ListenerSpec): Record<string, unknown> {
  return {
    name: l.name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    ...(l.listenerFilters ? { listener_filters: l.listenerFilters } : {}),
    filter_chains: [{
      ...(l.filterChainMatch ? { filter_chain_match: l.filterChainMatch } : {}),
      ...(l.transportSocket ? { transport_socket: l.transportSocket } : {}),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcmConfig(l.name, l.hcm) }],
    }],
  };
}

/** `listeners` may be a function of the fixture's directory (for access log files). */
export async function startHcmFixture(specs: readonly ListenerSpec[] | ((dir: string) => readonly ListenerSpec[])): Promise<HcmFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-security-hcm-'));
  const listeners = typeof specs === 'function' ? specs(dir) : specs;
  const upstream: UpstreamRequest[] = [];
  // Large header limits upstream, so what the proxy lets through is what the upstream sees.
  const app: Server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      upstream.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('latin1') });
      res.end(`app ${req.url}`);
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const proxy = await startProxyWithApp(dir, app);
  const applied = await proxy.dynamic.applyListeners(listeners.map(listenerResource) as never, 'l1');
  if (applied.error) throw new Error(applied.error);
  return {
    dir,
    ports: proxy.listenerPorts(),
    upstream,
    proxy,
    listeners,
    reached: (marker) => upstream.filter((r) => r.url.includes(marker)),
    async stop() {
      await proxy.stop(0);
      app.closeAllConnections();
      await new Promise((r) => app.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A file access log in the fixture's directory, with the given format. */
export function fileAccessLog(path: string, logFormat: Record<string, unknown>): Record<string, unknown> {
  return { name: 'envoy.access_loggers.file', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path, log_format: logFormat } };
}
