import type { ConnectionLimit, HttpConnectionManager, NetworkRbac, TcpProxy, TypedExtension } from '../../envoy/index.js';
import { TYPE_URL } from '../../envoy/index.js';
import { createConnectionLimit } from './connection-limit.js';
import { createHttpConnectionManager } from './http-connection-manager.js';
import { createNetworkRbac } from './rbac.js';
import { createSniCluster, createTcpProxy } from './tcp-proxy.js';
import type { NetworkFilter, NetworkFilterContext } from './types.js';

export type { ConnectionHandler, NetworkFilter, NetworkFilterContext } from './types.js';

/** Builds a filter chain's network filters, registered by their typed_config type. */
export async function createNetworkFilters(filters: readonly TypedExtension[], ctx: NetworkFilterContext): Promise<NetworkFilter[]> {
  const out: NetworkFilter[] = [];
  for (const [i, filter] of filters.entries()) {
    const path = `${ctx.path}[${i}]`;
    const { '@type': typeUrl, ...config } = filter.typed_config ?? { '@type': '' };
    const filterCtx = { ...ctx, path: `${path}.typed_config` };
    switch (typeUrl) {
      case TYPE_URL.httpConnectionManager:
        out.push(await createHttpConnectionManager(config as unknown as HttpConnectionManager, filterCtx));
        break;
      case TYPE_URL.tcpProxy:
        out.push(createTcpProxy(config as unknown as TcpProxy, filterCtx));
        break;
      case TYPE_URL.sniCluster:
        out.push(createSniCluster());
        break;
      case TYPE_URL.connectionLimit:
        out.push(createConnectionLimit(config as unknown as ConnectionLimit, filterCtx));
        break;
      case TYPE_URL.networkRbac:
        out.push(createNetworkRbac(config as unknown as NetworkRbac, filterCtx));
        break;
      default:
        throw new Error(`${path}: unsupported network filter "${filter.name}" (${typeUrl})`);
    }
  }
  const terminal = out.findIndex((f) => f.kind === 'terminal');
  if (terminal === -1) throw new Error(`${ctx.path}: a filter chain needs a terminal filter (http_connection_manager or tcp_proxy)`);
  if (terminal !== out.length - 1) throw new Error(`${ctx.path}[${terminal}]: a terminal filter must be the last in the chain`);
  return out;
}
