/**
 * envoy.filters.network.rbac: the RBAC engine on a connection, before the terminal filter. Everything it
 * may look at (addresses, SNI, the verified client certificate) is known when the filter chain runs, so the
 * decision is made then: a refused connection is closed before any upstream connection is opened (Envoy
 * ONE_TIME_ON_FIRST_BYTE decides on the first byte, with the same inputs). Header and path rules never
 * match here, as in Envoy, where a network filter sees no request.
 */
import type { NetworkRbac } from '../../envoy/index.js';
import { compileRbacConfig, decide, deniedDetails, rbacStats } from '../http/filters/rbac/index.js';
import type { RbacSubject } from '../http/filters/rbac/index.js';
import type { ConnectionInfo } from '../listener/connection-info.js';
import type { NetworkFilter, NetworkFilterContext } from './types.js';

const FIELDS = ['stat_prefix', 'rules', 'shadow_rules', 'shadow_rules_stat_prefix', 'enforcement_type'] as const;

function subjectOf(info: ConnectionInfo): RbacSubject {
  return {
    directRemoteIp: info.remoteAddress,
    remoteIp: info.remoteAddress,
    localIp: info.localAddress,
    localPort: info.localPort,
    ...(info.serverName ? { serverName: info.serverName } : {}),
    tls: info.tls,
    ...(info.peerIdentity ? { peer: info.peerIdentity } : {}),
    header: () => undefined,
  };
}

export function createNetworkRbac(config: NetworkRbac, ctx: NetworkFilterContext): NetworkFilter {
  const compiled = compileRbacConfig(config, FIELDS);
  if (typeof config.stat_prefix !== 'string') compiled.errors.push({ path: 'stat_prefix', message: 'required field "stat_prefix" is missing' });
  if (config.enforcement_type !== undefined && !['ONE_TIME_ON_FIRST_BYTE', 'CONTINUOUS'].includes(config.enforcement_type)) {
    compiled.errors.push({ path: 'enforcement_type', message: `"${String(config.enforcement_type)}" is not one of ONE_TIME_ON_FIRST_BYTE, CONTINUOUS` });
  }
  if (compiled.errors.length > 0) throw new Error(compiled.errors.map((e) => `${ctx.path}.${e.path}: ${e.message}`).join('\n'));
  const stats = rbacStats(ctx.stats, config.stat_prefix, '', config.shadow_rules_stat_prefix ?? '');
  const { engine, shadow } = compiled.config;
  return {
    kind: 'gate',
    admit(info) {
      const decision = decide(subjectOf(info), engine, shadow, stats);
      if (!decision.allowed) {
        ctx.logger?.debug({ remote: `${info.remoteAddress}:${info.remotePort}`, details: deniedDetails(decision.policyId) }, 'connection refused by RBAC');
      }
      return decision.allowed;
    },
  };
}
