/**
 * What `isthmus mesh export` reads of a running mesh's gateways through its management API: which proxy is
 * the ingress or egress gateway (proxy-status), its labels and service account when the control plane
 * reports node metadata, where it listens (proxy-config), and whether it has ACKed the latest config.
 */
import { request } from 'node:http';
import { IsthmusError } from '../../common/index.js';
import type { ManagementClient } from '../../controlplane/index.js';

interface TypeState {
  readonly state?: string;
  readonly acked?: { readonly version?: string };
  readonly latestVersion?: string;
  readonly lastNack?: { readonly message?: string };
}

/** A proxy-status row as JSON; labels and metadata only when the control plane reports them. */
export interface StatusRow {
  readonly name: string;
  readonly nodeId: string;
  /** The proxy's instance IP, as the control plane reads it (INSTANCE_IPS, else the node id). */
  readonly ip?: string;
  readonly types: Readonly<Record<string, TypeState>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface FoundGateway {
  readonly name: string;
  readonly nodeId: string;
  /** The proxy's IP from its node id (router~IP~pod.ns~...). */
  readonly ip: string;
  /** Undefined when proxy-status does not report node metadata. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

function labelsOf(row: StatusRow): Record<string, string> | undefined {
  return stringRecord(row.labels) ?? stringRecord(row.metadata?.['LABELS']);
}

function namespaceOf(row: StatusRow): string {
  const ns = row.metadata?.['NAMESPACE'];
  if (typeof ns === 'string' && ns) return ns;
  return row.name.includes('.') ? row.name.slice(row.name.lastIndexOf('.') + 1) : 'default';
}

function isRouter(row: StatusRow): boolean {
  return row.nodeId.startsWith('router~') || row.metadata?.['PROXY_TYPE'] === 'router';
}

/**
 * The gateway proxy of a role in a namespace: a router there whose labels match the selector, or, when the
 * control plane does not report labels, whose name says the role (istio-ingressgateway-..., as installers name them).
 */
export function findGateway(rows: readonly StatusRow[], options: { namespace: string; selector: Readonly<Record<string, string>>; role: 'ingressgateway' | 'egressgateway' }): FoundGateway | undefined {
  const candidates = rows.filter((r) => isRouter(r) && namespaceOf(r) === options.namespace);
  const match = candidates.find((r) => {
    const labels = labelsOf(r);
    if (labels) return Object.entries(options.selector).every(([k, v]) => labels[k] === v);
    return r.name.includes(options.role);
  });
  if (!match) return undefined;
  const labels = labelsOf(match);
  const sa = match.metadata?.['SERVICE_ACCOUNT'];
  return {
    name: match.name,
    nodeId: match.nodeId,
    ip: match.ip || '127.0.0.1',
    ...(labels ? { labels } : {}),
    ...(typeof sa === 'string' && sa ? { serviceAccount: sa } : {}),
  };
}

export async function proxyStatusRows(client: ManagementClient): Promise<StatusRow[]> {
  const rows = await client.proxyStatus();
  return Array.isArray(rows) ? (rows as StatusRow[]) : [];
}

/** Per-type versions the control plane holds for a proxy: they change when its config changes. */
export function latestVersions(row: StatusRow | undefined): string {
  return JSON.stringify(Object.fromEntries(Object.entries(row?.types ?? {}).map(([t, s]) => [t, s.latestVersion ?? s.acked?.version ?? ''])));
}

/** SYNCED on every type sent, at the version the control plane holds; a NACK is an error. */
export function syncState(row: StatusRow | undefined): { synced: boolean; summary: string; nack?: string } {
  if (!row) return { synced: false, summary: 'not connected' };
  const sent = Object.entries(row.types).filter(([, s]) => s.state !== undefined && s.state !== 'NOT SENT');
  const nacked = sent.find(([, s]) => s.state === 'NACKED');
  if (nacked) return { synced: false, summary: `${nacked[0]} NACKED`, nack: `${nacked[0]}: ${nacked[1].lastNack?.message ?? 'rejected'}` };
  const behind = sent.filter(([, s]) => s.state !== 'SYNCED' || (s.latestVersion !== undefined && s.acked?.version !== s.latestVersion));
  const summary = sent.map(([t, s]) => `${t} ${s.state === 'PENDING' ? 'STALE' : s.state}`).join(' ');
  return { synced: sent.length > 0 && behind.length === 0, summary };
}

interface ListenerJson {
  address?: { socket_address?: { address?: string; port_value?: number } };
  filter_chains?: Array<{ filter_chain_match?: { server_names?: string[] } }>;
}

interface RouteJson {
  name?: string;
  virtual_hosts?: Array<{ domains?: string[] }>;
}

async function resourcesOf<T>(client: ManagementClient, nodeId: string, type: 'listeners' | 'routes' | 'clusters' | 'secret'): Promise<T[]> {
  const result = (await client.proxyConfig(nodeId, type)) as { resources?: unknown } | undefined;
  return Array.isArray(result?.resources) ? (result.resources as T[]) : [];
}

/** The port the ingress gateway serves the name's TLS on: the listener with a filter chain for its SNI. */
export async function ingressListenPort(client: ManagementClient, gateway: FoundGateway, host: string): Promise<number | undefined> {
  const listeners = await resourcesOf<ListenerJson>(client, gateway.nodeId, 'listeners').catch(() => []);
  const listener = listeners.find((l) => (l.filter_chains ?? []).some((fc) => fc.filter_chain_match?.server_names?.includes(host)));
  return listener?.address?.socket_address?.port_value;
}

/** The port the egress gateway serves the name's plain HTTP on: its route http.<port> with a virtual host for the name. */
export async function egressListenPort(client: ManagementClient, gateway: FoundGateway, host: string): Promise<number | undefined> {
  const routes = await resourcesOf<RouteJson>(client, gateway.nodeId, 'routes').catch(() => []);
  const route = routes.find((r) => /^http\.\d+$/.test(r.name ?? '') && (r.virtual_hosts ?? []).some((vh) => (vh.domains ?? []).some((d) => d === host || d.startsWith(`${host}:`))));
  return route ? Number(route.name?.slice('http.'.length)) : undefined;
}

/** Whether a gateway already has what the link gives it (listener or route, cluster, credential). */
export async function gatewayHasLink(client: ManagementClient, gateway: FoundGateway, role: 'ingress' | 'egress', host: string, credential: string): Promise<boolean> {
  const secrets = await resourcesOf<unknown>(client, gateway.nodeId, 'secret').catch(() => []);
  const names = secrets.map((s) => (typeof s === 'string' ? s : String((s as { name?: unknown }).name ?? '')));
  if (!names.includes(`kubernetes://${credential}`) || !names.includes(`kubernetes://${credential}-cacert`)) return false;
  if (role === 'ingress') return (await ingressListenPort(client, gateway, host)) !== undefined;
  const clusters = await resourcesOf<{ name?: string }>(client, gateway.nodeId, 'clusters').catch(() => []);
  return (await egressListenPort(client, gateway, host)) !== undefined && clusters.some((c) => c.name === `outbound|80||${host}`);
}

export function parseHostPort(text: string, flag: string): { address: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  const address = text.slice(0, i).replace(/^\[|\]$/g, '');
  if (i <= 0 || !address || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new IsthmusError('ERR_MESH_EXPORT_FLAG', `${flag} "${text}" is not HOST:PORT`, { hint: `write ${flag} 203.0.113.10:443 or ${flag} ingress.example.com:443` });
  }
  return { address, port };
}

/** One plain-HTTP request through the egress gateway with the imported name as Host, as a sidecar would send it. */
export function probe(address: string, port: number, host: string, path: string, timeoutMs: number): Promise<{ status: number; server?: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, method: 'GET', headers: { host }, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(typeof res.headers.server === 'string' ? { server: res.headers.server } : {}), bytes }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
