import type { HttpFilterFactory } from '../filter.js';
import { grpcJsonTranscoderFactory } from './grpc-json-transcoder/index.js';
import { rbacFilterFactory } from './rbac/index.js';

/**
 * The HTTP filters this proxy implements, keyed by typed_config type URL. Registration is explicit,
 * not an import side effect. envoy.filters.http.router is the connection manager's terminal step.
 */
export function builtinHttpFilters(): Map<string, HttpFilterFactory> {
  const registry = new Map<string, HttpFilterFactory>();
  for (const factory of [grpcJsonTranscoderFactory, rbacFilterFactory]) {
    for (const typeUrl of factory.typeUrls) registry.set(typeUrl, factory);
  }
  return registry;
}
