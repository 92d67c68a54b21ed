import type { HttpTraceRecord, TlsDetails, TraceEntry, TraceQuery, TraceRouteMatchSpec } from './types.js';

export interface TraceRecorderOptions {
  /** Most entries kept (oldest dropped first); 0 turns recording off. */
  readonly maxEntries?: number;
  /** Rough upper bound of the memory the entries hold, bytes. */
  readonly maxBytes?: number;
  /** Successful HTTP streams kept per second; failures and marked requests are always kept. */
  readonly successesPerSecond?: number;
}

export const DEFAULT_TRACE_ENTRIES = 2_000;
export const DEFAULT_TRACE_BYTES = 4 * 1024 * 1024;
/**
 * Under load a ring of every request holds a fraction of a second and, turning over, promotes thousands
 * of records a second to the old generation (a quarter of a busy gateway's CPU). Successes are sampled
 * instead; what tracing needs is kept whole: failures, and requests marked with TRACE_HEADER.
 */
export const DEFAULT_TRACE_SUCCESSES_PER_SECOND = 50;
/** Set by `isthmus trace` on its request: every proxy on the path records it. */
export const TRACE_HEADER = 'x-isthmus-trace';

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

/** An HTTP record holds its per-request strings; the connection, route and TLS objects are shared. */
function estimateHttp(r: HttpTraceRecord): number {
  return ENTRY_OVERHEAD + len(r.requestId) + len(r.authority) + len(r.path) + len(r.error);
}

/** "prefix /", "path /x", "regex ^/a.*" — how the matched route matched. */
function describeMatch(m: TraceRouteMatchSpec | undefined): string | undefined {
  if (!m) return undefined;
  if (m.prefix !== undefined) return `prefix ${m.prefix}`;
  if (m.path !== undefined) return `path ${m.path}`;
  if (m.safe_regex !== undefined) return `regex ${m.safe_regex.regex}`;
  if (m.path_separated_prefix !== undefined) return `path_separated_prefix ${m.path_separated_prefix}`;
  return undefined;
}

/** The JSON entry of an HTTP record, built when the trace is read (field order as /isthmus/trace shows it). */
function httpEntry(r: HttpTraceRecord): TraceEntry {
  const conn = r.conn;
  const matched = r.matched;
  return {
    kind: 'http',
    startMs: r.startMs,
    durationMs: r.durationMs,
    ...(conn.listenerName ? { listener: conn.listenerName } : {}),
    ...(conn.filterChainName ? { filterChain: conn.filterChainName } : {}),
    downstreamRemoteAddress: `${conn.remoteAddress}:${conn.remotePort}`,
    downstreamLocalAddress: `${conn.localAddress}:${conn.localPort}`,
    ...(conn.serverName ? { downstreamSni: conn.serverName } : {}),
    ...(conn.downstreamTls ? { downstreamTls: conn.downstreamTls } : {}),
    ...(r.requestId ? { requestId: r.requestId } : {}),
    authority: r.authority,
    path: r.path,
    method: r.method,
    ...(r.routeConfig ? { routeConfig: r.routeConfig } : {}),
    ...(matched?.virtualHost.name ? { virtualHost: matched.virtualHost.name } : {}),
    ...(matched?.route.name ? { route: matched.route.name } : {}),
    ...(matched ? { routeMatch: describeMatch(matched.route.match) ?? '' } : {}),
    ...(r.cluster ? { cluster: r.cluster } : {}),
    ...(r.upstreamHost ? { upstreamHost: r.upstreamHost } : {}),
    ...(r.upstreamTls ? { upstreamTls: r.upstreamTls } : {}),
    responseCode: r.responseCode,
    responseCodeDetails: r.responseCodeDetails,
    responseFlags: r.responseFlags,
    ...(r.error ? { error: r.error } : {}),
  };
}

function isHttpRecord(e: TraceEntry | HttpTraceRecord): e is HttpTraceRecord {
  return (e as HttpTraceRecord).conn !== undefined;
}

/**
 * The last completed streams, connections and refusals of a proxy, in a ring bounded by count and by
 * bytes. Recording is one array store: an HTTP stream stores a fixed-shape record of references
 * (recordHttp), turned into its TraceEntry, filtered and serialised only when someone asks
 * (GET /isthmus/trace).
 */
export class TraceRecorder {
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly ring: Array<TraceEntry | HttpTraceRecord | undefined>;
  private readonly sizes: number[];
  private next = 0;
  private count = 0;
  private bytes = 0;
  /** Entries recorded since start, including those dropped. */
  recorded = 0;
  /** Successful HTTP streams not recorded (over the per-second budget). */
  sampledOut = 0;
  readonly successesPerSecond: number;
  private budget = 0;
  private window = 0;

  constructor(options: TraceRecorderOptions = {}) {
    this.maxEntries = Math.max(0, Math.floor(options.maxEntries ?? DEFAULT_TRACE_ENTRIES));
    this.maxBytes = Math.max(0, options.maxBytes ?? DEFAULT_TRACE_BYTES);
    this.successesPerSecond = Math.max(0, options.successesPerSecond ?? DEFAULT_TRACE_SUCCESSES_PER_SECOND);
    this.ring = new Array<TraceEntry | HttpTraceRecord | undefined>(this.maxEntries);
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
    this.store(entry, estimate(entry));
  }

  /** Whether a completed HTTP stream is worth a record: failed or marked always, successes within the budget. */
  wantsHttp(failed: boolean, marked: boolean): boolean {
    if (this.maxEntries === 0) return false;
    if (failed || marked) return true;
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.window) {
      this.window = second;
      this.budget = this.successesPerSecond;
    }
    if (this.budget > 0) {
      this.budget--;
      return true;
    }
    this.sampledOut++;
    return false;
  }

  /** A completed HTTP stream: the record is kept as it is; its entry is built when read. */
  recordHttp(record: HttpTraceRecord): void {
    if (this.maxEntries === 0) return;
    this.store(record, estimateHttp(record));
  }

  private store(entry: TraceEntry | HttpTraceRecord, size: number): void {
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
      const slot = (this.next - this.count + i + this.maxEntries) % this.maxEntries;
      let e = this.ring[slot];
      if (!e) continue;
      // Built once: the slot keeps the entry for later reads.
      if (isHttpRecord(e)) this.ring[slot] = e = httpEntry(e);
      if (q.requestId !== undefined && e.requestId !== q.requestId) continue;
      if (q.sinceMs !== undefined && e.startMs + e.durationMs < q.sinceMs) continue;
      if (q.kind !== undefined && e.kind !== q.kind) continue;
      if (q.sni !== undefined && e.downstreamSni !== q.sni && e.upstreamTls?.sni !== q.sni) continue;
      out.push(e);
    }
    return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
  }
}
