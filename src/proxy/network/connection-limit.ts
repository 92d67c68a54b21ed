import type { Duplex } from 'node:stream';
import { durationMs } from '../../envoy/index.js';
import type { ConnectionLimit } from '../../envoy/index.js';
import type { NetworkFilter, NetworkFilterContext } from './types.js';

/**
 * envoy.filters.network.connection_limit: at most max_connections open connections through this filter
 * chain; one more is counted (limited_connections) and closed, after `delay` when set (which slows a
 * client that reconnects in a loop). Connections already open are unaffected.
 */
export function createConnectionLimit(config: ConnectionLimit, ctx: NetworkFilterContext): NetworkFilter {
  const max = Number(config.max_connections);
  if (!Number.isInteger(max) || max < 1) throw new Error(`${ctx.path}.max_connections: must be at least 1, got ${JSON.stringify(config.max_connections)}`);
  const delayMs = durationMs(config.delay) ?? 0;
  const prefix = `connection_limit.${config.stat_prefix}.`;
  const limited = ctx.stats.counter(`${prefix}limited_connections`);
  const active = ctx.stats.gauge(`${prefix}active_connections`);
  return {
    kind: 'gate',
    admit(_info, socket?: Duplex) {
      if (active.value >= max) {
        limited.inc();
        if (delayMs <= 0 || !socket) return false;
        socket.pause();
        const timer = setTimeout(() => socket.destroy(), delayMs);
        socket.once('close', () => clearTimeout(timer));
        return 'closing';
      }
      active.inc();
      socket?.once('close', () => active.dec());
      return true;
    },
  };
}
