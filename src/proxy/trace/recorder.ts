import type { TlsDetails, TraceEntry, TraceQuery } from './types.js';

export interface TraceRecorderOptions {
  /** Most entries kept (oldest dropped first); 0 turns recording off. */
  readonly maxEntries?: number;
  /** Rough upper bound of the memory the entries hold, bytes. */
  readonly maxBytes?: number;
}

export const DEFAULT_TRACE_ENTRIES = 2_000;
export const DEFAULT_TRACE_BYTES = 4 * 1024 * 1024;

const ENTRY_OVERHEAD = 320;
const CERT_BYTES = 200;

function len(s: string | undefined): number {
  return s === undefined ? 0 : s.length;
}

function tlsSize(t: TlsDetails | undefined): number {
  return t ? 64 + len(t.sni) + len(t.peerSpiffeId) + (t.peerChain?.length ?? 0) * CERT_BYTES : 0;
}

/** A cheap estimate of what an entry holds (strings dominate); exactness is not needed for a bound. */
function estimate(e: TraceEntry): number {
  return ENTRY_OVERHEAD + len(e.listener) + len(e.filterChain) + len(e.requestId) + len(e.authority) + len(e.path)
    + len(e.routeConfig) + len(e.virtualHost) + len(e.route) + len(e.routeMatch) + len(e.cluster) + len(e.error)
    + tlsSize(e.downstreamTls) + tlsSize(e.upstreamTls);
}

/**
 * The last completed streams, connections and refusals of a proxy, in a ring bounded by count and by
 * bytes. Recording is one array store of an object the caller built anyway; filtering and JSON happen
 * only when someone asks (GET /isthmus/trace).
 */
export class TraceRecorder {
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly ring: Array<TraceEntry | undefined>;
  private readonly sizes: number[];
  private next = 0;
  private count = 0;
  private bytes = 0;
  /** Entries recorded since start, including those dropped. */
  recorded = 0;

  constructor(options: TraceRecorderOptions = {}) {
    this.maxEntries = Math.max(0, Math.floor(options.maxEntries ?? DEFAULT_TRACE_ENTRIES));
    this.maxBytes = Math.max(0, options.maxBytes ?? DEFAULT_TRACE_BYTES);
    this.ring = new Array<TraceEntry | undefined>(this.maxEntries);
    this.sizes = new Array<number>(this.maxEntries).fill(0);
  }

  get enabled(): boolean {
    return this.maxEntries > 0;
  }

  get size(): number {
    return this.count;
  }

  get bytesHeld(): number {
    return this.bytes;
  }

  record(entry: TraceEntry): void {
    if (this.maxEntries === 0) return;
    const size = estimate(entry);
    if (size > this.maxBytes) return;
    this.recorded++;
    // Make room: the slot to overwrite, then the oldest ones while over the byte bound.
    if (this.count === this.maxEntries) this.dropOldest();
    while (this.count > 0 && this.bytes + size > this.maxBytes) this.dropOldest();
    this.ring[this.next] = entry;
    this.sizes[this.next] = size;
    this.bytes += size;
    this.next = (this.next + 1) % this.maxEntries;
    this.count++;
  }

  private dropOldest(): void {
    const oldest = (this.next - this.count + this.maxEntries) % this.maxEntries;
    this.bytes -= this.sizes[oldest] ?? 0;
    this.ring[oldest] = undefined;
    this.sizes[oldest] = 0;
    this.count--;
  }

  /** Entries oldest first, filtered. */
  query(q: TraceQuery = {}): TraceEntry[] {
    const out: TraceEntry[] = [];
    for (let i = 0; i < this.count; i++) {
      const e = this.ring[(this.next - this.count + i + this.maxEntries) % this.maxEntries];
      if (!e) continue;
      if (q.requestId !== undefined && e.requestId !== q.requestId) continue;
      if (q.sinceMs !== undefined && e.startMs + e.durationMs < q.sinceMs) continue;
      if (q.kind !== undefined && e.kind !== q.kind) continue;
      if (q.sni !== undefined && e.downstreamSni !== q.sni && e.upstreamTls?.sni !== q.sni) continue;
      out.push(e);
    }
    return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
  }
}
