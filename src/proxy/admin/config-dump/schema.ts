/**
 * The fields of Envoy's admin.v3 config dump messages, enough to resolve ?resource= and to check
 * ?mask= paths the way protobuf's FieldMaskUtil does (unknown fields and paths through repeated
 * fields are invalid). The resources inside (Listener, Cluster, ...) are not described: paths into
 * them are taken as written.
 */
const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

export const DUMP_TYPE = {
  bootstrap: `${ADMIN}BootstrapConfigDump`,
  clusters: `${ADMIN}ClustersConfigDump`,
  listeners: `${ADMIN}ListenersConfigDump`,
  routes: `${ADMIN}RoutesConfigDump`,
  secrets: `${ADMIN}SecretsConfigDump`,
} as const;

/** scalar; message (a typed sub-message); any (a google.protobuf.Any); repeated <element message>. */
export type FieldKind = 'scalar' | 'message' | 'any' | { repeated: string };

export interface MessageSchema {
  readonly fields: Readonly<Record<string, FieldKind>>;
  /** The resource name ?name_regex= matches (elements of repeated resource fields only). */
  readonly resourceName?: (element: Record<string, unknown>) => unknown;
}

const nameOf = (field: string) => (element: Record<string, unknown>): unknown => (element[field] as Record<string, unknown> | undefined)?.name;

export const SCHEMAS: Readonly<Record<string, MessageSchema>> = {
  [DUMP_TYPE.bootstrap]: { fields: { bootstrap: 'message', last_updated: 'scalar' } },
  [DUMP_TYPE.clusters]: {
    fields: {
      version_info: 'scalar',
      static_clusters: { repeated: 'ClustersConfigDump.StaticCluster' },
      dynamic_active_clusters: { repeated: 'ClustersConfigDump.DynamicCluster' },
      dynamic_warming_clusters: { repeated: 'ClustersConfigDump.DynamicCluster' },
    },
  },
  [DUMP_TYPE.listeners]: {
    fields: {
      version_info: 'scalar',
      static_listeners: { repeated: 'ListenersConfigDump.StaticListener' },
      dynamic_listeners: { repeated: 'ListenersConfigDump.DynamicListener' },
    },
  },
  [DUMP_TYPE.routes]: {
    fields: {
      static_route_configs: { repeated: 'RoutesConfigDump.StaticRouteConfig' },
      dynamic_route_configs: { repeated: 'RoutesConfigDump.DynamicRouteConfig' },
    },
  },
  [DUMP_TYPE.secrets]: {
    fields: {
      static_secrets: { repeated: 'SecretsConfigDump.StaticSecret' },
      dynamic_active_secrets: { repeated: 'SecretsConfigDump.DynamicSecret' },
      dynamic_warming_secrets: { repeated: 'SecretsConfigDump.DynamicSecret' },
    },
  },
  'ClustersConfigDump.StaticCluster': { fields: { cluster: 'any', last_updated: 'scalar' }, resourceName: nameOf('cluster') },
  'ClustersConfigDump.DynamicCluster': {
    fields: { version_info: 'scalar', cluster: 'any', last_updated: 'scalar', error_state: 'message', client_status: 'scalar' },
    resourceName: nameOf('cluster'),
  },
  'ListenersConfigDump.StaticListener': { fields: { listener: 'any', last_updated: 'scalar' }, resourceName: nameOf('listener') },
  'ListenersConfigDump.DynamicListener': {
    fields: { name: 'scalar', active_state: 'message', warming_state: 'message', draining_state: 'message', error_state: 'message', client_status: 'scalar' },
    resourceName: (e) => e.name,
  },
  'RoutesConfigDump.StaticRouteConfig': { fields: { route_config: 'any', last_updated: 'scalar' }, resourceName: nameOf('route_config') },
  'RoutesConfigDump.DynamicRouteConfig': {
    fields: { version_info: 'scalar', route_config: 'any', last_updated: 'scalar', error_state: 'message', client_status: 'scalar' },
    resourceName: nameOf('route_config'),
  },
  'SecretsConfigDump.StaticSecret': { fields: { name: 'scalar', last_updated: 'scalar', secret: 'any' }, resourceName: (e) => e.name },
  'SecretsConfigDump.DynamicSecret': {
    fields: { name: 'scalar', version_info: 'scalar', last_updated: 'scalar', secret: 'any', error_state: 'message', client_status: 'scalar' },
    resourceName: (e) => e.name,
  },
};

export const elementTypeUrl = (element: string): string => `${ADMIN}${element}`;
