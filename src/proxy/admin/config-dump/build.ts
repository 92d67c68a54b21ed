import { TYPE_URL } from '../../../envoy/index.js';
import { DUMP_TYPE } from './schema.js';

/** A resource received over xDS, with the version it came in and when. */
export interface DynamicResourceInput {
  resource: object;
  versionInfo?: string;
  lastUpdated?: Date;
}

export interface ConfigDumpInput {
  bootstrap: object;
  staticListeners: object[];
  dynamicListeners?: DynamicResourceInput[];
  staticClusters: object[];
  dynamicClusters?: DynamicResourceInput[];
  staticRouteConfigs?: object[];
  dynamicRouteConfigs?: DynamicResourceInput[];
  /** Static secrets (bootstrap static_resources.secrets). */
  secrets?: object[];
  dynamicSecrets?: DynamicResourceInput[];
  /** When the static config was loaded; now by default. */
  lastUpdated?: Date;
  /** version_info of the last LDS / CDS update. */
  listenersVersionInfo?: string;
  clustersVersionInfo?: string;
}

/** One element of ConfigDump.configs: a packed Any. */
export interface ConfigDumpEntry {
  '@type': string;
  [field: string]: unknown;
}

/** Envoy's admin.v3.ConfigDump in proto3 JSON. */
export interface ConfigDump {
  configs: ConfigDumpEntry[];
}

/** A protobuf Timestamp in JSON: RFC 3339, UTC, no fraction when it is zero. */
export function timestampJson(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

/** A resource packed into an Any: "@type" first, the resource's own type URL if it has one. */
function packed(resource: object, typeUrl: string): ConfigDumpEntry {
  const { '@type': own, ...fields } = resource as Record<string, unknown>;
  return { '@type': typeof own === 'string' ? own : typeUrl, ...fields };
}

const nameOf = (resource: object): unknown => (resource as { name?: unknown }).name;

/** The fields proto3 JSON prints: unset values, empty strings and empty repeated fields are left out. */
function setFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = value;
  }
  return out;
}

function withFields(type: string, fields: Record<string, unknown>): ConfigDumpEntry {
  return { '@type': type, ...setFields(fields) };
}

/**
 * Builds /config_dump's body in Envoy's shape and order (bootstrap, clusters, listeners, routes,
 * secrets). Secrets are not redacted here; the /config_dump handler redacts, as Envoy's does.
 */
export function buildConfigDump(input: ConfigDumpInput): ConfigDump {
  const loaded = timestampJson(input.lastUpdated ?? new Date());
  const updated = (r: DynamicResourceInput): string => (r.lastUpdated ? timestampJson(r.lastUpdated) : loaded);
  return {
    configs: [
      withFields(DUMP_TYPE.bootstrap, { bootstrap: input.bootstrap, last_updated: loaded }),
      withFields(DUMP_TYPE.clusters, {
        version_info: input.clustersVersionInfo,
        static_clusters: input.staticClusters.map((c) => ({ cluster: packed(c, TYPE_URL.cluster), last_updated: loaded })),
        dynamic_active_clusters: (input.dynamicClusters ?? []).map((c) =>
          setFields({ version_info: c.versionInfo, cluster: packed(c.resource, TYPE_URL.cluster), last_updated: updated(c) }),
        ),
      }),
      withFields(DUMP_TYPE.listeners, {
        version_info: input.listenersVersionInfo,
        static_listeners: input.staticListeners.map((l) => ({ listener: packed(l, TYPE_URL.listener), last_updated: loaded })),
        dynamic_listeners: (input.dynamicListeners ?? []).map((l) => ({
          name: nameOf(l.resource),
          active_state: setFields({ version_info: l.versionInfo, listener: packed(l.resource, TYPE_URL.listener), last_updated: updated(l) }),
        })),
      }),
      withFields(DUMP_TYPE.routes, {
        static_route_configs: (input.staticRouteConfigs ?? []).map((r) => ({ route_config: packed(r, TYPE_URL.routeConfiguration), last_updated: loaded })),
        dynamic_route_configs: (input.dynamicRouteConfigs ?? []).map((r) =>
          setFields({ version_info: r.versionInfo, route_config: packed(r.resource, TYPE_URL.routeConfiguration), last_updated: updated(r) }),
        ),
      }),
      withFields(DUMP_TYPE.secrets, {
        static_secrets: (input.secrets ?? []).map((s) => ({ name: nameOf(s), last_updated: loaded, secret: packed(s, TYPE_URL.secret) })),
        dynamic_active_secrets: (input.dynamicSecrets ?? []).map((s) =>
          setFields({ name: nameOf(s.resource), version_info: s.versionInfo, last_updated: updated(s), secret: packed(s.resource, TYPE_URL.secret) }),
        ),
      }),
    ],
  };
}

