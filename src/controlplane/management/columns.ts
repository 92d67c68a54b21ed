import { formatDuration } from '../../common/index.js';
import type { ResourceView } from './protocol.js';

/**
 * The columns `get` prints for a kind, as Istio's CRDs declare them (additionalPrinterColumns) and as
 * kubectl prints core kinds. NAME and AGE included, NAMESPACE not (it is added for -A).
 */
export interface PrinterColumns {
  readonly headers: readonly string[];
  row(resource: ResourceView, now?: number): string[];
}

type Cell = (resource: ResourceView, now: number) => string;

const spec = (r: ResourceView): Record<string, unknown> => ((r as { spec?: Record<string, unknown> }).spec ?? {});
/** kubectl prints list-valued JSONPath columns as JSON. */
const list = (value: unknown): string => (Array.isArray(value) && value.length > 0 ? JSON.stringify(value) : '');
const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

const NAME: [string, Cell] = ['NAME', (r) => r.metadata.name];
const AGE: [string, Cell] = ['AGE', (r, now) => formatDuration(Math.max(0, now - Date.parse(r.metadata.creationTimestamp)))];

interface GatewayServerView {
  port?: { number?: number; protocol?: string };
  hosts?: string[];
  tls?: { mode?: string };
}

interface ServicePortView {
  port?: number;
  nodePort?: number;
  protocol?: string;
}

const COLUMNS: Record<string, Array<[string, Cell]>> = {
  Gateway: [
    NAME,
    ['SERVERS', (r) => ((spec(r)['servers'] ?? []) as GatewayServerView[]).map((s) => [s.port?.number, s.port?.protocol, s.tls?.mode].filter((p) => p !== undefined).join('/')).join(',')],
    ['HOSTS', (r) => list([...new Set(((spec(r)['servers'] ?? []) as GatewayServerView[]).flatMap((s) => s.hosts ?? []))])],
    AGE,
  ],
  VirtualService: [NAME, ['GATEWAYS', (r) => list(spec(r)['gateways'])], ['HOSTS', (r) => list(spec(r)['hosts'])], AGE],
  DestinationRule: [NAME, ['HOST', (r) => text(spec(r)['host'])], AGE],
  ServiceEntry: [NAME, ['HOSTS', (r) => list(spec(r)['hosts'])], ['LOCATION', (r) => text(spec(r)['location'])], ['RESOLUTION', (r) => text(spec(r)['resolution'])], AGE],
  WorkloadEntry: [NAME, AGE, ['ADDRESS', (r) => text(spec(r)['address'])]],
  PeerAuthentication: [NAME, ['MODE', (r) => text((spec(r)['mtls'] as { mode?: string } | undefined)?.mode)], AGE],
  AuthorizationPolicy: [NAME, ['ACTION', (r) => text(spec(r)['action'] ?? 'ALLOW')], AGE],
  Secret: [
    NAME,
    ['TYPE', (r) => text((r as { type?: string }).type ?? 'Opaque')],
    ['DATA', (r) => String(new Set([...Object.keys((r as { data?: object }).data ?? {}), ...Object.keys((r as { stringData?: object }).stringData ?? {})]).size)],
    AGE,
  ],
  Namespace: [NAME, ['STATUS', () => 'Active'], AGE],
  // kubectl's columns (TYPE, PORT(S)) and its -o wide SELECTOR, without the addresses a cluster would assign.
  Service: [
    NAME,
    ['TYPE', (r) => text(spec(r)['type'] ?? 'ClusterIP')],
    ['PORT(S)', (r) => ((spec(r)['ports'] ?? []) as ServicePortView[]).map((p) => `${p.port}${p.nodePort !== undefined ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>'],
    ['SELECTOR', (r) => Object.entries((spec(r)['selector'] ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'],
    AGE,
  ],
  MeshConfig: [NAME, ['TRUST DOMAIN', (r) => text(spec(r)['trustDomain'])], AGE],
};

export function printerColumns(kind: string): PrinterColumns {
  const columns = COLUMNS[kind] ?? [NAME, AGE];
  return {
    headers: columns.map(([header]) => header),
    row: (resource, now = Date.now()) => columns.map(([, cell]) => cell(resource, now)),
  };
}
