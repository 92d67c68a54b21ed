import type { HeaderMatcher, QueryParameterMatcher, Route, RouteConfiguration, RouteMatch, VirtualHost } from '../../envoy/index.js';
import { compileSafeRegex } from '../../common/index.js';
import { stringMatcher } from '../matchers.js';
import type { HeaderMap, RequestHead } from './filter.js';

type Predicate = (head: RequestHead, pathOnly: string, query: URLSearchParams | undefined) => boolean;

/** Compiles a part of a route; a failure names the field (virtual_hosts[0].routes[2].match.safe_regex). */
function at<T>(path: string, compile: () => T): T {
  try {
    return compile();
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
}

export interface MatchedRoute {
  readonly virtualHost: VirtualHost;
  readonly route: Route;
  /** The part of the path the route matched (prefix_rewrite replaces it). */
  readonly matchedPrefix?: string;
}

/** Reads a header for matching: pseudo-headers from the head, others joined with ",". */
export function headerValue(head: RequestHead, name: string): string | undefined {
  switch (name) {
    case ':method':
      return head.method;
    case ':path':
      return head.path;
    case ':authority':
    case 'host':
      return head.authority;
    case ':scheme':
      return head.scheme;
    default: {
      const v = head.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    }
  }
}

function headerMatcher(m: HeaderMatcher, path: string): Predicate {
  const name = m.name.toLowerCase();
  let test: (v: string) => boolean;
  if (m.exact_match !== undefined) test = (v) => v === m.exact_match;
  else if (m.prefix_match !== undefined) test = (v) => v.startsWith(m.prefix_match as string);
  else if (m.suffix_match !== undefined) test = (v) => v.endsWith(m.suffix_match as string);
  else if (m.contains_match !== undefined) test = (v) => v.includes(m.contains_match as string);
  else if (m.safe_regex_match !== undefined) {
    const regex = m.safe_regex_match.regex;
    const re = at(`${path}.safe_regex_match.regex`, () => compileSafeRegex(regex));
    test = (v) => re.test(v);
  } else if (m.string_match !== undefined) {
    const matcher = m.string_match;
    test = at(`${path}.string_match`, () => stringMatcher(matcher));
  } else if (m.present_match !== undefined) {
    const want = m.present_match;
    return (head) => ((headerValue(head, name) !== undefined) === want) !== (m.invert_match === true);
  } else test = () => true; // no matcher: the header must be present
  return (head) => {
    let v = headerValue(head, name);
    if (v === undefined && m.treat_missing_header_as_empty) v = '';
    if (v === undefined) return false; // a missing header never matches, even inverted (Envoy)
    return test(v) !== (m.invert_match === true);
  };
}

function queryMatcher(m: QueryParameterMatcher, path: string): Predicate {
  const matcher = m.string_match;
  const test = matcher ? at(`${path}.string_match`, () => stringMatcher(matcher)) : undefined;
  return (_head, _path, query) => {
    const v = query?.get(m.name);
    if (v === null || v === undefined) return false;
    return test ? test(v) : true;
  };
}

function pathMatcher(match: RouteMatch, path: string): { test: Predicate; prefix?: string } {
  const caseSensitive = match.case_sensitive !== false;
  const fold = (s: string) => (caseSensitive ? s : s.toLowerCase());
  if (match.prefix !== undefined) {
    const prefix = fold(match.prefix);
    return { test: (_h, path) => fold(path).startsWith(prefix), prefix: match.prefix };
  }
  if (match.path !== undefined) {
    const want = fold(match.path);
    return { test: (_h, path) => fold(path) === want, prefix: match.path };
  }
  if (match.path_separated_prefix !== undefined) {
    const prefix = fold(match.path_separated_prefix);
    return {
      test: (_h, path) => {
        const p = fold(path);
        return p === prefix || (p.startsWith(prefix) && p[prefix.length] === '/');
      },
      prefix: match.path_separated_prefix,
    };
  }
  const regex = match.safe_regex?.regex ?? '';
  const re = at(`${path}.safe_regex.regex`, () => compileSafeRegex(regex));
  return { test: (_h, p) => re.test(p) };
}

function isGrpc(headers: HeaderMap): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

interface CompiledRoute {
  readonly route: Route;
  readonly prefix?: string;
  readonly predicates: Predicate[];
  readonly needsQuery: boolean;
}

interface CompiledVirtualHost {
  readonly config: VirtualHost;
  readonly routes: CompiledRoute[];
}

function compileRoute(route: Route, where: string): CompiledRoute {
  const path = pathMatcher(route.match, `${where}.match`);
  const predicates: Predicate[] = [path.test];
  (route.match.headers ?? []).forEach((h, i) => predicates.push(headerMatcher(h, `${where}.match.headers[${i}]`)));
  (route.match.query_parameters ?? []).forEach((q, i) => predicates.push(queryMatcher(q, `${where}.match.query_parameters[${i}]`)));
  // Applied to the request path by the stream; checked here so that a hostile path cannot make it backtrack.
  const rewrite = route.route?.regex_rewrite?.pattern.regex;
  if (rewrite !== undefined) at(`${where}.route.regex_rewrite.pattern.regex`, () => compileSafeRegex(rewrite, { anchored: false, flags: 'g' }));
  if (route.match.grpc) predicates.push((head) => isGrpc(head.headers));
  return { route, ...(path.prefix !== undefined ? { prefix: path.prefix } : {}), predicates, needsQuery: (route.match.query_parameters?.length ?? 0) > 0 };
}

/**
 * A RouteConfiguration compiled for matching: the virtual host by :authority (exact, then the longest
 * "*.suffix" wildcard, then the longest "prefix.*" wildcard, then "*"), then the first matching route.
 */
export class RouteTable {
  private readonly exact = new Map<string, CompiledVirtualHost>();
  private readonly suffixes: Array<[string, CompiledVirtualHost]> = [];
  private readonly prefixes: Array<[string, CompiledVirtualHost]> = [];
  private catchAll: CompiledVirtualHost | undefined;

  /** Throws an Error naming the field when a matcher does not compile (see RouteTable.problem). */
  constructor(readonly config: RouteConfiguration) {
    for (const [v, vh] of (config.virtual_hosts ?? []).entries()) {
      const compiled: CompiledVirtualHost = { config: vh, routes: (vh.routes ?? []).map((r, i) => compileRoute(r, `virtual_hosts[${v}].routes[${i}]`)) };
      for (const raw of vh.domains) {
        const domain = raw.toLowerCase();
        if (domain === '*') this.catchAll = compiled;
        else if (domain.startsWith('*')) this.suffixes.push([domain.slice(1), compiled]);
        else if (domain.endsWith('*')) this.prefixes.push([domain.slice(0, -1), compiled]);
        else this.exact.set(domain, compiled);
      }
    }
    this.suffixes.sort((a, b) => b[0].length - a[0].length);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  /**
   * Why this route configuration cannot be served (a duplicate domain, a regex that does not compile
   * or is not linear-time), naming the field; undefined when it can. Checked before an update replaces
   * the last good configuration.
   */
  static problem(config: RouteConfiguration): string | undefined {
    const duplicate = RouteTable.duplicateDomain(config);
    if (duplicate) return `domain "${duplicate}" appears in more than one virtual host`;
    try {
      new RouteTable(config);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Duplicate domains across virtual hosts are a config error in Envoy. */
  static duplicateDomain(config: RouteConfiguration): string | undefined {
    const seen = new Set<string>();
    for (const vh of config.virtual_hosts ?? []) {
      for (const d of vh.domains) {
        const key = d.toLowerCase();
        if (seen.has(key)) return d;
        seen.add(key);
      }
    }
    return undefined;
  }

  /** Envoy matches the Host with its port unless the HCM says strip_any_host_port. */
  private virtualHostFor(authority: string, stripPort: boolean): CompiledVirtualHost | undefined {
    let host = authority.toLowerCase();
    if (stripPort) host = host.replace(/:\d+$/, '');
    return this.lookup(host);
  }

  private lookup(host: string): CompiledVirtualHost | undefined {
    const exact = this.exact.get(host);
    if (exact) return exact;
    for (const [suffix, vh] of this.suffixes) if (host.endsWith(suffix) && host.length > suffix.length) return vh;
    for (const [prefix, vh] of this.prefixes) if (host.startsWith(prefix) && host.length > prefix.length) return vh;
    return this.catchAll;
  }

  match(head: RequestHead, stripPort = false): MatchedRoute | undefined {
    const vh = this.virtualHostFor(head.authority, stripPort);
    if (!vh) return undefined;
    const q = head.path.indexOf('?');
    const pathOnly = q === -1 ? head.path : head.path.slice(0, q);
    let query: URLSearchParams | undefined;
    for (const r of vh.routes) {
      if (r.needsQuery && query === undefined) query = new URLSearchParams(q === -1 ? '' : head.path.slice(q + 1));
      if (r.predicates.every((p) => p(head, pathOnly, query))) {
        return { virtualHost: vh.config, route: r.route, ...(r.prefix !== undefined ? { matchedPrefix: r.prefix } : {}) };
      }
    }
    return undefined;
  }
}
