/**
 * A ClusterLoadAssignment (load_assignment or EDS) flattened into endpoint specs, with field paths for
 * errors. The cluster type decides whether addresses must be IPs (STATIC, EDS) or names (DNS types).
 */
import { isIP } from 'node:net';
import type { ClusterLoadAssignment } from '../../envoy/index.js';
import { ClusterConfigError } from './errors.js';

export interface EndpointSpec {
  /** An IP for STATIC/EDS; an IP or DNS name for STRICT_DNS/LOGICAL_DNS. */
  readonly address: string;
  readonly port: number;
  readonly hostname: string | undefined;
  readonly weight: number;
  readonly priority: number;
  readonly healthy: boolean;
}

/** Envoy sends no new requests to hosts in these EDS health states. */
const UNHEALTHY = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

export function endpointSpecs(cla: ClusterLoadAssignment | undefined, path: string, requireIp: boolean): EndpointSpec[] {
  const specs: EndpointSpec[] = [];
  (cla?.endpoints ?? []).forEach((locality, i) => {
    (locality.lb_endpoints ?? []).forEach((lbe, j) => {
      const at = `${path}.endpoints[${i}].lb_endpoints[${j}]`;
      const socket = lbe.endpoint?.address?.socket_address;
      if (!socket?.address) throw new ClusterConfigError(`${at}.endpoint.address.socket_address.address`, 'an endpoint needs an address');
      const port = socket.port_value ?? 0;
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new ClusterConfigError(`${at}.endpoint.address.socket_address.port_value`, `"${String(socket.port_value)}" is not a port (1-65535)`);
      }
      if (requireIp && isIP(socket.address) === 0) {
        throw new ClusterConfigError(`${at}.endpoint.address.socket_address.address`, `"${socket.address}" is not an IP address; use type STRICT_DNS or LOGICAL_DNS for DNS names`);
      }
      const weight = lbe.load_balancing_weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1) throw new ClusterConfigError(`${at}.load_balancing_weight`, 'must be an integer >= 1');
      specs.push({
        address: socket.address,
        port,
        hostname: lbe.endpoint.hostname || undefined,
        weight,
        priority: locality.priority ?? 0,
        healthy: !UNHEALTHY.has(lbe.health_status ?? 'UNKNOWN'),
      });
    });
  });
  return specs;
}
