/**
 * Envoy's RBAC engine (source/extensions/filters/common/rbac): policies of permissions and principals,
 * compiled once into predicates, shared by the HTTP and the network filter. A policy matches when one of
 * its permissions and one of its principals match. ALLOW admits a request only when a policy matches,
 * DENY refuses it when one does, LOG never refuses (it marks the request for the access log).
 *
 * Compilation collects config problems with their field paths instead of throwing.
 */
import { BlockList, isIP, isIPv6 } from 'node:net';
import type { CidrRange, HeaderMatcher, RbacAction, RbacPermission, RbacPolicy, RbacPrincipal, RbacRules, StringMatcher } from '../../../../envoy/index.js';
import type { PeerIdentity } from '../../../listener/connection-info.js';
import { stringMatcher } from '../../../matchers.js';
import type { StringPredicate } from '../../../matchers.js';
import type { FieldError } from '../../filter.js';

/** What the engine may look at: the connection always, the request only in the HTTP filter. */
export interface RbacSubject {
  readonly directRemoteIp: string;
  /** The client address after x-forwarded-for (HTTP); the connection's peer otherwise. */
  readonly remoteIp: string;
  readonly localIp: string;
  readonly localPort: number;
  readonly serverName?: string;
  /** Set only when the connection is TLS with a peer certificate (Envoy: an SSL connection). */
  readonly tls: boolean;
  readonly peer?: PeerIdentity;
  /** Header lookup (pseudo-headers :method, :path, :authority included); undefined on a network filter. */
  header(name: string): string | undefined;
  /** The path without query and fragment; undefined on a network filter. */
  readonly path?: string;
}

type Predicate = (s: RbacSubject) => boolean;

export interface EngineResult {
  readonly allowed: boolean;
  /** The matched policy's name, when one matched. */
  readonly policyId?: string;
}

export interface RbacEngine {
  readonly action: RbacAction;
  evaluate(subject: RbacSubject): EngineResult;
}

class Compiler {
  readonly errors: FieldError[] = [];

  private fail(path: string, message: string): Predicate {
    this.errors.push({ path, message });
    return () => false;
  }

  private string(m: StringMatcher | undefined, path: string): StringPredicate | undefined {
    if (!m) return undefined;
    try {
      return stringMatcher(m);
    } catch (err) {
      this.errors.push({ path, message: (err as Error).message });
      return () => false;
    }
  }

  private cidr(range: CidrRange, path: string): Predicate | ((ip: string) => boolean) {
    const address = range.address_prefix;
    if (isIP(address) === 0) return this.fail(`${path}.address_prefix`, `"${address}" is not an IP address`);
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    const max = family === 'ipv6' ? 128 : 32;
    const len = range.prefix_len ?? max;
    if (!Number.isInteger(len) || len < 0 || len > max) return this.fail(`${path}.prefix_len`, `must be 0..${max} for ${address}`);
    const list = new BlockList();
    list.addSubnet(address, len, family);
    return (ip: string) => {
      const addr = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
      const kind = isIP(addr);
      if (kind === 0 || (kind === 6) !== (family === 'ipv6')) return false;
      return list.check(addr, family);
    };
  }

  private ipPredicate(range: CidrRange, path: string, pick: (s: RbacSubject) => string): Predicate {
    const test = this.cidr(range, path) as (ip: string) => boolean;
    return (s) => test(pick(s));
  }

  /** Envoy's HeaderUtility::matchHeaders, including the rules for a missing header. */
  private header(m: HeaderMatcher, path: string): Predicate {
    const name = m.name.toLowerCase();
    const invert = m.invert_match === true;
    let test: StringPredicate | undefined;
    if (m.exact_match !== undefined) test = this.string({ exact: m.exact_match }, `${path}.exact_match`);
    else if (m.prefix_match !== undefined) test = this.string({ prefix: m.prefix_match }, `${path}.prefix_match`);
    else if (m.suffix_match !== undefined) test = this.string({ suffix: m.suffix_match }, `${path}.suffix_match`);
    else if (m.contains_match !== undefined) test = this.string({ contains: m.contains_match }, `${path}.contains_match`);
    else if (m.safe_regex_match !== undefined) test = this.string({ safe_regex: m.safe_regex_match }, `${path}.safe_regex_match`);
    else if (m.string_match !== undefined) test = this.string(m.string_match, `${path}.string_match`);
    else if (m.present_match !== undefined) {
      const want = m.present_match;
      return (s) => ((s.header(name) !== undefined) === want) !== invert;
    }
    const match = test ?? (() => true); // no matcher: presence
    return (s) => {
      let v = s.header(name);
      if (v === undefined && m.treat_missing_header_as_empty) v = '';
      if (v === undefined) return false;
      return match(v) !== invert;
    };
  }

  private urlPath(m: { path?: StringMatcher } | undefined, path: string): Predicate {
    if (!m?.path) return this.fail(`${path}.path`, 'a path matcher needs `path`');
    const test = this.string(m.path, `${path}.path`) ?? (() => false);
    return (s) => s.path !== undefined && test(s.path);
  }

  permission(p: RbacPermission, path: string): Predicate {
    const set = Object.keys(p).filter((k) => (p as Record<string, unknown>)[k] !== undefined);
    if (set.length !== 1) return this.fail(path, `a permission needs exactly one rule, found ${set.length === 0 ? 'none' : set.join(' and ')}`);
    if (p.any !== undefined) return p.any ? () => true : this.fail(`${path}.any`, 'must be true');
    if (p.and_rules) {
      const rules = (p.and_rules.rules ?? []).map((r, i) => this.permission(r, `${path}.and_rules.rules[${i}]`));
      return (s) => rules.every((r) => r(s));
    }
    if (p.or_rules) {
      const rules = (p.or_rules.rules ?? []).map((r, i) => this.permission(r, `${path}.or_rules.rules[${i}]`));
      return (s) => rules.some((r) => r(s));
    }
    if (p.not_rule) {
      const rule = this.permission(p.not_rule, `${path}.not_rule`);
      return (s) => !rule(s);
    }
    if (p.header) return this.header(p.header, `${path}.header`);
    if (p.url_path) return this.urlPath(p.url_path, `${path}.url_path`);
    if (p.destination_ip) return this.ipPredicate(p.destination_ip, `${path}.destination_ip`, (s) => s.localIp);
    if (p.destination_port !== undefined) {
      const port = p.destination_port;
      if (!Number.isInteger(port) || port < 0 || port > 65535) return this.fail(`${path}.destination_port`, `${port} is not a port`);
      return (s) => s.localPort === port;
    }
    if (p.destination_port_range) {
      const { start = 0, end = 0 } = p.destination_port_range;
      if (start > end) return this.fail(`${path}.destination_port_range`, `start ${start} is greater than end ${end}`);
      return (s) => s.localPort >= start && s.localPort < end; // [start, end), as Envoy's Int32Range
    }
    if (p.requested_server_name) {
      const test = this.string(p.requested_server_name, `${path}.requested_server_name`) ?? (() => false);
      return (s) => test(s.serverName ?? '');
    }
    return this.fail(path, `unsupported permission rule "${set[0]}"`);
  }

  principal(p: RbacPrincipal, path: string): Predicate {
    const set = Object.keys(p).filter((k) => (p as Record<string, unknown>)[k] !== undefined);
    if (set.length !== 1) return this.fail(path, `a principal needs exactly one identifier, found ${set.length === 0 ? 'none' : set.join(' and ')}`);
    if (p.any !== undefined) return p.any ? () => true : this.fail(`${path}.any`, 'must be true');
    if (p.and_ids) {
      const ids = (p.and_ids.ids ?? []).map((r, i) => this.principal(r, `${path}.and_ids.ids[${i}]`));
      return (s) => ids.every((r) => r(s));
    }
    if (p.or_ids) {
      const ids = (p.or_ids.ids ?? []).map((r, i) => this.principal(r, `${path}.or_ids.ids[${i}]`));
      return (s) => ids.some((r) => r(s));
    }
    if (p.not_id) {
      const id = this.principal(p.not_id, `${path}.not_id`);
      return (s) => !id(s);
    }
    if (p.authenticated) {
      const test = this.string(p.authenticated.principal_name, `${path}.authenticated.principal_name`);
      // Envoy: an SSL connection; any URI SAN, then any DNS SAN, then the subject must match the name.
      return (s) => {
        if (!s.tls || !s.peer) return false;
        if (!test) return true;
        return s.peer.uriSans.some(test) || s.peer.dnsSans.some(test) || test(s.peer.subject);
      };
    }
    if (p.source_ip) return this.ipPredicate(p.source_ip, `${path}.source_ip`, (s) => s.directRemoteIp);
    if (p.direct_remote_ip) return this.ipPredicate(p.direct_remote_ip, `${path}.direct_remote_ip`, (s) => s.directRemoteIp);
    if (p.remote_ip) return this.ipPredicate(p.remote_ip, `${path}.remote_ip`, (s) => s.remoteIp);
    if (p.header) return this.header(p.header, `${path}.header`);
    if (p.url_path) return this.urlPath(p.url_path, `${path}.url_path`);
    return this.fail(path, `unsupported principal identifier "${set[0]}"`);
  }

  policy(policy: RbacPolicy, path: string): Predicate {
    if (!policy.permissions?.length) return this.fail(`${path}.permissions`, 'a policy needs at least one permission');
    if (!policy.principals?.length) return this.fail(`${path}.principals`, 'a policy needs at least one principal');
    const permissions = policy.permissions.map((p, i) => this.permission(p, `${path}.permissions[${i}]`));
    const principals = policy.principals.map((p, i) => this.principal(p, `${path}.principals[${i}]`));
    return (s) => permissions.some((p) => p(s)) && principals.some((p) => p(s));
  }
}

/**
 * Compiles an RBAC rule set (envoy.config.rbac.v3.RBAC). Policies are tried in name order (Envoy keeps
 * them in an ordered map), so the reported policy is the first matching by name.
 */
export function compileRbac(rules: RbacRules, path: string): { engine: RbacEngine; errors: FieldError[] } {
  const compiler = new Compiler();
  const action: RbacAction = rules.action ?? 'ALLOW';
  if (!['ALLOW', 'DENY', 'LOG'].includes(action)) compiler.errors.push({ path: `${path}.action`, message: `"${String(action)}" is not one of ALLOW, DENY, LOG` });
  const policies = Object.entries(rules.policies ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, policy]) => ({ name, matches: compiler.policy(policy, `${path}.policies["${name}"]`) }));
  const engine: RbacEngine = {
    action,
    evaluate(subject) {
      const matched = policies.find((p) => p.matches(subject));
      const id = matched ? { policyId: matched.name } : {};
      switch (action) {
        case 'ALLOW': return { allowed: matched !== undefined, ...id };
        case 'DENY': return { allowed: matched === undefined, ...id };
        default: return { allowed: true, ...id };
      }
    },
  };
  return { engine, errors: compiler.errors };
}

/** Envoy's response code details for a refused request or connection. */
export function deniedDetails(policyId: string | undefined): string {
  return `rbac_access_denied_matched_policy[${policyId ?? 'none'}]`;
}
