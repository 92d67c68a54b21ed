/**
 * VirtualService http routes to Envoy routes, for one listener port and set of gateways (Istio's
 * BuildHTTPRoutesForVirtualService): matches are trimmed statically by port, gateways and source labels;
 * each route carries the VirtualService in its metadata for istioctl's VIRTUAL SERVICE column.
 */
import type { HeaderMatcher, HeaderValueOption, QueryParameterMatcher, RetryPolicy, Route, RouteAction, RouteMatch, StringMatcher } from '../../envoy/index.js';
import { toEnvoyDuration } from './durations.js';
import { resolveShortName } from './hosts.js';
import type { Destination, HeaderOperations, Headers, HttpMatchRequest, HttpRetry, HttpRoute, ProxyNode, StringMatch } from './input.js';
import { clusterName, configMetadata } from './names.js';
import { findService } from './registry.js';
import type { ServiceRegistry } from './registry.js';
import { labelsMatch } from './scope.js';
import { resolveGatewayName } from './virtual-services.js';
import type { BoundVirtualService } from './virtual-services.js';

export interface RouteContext {
  readonly proxy: ProxyNode;
  readonly registry: ServiceRegistry;
  readonly domainSuffix: string;
  /** meshConfig.defaultHttpRetryPolicy, used where a route sets no retries. */
  readonly defaultRetry?: HttpRetry;
}

/** Istio's default: two retries on connection failures, resets and 503. */
export function defaultRetryPolicy(): RetryPolicy {
  return {
    retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    num_retries: 2,
    retriable_status_codes: [503],
    host_selection_retry_max_attempts: 5,
  };
}

export function retryPolicy(retries: HttpRetry | undefined): RetryPolicy | undefined {
  const out = defaultRetryPolicy();
  if (!retries) return out;
  if (!retries.attempts || retries.attempts <= 0) return undefined;
  out.num_retries = retries.attempts;
  if (retries.retryOn) {
    const parts = retries.retryOn.split(',').map((p) => p.trim()).filter(Boolean);
    const codes = parts.filter((p) => /^\d{3}$/.test(p)).map(Number);
    const conditions = parts.filter((p) => !/^\d{3}$/.test(p));
    if (codes.length > 0 && !conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
    out.retry_on = conditions.join(',');
    out.retriable_status_codes = codes;
    if (codes.length === 0) delete out.retriable_status_codes;
  }
  const perTry = toEnvoyDuration(retries.perTryTimeout);
  if (perTry) out.per_try_timeout = perTry;
  return out;
}

function stringMatcher(m: StringMatch): StringMatcher | undefined {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { safe_regex: { regex: m.regex } };
  return undefined;
}

/** An empty match, or the regex "*", means "header present" in Istio. */
function headerMatcher(name: string, m: StringMatch): HeaderMatcher {
  const matcher = m.regex === '*' ? undefined : stringMatcher(m);
  return matcher ? { name, string_match: matcher } : { name, present_match: true };
}

export function routeMatch(match: HttpMatchRequest | undefined): RouteMatch {
  const out: RouteMatch = { prefix: '/' };
  if (!match) return out;
  if (match.uri?.exact !== undefined) {
    delete out.prefix;
    out.path = match.uri.exact;
  } else if (match.uri?.prefix !== undefined) out.prefix = match.uri.prefix;
  else if (match.uri?.regex !== undefined) {
    delete out.prefix;
    out.safe_regex = { regex: match.uri.regex };
  }
  out.case_sensitive = !match.ignoreUriCase;
  const headers: HeaderMatcher[] = [];
  for (const [name, m] of Object.entries(match.headers ?? {})) headers.push(headerMatcher(name, m));
  for (const [name, m] of Object.entries(match.withoutHeaders ?? {})) {
    const h = headerMatcher(name, m);
    headers.push({ ...h, invert_match: true, ...(h.present_match ? {} : { treat_missing_header_as_empty: true }) });
  }
  headers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (match.method) headers.push(headerMatcher(':method', match.method));
  if (match.authority) headers.push(headerMatcher(':authority', match.authority));
  if (match.scheme) headers.push(headerMatcher(':scheme', match.scheme));
  if (headers.length > 0) out.headers = headers;
  const query: QueryParameterMatcher[] = Object.entries(match.queryParams ?? {}).map(([name, m]) => {
    const matcher = m.regex === '*' ? undefined : stringMatcher(m);
    return matcher ? { name, string_match: matcher } : { name, present_match: true };
  });
  if (query.length > 0) out.query_parameters = query;
  return out;
}

/** A catch-all route ends a virtual host: nothing after it can match. */
export function isCatchAll(route: Route): boolean {
  const m = route.match;
  const all = m.prefix === '/' || m.safe_regex?.regex === '.*';
  return all && !m.headers?.length && !m.query_parameters?.length;
}

/** Static half of a match: trimmed at generation time by gateways, or by source labels and namespace. */
function sourceMatches(match: HttpMatchRequest | undefined, vs: BoundVirtualService, gateways: ReadonlySet<string>, proxy: ProxyNode): boolean {
  if (!match) return true;
  if (match.gateways && match.gateways.length > 0) return match.gateways.some((g) => gateways.has(resolveGatewayName(g, vs.namespace)));
  return labelsMatch(match.sourceLabels, proxy.labels) && (match.sourceNamespace === undefined || match.sourceNamespace === proxy.namespace);
}

interface HeaderChanges {
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  authority?: string;
}

const isInternal = (key: string): boolean => key.startsWith(':') || key.toLowerCase() === 'host';
const isAuthority = (key: string): boolean => key.toLowerCase() === ':authority' || key.toLowerCase() === 'host';

function headerOptions(ops: HeaderOperations | undefined): { add: HeaderValueOption[]; remove: string[]; authority?: string } {
  const add: HeaderValueOption[] = [];
  let authority: string | undefined;
  const push = (entries: Record<string, string> | undefined, action: HeaderValueOption['append_action']): void => {
    for (const [key, value] of Object.entries(entries ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (isAuthority(key) && (authority === undefined || action === 'OVERWRITE_IF_EXISTS_OR_ADD')) authority = value;
      if (!isInternal(key)) add.push({ header: { key, value }, append_action: action });
    }
  };
  push(ops?.add, 'APPEND_IF_EXISTS_OR_ADD');
  push(ops?.set, 'OVERWRITE_IF_EXISTS_OR_ADD');
  // "set" entries come first, as Istio orders them.
  add.sort((a, b) => (a.append_action === b.append_action ? 0 : a.append_action === 'OVERWRITE_IF_EXISTS_OR_ADD' ? -1 : 1));
  return { add, remove: (ops?.remove ?? []).filter((k) => !isInternal(k)), ...(authority !== undefined ? { authority } : {}) };
}

export function headerChanges(headers: Headers | undefined): HeaderChanges {
  if (!headers) return {};
  const req = headerOptions(headers.request);
  const res = headerOptions(headers.response);
  return {
    ...(req.add.length ? { request_headers_to_add: req.add } : {}),
    ...(req.remove.length ? { request_headers_to_remove: req.remove } : {}),
    ...(res.add.length ? { response_headers_to_add: res.add } : {}),
    ...(res.remove.length ? { response_headers_to_remove: res.remove } : {}),
    ...(req.authority !== undefined ? { authority: req.authority } : {}),
  };
}

/** outbound|<port>|<subset>|<host>: the destination port, else the service's only port, else the listener port. */
export function destinationCluster(ctx: RouteContext, destination: Destination, vsNamespace: string, listenPort: number): string {
  const host = resolveShortName(destination.host, vsNamespace, ctx.domainSuffix);
  let port = destination.port?.number;
  if (port === undefined) {
    const service = findService(ctx.registry, host, ctx.proxy.namespace, vsNamespace);
    port = service && service.ports.length === 1 ? service.ports[0]?.number : undefined;
  }
  return clusterName(port ?? listenPort, host, destination.subset ?? '');
}

function appendHeaders(route: Route, changes: HeaderChanges): void {
  if (changes.request_headers_to_add) route.request_headers_to_add = [...(route.request_headers_to_add ?? []), ...changes.request_headers_to_add];
  if (changes.request_headers_to_remove) route.request_headers_to_remove = [...(route.request_headers_to_remove ?? []), ...changes.request_headers_to_remove];
  if (changes.response_headers_to_add) route.response_headers_to_add = [...(route.response_headers_to_add ?? []), ...changes.response_headers_to_add];
  if (changes.response_headers_to_remove) route.response_headers_to_remove = [...(route.response_headers_to_remove ?? []), ...changes.response_headers_to_remove];
}

function routeAction(ctx: RouteContext, http: HttpRoute, vs: BoundVirtualService, listenPort: number, route: Route, authority: string | undefined): RouteAction {
  const action: RouteAction = { timeout: toEnvoyDuration(http.timeout) ?? '0s' };
  const regex = http.rewrite?.uriRegexRewrite;
  if (regex?.match !== undefined) action.regex_rewrite = { pattern: { regex: regex.match }, substitution: regex.rewrite ?? '' };
  else if (http.rewrite?.uri) action.prefix_rewrite = http.rewrite.uri;
  let host = http.rewrite?.authority || authority;
  const destinations = http.route ?? [];
  if (destinations.length === 1 && destinations[0]) {
    const dst = destinations[0];
    action.cluster = destinationCluster(ctx, dst.destination, vs.namespace, listenPort);
    const changes = headerChanges(dst.headers);
    appendHeaders(route, changes);
    if (host === undefined && changes.authority) host = changes.authority;
  } else {
    // Zero weights are dropped when other destinations remain, as Istio does.
    action.weighted_clusters = {
      clusters: destinations
        .filter((d) => (d.weight ?? 0) > 0)
        .map((d) => {
          const changes = headerChanges(d.headers);
          return {
            name: destinationCluster(ctx, d.destination, vs.namespace, listenPort),
            weight: d.weight ?? 0,
            ...(changes.request_headers_to_add ? { request_headers_to_add: changes.request_headers_to_add } : {}),
            ...(changes.request_headers_to_remove ? { request_headers_to_remove: changes.request_headers_to_remove } : {}),
            ...(changes.response_headers_to_add ? { response_headers_to_add: changes.response_headers_to_add } : {}),
            ...(changes.response_headers_to_remove ? { response_headers_to_remove: changes.response_headers_to_remove } : {}),
          };
        }),
    };
  }
  if (host) action.host_rewrite_literal = host;
  const retries = retryPolicy(http.retries ?? ctx.defaultRetry);
  if (retries) action.retry_policy = retries;
  return action;
}

const REDIRECT_CODES: Record<number, NonNullable<NonNullable<Route['redirect']>['response_code']>> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

function translateRoute(ctx: RouteContext, http: HttpRoute, match: HttpMatchRequest | undefined, vs: BoundVirtualService, listenPort: number): Route {
  const name = match?.name ? `${http.name ?? ''}.${match.name}` : http.name;
  const route: Route = {
    ...(name ? { name } : {}),
    match: routeMatch(match),
    metadata: configMetadata('virtual-service', vs.namespace, vs.name),
  };
  const changes = headerChanges(http.headers);
  appendHeaders(route, changes);
  if (http.redirect) {
    const r = http.redirect;
    route.redirect = {
      ...(r.authority ? { host_redirect: r.authority } : {}),
      ...(r.uri ? { path_redirect: r.uri } : {}),
      ...(r.scheme ? { scheme_redirect: r.scheme } : {}),
      ...(r.port ? { port_redirect: r.port } : {}),
      response_code: REDIRECT_CODES[r.redirectCode ?? 301] ?? 'MOVED_PERMANENTLY',
    };
  } else if (http.directResponse) {
    const body = http.directResponse.body;
    route.direct_response = {
      status: http.directResponse.status,
      ...(body?.string !== undefined ? { body: { inline_string: body.string } } : body?.bytes !== undefined ? { body: { inline_bytes: body.bytes } } : {}),
    };
  } else {
    route.route = routeAction(ctx, http, vs, listenPort, route, changes.authority);
  }
  return route;
}

/** The routes a VirtualService gives one listener port for the given gateways ({"mesh"} for sidecars). */
export function buildHttpRoutes(ctx: RouteContext, vs: BoundVirtualService, listenPort: number, gateways: ReadonlySet<string>): Route[] {
  const out: Route[] = [];
  for (const http of vs.resource.spec.http ?? []) {
    let catchAll = false;
    if (!http.match || http.match.length === 0) {
      out.push(translateRoute(ctx, http, undefined, vs, listenPort));
      catchAll = true;
    } else {
      for (const match of http.match) {
        if (match.port !== undefined && match.port !== listenPort) continue;
        if (!sourceMatches(match, vs, gateways, ctx.proxy)) continue;
        const route = translateRoute(ctx, http, match, vs, listenPort);
        out.push(route);
        if (isCatchAll(route)) {
          catchAll = true;
          break;
        }
      }
    }
    if (catchAll) break;
  }
  return out;
}

/** Catch-all routes move to the end, others keep their order (Istio's SortVHostRoutes). */
export function sortVirtualHostRoutes(routes: readonly Route[]): Route[] {
  return [...routes.filter((r) => !isCatchAll(r)), ...routes.filter(isCatchAll)];
}
