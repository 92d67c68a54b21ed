export { startAdminServer } from './server.js';
export { buildConfigDump, timestampJson } from './config-dump/build.js';
export type { ConfigDump, ConfigDumpEntry, ConfigDumpInput, DynamicResourceInput } from './config-dump/build.js';
export { redactSecrets } from './config-dump/redact.js';
export { adminCircuitBreakers } from './handlers/clusters.js';
export { prometheusText } from './prometheus.js';
export { extractTags } from './tag-extraction.js';
export type { ExtractedStat, Tag } from './tag-extraction.js';
export type {
  AdminClusterInfo,
  AdminHostInfo,
  AdminListenerInfo,
  AdminServer,
  AdminServerOptions,
  AdminThresholds,
} from './types.js';
