/**
 * Turns the entries that proxies recorded for one request (and the connection-level refusals seen
 * around it) into hops in time order, and names the hop where the path broke, in plain words.
 */
import type { TraceEntry } from './types.js';

/** An entry and the proxy that recorded it. */
export interface TraceHop {
  /** "name.namespace @ context" */
  readonly proxy: string;
  readonly entry: TraceEntry;
}

export type FailureReason = 'no route' | 'no cluster' | 'certificate refused' | 'SNI unknown' | 'upstream down' | 'upstream reset' | 'upstream returned an error' | 'local reply';

export interface TraceFailure {
  /** 1-based index into hops. */
  readonly hop: number;
  readonly proxy: string;
  readonly reason: FailureReason;
  /** What happened, with the TLS error or the missing name when known. */
  readonly detail: string;
}

export interface TraceDiagnosis {
  readonly hops: readonly TraceHop[];
  readonly failure?: TraceFailure;
}

const TLS_ERROR = /alert|certificate|ssl|tls|handshake|verif|self-signed|issuer/i;
const DOWN_ERROR = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|connect_timeout|ETIMEDOUT/;
/** How far apart (ms) a listener refusal may be from the hop that caused it. */
const SLACK_MS = 2_000;

function isFailed(e: TraceEntry): boolean {
  if (e.kind === 'listener') return true;
  if (e.kind === 'tcp') return e.responseFlags.some((f) => f !== 'DC');
  return e.responseCode >= 400 || e.responseCode === 0 || e.responseFlags.some((f) => f !== 'DC');
}

/** The failure started here rather than being passed on from further upstream. */
function originatesHere(e: TraceEntry): boolean {
  if (e.kind !== 'http') return isFailed(e);
  if (e.responseFlags.some((f) => f !== 'DC')) return true;
  return e.responseCode >= 400 && e.responseCodeDetails !== undefined && e.responseCodeDetails !== 'via_upstream';
}

function near(a: TraceEntry, b: TraceEntry): boolean {
  return b.startMs >= a.startMs - SLACK_MS && b.startMs <= a.startMs + a.durationMs + SLACK_MS;
}

/** A refusal another proxy recorded for the connection this hop tried to open (same SNI, same time). */
function refusalFor(hop: TraceHop, hops: readonly TraceHop[]): number {
  const sni = hop.entry.upstreamTls?.sni;
  return hops.findIndex((h) => h !== hop && h.entry.kind === 'listener' && near(hop.entry, h.entry) && (sni === undefined || h.entry.downstreamSni === sni));
}

function classify(index: number, hops: readonly TraceHop[]): TraceFailure {
  const hop = hops[index] as TraceHop;
  const e = hop.entry;
  const at = (i: number, reason: FailureReason, detail: string): TraceFailure => ({ hop: i + 1, proxy: (hops[i] as TraceHop).proxy, reason, detail });
  const flags = e.responseFlags;
  const error = e.error ?? '';
  if (e.kind === 'listener') {
    if (flags.includes('NR')) return at(index, 'SNI unknown', e.error ?? 'no filter chain');
    return at(index, 'certificate refused', error || 'downstream TLS handshake refused');
  }
  if (flags.includes('NR')) {
    if (e.kind === 'tcp') return at(index, 'no route', error || `listener ${e.listener ?? ''} has no cluster for the connection`);
    return at(index, 'no route', `no virtual host/route for ${e.authority ?? '?'}${e.path ?? ''} in route config ${e.routeConfig ?? '(inline)'}`);
  }
  if (flags.includes('NC')) return at(index, 'no cluster', `route ${e.route ?? e.virtualHost ?? ''} names cluster "${e.cluster ?? ''}", which this proxy does not have`);
  if (flags.includes('UH')) return at(index, 'upstream down', `no healthy upstream host in cluster ${e.cluster ?? ''}`);
  if (flags.includes('UF') || (e.kind === 'tcp' && error)) {
    const refused = refusalFor(hop, hops);
    if (refused >= 0) {
      const r = (hops[refused] as TraceHop).entry;
      if (r.responseFlags.includes('NR')) return at(refused, 'SNI unknown', `${r.error ?? 'no filter chain for the SNI'} (from ${hop.proxy}, cluster ${e.cluster ?? ''})`);
      return at(refused, 'certificate refused', `${r.error ?? 'TLS refused'}; ${hop.proxy} saw: ${error}`);
    }
    if (TLS_ERROR.test(error)) return at(index, 'certificate refused', `TLS to ${e.upstreamHost ?? '?'}${e.upstreamTls?.sni ? ` (SNI ${e.upstreamTls.sni})` : ''}: ${error}`);
    if (DOWN_ERROR.test(error) || error === '') return at(index, 'upstream down', `cannot connect to ${e.upstreamHost ?? '?'} in cluster ${e.cluster ?? ''}${error ? `: ${error}` : ''}`);
    return at(index, 'upstream down', error);
  }
  if (flags.includes('UT')) return at(index, 'upstream down', `upstream ${e.upstreamHost ?? ''} in cluster ${e.cluster ?? ''} did not answer in time`);
  if (flags.includes('UO')) return at(index, 'upstream down', `circuit breaker of cluster ${e.cluster ?? ''} is open (overflow)`);
  if (flags.includes('UC') || flags.includes('UR')) return at(index, 'upstream reset', `upstream ${e.upstreamHost ?? ''} closed or reset the connection${error ? `: ${error}` : ''}`);
  if (e.responseCodeDetails === 'via_upstream') return at(index, 'upstream returned an error', `${e.upstreamHost ?? 'the upstream'} answered ${e.responseCode}`);
  return at(index, 'local reply', `${e.responseCode} ${e.responseCodeDetails ?? ''}${flags.length ? ` (${flags.join(',')})` : ''}`.trim());
}

/**
 * Orders hops by start time and finds where the request failed: the last hop (in time) whose failure
 * started there, else the last failed hop, else nothing when the client's status is a success.
 */
export function diagnoseTrace(input: readonly TraceHop[], clientStatus?: number): TraceDiagnosis {
  const hops = [...input].sort((a, b) => a.entry.startMs - b.entry.startMs || (a.entry.kind === 'listener' ? 1 : 0) - (b.entry.kind === 'listener' ? 1 : 0));
  const ok = clientStatus !== undefined && clientStatus >= 200 && clientStatus < 400;
  if (ok) return { hops };
  // Prefer the hop where an HTTP/TCP failure started; a listener refusal is named through the hop it refused.
  for (let i = hops.length - 1; i >= 0; i--) {
    const e = (hops[i] as TraceHop).entry;
    if (e.kind !== 'listener' && originatesHere(e)) return { hops, failure: classify(i, hops) };
  }
  for (let i = hops.length - 1; i >= 0; i--) if (isFailed((hops[i] as TraceHop).entry)) return { hops, failure: classify(i, hops) };
  return { hops };
}
