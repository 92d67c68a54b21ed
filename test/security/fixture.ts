/**
 * A real proxy for the advisory regression tests: one plain-HTTP listener per Istio path normalization
 * mode, each an HCM as the control plane generates it (pathNormalizationFields) with the RBAC filters the
 * control plane generates from one DENY AuthorizationPolicy (paths /admin*, hosts example.com), in front
 * of an upstream that answers with the request target it received. Requests go over raw sockets so that
 * the request target is exactly what the test wrote (no client-side normalization, fragments kept).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBootstrapFile } from '../../src/envoy/index.js';
import { ProxyServer } from '../../src/proxy/index.js';
import { buildAuthorization, pathNormalizationFields } from '../../src/controlplane/translate/index.js';
import type { AuthorizationPolicy, ProxyNode } from '../../src/controlplane/translate/index.js';
import type { PathNormalizationMode } from '../../src/api/index.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

/** The modes with a listener each; DEFAULT is BASE. */
export type Mode = Exclude<PathNormalizationMode, 'DEFAULT'>;
export const MODES: readonly Mode[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

/** The policy of Istio's normalization test, plus a host rule for CVE-2021-39155. */
export const DENY_POLICY: AuthorizationPolicy = {
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'deny-admin', namespace: 'apps' },
  spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }, { to: [{ operation: { hosts: ['example.com'] } }] }] },
};

const PROXY: ProxyNode = { id: 'sidecar~127.0.0.1~app-1.apps~apps.svc.cluster.local', type: 'sidecar', namespace: 'apps', labels: { app: 'app' } };

/** Extra listeners with Envoy's other path_with_escaped_slashes_action values (no Istio mode sets them). */
export const ESCAPED_SLASH_ACTIONS = ['REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT'] as const;
export type EscapedSlashListener = (typeof ESCAPED_SLASH_ACTIONS)[number];

export interface RawAnswer { status: number; body: string; raw: string }

export interface SecurityFixture {
  /** Listener port per mode. */
  readonly ports: Readonly<Record<Mode | EscapedSlashListener, number>>;
  /** x-case header value -> the request target the upstream received. */
  readonly upstreamSaw: Map<string, string>;
  send(mode: Mode | EscapedSlashListener, requestHead: string): Promise<RawAnswer>;
  stop(): Promise<void>;
}

/** Writes bytes as they are and reads the whole answer (the request asks for connection: close). */
export function rawExchange(port: number, bytes: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
      const split = raw.indexOf('\r\n\r\n');
      resolve({ status, body: split === -1 ? '' : raw.slice(split + 4), raw });
    });
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

/**
 * A real proxy from a minimal bootstrap (listeners come later, over the dynamic API) with one STATIC
 * cluster `app` pointing at the test's upstream server.
 */
export async function startProxyWithApp(dir: string, app: Server): Promise<ProxyServer> {
  const bootstrap = join(dir, 'bootstrap.yaml');
  writeFileSync(bootstrap, 'node: { id: security, cluster: security }\n');
  const proxy = await ProxyServer.create(await loadBootstrapFile(bootstrap), { drainTimeMs: 100 });
  await proxy.start();
  const appPort = (app.address() as { port: number }).port;
  const cluster = { name: 'app', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] }] } };
  const clusters = await proxy.dynamic.applyClusters([cluster] as never, 'c1');
  if (clusters.error) throw new Error(clusters.error);
  return proxy;
}

export async function startSecurityFixture(): Promise<SecurityFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-security-'));
  const upstreamSaw = new Map<string, string>();
  const app: Server = createServer((req, res) => {
    const id = req.headers['x-case'];
    if (typeof id === 'string') upstreamSaw.set(id, req.url ?? '');
    res.setHeader('connection', 'close');
    res.end(req.url);
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const proxy = await startProxyWithApp(dir, app);
  const warnings: string[] = [];
  const authz = buildAuthorization({ policies: [DENY_POLICY], proxy: PROXY, rootNamespace: 'istio-system', trustDomain: 'cluster.local', warn: (_r, m) => warnings.push(m) });
  if (warnings.length > 0 || authz.http.length === 0) throw new Error(`unexpected authorization translation: ${warnings.join('; ')}`);
  const hcmFields = (name: Mode | EscapedSlashListener) => (name === 'REJECT_REQUEST' || name === 'UNESCAPE_AND_REDIRECT'
    ? { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: name }
    : pathNormalizationFields({ pathNormalization: { normalization: name } }));
  const listeners = [...MODES, ...ESCAPED_SLASH_ACTIONS].map((mode) => ({
    name: mode,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM,
          stat_prefix: mode,
          route_config: { name: mode, virtual_hosts: [{ name: 'app', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] },
          http_filters: [...authz.http, ROUTER],
          ...hcmFields(mode),
        },
      }],
    }],
  }));
  const applied = await proxy.dynamic.applyListeners(listeners as never, 'l1');
  if (applied.error) throw new Error(applied.error);
  const ports = proxy.listenerPorts() as Record<Mode | EscapedSlashListener, number>;
  return {
    ports,
    upstreamSaw,
    send: (mode, requestHead) => rawExchange(ports[mode], requestHead),
    async stop() {
      await proxy.stop(0);
      app.closeAllConnections();
      await new Promise((r) => app.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A GET with the request target as written, a case id for the upstream, and connection: close. */
export function get(target: string, caseId: string, host = 'app.test', extra = ''): string {
  return `GET ${target} HTTP/1.1\r\nhost: ${host}\r\nx-case: ${caseId}\r\n${extra}connection: close\r\n\r\n`;
}
