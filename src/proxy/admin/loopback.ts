import { isIP } from 'node:net';
import type { Bootstrap } from '../../envoy/index.js';

/** 127.0.0.0/8, ::1 (and its IPv4-mapped form), or the name localhost. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase();
  if (a === 'localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Envoy's guidance: the admin interface (which can stop the proxy, fail its health checks and shows its
 * config) listens on loopback only. A bootstrap that puts it elsewhere is refused unless the operator
 * allowed it explicitly; the error says how. Returns the warning to log when it was allowed.
 */
export function checkAdminAddress(bootstrap: Bootstrap, allowNonLoopback: boolean): string | undefined {
  const address = bootstrap.admin?.address?.socket_address.address;
  if (address === undefined || isLoopbackAddress(address)) return undefined;
  const what = `admin.address.socket_address.address: "${address}" is not a loopback address`;
  if (allowNonLoopback) return `${what}; the admin interface (/quitquitquit, /healthcheck/fail, /config_dump) is reachable from the network`;
  throw new Error(`${what}; the admin interface can stop the proxy and shows its config, so it listens on loopback only: use 127.0.0.1, or start the proxy with --admin-allow-non-loopback to accept the risk`);
}
