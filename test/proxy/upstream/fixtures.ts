// Shared pieces for the upstream tests: real servers on 127.0.0.1:0, cluster configs, certificates
// from the project's own CA, and small readers for UpstreamResponse.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { CertificateAuthority, exportPrivateKeyPem, toPem } from '../../../src/pki/index.js';
import type { Cluster, LbEndpoint } from '../../../src/envoy/index.js';
import { StatsStore } from '../../../src/proxy/stats.js';
import { createClusterManager } from '../../../src/proxy/upstream/index.js';
import type { UpstreamCluster, UpstreamClusterManager, UpstreamRequest, UpstreamResponse } from '../../../src/proxy/upstream/index.js';

export async function listen(server: NetServer, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every connection it still has. */
export async function closeServer(server: NetServer, sockets?: Set<Socket>): Promise<void> {
  for (const s of sockets ?? []) s.destroy();
  (server as Server).closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Remembers a server's accepted sockets (so a test can count them and close them). */
export function trackSockets(server: NetServer, event = 'connection'): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on(event, (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  /** Accepted TCP connections so far. */
  connections: number;
  /** Open accepted sockets. */
  readonly sockets: Set<Socket>;
  readonly requests: IncomingMessage[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, backend: Backend) => void;

/** An HTTP/1.1 server answering "<name> <method> <path>" unless a handler is given. */
export async function httpBackend(name: string, handler?: Handler): Promise<Backend> {
  const server = createServer();
  const sockets = trackSockets(server);
  const backend: Backend = {
    name,
    port: 0,
    server,
    connections: 0,
    sockets,
    requests: [],
    close: () => closeServer(server, sockets),
  };
  server.on('connection', () => backend.connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    backend.requests.push(req);
    if (handler) handler(req, res, backend);
    else res.end(`${name} ${req.method} ${req.url}`);
  });
  (backend as { port: number }).port = await listen(server);
  return backend;
}

export function lbEndpoint(address: string, port: number, weight?: number): LbEndpoint {
  return { endpoint: { address: { socket_address: { address, port_value: port } } }, ...(weight ? { load_balancing_weight: weight } : {}) };
}

export function staticCluster(name: string, ports: readonly number[], extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: ports.map((p) => lbEndpoint('127.0.0.1', p)) }] },
    ...extra,
  };
}

export function request(overrides: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return { method: 'GET', path: '/', authority: 'backend.test', headers: {}, body: null, ...overrides };
}

export async function readBody(r: UpstreamResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of r.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Sends a request to a host chosen by the cluster's load balancer and reads the whole body. */
export async function send(cluster: UpstreamCluster, overrides: Partial<UpstreamRequest> = {}): Promise<{ response: UpstreamResponse; body: string }> {
  const host = cluster.chooseHost();
  if (!host) throw new Error(`no host in ${cluster.name}`);
  const response = await cluster.httpRequest(request(overrides), host);
  return { response, body: await readBody(response) };
}

export function manager(baseDir = process.cwd()): { cm: UpstreamClusterManager; stats: StatsStore; stat: (name: string) => number } {
  const stats = new StatsStore();
  const cm = createClusterManager({ stats, baseDir });
  const stat = (name: string) => stats.samples().find((s) => s.name === name)?.value ?? 0;
  return { cm, stats, stat };
}

/** Waits until `check` holds (polling), for effects that land a few ticks later (socket closes). */
export async function eventually(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Pem {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly rootPem: string;
  /** httpbin.test, spiffe://cluster.local/ns/default/sa/httpbin (leaf + intermediate). */
  readonly server: Pem;
  /** spiffe://cluster.local/ns/default/sa/sleep */
  readonly client: Pem;
  /** Same names as `server`, but from an unrelated root. */
  readonly stranger: Pem;
  /** DNS SAN *.mesh.test. */
  readonly wildcard: Pem;
}

async function pem(ca: CertificateAuthority, options: { spiffeId: string; dnsNames?: string[] }): Promise<Pem> {
  const issued = await ca.issueWithNewKey(options);
  return { cert: toPem([issued.certificate, ...issued.chain.filter((c) => c.subject !== c.issuer)]), key: await exportPrivateKeyPem(issued.keys.privateKey) };
}

export async function makePki(): Promise<TestPki> {
  const root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  const mesh = await root.createIntermediate({ name: 'mesh-ca' });
  const otherRoot = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
  return {
    rootPem: toPem([root.certificate]),
    server: await pem(mesh, { spiffeId: 'spiffe://cluster.local/ns/default/sa/httpbin', dnsNames: ['httpbin.test'] }),
    client: await pem(mesh, { spiffeId: 'spiffe://cluster.local/ns/default/sa/sleep' }),
    stranger: await pem(otherRoot, { spiffeId: 'spiffe://cluster.local/ns/default/sa/httpbin', dnsNames: ['httpbin.test'] }),
    wildcard: await pem(mesh, { spiffeId: 'spiffe://cluster.local/ns/default/sa/wild', dnsNames: ['*.mesh.test'] }),
  };
}
