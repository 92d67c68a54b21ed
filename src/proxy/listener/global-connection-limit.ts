import type { Bootstrap } from '../../envoy/index.js';
import { TYPE_URL } from '../../envoy/index.js';

export const GLOBAL_DOWNSTREAM_MAX_CONNECTIONS = 'envoy.resource_monitors.global_downstream_max_connections';

/**
 * Envoy's overload manager resource monitor global_downstream_max_connections: one count of open
 * downstream connections across every listener (except those with ignore_global_conn_limit); at the
 * limit a listener closes a new connection at once and counts downstream_global_cx_overflow.
 */
export class GlobalConnectionLimit {
  active = 0;
  constructor(readonly max: number) {}

  /** Takes a slot; false when the proxy is at its limit. */
  tryAcquire(): boolean {
    if (this.active >= this.max) return false;
    this.active++;
    return true;
  }

  release(): void {
    this.active--;
  }
}

/** Reads bootstrap.overload_manager; other resource monitors are refused by name (they would not act). */
export function globalConnectionLimitOf(bootstrap: Bootstrap): GlobalConnectionLimit | undefined {
  let limit: GlobalConnectionLimit | undefined;
  for (const [i, monitor] of (bootstrap.overload_manager?.resource_monitors ?? []).entries()) {
    const path = `overload_manager.resource_monitors[${i}]`;
    const typed = monitor.typed_config;
    if (typed?.['@type'] !== TYPE_URL.downstreamConnectionsConfig) {
      throw new Error(`${path} (${monitor.name}): only ${GLOBAL_DOWNSTREAM_MAX_CONNECTIONS} (DownstreamConnectionsConfig) is implemented; remove this monitor`);
    }
    const max = Number(typed.max_active_downstream_connections);
    if (!Number.isInteger(max) || max < 1) throw new Error(`${path}.typed_config.max_active_downstream_connections: must be at least 1`);
    limit = new GlobalConnectionLimit(max);
  }
  return limit;
}
