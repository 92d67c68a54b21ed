/**
 * Properties of the route matcher (src/proxy/http/route-table.ts + matchers.ts): random route
 * configurations and requests never crash it, matching is deterministic, and the virtual host and
 * route it picks agree with a small reference model written from Envoy's documentation (domains:
 * exact, then longest "*suffix", then longest "prefix*", then "*", never matching the empty string;
 * routes: the first whose path, header and query conditions all hold). Regexes are matched in linear
 * time: hostile paths against hostile patterns finish (the run would hang otherwise).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../src/proxy/http/route-table.js';
import type { RequestHead } from '../../src/proxy/http/filter.js';
import type { HeaderMatcher, QueryParameterMatcher, Route, RouteConfiguration, RouteMatch, VirtualHost } from '../../src/envoy/index.js';
import { MiB, params, retainedGrowth } from './fuzz-helpers.js';

// ---------- the reference model ----------

function hostMatches(domain: string, host: string): 'exact' | 'suffix' | 'prefix' | 'any' | undefined {
  const d = domain.toLowerCase();
  if (d === '*') return 'any';
  if (d.startsWith('*')) return host.endsWith(d.slice(1)) && host.length > d.length - 1 ? 'suffix' : undefined;
  if (d.endsWith('*')) return host.startsWith(d.slice(0, -1)) && host.length > d.length - 1 ? 'prefix' : undefined;
  return d === host ? 'exact' : undefined;
}

function referenceVirtualHost(config: RouteConfiguration, authority: string): VirtualHost | undefined {
  const host = authority.toLowerCase();
  let best: { vh: VirtualHost; rank: number; length: number } | undefined;
  const rankOf = { exact: 3, suffix: 2, prefix: 1, any: 0 } as const;
  for (const vh of config.virtual_hosts ?? []) {
    for (const domain of vh.domains) {
      const kind = hostMatches(domain, host);
      if (!kind) continue;
      const candidate = { vh, rank: rankOf[kind], length: domain.length };
      if (!best || candidate.rank > best.rank || (candidate.rank === best.rank && candidate.length > best.length)) best = candidate;
    }
  }
  return best?.vh;
}

function firstQueryValue(query: string, name: string): string | undefined {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (key === name) return eq === -1 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

function headerOf(head: RequestHead, name: string): string | undefined {
  if (name === ':path') return head.path;
  if (name === ':method') return head.method;
  if (name === ':authority' || name === 'host') return head.authority;
  const v = head.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function referenceHeader(m: HeaderMatcher, head: RequestHead): boolean {
  const value = headerOf(head, m.name.toLowerCase());
  const invert = m.invert_match === true;
  if (m.present_match !== undefined) return (value !== undefined) === m.present_match ? !invert : invert;
  if (value === undefined) return false;
  let ok: boolean;
  if (m.exact_match !== undefined) ok = value === m.exact_match;
  else if (m.prefix_match !== undefined) ok = value.startsWith(m.prefix_match);
  else if (m.suffix_match !== undefined) ok = value.endsWith(m.suffix_match);
  else if (m.contains_match !== undefined) ok = value.includes(m.contains_match);
  else ok = true;
  return invert ? !ok : ok;
}

function referencePath(match: RouteMatch, path: string): boolean {
  const fold = (s: string) => (match.case_sensitive === false ? s.toLowerCase() : s);
  if (match.prefix !== undefined) return fold(path).startsWith(fold(match.prefix));
  if (match.path !== undefined) return fold(path) === fold(match.path);
  if (match.path_separated_prefix !== undefined) {
    const p = fold(path);
    const want = fold(match.path_separated_prefix);
    return p === want || p.startsWith(`${want}/`);
  }
  return new RegExp(`^(?:${match.safe_regex?.regex ?? ''})$`).test(path);
}

function referenceRoute(config: RouteConfiguration, head: RequestHead): { vh?: string; route?: string } {
  const vh = referenceVirtualHost(config, head.authority);
  if (!vh) return {};
  const q = head.path.indexOf('?');
  const path = q === -1 ? head.path : head.path.slice(0, q);
  const query = q === -1 ? '' : head.path.slice(q + 1);
  for (const route of vh.routes ?? []) {
    if (!referencePath(route.match, path)) continue;
    if (!(route.match.headers ?? []).every((h) => referenceHeader(h, head))) continue;
    if (!(route.match.query_parameters ?? []).every((m) => firstQueryValue(query, m.name) === m.string_match?.exact)) continue;
    return { vh: vh.name, route: route.name as string };
  }
  return {}; // no route: the table answers nothing (the stream replies 404 NR)
}

// ---------- generators: small alphabets, so that domains, prefixes and paths collide ----------

const domain = fc.constantFrom('a.com', 'A.com', 'b.a.com', '*.a.com', '*a.com', '*.com', 'a.*', 'a.c*', 'b.*', '*', 'a.com:80', 'x');
const authority = fc.constantFrom('a.com', 'A.COM', 'b.a.com', 'x.b.a.com', 'a.com:80', 'a.c', 'a.', '.com', 'b.b', 'x', 'a.com:8080', '');
const segment = fc.string({ unit: fc.constantFrom('a', 'b', 'A', '/', '.'), maxLength: 5 });
const pathText = segment.map((s) => `/${s}`);
const queryText = fc.array(fc.tuple(fc.constantFrom('v', 'w'), fc.constantFrom('1', '2', '')), { maxLength: 3 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
const regexAtom = fc.constantFrom('a', 'b', '/', '[ab]', '(a|b)', '.', '[/]', '(a+)', '(a|aa)');
const regexText = fc.array(fc.tuple(regexAtom, fc.constantFrom('', '*', '+', '?')), { minLength: 1, maxLength: 5 }).map((parts) => parts.map(([a, q]) => a + q).join(''));

const pathMatch: fc.Arbitrary<RouteMatch> = fc.oneof(
  pathText.map((prefix) => ({ prefix })),
  fc.constant({ prefix: '' }),
  pathText.map((path) => ({ path })),
  pathText.map((p) => ({ path_separated_prefix: p.replace(/\/+$/, '') || '/a' })),
  regexText.map((regex) => ({ safe_regex: { regex: `/${regex}` } })),
);

const headerMatcher: fc.Arbitrary<HeaderMatcher> = fc.tuple(
  fc.constantFrom('x-a', 'X-B', ':method', ':authority'),
  fc.oneof(
    fc.constantFrom('1', '2', 'GET', 'a.com').map((exact_match) => ({ exact_match })),
    fc.constantFrom('1', 'G', 'a').map((prefix_match) => ({ prefix_match })),
    fc.constantFrom('2', 'T', 'com').map((suffix_match) => ({ suffix_match })),
    fc.constantFrom('1', 'E', '.').map((contains_match) => ({ contains_match })),
    fc.boolean().map((present_match) => ({ present_match })),
  ),
  fc.boolean(),
).map(([name, test, invert]) => ({ name, ...test, ...(invert ? { invert_match: true } : {}) }));

const queryMatcher: fc.Arbitrary<QueryParameterMatcher> = fc.tuple(fc.constantFrom('v', 'w'), fc.constantFrom('1', '2', '')).map(([name, exact]) => ({ name, string_match: { exact } }));

const routeMatch: fc.Arbitrary<RouteMatch> = fc.tuple(
  pathMatch,
  fc.option(fc.boolean(), { nil: undefined }),
  fc.array(headerMatcher, { maxLength: 2 }),
  fc.array(queryMatcher, { maxLength: 2 }),
).map(([path, caseSensitive, headers, query]) => ({
  ...path,
  ...(caseSensitive === undefined || path.safe_regex ? {} : { case_sensitive: caseSensitive }),
  ...(headers.length ? { headers } : {}),
  ...(query.length ? { query_parameters: query } : {}),
}));

const routeConfig: fc.Arbitrary<RouteConfiguration> = fc
  .array(fc.tuple(fc.uniqueArray(domain, { minLength: 1, maxLength: 3, selector: (d) => d.toLowerCase() }), fc.array(routeMatch, { maxLength: 5 })), { minLength: 1, maxLength: 4 })
  .map((hosts) => ({
    name: 'fuzz',
    virtual_hosts: hosts.map(([domains, matches], v) => ({
      name: `vh${v}`,
      domains,
      routes: matches.map((match, r): Route => ({ name: `vh${v}-r${r}`, match, route: { cluster: `c${v}-${r}` } })),
    })),
  }));

const requestHead: fc.Arbitrary<RequestHead> = fc.record({
  method: fc.constantFrom('GET', 'POST'),
  path: fc.tuple(pathText, fc.option(queryText, { nil: undefined })).map(([p, q]) => (q === undefined ? p : `${p}?${q}`)),
  authority,
  scheme: fc.constant('http' as const),
  headers: fc.record({ 'x-a': fc.constantFrom('1', '2', '12'), 'x-b': fc.constantFrom('1', 'T', 'E.') }, { requiredKeys: [] }),
});

function matched(table: RouteTable, head: RequestHead): { vh?: string; route?: string } {
  const m = table.match(head);
  if (!m) return {};
  return { vh: m.virtualHost.name, route: m.route.name as string };
}

describe('fuzz: route matcher', () => {
  it('agrees with the reference model on the virtual host and the first matching route', () => {
    fc.assert(
      fc.property(routeConfig, fc.array(requestHead, { minLength: 1, maxLength: 8 }), (config, heads) => {
        const all = (config.virtual_hosts ?? []).flatMap((vh) => vh.domains.map((d) => d.toLowerCase()));
        if (new Set(all).size !== all.length) {
          // Envoy refuses a domain served by two virtual hosts.
          expect(RouteTable.problem(config)).toMatch(/appears in more than one virtual host/);
          return;
        }
        expect(RouteTable.problem(config)).toBeUndefined();
        const table = new RouteTable(config);
        for (const head of heads) {
          const got = matched(table, head);
          expect(got, `${head.authority} ${head.path} ${JSON.stringify(head.headers)}`).toEqual(referenceRoute(config, head));
        }
      }),
      params(1500),
    );
  });

  it('is deterministic: the same request gets the same route from one table, twice, and from a rebuilt table', () => {
    fc.assert(
      fc.property(routeConfig, requestHead, (config, head) => {
        const a = new RouteTable(config);
        const b = new RouteTable(structuredClone(config));
        expect(matched(a, head)).toEqual(matched(a, head));
        expect(matched(b, head)).toEqual(matched(a, head));
      }),
      params(500),
    );
  });

  it('random requests (any bytes in path, authority, headers) never throw', () => {
    const config = fc.sample(routeConfig, { numRuns: 1, seed: 42 })[0] as RouteConfiguration;
    const table = new RouteTable(config);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }))), (path, host, headers) => {
        const head: RequestHead = { method: 'GET', path, authority: host, scheme: 'https', headers };
        table.match(head);
        table.match(head, true);
      }),
      params(800),
    );
  });

  it('any regex text either compiles or is refused with the field named; nothing else escapes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (regex) => {
        const config: RouteConfiguration = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', headers: [{ name: 'x', safe_regex_match: { regex } }] }, route: { cluster: 'c' } }] }] };
        const problem = RouteTable.problem(config);
        if (problem !== undefined) expect(problem).toMatch(/^virtual_hosts\[0\]\.routes\[0\]\.match\.headers\[0\]\.safe_regex_match\.regex: regex ".*" (does not compile|cannot be matched in linear time)/s);
        else new RouteTable(config).match({ method: 'GET', path: '/', authority: 'x', scheme: 'http', headers: { x: regex } });
      }),
      params(2000),
    );
  });

  it('hostile regexes against hostile paths finish: matching is linear, not backtracking', () => {
    // Nested quantifiers over overlapping alternatives, the classic catastrophic-backtracking shapes.
    const hostile = fc.tuple(fc.constantFrom('(a+)+', '(a|a)*', '(a|aa)+', '(a*)*', '([ab]+)*', '(.*a){8}', '(a?){16}a{16}'), fc.constantFrom('b', '$x', '/', 'c')).map(([body, tail]) => `/${body}${tail}`);
    fc.assert(
      fc.property(hostile, fc.integer({ min: 10_000, max: 30_000 }), fc.constantFrom('!', '/', 'b'), (regex, n, end) => {
        const config: RouteConfiguration = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'rx', match: { safe_regex: { regex } }, route: { cluster: 'c' } }] }] };
        if (RouteTable.problem(config)) return; // refused at config time is also safe
        new RouteTable(config).match({ method: 'GET', path: `/${'a'.repeat(n)}${end}`, authority: 'x', scheme: 'http', headers: {} });
      }),
      params(60),
    );
  });

  it('building and matching many tables keeps no memory', async () => {
    const configs = fc.sample(routeConfig, { numRuns: 100, seed: 3 });
    const heads = fc.sample(requestHead, { numRuns: 50, seed: 4 });
    const growth = await retainedGrowth(() => {
      for (let round = 0; round < 20; round++) {
        for (const config of configs) {
          const table = new RouteTable(config);
          for (const head of heads) table.match(head);
        }
      }
    });
    expect(growth).toBeLessThan(4 * MiB);
  });
});

describe('route matcher regressions found by the properties', () => {
  it('ReDoS: safe_regex (a+)+b against a path of 100000 "a" finishes (V8 backtracking took exponential time)', () => {
    const table = new RouteTable({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [
      { name: 'redos', match: { safe_regex: { regex: '/(a+)+b' } }, route: { cluster: 'c' } },
      { name: 'header', match: { prefix: '/', headers: [{ name: 'x-id', safe_regex_match: { regex: '(a|aa)+' } }] }, route: { cluster: 'c' } },
    ] }] });
    expect(table.match({ method: 'GET', path: `/${'a'.repeat(100_000)}`, authority: 'x', scheme: 'http', headers: { 'x-id': `${'a'.repeat(100_000)}!` } })).toBeUndefined();
  });

  it('a regex RE2 would not run in linear time is a config error naming the field, not a table that throws later', () => {
    const config = (regex: string): RouteConfiguration => ({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', regex_rewrite: { pattern: { regex }, substitution: 'x' } } }] }] });
    expect(RouteTable.problem(config('(a)\\1'))).toMatch(/^virtual_hosts\[0\]\.routes\[0\]\.route\.regex_rewrite\.pattern\.regex: regex "\(a\)\\1" cannot be matched in linear time/);
    expect(RouteTable.problem(config('(?=a)a'))).toMatch(/cannot be matched in linear time/);
    expect(RouteTable.problem(config('[0-9]{1,64}'))).toMatch(/cannot be matched in linear time.*\[0-9\]\+/);
    expect(RouteTable.problem(config('^/v[0-9]+/(.*)$'))).toBeUndefined();
    expect(() => new RouteTable(config('('))).toThrow(/regex_rewrite\.pattern\.regex: regex "\(" does not compile/);
  });
});
