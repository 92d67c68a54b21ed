import type { HttpFilter, LocalReply, RequestHead, StreamInfo } from '../../filter.js';
import { headerValue } from '../../route-table.js';
import type { CompiledRbacConfig } from './config.js';
import { deniedDetails } from './engine.js';
import type { RbacSubject } from './engine.js';
import { decide } from './enforce.js';
import type { RbacStats } from './stats.js';

/** Filter state key of the decision (Envoy: dynamic metadata under the filter's name). */
export const RBAC_FILTER_STATE = 'envoy.filters.http.rbac';

function pathOnly(path: string): string {
  const cut = path.search(/[?#]/);
  return cut < 0 ? path : path.slice(0, cut);
}

function subjectOf(head: RequestHead, stream: StreamInfo): RbacSubject {
  const conn = stream.connection;
  return {
    directRemoteIp: conn.remoteAddress,
    remoteIp: stream.downstreamRemoteAddress,
    localIp: conn.localAddress,
    localPort: conn.localPort,
    ...(conn.serverName ? { serverName: conn.serverName } : {}),
    tls: conn.tls,
    ...(conn.peerIdentity ? { peer: conn.peerIdentity } : {}),
    header: (name) => headerValue(head, name),
    path: pathOnly(head.path),
  };
}

/** envoy.filters.http.rbac: refuses a request with 403 "RBAC: access denied" when the enforced rules say so. */
export function createRbacFilter(config: CompiledRbacConfig, stats: RbacStats): HttpFilter {
  return {
    decodeHeaders(head: RequestHead, stream: StreamInfo): LocalReply | undefined {
      const decision = decide(subjectOf(head, stream), config.engine, config.shadow, stats);
      stream.filterState.set(RBAC_FILTER_STATE, decision);
      if (decision.allowed) return undefined;
      return { status: 403, body: 'RBAC: access denied', details: deniedDetails(decision.policyId) };
    },
  };
}
