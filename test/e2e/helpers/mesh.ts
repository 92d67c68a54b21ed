// Control planes and xDS proxies as real processes, for the e2e tests of reconnects and revisions.
import { createServer } from 'node:net';
import { CLI, run } from '../../helpers/index.js';
import { startProcess } from './processes.js';
import type { StartedProcess } from './processes.js';
import type { RunResult } from '../../helpers/index.js';

export { eventually, startProcess as startIsthmus, stop as stopChild } from './processes.js';
export type { StartedProcess as Started } from './processes.js';

export const CONTROL_PLANE_READY = /control plane (\S+) \(([^)]*)\) ready: xDS (127\.0\.0\.1:\d+), management (http:\/\/127\.0\.0\.1:\d+)/;

export interface ControlPlaneProcess extends StartedProcess {
  readonly name: string;
  readonly xds: string;
  readonly server: string;
}

export async function startControlPlane(args: readonly string[]): Promise<ControlPlaneProcess> {
  const started = await startProcess(['controlplane', '--management-address', '127.0.0.1:0', ...args], CONTROL_PLANE_READY);
  return { ...started, name: started.match[1] as string, xds: started.match[3] as string, server: started.match[4] as string };
}

/** One 127.x.y.0/24 per test file and run: parallel runs do not share pod IPs (or their 15021/15090). */
export function randomNet(): string {
  return `127.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}`;
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface StatusRow {
  name: string;
  nodeId: string;
  controlPlane: string;
  version: string;
  revision?: string;
  types: Record<string, { state: string }>;
}

export async function proxyStatus(server: string): Promise<StatusRow[]> {
  const res = await run(process.execPath, [CLI, '--server', server, 'proxy-status', '-o', 'json']);
  if (res.code !== 0) throw new Error(`proxy-status failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as StatusRow[];
}

export function isthmusCli(server: string, args: readonly string[], input?: string): Promise<RunResult> {
  return run(process.execPath, [CLI, '--server', server, ...args], input === undefined ? {} : { input });
}

/** SYNCED on CDS and LDS (the gateway's columns in the seed) for every row of the node. */
export function syncedRows(rows: readonly StatusRow[], nodeId: string): StatusRow[] {
  return rows.filter((r) => r.nodeId === nodeId && r.types.CDS?.state === 'SYNCED' && r.types.LDS?.state === 'SYNCED');
}

/** GET through a proxy listener: status and body, or status 0 when the connection fails. */
export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text(), headers: res.headers };
  } catch {
    return { status: 0, body: '', headers: new Headers() };
  }
}

/**
 * Istio config for one gateway (selector app: gw unless given, namespace ns) routing HTTP port 80 to
 * 127.0.0.1:<upstreamPort>; with `prefix`, only requests under that path prefix.
 */
export function gatewayToUpstream(upstreamPort: number, options: { readonly selector?: string; readonly prefix?: string } = {}): string {
  const { selector = '{ app: gw }', prefix } = options;
  const route = prefix === undefined ? '  - route:' : `  - match: [{ uri: { prefix: ${prefix} } }]\n    route:`;
  return `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: { name: gw, namespace: ns }
spec:
  selector: ${selector}
  servers:
  - hosts: ["*"]
    port: { name: http, number: 80, protocol: HTTP }
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: vs, namespace: ns }
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
${route}
    - destination: { host: up.example, port: { number: ${upstreamPort} } }
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: up, namespace: ns }
spec:
  hosts: [up.example]
  ports: [{ name: http, number: ${upstreamPort}, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;
}
