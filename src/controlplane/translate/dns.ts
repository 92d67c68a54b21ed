/**
 * Istio's DNS proxying for sidecars whose node metadata sets DNS_CAPTURE=true (istio-agent's DNS server):
 * the name table the control plane gives a proxy (Istio's NDS NameTable), and with DNS_AUTO_ALLOCATE=true
 * a VIP for every service that has no address of its own (Istio auto-allocates from 240.240.0.0/16).
 *
 * On one machine without iptables the VIPs come from a loopback range, 127.240.0.0/16, so that a client's
 * connection to a VIP reaches the sidecar's `<vip>_<port>` listener directly. A VIP is derived from the
 * host name (a hash, then the next free address on a collision) over the whole mesh's services, not a
 * proxy's view of them: it is the same after a restart and on every proxy.
 *
 * How the table reaches the proxy: as filter metadata ("isthmus.dns") of one extra listener, `dns`, that
 * binds no port (bind_to_port: false). It travels with LDS, so a name never resolves to a VIP before the
 * listener on that VIP is there, no new xDS type is needed in the server or the client, and a real Envoy
 * accepts it (an unbound listener with a tcp_proxy to BlackHoleCluster; metadata it does not know is kept,
 * never interpreted). Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Listener } from '../../envoy/index.js';
import type { XdsCluster } from './envoy-ext.js';
import { tcpProxy } from './filters.js';
import type { RegistryService } from './registry.js';

/** Where auto-allocated VIPs come from: 127.240.0.0/16 (Istio: 240.240.0.0/16, reached through iptables). */
export const DNS_VIP_PREFIX = '127.240';
const VIP_RANGE_SIZE = 1 << 16;
/** istio-agent's DNS port; the proxy also listens on 127.0.0.1:<DNS_PORT> (default this one). */
export const DEFAULT_DNS_PORT = 15053;
export const DNS_LISTENER_NAME = 'dns';
/** The filter_metadata key of the name table on the `dns` listener. */
export const DNS_METADATA_KEY = 'isthmus.dns';
const BLACKHOLE = 'BlackHoleCluster';

/** Istio's BlackHoleCluster (STATIC, no endpoints): where the dns listener's filter chain points. */
export function blackHoleCluster(): XdsCluster {
  return { name: BLACKHOLE, type: 'STATIC', connect_timeout: '10s' };
}

export interface DnsSettings {
  /** ISTIO_META_DNS_CAPTURE: the proxy answers DNS for the mesh's names. */
  readonly capture: boolean;
  /** ISTIO_META_DNS_AUTO_ALLOCATE (with capture): services without an address get a VIP. */
  readonly autoAllocate: boolean;
  /** ISTIO_META_DNS_PORT: the loopback port the proxy's DNS server listens on. */
  readonly port: number;
}

const isTrue = (v: string | undefined): boolean => v !== undefined && ['true', '1', 'yes'].includes(v.trim().toLowerCase());

/** The DNS settings of a proxy from its node metadata (DNS_CAPTURE, DNS_AUTO_ALLOCATE, DNS_PORT). */
export function dnsSettings(metadata: Readonly<Record<string, string | undefined>> | undefined): DnsSettings {
  const capture = isTrue(metadata?.DNS_CAPTURE);
  const rawPort = Number(metadata?.DNS_PORT);
  return {
    capture,
    // As in istiod (GetAddressForProxy), auto-allocated addresses are used only by proxies that capture DNS.
    autoAllocate: capture && isTrue(metadata?.DNS_AUTO_ALLOCATE),
    port: Number.isInteger(rawPort) && rawPort > 0 && rawPort < 65536 ? rawPort : DEFAULT_DNS_PORT,
  };
}

/**
 * Istio's rule (autoAllocateIPs): a service gets a VIP when it has no address (not even a CIDR), its host is not a wildcard
 * and its resolution is not NONE (passthrough). Kubernetes services get one too: here they have no
 * ClusterIP to resolve to.
 */
export function needsVip(service: RegistryService): boolean {
  return service.addresses.length === 0 && !service.hostname.startsWith('*') && service.resolution !== 'NONE';
}

function vipAt(offset: number): string {
  return `${DNS_VIP_PREFIX}.${offset >> 8}.${offset & 0xff}`;
}

/** 127.240.0.0 and 127.240.255.255 are left out, as network and broadcast addresses of the range. */
function usable(offset: number): boolean {
  return offset !== 0 && offset !== VIP_RANGE_SIZE - 1;
}

function preferredOffset(host: string): number {
  return createHash('sha256').update(host).digest().readUInt16BE(0);
}

/**
 * A VIP per host name that needs one, over all services of the mesh. Hosts are placed in name order,
 * each at its hash or the next free address: a host's VIP changes only when a host sorting before it
 * takes its address, which with 65,534 addresses is rare.
 */
export function allocateVips(services: readonly RegistryService[]): Map<string, string> {
  const hosts = [...new Set(services.filter(needsVip).map((s) => s.hostname.toLowerCase()))].sort();
  const taken = new Set<number>();
  const vips = new Map<string, string>();
  for (const host of hosts) {
    if (taken.size >= VIP_RANGE_SIZE - 2) break;
    let offset = preferredOffset(host);
    while (!usable(offset) || taken.has(offset)) offset = (offset + 1) % VIP_RANGE_SIZE;
    taken.add(offset);
    vips.set(host, vipAt(offset));
  }
  return vips;
}

/** The services with their VIP as their address, for the listeners and route domains of a DNS_AUTO_ALLOCATE proxy. */
export function withVips(services: readonly RegistryService[], vips: ReadonlyMap<string, string>): RegistryService[] {
  return services.map((s) => {
    const vip = needsVip(s) ? vips.get(s.hostname.toLowerCase()) : undefined;
    return vip ? { ...s, addresses: [vip] } : s;
  });
}

/** Name -> addresses, the names lower case without the trailing dot. */
export type NameTable = Record<string, string[]>;

/**
 * The names a proxy in `proxyNamespace` resolves (Istio's BuildNameTable + the agent's expansion of
 * Kubernetes names): every non-wildcard host with an address (given or allocated), and for Kubernetes
 * services `name.ns.svc`, `name.ns`, and `name` in the proxy's own namespace. Services without an
 * address are left out: those names go to the upstream resolvers.
 */
export function buildNameTable(services: readonly RegistryService[], proxyNamespace: string, domainSuffix: string): NameTable {
  const table = new Map<string, Set<string>>();
  const add = (name: string, ips: readonly string[]) => {
    const key = name.toLowerCase();
    const set = table.get(key) ?? new Set<string>();
    for (const ip of ips) set.add(ip);
    table.set(key, set);
  };
  const k8sSuffix = `.svc.${domainSuffix}`;
  for (const s of services) {
    if (s.hostname.startsWith('*')) continue;
    const ips = s.addresses.filter((a) => !a.includes('/') && isIP(a) !== 0);
    if (ips.length === 0) continue;
    add(s.hostname, ips);
    if (!s.hostname.endsWith(k8sSuffix)) continue;
    const [name = '', ns = '', ...rest] = s.hostname.slice(0, -k8sSuffix.length).split('.');
    if (rest.length > 0 || !name || !ns) continue;
    add(`${name}.${ns}.svc`, ips);
    add(`${name}.${ns}`, ips);
    if (ns === proxyNamespace) add(name, ips);
  }
  const out: NameTable = {};
  for (const name of [...table.keys()].sort()) out[name] = [...(table.get(name) as Set<string>)];
  return out;
}

/**
 * The listener that carries the name table: `dns` on 127.0.0.1:<DNS_PORT>, bind_to_port false (the
 * proxy's DNS server owns the UDP/TCP sockets), a tcp_proxy to BlackHoleCluster so that Envoy accepts it.
 */
export function buildDnsListener(table: NameTable, port: number): Listener {
  const entries: Record<string, { ips: string[] }> = {};
  for (const [name, ips] of Object.entries(table)) entries[name] = { ips };
  return {
    name: DNS_LISTENER_NAME,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    traffic_direction: 'OUTBOUND',
    bind_to_port: false,
    filter_chains: [{ filters: [tcpProxy(BLACKHOLE, BLACKHOLE)] }],
    metadata: { filter_metadata: { [DNS_METADATA_KEY]: { table: entries } } },
  };
}
