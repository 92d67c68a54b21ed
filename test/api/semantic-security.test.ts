// PeerAuthentication and AuthorizationPolicy rules, each with its exact field path.
import { describe, expect, test } from 'vitest';
import { errorLines, expectOnlyError, load, sec } from './helpers.js';

const pa = (spec: Record<string, unknown>) => sec('PeerAuthentication', spec, 'pa', 'shop');
const ap = (spec: Record<string, unknown>) => sec('AuthorizationPolicy', spec, 'ap', 'shop');

describe('PeerAuthentication validation', () => {
  test('valid policies pass: namespace STRICT, workload with a port exception', () => {
    const result = load(pa({ mtls: { mode: 'STRICT' } }), { ...pa({ selector: { matchLabels: { app: 'db' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '9000': { mode: 'DISABLE' } } }), metadata: { name: 'db', namespace: 'shop' } });
    expect(result.errors).toEqual([]);
    expect(result.resources).toHaveLength(2);
  });

  test('mtls modes are Istio\'s', () => {
    const e = expectOnlyError(load(pa({ mtls: { mode: 'REQUIRED' } })), 'spec.mtls.mode', '"REQUIRED" is not a valid value');
    expect(e.fix).toBe('use one of UNSET, DISABLE, PERMISSIVE, STRICT');
    expectOnlyError(load(pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '80': { mode: 'OFF' } } })), 'spec.portLevelMtls["80"].mode', '"OFF" is not a valid value');
  });

  test('port-level mTLS needs a workload selector and real port numbers', () => {
    expectOnlyError(load(pa({ mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } })), 'spec.portLevelMtls', 'mesh/namespace peer authentication cannot have port level mTLS');
    expectOnlyError(load(pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '0': { mode: 'DISABLE' } } })), 'spec.portLevelMtls["0"]', 'port cannot be 0');
    expectOnlyError(load(pa({ selector: { matchLabels: { app: 'a' } }, portLevelMtls: {} })), 'spec.portLevelMtls', 'port level mTLS, if defined, must have at least one element');
  });
});

describe('AuthorizationPolicy validation', () => {
  test('valid policies pass: allow by principal and path, deny by source IP, allow-nothing', () => {
    const result = load(
      ap({ selector: { matchLabels: { app: 'api' } }, rules: [{ from: [{ source: { principals: ['spiffe://cluster.local/ns/shop/sa/web'] } }], to: [{ operation: { methods: ['GET'], paths: ['/v1/*'], ports: ['8080'] } }], when: [{ key: 'request.headers[x-user]', values: ['alice'] }] }] }),
      { ...ap({ action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8'] } }] }] }), metadata: { name: 'deny', namespace: 'shop' } },
      { ...ap({}), metadata: { name: 'allow-nothing', namespace: 'shop' } },
    );
    expect(result.errors).toEqual([]);
    expect(result.resources).toHaveLength(3);
  });

  test('action must be one of Istio\'s', () => {
    expectOnlyError(load(ap({ action: 'REJECT', rules: [] })), 'spec.action', '"REJECT" is not a valid value');
  });

  test('DENY without rules, CUSTOM without provider, provider without CUSTOM', () => {
    expectOnlyError(load(ap({ action: 'DENY' })), 'spec.rules', 'a deny policy without `rules` is meaningless and has no effect');
    expectOnlyError(load(ap({ action: 'CUSTOM', rules: [{}] })), 'spec.provider.name', 'an authorization policy with action CUSTOM must name a provider');
    expectOnlyError(load(ap({ provider: { name: 'ext-authz' }, rules: [{}] })), 'spec.provider', 'provider can only be used with action CUSTOM, not ALLOW');
  });

  test('rule shape: from/to entries need a non-empty source/operation', () => {
    expectOnlyError(load(ap({ rules: [{ from: [] }] })), 'spec.rules[0].from', '`from` must not be empty');
    expectOnlyError(load(ap({ rules: [{ from: [{}] }] })), 'spec.rules[0].from[0].source', '`from.source` must not be nil');
    expectOnlyError(load(ap({ rules: [{ from: [{ source: {} }] }] })), 'spec.rules[0].from[0].source', '`from.source` must not be empty');
    expectOnlyError(load(ap({ rules: [{ to: [{ operation: {} }] }] })), 'spec.rules[0].to[0].operation', '`to.operation` must not be empty');
    expectOnlyError(load(ap({ rules: [{ to: [{ operation: { paths: ['/a', ''] } }] }] })), 'spec.rules[0].to[0].operation.paths[1]', 'empty value is not allowed');
  });

  test('IP blocks, ports and condition keys are checked', () => {
    expectOnlyError(load(ap({ rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/40'] } }] }] })), 'spec.rules[0].from[0].source.ipBlocks[0]', '10.0.0.0/40 is not a valid CIDR block');
    expectOnlyError(load(ap({ rules: [{ to: [{ operation: { ports: ['http'] } }] }] })), 'spec.rules[0].to[0].operation.ports[0]', 'invalid port "http"');
    expectOnlyError(load(ap({ rules: [{ when: [{ key: 'request.user', values: ['a'] }] }] })), 'spec.rules[0].when[0].key', 'unknown attribute "request.user"');
    expect(errorLines(load(ap({ rules: [{ when: [{ key: 'source.ip' }] }] })))).toEqual(['spec.rules[0].when[0]: at least one of `values` or `notValues` must be set for key source.ip']);
  });
});
