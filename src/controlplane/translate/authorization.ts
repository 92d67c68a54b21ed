/**
 * AuthorizationPolicy (security.istio.io) -> Envoy RBAC filters, as Istio's pilot/pkg/security/authz
 * builder generates them for one workload:
 * - scope: policies in the workload's namespace (no selector, or a selector matching its labels) and in the
 *   root namespace (mesh-wide; a selector there matches workloads of every namespace);
 * - one RBAC filter per action, in Istio's order AUDIT (LOG), CUSTOM, DENY, ALLOW; an ALLOW filter whose
 *   policies are all empty or skipped refuses everything (`spec: {}` is allow-nothing);
 * - a policy per rule, `ns[<ns>]-policy[<name>]-rule[<i>]`: one permission per `to` entry, one principal per
 *   `from` entry, each the AND of its fields (values ORed, notValues under a NOT), `when` conditions added to
 *   the permissions or the principals by the attribute they read;
 * - on TCP filter chains (network RBAC) the HTTP-only fields (hosts, methods, paths, request headers,
 *   request principals, request.auth.*) make an ALLOW rule match nothing (it is skipped) and are dropped from a
 *   DENY or AUDIT rule (it denies more), as Istio does.
 * CUSTOM needs an external authorizer, which Isthmus has none of: its rules are enforced as DENY (fail closed).
 * RequestAuthentication (JWT) is not implemented: request principals never match a request.
 */
import { TYPE_URL } from '../../envoy/index.js';
import type { CidrRange, HeaderMatcher, RbacAction, RbacPermission, RbacPolicy, RbacPrincipal, RbacRules, StringMatcher, TypedExtension } from '../../envoy/index.js';
import type { AuthorizationCondition, AuthorizationOperation, AuthorizationRule, AuthorizationSource } from '../../api/index.js';
import type { AuthorizationPolicy, ProxyNode } from './input.js';
import { labelsMatch } from './scope.js';
import { resourceRef } from './warnings.js';
import type { WarningSink } from './warnings.js';

export interface AuthorizationContext {
  readonly policies: readonly AuthorizationPolicy[];
  readonly proxy: ProxyNode;
  readonly rootNamespace: string;
  /** The mesh trust domain: principals written for cluster.local also match it (Istio's trust domain alias). */
  readonly trustDomain: string;
  readonly warn: WarningSink;
}

/** The RBAC filters of a workload: HTTP filters go before the router, network filters before tcp_proxy. */
export interface AuthorizationFilters {
  readonly http: TypedExtension[];
  readonly network: TypedExtension[];
}

const nsOf = (p: AuthorizationPolicy) => p.metadata.namespace ?? 'default';
const SPIFFE = 'spiffe://';

/** The policies that apply to the proxy's workload (Istio's namespace, root namespace and selector scoping). */
export function authorizationPoliciesFor(policies: readonly AuthorizationPolicy[], proxy: ProxyNode, rootNamespace: string): AuthorizationPolicy[] {
  return policies.filter((p) => {
    const ns = nsOf(p);
    if (ns !== proxy.namespace && ns !== rootNamespace) return false;
    const selector = p.spec.selector?.matchLabels;
    return !selector || Object.keys(selector).length === 0 || labelsMatch(selector, proxy.labels);
  }).sort((a, b) => {
    const ka = `${nsOf(a)}/${a.metadata.name}`;
    const kb = `${nsOf(b)}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

// ---- Istio's string and header matchers (security/pkg/authz/matcher)

/** "*" -> required non-empty, "*x" suffix, "x*" prefix, else exact; a prefix (spiffe://) is put in front. */
export function stringMatcherWithPrefix(v: string, prefix = ''): StringMatcher {
  if (v === '*') return { safe_regex: { regex: '.+' } };
  if (v.startsWith('*')) return prefix === '' ? { suffix: v.slice(1) } : { safe_regex: { regex: `${escapeRegex(prefix)}.*${escapeRegex(v.slice(1))}` } };
  if (v.endsWith('*')) return { prefix: prefix + v.slice(0, -1) };
  return { exact: prefix + v };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function headerMatcher(name: string, v: string, ignoreCase = false): HeaderMatcher {
  if (v === '*') return { name, present_match: true };
  const fold = ignoreCase ? { ignore_case: true } : {};
  if (v.startsWith('*')) return { name, string_match: { suffix: v.slice(1), ...fold } };
  if (v.endsWith('*')) return { name, string_match: { prefix: v.slice(0, -1), ...fold } };
  return { name, string_match: { exact: v, ...fold } };
}

function cidr(v: string): CidrRange {
  const [address, len] = v.split('/');
  return len === undefined ? { address_prefix: address ?? v } : { address_prefix: address ?? v, prefix_len: Number(len) };
}

const NEVER_ID: RbacPrincipal = { not_id: { any: true } };

// ---- one attribute (key) with values / notValues -> a permission or a principal

type Kind = 'permission' | 'principal';

interface Attribute {
  readonly kind: Kind;
  /** Readable only from an HTTP request. */
  readonly httpOnly: boolean;
  readonly build: (value: string) => RbacPermission | RbacPrincipal;
}

function principalIds(v: string, trustDomain: string): RbacPrincipal {
  const ids = [v];
  // Istio's trust domain alias: cluster.local in a policy also names the mesh's own trust domain.
  if (v.startsWith('cluster.local/') && trustDomain !== 'cluster.local') ids.push(`${trustDomain}/${v.slice('cluster.local/'.length)}`);
  const matchers = ids.map((id): RbacPrincipal => ({ authenticated: { principal_name: stringMatcherWithPrefix(id, SPIFFE) } }));
  return matchers.length === 1 ? (matchers[0] as RbacPrincipal) : { or_ids: { ids: matchers } };
}

function namespaceId(v: string): RbacPrincipal {
  return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${v.replace(/\*/g, '.*')}/.*` } } } };
}

function attribute(key: string, trustDomain: string): Attribute | undefined {
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) return { kind: 'permission', httpOnly: true, build: (v) => ({ header: headerMatcher((header[1] as string).toLowerCase(), v) }) };
  switch (key) {
    case 'hosts': return { kind: 'permission', httpOnly: true, build: (v) => ({ header: headerMatcher(':authority', v, true) }) };
    case 'methods': return { kind: 'permission', httpOnly: true, build: (v) => ({ header: headerMatcher(':method', v) }) };
    case 'paths': return { kind: 'permission', httpOnly: true, build: (v) => ({ url_path: { path: stringMatcherWithPrefix(v) } }) };
    case 'ports':
    case 'destination.port': return { kind: 'permission', httpOnly: false, build: (v) => ({ destination_port: Number(v) }) };
    case 'destination.ip': return { kind: 'permission', httpOnly: false, build: (v) => ({ destination_ip: cidr(v) }) };
    case 'connection.sni': return { kind: 'permission', httpOnly: false, build: (v) => ({ requested_server_name: stringMatcherWithPrefix(v) }) };
    case 'principals':
    case 'source.principal': return { kind: 'principal', httpOnly: false, build: (v) => principalIds(v, trustDomain) };
    case 'namespaces':
    case 'source.namespace': return { kind: 'principal', httpOnly: false, build: namespaceId };
    case 'ipBlocks':
    case 'source.ip': return { kind: 'principal', httpOnly: false, build: (v) => ({ direct_remote_ip: cidr(v) }) };
    case 'remoteIpBlocks':
    case 'remote.ip': return { kind: 'principal', httpOnly: false, build: (v) => ({ remote_ip: cidr(v) }) };
    // JWT (RequestAuthentication) is not implemented: no request has a request principal or claims.
    case 'requestPrincipals':
    case 'request.auth.principal':
    case 'request.auth.audiences':
    case 'request.auth.presenter': return { kind: 'principal', httpOnly: true, build: () => NEVER_ID };
    default:
      if (key.startsWith('request.auth.claims')) return { kind: 'principal', httpOnly: true, build: () => NEVER_ID };
      return undefined;
  }
}

class SkipRule extends Error {}

interface Field { key: string; values?: readonly string[] | undefined; notValues?: readonly string[] | undefined }

interface BuildOptions { forTcp: boolean; action: RbacAction; trustDomain: string; warnOnce: (message: string) => void }

/** The AND terms of one field: its values ORed, its notValues ORed under a NOT. */
function fieldTerms(f: Field, kind: Kind, opts: BuildOptions): Array<RbacPermission | RbacPrincipal> {
  const values = f.values ?? [];
  const notValues = f.notValues ?? [];
  if (values.length === 0 && notValues.length === 0) return [];
  const attr = attribute(f.key, opts.trustDomain);
  if (!attr) {
    opts.warnOnce(`attribute "${f.key}" is not supported; ${opts.action === 'ALLOW' ? 'the rule matches nothing' : 'it is ignored'}`);
    if (opts.action === 'ALLOW') throw new SkipRule();
    return [];
  }
  if (attr.kind !== kind) return [];
  if (attr.httpOnly && opts.forTcp) {
    // Istio: an ALLOW rule that needs HTTP matches nothing on TCP; a DENY/AUDIT rule drops the field.
    if (opts.action === 'ALLOW') throw new SkipRule();
    return [];
  }
  if (f.key.startsWith('request.auth') || f.key === 'requestPrincipals') opts.warnOnce(`"${f.key}" needs RequestAuthentication (JWT), which Isthmus does not implement; no request has a request principal`);
  const out: Array<RbacPermission | RbacPrincipal> = [];
  const or = (items: Array<RbacPermission | RbacPrincipal>) =>
    items.length === 1 ? items[0] as RbacPermission | RbacPrincipal : kind === 'permission' ? { or_rules: { rules: items as RbacPermission[] } } : { or_ids: { ids: items as RbacPrincipal[] } };
  if (values.length > 0) out.push(or(values.map(attr.build)));
  if (notValues.length > 0) {
    const inner = or(notValues.map(attr.build));
    out.push(kind === 'permission' ? { not_rule: inner as RbacPermission } : { not_id: inner as RbacPrincipal });
  }
  return out;
}

const OPERATION_KEYS: ReadonlyArray<[string, keyof AuthorizationOperation, keyof AuthorizationOperation]> = [
  ['hosts', 'hosts', 'notHosts'], ['ports', 'ports', 'notPorts'], ['methods', 'methods', 'notMethods'], ['paths', 'paths', 'notPaths'],
];
const SOURCE_KEYS: ReadonlyArray<[string, keyof AuthorizationSource, keyof AuthorizationSource]> = [
  ['principals', 'principals', 'notPrincipals'], ['requestPrincipals', 'requestPrincipals', 'notRequestPrincipals'],
  ['namespaces', 'namespaces', 'notNamespaces'], ['ipBlocks', 'ipBlocks', 'notIpBlocks'], ['remoteIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'],
];

function conditionFields(when: readonly AuthorizationCondition[] | undefined): Field[] {
  return (when ?? []).map((c) => ({ key: c.key, values: c.values, notValues: c.notValues }));
}

function andPermission(terms: RbacPermission[]): RbacPermission {
  return { and_rules: { rules: terms.length > 0 ? terms : [{ any: true }] } };
}

function andPrincipal(terms: RbacPrincipal[]): RbacPrincipal {
  return { and_ids: { ids: terms.length > 0 ? terms : [{ any: true }] } };
}

/** One rule -> one policy, or undefined when the rule is skipped (an ALLOW rule that cannot match here). */
export function rulePolicy(rule: AuthorizationRule, opts: BuildOptions): RbacPolicy | undefined {
  try {
    const when = conditionFields(rule.when);
    const whenPermissions = when.flatMap((f) => fieldTerms(f, 'permission', opts)) as RbacPermission[];
    const whenPrincipals = when.flatMap((f) => fieldTerms(f, 'principal', opts)) as RbacPrincipal[];
    const operations = (rule.to ?? []).map((t) => t.operation ?? {});
    const sources = (rule.from ?? []).map((f) => f.source ?? {});
    const permissions = operations.length === 0
      ? [andPermission(whenPermissions)]
      : operations.map((op) => andPermission([
        ...OPERATION_KEYS.flatMap(([key, v, nv]) => fieldTerms({ key, values: op[v], notValues: op[nv] }, 'permission', opts)) as RbacPermission[],
        ...whenPermissions,
      ]));
    const principals = sources.length === 0
      ? [andPrincipal(whenPrincipals)]
      : sources.map((src) => andPrincipal([
        ...SOURCE_KEYS.flatMap(([key, v, nv]) => fieldTerms({ key, values: src[v], notValues: src[nv] }, 'principal', opts)) as RbacPrincipal[],
        ...whenPrincipals,
      ]));
    return { permissions, principals };
  } catch (err) {
    if (err instanceof SkipRule) return undefined;
    throw err;
  }
}

type IstioAction = 'AUDIT' | 'CUSTOM' | 'DENY' | 'ALLOW';
const ORDER: ReadonlyArray<[IstioAction, RbacAction]> = [['AUDIT', 'LOG'], ['CUSTOM', 'DENY'], ['DENY', 'DENY'], ['ALLOW', 'ALLOW']];

function rulesFor(policies: readonly AuthorizationPolicy[], forTcp: boolean, action: RbacAction, ctx: AuthorizationContext): RbacRules {
  const out: Record<string, RbacPolicy> = {};
  for (const p of policies) {
    const ref = resourceRef('AuthorizationPolicy', nsOf(p), p.metadata.name);
    const warned = new Set<string>();
    const warnOnce = (message: string) => {
      if (!forTcp && !warned.has(message)) ctx.warn(ref, message);
      warned.add(message);
    };
    (p.spec.rules ?? []).forEach((rule, i) => {
      const policy = rulePolicy(rule ?? {}, { forTcp, action, trustDomain: ctx.trustDomain, warnOnce });
      if (policy) out[`ns[${nsOf(p)}]-policy[${p.metadata.name}]-rule[${i}]`] = policy;
    });
  }
  return { action, policies: out };
}

/** The workload's RBAC filters in Istio's order, for HTTP filter chains and for TCP ones. */
export function buildAuthorization(ctx: AuthorizationContext): AuthorizationFilters {
  const applicable = authorizationPoliciesFor(ctx.policies, ctx.proxy, ctx.rootNamespace);
  const http: TypedExtension[] = [];
  const network: TypedExtension[] = [];
  for (const [istioAction, action] of ORDER) {
    const group = applicable.filter((p) => (p.spec.action ?? 'ALLOW') === istioAction);
    if (group.length === 0) continue;
    if (istioAction === 'CUSTOM') {
      for (const p of group) ctx.warn(resourceRef('AuthorizationPolicy', nsOf(p), p.metadata.name), `CUSTOM needs the external authorizer "${p.spec.provider?.name ?? ''}", which Isthmus does not call; the requests it selects are denied`);
    }
    http.push({ name: 'envoy.filters.http.rbac', typed_config: { '@type': TYPE_URL.httpRbac, rules: rulesFor(group, false, action, ctx) } });
    network.push({ name: 'envoy.filters.network.rbac', typed_config: { '@type': TYPE_URL.networkRbac, stat_prefix: 'tcp.', rules: rulesFor(group, true, action, ctx) } });
  }
  return { http, network };
}

const HCM_NAME = 'envoy.filters.network.http_connection_manager';
const TCP_PROXY_NAME = 'envoy.filters.network.tcp_proxy';

/**
 * Puts the RBAC filters into a listener's filter chains: the HTTP ones before the router of each HTTP
 * connection manager, the network ones right before each tcp_proxy. Returns the listener unchanged when
 * there are none.
 */
export function withAuthorization<L extends { filter_chains?: Array<{ filters?: TypedExtension[] }> }>(listener: L, filters: AuthorizationFilters): L {
  if (filters.http.length === 0 && filters.network.length === 0) return listener;
  const chains = listener.filter_chains?.map((chain) => {
    const out: TypedExtension[] = [];
    for (const f of chain.filters ?? []) {
      if (f.name === HCM_NAME && f.typed_config) {
        const hcm = f.typed_config as { http_filters?: TypedExtension[] };
        const httpFilters = [...(hcm.http_filters ?? [])];
        httpFilters.splice(Math.max(0, httpFilters.length - 1), 0, ...filters.http);
        out.push({ ...f, typed_config: { ...f.typed_config, http_filters: httpFilters } });
      } else if (f.name === TCP_PROXY_NAME) out.push(...filters.network, f);
      else out.push(f);
    }
    return { ...chain, filters: out };
  });
  return chains ? { ...listener, filter_chains: chains } : listener;
}
