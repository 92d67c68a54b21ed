/**
 * HCM internal_address_config: which downstream peers count as internal, so that with
 * use_remote_address their x-envoy-* headers and x-request-id are trusted. CVE-2024-45806: Envoy used
 * to trust every RFC 1918 address by default, so any client inside a private network (or behind a load
 * balancer there) could set internal headers at the edge. Now only the configured cidr_ranges are
 * internal; without the field, only loopback (this host) is.
 */
import { BlockList, isIP } from 'node:net';
import type { CidrRange } from '../../envoy/index.js';

export interface InternalAddressConfig {
  unix_sockets?: boolean;
  cidr_ranges?: CidrRange[];
}

/** Compiles the config into a predicate on the peer's IP; throws naming the field on a bad range. */
export function internalAddressMatcher(config: InternalAddressConfig | undefined, path: string): (ip: string) => boolean {
  const list = new BlockList();
  if (config === undefined) {
    list.addSubnet('127.0.0.0', 8, 'ipv4');
    list.addAddress('::1', 'ipv6');
  }
  for (const [i, range] of (config?.cidr_ranges ?? []).entries()) {
    const family = isIP(range.address_prefix);
    if (family === 0) throw new Error(`${path}.internal_address_config.cidr_ranges[${i}].address_prefix: "${range.address_prefix}" is not an IP address`);
    const max = family === 4 ? 32 : 128;
    const len = range.prefix_len ?? max;
    if (!Number.isInteger(len) || len < 0 || len > max) throw new Error(`${path}.internal_address_config.cidr_ranges[${i}].prefix_len: must be 0..${max} for ${range.address_prefix}`);
    list.addSubnet(range.address_prefix, len, family === 4 ? 'ipv4' : 'ipv6');
  }
  return (ip) => {
    const addr = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(addr);
    return family !== 0 && list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
  };
}
