import { TYPE_URL } from '../../envoy/index.js';

type Json = Record<string, unknown>;

export interface ConsistencyResult {
  readonly ok: boolean;
  /** One sentence per problem, naming the resources. */
  readonly problems: readonly string[];
}

export interface ConsistencyInput {
  readonly clusters: readonly Json[];
  readonly endpoints: readonly string[];
  readonly listeners: readonly Json[];
  readonly routes: readonly string[];
  readonly secrets: readonly string[];
}

/** A field by its proto name or its JSON name: snapshots may be written either way. */
function field(obj: Json, snake: string): unknown {
  return obj[snake] ?? obj[snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null;
}

/** Every object inside a resource, nested Any configs included. */
function* objects(value: unknown): Generator<Json> {
  if (Array.isArray(value)) {
    for (const item of value) yield* objects(item);
  } else if (isObject(value)) {
    yield value;
    for (const child of Object.values(value)) yield* objects(child);
  }
}

/** The EDS service name of an EDS cluster: eds_cluster_config.service_name, else the cluster's name. */
function edsNameOf(cluster: Json): string | undefined {
  if (field(cluster, 'type') !== 'EDS') return undefined;
  const config = field(cluster, 'eds_cluster_config');
  const serviceName = isObject(config) ? field(config, 'service_name') : undefined;
  return typeof serviceName === 'string' && serviceName ? serviceName : (cluster.name as string);
}

/** route_config_name of every HttpConnectionManager using RDS, in filter chains or an api_listener. */
function rdsNamesOf(listener: Json): string[] {
  const names: string[] = [];
  for (const obj of objects(listener)) {
    if (obj['@type'] !== TYPE_URL.httpConnectionManager) continue;
    const rds = field(obj, 'rds');
    const name = isObject(rds) ? field(rds, 'route_config_name') : undefined;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

/** Names of SdsSecretConfigs fetched over ADS (secrets from a local SDS agent are not ours to serve). */
function adsSecretNamesOf(resource: Json): string[] {
  const names: string[] = [];
  for (const obj of objects(resource)) {
    const source = field(obj, 'sds_config');
    if (isObject(source) && source.ads !== undefined && typeof obj.name === 'string') names.push(obj.name);
  }
  return names;
}

/**
 * go-control-plane's consistency check, extended to SDS: a proxy waits (warming) for every EDS, RDS and
 * SDS resource its clusters and listeners name, so a snapshot that lacks one leaves it stuck; an
 * EDS or RDS resource nothing names is a sign that the translation went wrong.
 */
export function checkConsistency(input: ConsistencyInput): ConsistencyResult {
  const problems: string[] = [];
  const endpoints = new Set(input.endpoints);
  const usedEndpoints = new Set<string>();
  for (const cluster of input.clusters) {
    const eds = edsNameOf(cluster);
    if (eds === undefined) continue;
    usedEndpoints.add(eds);
    if (!endpoints.has(eds)) problems.push(`cluster "${String(cluster.name)}" needs endpoints "${eds}" (EDS), which the snapshot does not have`);
  }
  for (const name of endpoints) {
    if (!usedEndpoints.has(name)) problems.push(`endpoints "${name}" (EDS) are not used by any EDS cluster`);
  }

  const routes = new Set(input.routes);
  const usedRoutes = new Set<string>();
  for (const listener of input.listeners) {
    for (const name of rdsNamesOf(listener)) {
      usedRoutes.add(name);
      if (!routes.has(name)) problems.push(`listener "${String(listener.name)}" needs routes "${name}" (RDS), which the snapshot does not have`);
    }
  }
  for (const name of routes) {
    if (!usedRoutes.has(name)) problems.push(`routes "${name}" (RDS) are not used by any listener`);
  }

  const secrets = new Set(input.secrets);
  for (const resource of [...input.listeners, ...input.clusters]) {
    for (const name of new Set(adsSecretNamesOf(resource))) {
      if (!secrets.has(name)) problems.push(`"${String(resource.name)}" needs secret "${name}" (SDS over ADS), which the snapshot does not have`);
    }
  }
  return { ok: problems.length === 0, problems };
}
