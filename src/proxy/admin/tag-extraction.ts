/**
 * Envoy's default tag extraction (source/common/config/well_known_names.cc): turns a flat stat name
 * into a tag-extracted name plus tags, e.g.
 *   http.ingress.downstream_rq_2xx -> http.downstream_rq_xx {envoy.response_code_class=2, envoy.http_conn_manager_prefix=ingress}
 * /stats/prometheus prints the result. Extractors are tried as Envoy tries them: first those without
 * a fixed first token, then those whose first token matches the stat's, each in declaration order.
 */

export interface Tag {
  readonly name: string;
  readonly value: string;
}

export interface ExtractedStat {
  /** The name with every extracted value (and its separator) removed. */
  readonly name: string;
  readonly tags: readonly Tag[];
}

interface Match {
  value: string;
  start: number;
  end: number;
}

interface Extractor {
  readonly tag: string;
  /** The first dot-separated token a stat must start with, if the pattern fixes one. */
  readonly prefix: string | undefined;
  match(stat: string): Match | undefined;
}

// Pattern pieces, as Envoy's expandRegex() defines them.
const ADDRESS = String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`;
const TAG_VALUE = String.raw`[^.]+`;
const CIPHER = String.raw`[\w-]+`;
const LISTENER_OR_CLUSTER = String.raw`(?:listener|cluster)\..*?`;

/**
 * A regex extractor: group 1 is removed from the name, group 2 (or group 1) is the value. `exclude`
 * is a value that must not become a tag (Envoy keeps "listener.admin.*" untagged).
 */
function regex(tag: string, source: string, exclude?: string): Extractor {
  const re = new RegExp(source, 'd');
  const prefix = /^\^([a-z_]+)\\\./.exec(source)?.[1];
  return {
    tag,
    prefix,
    match(stat) {
      const m = re.exec(stat);
      const remove = m?.indices?.[1];
      if (!m || !remove) return undefined;
      const value = m[2] ?? m[1] ?? '';
      if (value === exclude) return undefined;
      return { value, start: remove[0], end: remove[1] };
    },
  };
}

/**
 * A token extractor ("cluster.$.**"): tokens are dot-separated; "*" is any one token, "$" the one token
 * captured as the value, "**" any number of tokens. The value and the dot after it are removed.
 */
function tokens(tag: string, pattern: string): Extractor {
  const want = pattern.split('.');
  const first = want[0] as string;
  const prefix = ['*', '$', '**'].includes(first) ? undefined : first;
  return {
    tag,
    prefix,
    match(stat) {
      const have = stat.split('.');
      const capture = matchTokens(want, 0, have, 0);
      if (capture === undefined) return undefined;
      let start = 0;
      for (let i = 0; i < capture; i++) start += (have[i] as string).length + 1;
      const value = have[capture] as string;
      const last = capture === have.length - 1;
      // The captured token goes with the dot after it (before it, when it is the last token).
      return last ? { value, start: start - 1, end: start + value.length } : { value, start, end: start + value.length + 1 };
    },
  };
}

/** The index of the token "$" captured, or undefined when the stat does not fit the pattern. */
function matchTokens(want: readonly string[], w: number, have: readonly string[], h: number): number | undefined {
  if (w === want.length) return h === have.length ? -1 : undefined;
  const token = want[w];
  if (token === '**') {
    for (let skip = have.length - h; skip >= 0; skip--) {
      const found = matchTokens(want, w + 1, have, h + skip);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (h >= have.length) return undefined;
  if (token !== '*' && token !== '$' && token !== have[h]) return undefined;
  const found = matchTokens(want, w + 1, have, h + 1);
  if (found === undefined) return undefined;
  return token === '$' ? h : found;
}

/** Envoy's default extractors, in Envoy's order (the DynamoDB and Mongo ones are left out). */
const EXTRACTORS: readonly Extractor[] = [
  regex('envoy.response_code', String.raw`_rq(_(\d{3}))$`),
  regex('envoy.response_code_class', String.raw`_rq_((\d))xx$`),
  tokens('envoy.grpc_bridge_method', 'cluster.*.grpc.*.$.**'),
  tokens('envoy.user_agent', 'http.*.user_agent.$.**'),
  tokens('envoy.virtual_cluster', 'vhost.*.vcluster.$.**'),
  tokens('envoy.fault_downstream_cluster', 'http.*.fault.$.**'),
  regex('envoy.ssl_cipher', String.raw`^listener\..*?\.ssl\.ciphers(\.(${CIPHER}))$`),
  regex('envoy.ssl_curve', String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.curves(\.(${CIPHER}))$`),
  regex('envoy.ssl_sigalg', String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.sigalgs(\.(${CIPHER}))$`),
  regex('envoy.ssl_version', String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.versions(\.(TLSv\d\.\d))$`),
  regex('envoy.ssl_cipher_suite', String.raw`^cluster\.${TAG_VALUE}\.ssl\.ciphers(\.(${CIPHER}))$`),
  tokens('envoy.grpc_bridge_service', 'cluster.*.grpc.$.**'),
  tokens('envoy.tcp_prefix', 'tcp.$.**'),
  tokens('envoy.udp_prefix', 'udp.$.**'),
  tokens('envoy.clientssl_prefix', 'auth.clientssl.$.**'),
  tokens('envoy.ratelimit_prefix', 'ratelimit.$.**'),
  tokens('envoy.cluster_name', 'cluster.$.**'),
  regex('envoy.http_conn_manager_prefix', String.raw`^listener\..*?\.http\.((${TAG_VALUE})\.)`),
  tokens('envoy.ext_authz_prefix', 'cluster.*.ext_authz.$.**'),
  tokens('envoy.ext_authz_prefix', 'http.*.ext_authz.$.**'),
  tokens('envoy.http_conn_manager_prefix', 'http.$.**'),
  regex('envoy.worker_id', String.raw`^(?:listener\.(?:${ADDRESS}|${TAG_VALUE})\.|server\.|listener_manager\.)worker_((\d+)\.)`),
  regex('envoy.listener_address', String.raw`^listener\.((${ADDRESS}|${TAG_VALUE})\.)`, 'admin'),
  tokens('envoy.virtual_host', 'vhost.$.**'),
  regex('envoy.rds_route_config', String.raw`^http\.${TAG_VALUE}\.rds\.(([\w\-.]+)\.)\w+?$`),
  tokens('envoy.route', 'vhost.*.route.$.**'),
  tokens('envoy.thrift_prefix', 'thrift.$.**'),
  tokens('envoy.redis_prefix', 'redis.$.**'),
  tokens('envoy.local_http_ratelimit_prefix', '$.http_local_rate_limit.**'),
  tokens('envoy.local_network_ratelimit_prefix', 'local_rate_limit.$.**'),
  tokens('envoy.local_listener_ratelimit_prefix', 'listener_local_ratelimit.$.**'),
  tokens('envoy.dns_filter_prefix', 'dns_filter.$.**'),
];

const WITHOUT_PREFIX = EXTRACTORS.filter((e) => e.prefix === undefined);
const BY_PREFIX = new Map<string, Extractor[]>();
for (const e of EXTRACTORS) {
  if (e.prefix !== undefined) BY_PREFIX.set(e.prefix, [...(BY_PREFIX.get(e.prefix) ?? []), e]);
}

/** Applies Envoy's default tag extractors to a stat name. */
export function extractTags(stat: string): ExtractedStat {
  const dot = stat.indexOf('.');
  const candidates = [...WITHOUT_PREFIX, ...(dot > 0 ? BY_PREFIX.get(stat.slice(0, dot)) ?? [] : [])];
  const tags: Tag[] = [];
  const removed: Array<[number, number]> = [];
  const seen = new Set<string>();
  // Every extractor looks at the full name; the matched ranges are removed at the end.
  for (const extractor of candidates) {
    if (seen.has(extractor.tag)) continue;
    const match = extractor.match(stat);
    if (!match) continue;
    seen.add(extractor.tag);
    tags.push({ name: extractor.tag, value: match.value });
    removed.push([match.start, match.end]);
  }
  if (removed.length === 0) return { name: stat, tags };
  const keep = new Array<boolean>(stat.length).fill(true);
  for (const [start, end] of removed) keep.fill(false, start, end);
  let name = '';
  for (let i = 0; i < stat.length; i++) if (keep[i]) name += stat[i];
  return { name, tags };
}
