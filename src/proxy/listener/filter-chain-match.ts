import { BlockList, isIPv6 } from 'node:net';
import type { CidrRange, FilterChainMatch } from '../../envoy/index.js';

/** What the listener knows about a connection when it picks a filter chain. */
export interface ConnectionFacts {
  readonly destinationPort: number;
  readonly destinationIp: string;
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly serverName?: string;
  readonly transportProtocol: 'tls' | 'raw_buffer';
  readonly applicationProtocols: readonly string[];
}

export interface Candidate<T> {
  readonly match: FilterChainMatch | undefined;
  readonly value: T;
}

function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Length of the longest range containing ip, or -1. */
function longestPrefix(ranges: readonly CidrRange[], ip: string): number {
  const addr = normalizeIp(ip);
  let best = -1;
  for (const range of ranges) {
    const family = isIPv6(range.address_prefix) ? 'ipv6' : 'ipv4';
    const len = range.prefix_len ?? (family === 'ipv6' ? 128 : 32);
    const list = new BlockList();
    list.addSubnet(range.address_prefix, len, family);
    if ((isIPv6(addr) ? 'ipv6' : 'ipv4') === family && list.check(addr, family) && len > best) best = len;
  }
  return best;
}

/**
 * Narrows candidates by one criterion the way Envoy does: keep the most specific chains that set the
 * criterion and match; if none matches, keep the chains that leave it unset.
 */
function narrow<T>(candidates: Candidate<T>[], isSet: (m: FilterChainMatch) => boolean, score: (m: FilterChainMatch) => number): Candidate<T>[] {
  let best = -1;
  let matched: Candidate<T>[] = [];
  for (const c of candidates) {
    if (!c.match || !isSet(c.match)) continue;
    const s = score(c.match);
    if (s < 0) continue;
    if (s > best) {
      best = s;
      matched = [c];
    } else if (s === best) matched.push(c);
  }
  if (matched.length > 0) return matched;
  return candidates.filter((c) => !c.match || !isSet(c.match));
}

function serverNameScore(names: readonly string[], serverName: string | undefined): number {
  if (!serverName) return -1;
  if (names.includes(serverName)) return Number.MAX_SAFE_INTEGER; // exact beats any wildcard
  // "*.example.com" matches any name below example.com; the longest wildcard wins.
  let best = -1;
  for (const name of names) {
    if (name.startsWith('*.') && serverName.endsWith(name.slice(1)) && name.length > best) best = name.length;
    else if (name.startsWith('*') && name.length > 1 && serverName.endsWith(name.slice(1)) && name.length > best) best = name.length;
  }
  return best;
}

const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1';

/**
 * Envoy's filter chain selection: destination port, destination IP, server name (exact, then longest
 * wildcard), transport protocol, application protocols, direct source IP, source type, source IP,
 * source port. Returns undefined when no chain matches (the default_filter_chain then applies).
 */
export function selectFilterChain<T>(chains: readonly Candidate<T>[], facts: ConnectionFacts): T | undefined {
  let c = [...chains];
  c = narrow(c, (m) => m.destination_port !== undefined, (m) => (m.destination_port === facts.destinationPort ? 1 : -1));
  c = narrow(c, (m) => !!m.prefix_ranges?.length, (m) => longestPrefix(m.prefix_ranges ?? [], facts.destinationIp));
  c = narrow(c, (m) => !!m.server_names?.length, (m) => serverNameScore(m.server_names ?? [], facts.serverName));
  c = narrow(c, (m) => !!m.transport_protocol, (m) => (m.transport_protocol === facts.transportProtocol ? 1 : -1));
  c = narrow(c, (m) => !!m.application_protocols?.length, (m) => (m.application_protocols?.some((p) => facts.applicationProtocols.includes(p)) ? 1 : -1));
  c = narrow(c, (m) => !!m.direct_source_prefix_ranges?.length, (m) => longestPrefix(m.direct_source_prefix_ranges ?? [], facts.sourceIp));
  c = narrow(c, (m) => !!m.source_type && m.source_type !== 'ANY', (m) => {
    const local = isLoopback(normalizeIp(facts.sourceIp)) || normalizeIp(facts.sourceIp) === normalizeIp(facts.destinationIp);
    return (m.source_type === 'SAME_IP_OR_LOOPBACK') === local ? 1 : -1;
  });
  c = narrow(c, (m) => !!m.source_prefix_ranges?.length, (m) => longestPrefix(m.source_prefix_ranges ?? [], facts.sourceIp));
  c = narrow(c, (m) => !!m.source_ports?.length, (m) => (m.source_ports?.includes(facts.sourcePort) ? 1 : -1));
  return c[0]?.value;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Envoy refuses a listener whose filter chains have identical matches; so do we. */
export function duplicateMatchIndex(matches: ReadonlyArray<FilterChainMatch | undefined>): [number, number] | undefined {
  const seen = new Map<string, number>();
  for (const [i, m] of matches.entries()) {
    const key = stableJson(m ?? {});
    const earlier = seen.get(key);
    if (earlier !== undefined) return [earlier, i];
    seen.set(key, i);
  }
  return undefined;
}

/** Does the chain list need the ClientHello (SNI/ALPN/transport) to choose? */
export function needsTlsInspection(matches: ReadonlyArray<FilterChainMatch | undefined>): boolean {
  return matches.some((m) => !!(m?.server_names?.length || m?.transport_protocol === 'tls' || m?.application_protocols?.length));
}
