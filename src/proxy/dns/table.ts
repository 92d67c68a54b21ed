/**
 * The name table as it reaches the proxy: filter metadata "isthmus.dns" of an LDS listener (the control
 * plane's unbound `dns` listener), `{ table: { <name>: { ips: [...] } } }` — the shape of Istio's NDS
 * NameTable. The key is the contract with src/controlplane/translate/dns.ts (DNS_METADATA_KEY).
 */
import { isIP } from 'node:net';
import type { Listener } from '../../envoy/index.js';
import type { DnsNameTable } from './server.js';

export const DNS_METADATA_KEY = 'isthmus.dns';

/** The union of the tables the listeners carry; names lower case without the trailing dot, invalid addresses left out. */
export function nameTableFromListeners(listeners: Iterable<Listener>): DnsNameTable {
  const table: Record<string, string[]> = {};
  for (const listener of listeners) {
    const meta = listener.metadata?.filter_metadata?.[DNS_METADATA_KEY] as { table?: Record<string, { ips?: unknown }> } | undefined;
    for (const [name, info] of Object.entries(meta?.table ?? {})) {
      const ips = Array.isArray(info?.ips) ? info.ips.filter((ip): ip is string => typeof ip === 'string' && isIP(ip) !== 0) : [];
      if (ips.length === 0) continue;
      const key = name.toLowerCase().replace(/\.$/, '');
      table[key] = [...new Set([...(table[key] ?? []), ...ips])];
    }
  }
  return table;
}

/** Whether node metadata turns DNS capture on (ISTIO_META_DNS_CAPTURE), and the loopback port (DNS_PORT, default 15053). */
export function dnsCaptureOf(metadata: Readonly<Record<string, unknown>> | undefined): { capture: boolean; port: number } {
  const flag = metadata?.DNS_CAPTURE;
  const capture = typeof flag === 'string' ? ['true', '1', 'yes'].includes(flag.trim().toLowerCase()) : flag === true;
  const port = Number(metadata?.DNS_PORT);
  return { capture, port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 15053 };
}
