import type { XdsNode } from '../../envoy/index.js';
import { XDS_TYPES } from './resource-types.js';
import type { XdsTypeName } from './resource-types.js';

/**
 * What proxy-status prints per type:
 * - SYNCED: the proxy ACKed the last response;
 * - NACKED: the proxy rejected the last response (and the server is holding that version back);
 * - STALE: a response has waited longer than the grace period for its ACK;
 * - PENDING: a response is on its way and still within the grace period;
 * - NOT SENT: nothing of this type was sent on this connection.
 */
export type SyncState = 'SYNCED' | 'NACKED' | 'STALE' | 'PENDING' | 'NOT SENT';

export interface TypeSyncStatus {
  readonly state: SyncState;
  readonly sent?: { readonly version: string; readonly nonce: string; readonly at: Date };
  readonly acked?: { readonly version: string; readonly at: Date };
  /** The last rejection, kept after a later version was accepted, for the record. */
  readonly lastNack?: { readonly version: string; readonly message: string; readonly at: Date };
  /** The version the node's current snapshot holds, if the server knows one. */
  readonly latestVersion?: string;
}

export interface XdsIdentity {
  /** A SPIFFE ID, a token subject, or "anonymous". */
  readonly principal: string;
  readonly method: 'none' | 'mtls' | 'token';
  /** Serial number of the client certificate (mtls): shows which certificate a proxy reconnected with. */
  readonly serial?: string;
}

export interface ProxyStatus {
  readonly connectionId: string;
  readonly nodeId: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly identity: XdsIdentity;
  readonly peer: string;
  readonly protocol: 'sotw' | 'delta';
  readonly connectedAt: Date;
  readonly types: Readonly<Record<XdsTypeName, TypeSyncStatus>>;
}

interface Mark {
  version: string;
  nonce: string;
  at: number;
}

interface TypeRecord {
  sent?: Mark;
  acked?: Mark;
  nack?: Mark & { message: string };
}

interface Connection {
  readonly connectionId: string;
  readonly node: XdsNode;
  readonly identity: XdsIdentity;
  readonly peer: string;
  readonly protocol: 'sotw' | 'delta';
  readonly connectedAt: number;
  readonly types: Map<string, TypeRecord>;
}

export interface ConnectionInfo {
  readonly connectionId: string;
  readonly node: XdsNode;
  readonly identity: XdsIdentity;
  readonly peer: string;
  readonly protocol: 'sotw' | 'delta';
}

const TYPE_NAMES = Object.keys(XDS_TYPES) as XdsTypeName[];

/** Sync state of every connected proxy, fed by the streams as they send and hear back. */
export class ProxyStatusRegistry {
  private readonly connections = new Map<string, Connection>();

  constructor(
    /** How long a response may wait for its ACK before the proxy counts as STALE. */
    private readonly staleAfterMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  connect(info: ConnectionInfo): void {
    this.connections.set(info.connectionId, { ...info, connectedAt: this.now(), types: new Map() });
  }

  disconnect(connectionId: string): void {
    this.connections.delete(connectionId);
  }

  sent(connectionId: string, typeUrl: string, version: string, nonce: string): void {
    const record = this.record(connectionId, typeUrl);
    if (record) record.sent = { version, nonce, at: this.now() };
  }

  acked(connectionId: string, typeUrl: string, version: string, nonce: string): void {
    const record = this.record(connectionId, typeUrl);
    if (record) record.acked = { version, nonce, at: this.now() };
  }

  nacked(connectionId: string, typeUrl: string, version: string, nonce: string, message: string): void {
    const record = this.record(connectionId, typeUrl);
    if (record) record.nack = { version, nonce, message, at: this.now() };
  }

  get size(): number {
    return this.connections.size;
  }

  /** One entry per connection; `latest` gives the version a node's snapshot holds for a type. */
  list(latest?: (nodeId: string, typeUrl: string) => string | undefined): ProxyStatus[] {
    const now = this.now();
    return [...this.connections.values()].map((c) => {
      const nodeId = c.node.id ?? '';
      const types = Object.fromEntries(TYPE_NAMES.map((name) => {
        const typeUrl = XDS_TYPES[name];
        return [name, this.typeStatus(c.types.get(typeUrl), now, latest?.(nodeId, typeUrl))];
      })) as Record<XdsTypeName, TypeSyncStatus>;
      return {
        connectionId: c.connectionId,
        nodeId,
        cluster: c.node.cluster ?? '',
        metadata: c.node.metadata ?? {},
        identity: c.identity,
        peer: c.peer,
        protocol: c.protocol,
        connectedAt: new Date(c.connectedAt),
        types,
      };
    });
  }

  private record(connectionId: string, typeUrl: string): TypeRecord | undefined {
    const connection = this.connections.get(connectionId);
    if (!connection) return undefined;
    let record = connection.types.get(typeUrl);
    if (!record) {
      record = {};
      connection.types.set(typeUrl, record);
    }
    return record;
  }

  private typeStatus(record: TypeRecord | undefined, now: number, latestVersion: string | undefined): TypeSyncStatus {
    const sent = record?.sent;
    const base = {
      ...(sent ? { sent: { version: sent.version, nonce: sent.nonce, at: new Date(sent.at) } } : {}),
      ...(record?.acked ? { acked: { version: record.acked.version, at: new Date(record.acked.at) } } : {}),
      ...(record?.nack ? { lastNack: { version: record.nack.version, message: record.nack.message, at: new Date(record.nack.at) } } : {}),
      ...(latestVersion !== undefined ? { latestVersion } : {}),
    };
    return { state: stateOf(record, now, this.staleAfterMs), ...base };
  }
}

function stateOf(record: TypeRecord | undefined, now: number, staleAfterMs: number): SyncState {
  const sent = record?.sent;
  if (!sent) return 'NOT SENT';
  if (record.nack?.nonce === sent.nonce) return 'NACKED';
  if (record.acked?.nonce === sent.nonce) return 'SYNCED';
  return now - sent.at >= staleAfterMs ? 'STALE' : 'PENDING';
}
