// Envoy's RBAC engine semantics, rule by rule, on hand-made subjects (the filters' inputs).
import { describe, expect, it } from 'vitest';
import type { RbacPermission, RbacPrincipal, RbacRules } from '../../../src/envoy/index.js';
import { compileRbac } from '../../../src/proxy/http/filters/rbac/index.js';
import type { RbacSubject } from '../../../src/proxy/http/filters/rbac/index.js';

const headers: Record<string, string> = { ':method': 'GET', ':authority': 'Echo.Apps:8080', ':path': '/public/a?x=1', 'x-user': 'alice', 'x-multi': 'a,b' };

const subject = (over: Partial<RbacSubject> = {}): RbacSubject => ({
  directRemoteIp: '10.1.2.3',
  remoteIp: '192.168.7.9',
  localIp: '127.0.0.1',
  localPort: 8080,
  serverName: 'outbound_.8080_._.echo.apps.svc.cluster.local',
  tls: true,
  peer: { uriSans: ['spiffe://cluster.local/ns/a/sa/allowed'], dnsSans: ['allowed.a.svc'], subject: 'CN=allowed,O=mesh' },
  header: (name) => headers[name],
  path: '/public/a',
  ...over,
});
const network = subject({ header: () => undefined, path: undefined });

const allowIf = (permission: RbacPermission, principal: RbacPrincipal = { any: true }): RbacRules => ({ action: 'ALLOW', policies: { p: { permissions: [permission], principals: [principal] } } });
const check = (rules: RbacRules, s: RbacSubject = subject()) => {
  const { engine, errors } = compileRbac(rules, 'rules');
  expect(errors).toEqual([]);
  return engine.evaluate(s).allowed;
};

describe('RBAC engine: permissions', () => {
  const cases: Array<[string, RbacPermission, boolean, RbacSubject?]> = [
    ['any', { any: true }, true],
    ['header :method exact', { header: { name: ':method', string_match: { exact: 'GET' } } }, true],
    ['header :method exact, other method', { header: { name: ':method', string_match: { exact: 'POST' } } }, false],
    ['header :authority ignore_case prefix', { header: { name: ':authority', string_match: { prefix: 'echo.apps', ignore_case: true } } }, true],
    ['header :authority case-sensitive prefix', { header: { name: ':authority', string_match: { prefix: 'echo.apps' } } }, false],
    ['header :path includes the query', { header: { name: ':path', suffix_match: '?x=1' } }, true],
    ['header contains', { header: { name: 'x-user', contains_match: 'lic' } }, true],
    ['header safe_regex (full match)', { header: { name: 'x-user', safe_regex_match: { regex: 'al' } } }, false],
    ['header safe_regex', { header: { name: 'x-user', safe_regex_match: { regex: 'al.*' } } }, true],
    ['header present', { header: { name: 'x-user', present_match: true } }, true],
    ['header present, missing', { header: { name: 'x-none', present_match: true } }, false],
    ['header inverted exact', { header: { name: 'x-user', exact_match: 'bob', invert_match: true } }, true],
    ['header inverted, missing header never matches', { header: { name: 'x-none', exact_match: 'bob', invert_match: true } }, false],
    ['header present_match false inverted on a missing header', { header: { name: 'x-none', present_match: false, invert_match: true } }, false],
    ['header on a network filter', { header: { name: ':method', present_match: true } }, false, network],
    ['url_path ignores the query', { url_path: { path: { exact: '/public/a' } } }, true],
    ['url_path prefix', { url_path: { path: { prefix: '/admin' } } }, false],
    ['url_path on a network filter', { url_path: { path: { prefix: '/' } } }, false, network],
    ['destination_port', { destination_port: 8080 }, true],
    ['destination_port other', { destination_port: 9090 }, false],
    ['destination_port_range is half-open', { destination_port_range: { start: 8000, end: 8080 } }, false],
    ['destination_ip', { destination_ip: { address_prefix: '127.0.0.0', prefix_len: 8 } }, true],
    ['destination_ip IPv4-mapped', { destination_ip: { address_prefix: '127.0.0.1' } }, true, subject({ localIp: '::ffff:127.0.0.1' })],
    ['requested_server_name', { requested_server_name: { suffix: '.svc.cluster.local' } }, true],
    ['and_rules', { and_rules: { rules: [{ destination_port: 8080 }, { header: { name: ':method', exact_match: 'GET' } }] } }, true],
    ['and_rules, one fails', { and_rules: { rules: [{ destination_port: 8080 }, { header: { name: ':method', exact_match: 'PUT' } }] } }, false],
    ['or_rules', { or_rules: { rules: [{ destination_port: 1 }, { destination_port: 8080 }] } }, true],
    ['not_rule', { not_rule: { url_path: { path: { prefix: '/admin' } } } }, true],
  ];
  for (const [name, permission, want, s] of cases) {
    it(`${name} -> ${want ? 'match' : 'no match'}`, () => expect(check(allowIf(permission), s)).toBe(want));
  }
});

describe('RBAC engine: principals', () => {
  const cases: Array<[string, RbacPrincipal, boolean, RbacSubject?]> = [
    ['any', { any: true }, true],
    ['authenticated, any name', { authenticated: {} }, true],
    ['authenticated, plaintext', { authenticated: {} }, false, subject({ tls: false, peer: undefined })],
    ['authenticated URI SAN exact', { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/allowed' } } }, true],
    ['authenticated URI SAN other', { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/other' } } }, false],
    ['authenticated namespace regex', { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/a/.*' } } } }, true],
    ['authenticated DNS SAN', { authenticated: { principal_name: { exact: 'allowed.a.svc' } } }, true],
    ['authenticated subject', { authenticated: { principal_name: { exact: 'CN=allowed,O=mesh' } } }, true],
    ['direct_remote_ip', { direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }, true],
    ['direct_remote_ip is not the XFF address', { direct_remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } }, false],
    ['remote_ip is the XFF address', { remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } }, true],
    ['source_ip is the connection peer', { source_ip: { address_prefix: '10.1.2.3' } }, true],
    ['IPv6 range never matches IPv4', { direct_remote_ip: { address_prefix: '::', prefix_len: 0 } }, false],
    ['header', { header: { name: 'x-user', exact_match: 'alice' } }, true],
    ['and_ids', { and_ids: { ids: [{ authenticated: {} }, { direct_remote_ip: { address_prefix: '10.1.2.3' } }] } }, true],
    ['or_ids', { or_ids: { ids: [{ direct_remote_ip: { address_prefix: '1.1.1.1' } }, { authenticated: {} }] } }, true],
    ['not_id', { not_id: { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/allowed' } } } }, false],
  ];
  for (const [name, principal, want, s] of cases) {
    it(`${name} -> ${want ? 'match' : 'no match'}`, () => expect(check(allowIf({ any: true }, principal), s)).toBe(want));
  }
});

describe('RBAC engine: actions', () => {
  const admin: RbacRules['policies'] = { 'b-admin': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } };
  it('ALLOW without policies refuses everything; DENY without policies allows everything', () => {
    expect(check({ action: 'ALLOW', policies: {} })).toBe(false);
    expect(check({ action: 'ALLOW' })).toBe(false);
    expect(check({ action: 'DENY', policies: {} })).toBe(true);
  });
  it('DENY refuses a match and names the policy; LOG never refuses', () => {
    const { engine } = compileRbac({ action: 'DENY', policies: admin }, 'rules');
    expect(engine.evaluate(subject({ path: '/admin/x' }))).toEqual({ allowed: false, policyId: 'b-admin' });
    expect(engine.evaluate(subject())).toEqual({ allowed: true });
    const log = compileRbac({ action: 'LOG', policies: admin }, 'rules').engine;
    expect(log.evaluate(subject({ path: '/admin/x' }))).toEqual({ allowed: true, policyId: 'b-admin' });
  });
  it('the first matching policy by name is reported', () => {
    const { engine } = compileRbac({ action: 'ALLOW', policies: { z: { permissions: [{ any: true }], principals: [{ any: true }] }, a: { permissions: [{ any: true }], principals: [{ any: true }] } } }, 'rules');
    expect(engine.evaluate(subject()).policyId).toBe('a');
  });
  it('config problems come back with field paths', () => {
    const { errors } = compileRbac({
      action: 'ALLOW',
      policies: {
        p: {
          permissions: [{ and_rules: { rules: [{ destination_port: 80, any: true }, { header: { name: 'x', safe_regex_match: { regex: '(' } } }] } }],
          principals: [{ or_ids: { ids: [{ direct_remote_ip: { address_prefix: 'not-an-ip' } }, { remote_ip: { address_prefix: '10.0.0.0', prefix_len: 33 } }] } }],
        },
        q: { permissions: [], principals: [{ any: true }] },
      },
    }, 'rules');
    expect(errors.map((e) => e.path)).toEqual([
      'rules.policies["p"].permissions[0].and_rules.rules[0]',
      'rules.policies["p"].permissions[0].and_rules.rules[1].header.safe_regex_match',
      'rules.policies["p"].principals[0].or_ids.ids[0].direct_remote_ip.address_prefix',
      'rules.policies["p"].principals[0].or_ids.ids[1].remote_ip.prefix_len',
      'rules.policies["q"].permissions',
    ]);
  });
});
