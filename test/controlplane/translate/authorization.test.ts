/** AuthorizationPolicy -> Envoy RBAC (Istio's authz builder): field forms, actions, scoping, TCP rules, wiring. */
import { describe, expect, it } from 'vitest';
import { decodeAny, encodeAny, TYPE_URL, validateMessage } from '../../../src/envoy/index.js';
import type { FilterChain, Listener, RbacPermission, RbacPolicy, RbacPrincipal, TypedExtension } from '../../../src/envoy/index.js';
import { authorizationPoliciesFor, buildAuthorization, rulePolicy, translate } from '../../../src/controlplane/translate/index.js';
import type { AuthorizationPolicy, ConfigSnapshot, MeshService, ProxyNode } from '../../../src/controlplane/translate/index.js';
import type { AuthorizationRule } from '../../../src/api/index.js';

const proxy: ProxyNode = { id: 'sidecar~10.0.0.7~echo-1.apps~apps.svc.cluster.local', type: 'sidecar', namespace: 'apps', labels: { app: 'echo' } };

function ap(name: string, namespace: string, spec: AuthorizationPolicy['spec']): AuthorizationPolicy {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec };
}

const opts = (forTcp = false, action: 'ALLOW' | 'DENY' | 'LOG' = 'ALLOW') => ({ forTcp, action, trustDomain: 'cluster.local', warnOnce: () => undefined });
const and = (rules: RbacPermission[]): RbacPermission => ({ and_rules: { rules } });
const ids = (list: RbacPrincipal[]): RbacPrincipal => ({ and_ids: { ids: list } });
const ANY_PERMISSION = and([{ any: true }]);
const ANY_PRINCIPAL = ids([{ any: true }]);

describe('AuthorizationPolicy rule -> RBAC policy, field by field', () => {
  const cases: Array<[string, AuthorizationRule, RbacPolicy]> = [
    ['empty rule: matches everything', {}, { permissions: [ANY_PERMISSION], principals: [ANY_PRINCIPAL] }],
    ['principals: exact SPIFFE id, suffix, prefix and "*"', { from: [{ source: { principals: ['cluster.local/ns/a/sa/allowed', '*/sa/allowed', 'cluster.local/ns/a/*', '*'] } }] }, {
      permissions: [ANY_PERMISSION],
      principals: [ids([{ or_ids: { ids: [
        { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/allowed' } } },
        { authenticated: { principal_name: { safe_regex: { regex: 'spiffe://.*/sa/allowed' } } } },
        { authenticated: { principal_name: { prefix: 'spiffe://cluster.local/ns/a/' } } },
        { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } },
      ] } }])],
    }],
    ['notPrincipals', { from: [{ source: { notPrincipals: ['cluster.local/ns/a/sa/other'] } }] }, {
      permissions: [ANY_PERMISSION],
      principals: [ids([{ not_id: { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/other' } } } }])],
    }],
    ['namespaces and notNamespaces', { from: [{ source: { namespaces: ['a'], notNamespaces: ['b*'] } }] }, {
      permissions: [ANY_PERMISSION],
      principals: [ids([
        { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/a/.*' } } } },
        { not_id: { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/b.*/.*' } } } } },
      ])],
    }],
    ['ipBlocks, notIpBlocks, remoteIpBlocks', { from: [{ source: { ipBlocks: ['10.0.0.0/8', '192.168.1.1'], notIpBlocks: ['10.1.0.0/16'], remoteIpBlocks: ['203.0.113.0/24'] } }] }, {
      permissions: [ANY_PERMISSION],
      principals: [ids([
        { or_ids: { ids: [{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }, { direct_remote_ip: { address_prefix: '192.168.1.1' } }] } },
        { not_id: { direct_remote_ip: { address_prefix: '10.1.0.0', prefix_len: 16 } } },
        { remote_ip: { address_prefix: '203.0.113.0', prefix_len: 24 } },
      ])],
    }],
    ['two from entries: two principals (ORed)', { from: [{ source: { namespaces: ['a'] } }, { source: { ipBlocks: ['10.0.0.1'] } }] }, {
      permissions: [ANY_PERMISSION],
      principals: [ids([{ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/a/.*' } } } }]), ids([{ direct_remote_ip: { address_prefix: '10.0.0.1' } }])],
    }],
    ['hosts (case-insensitive :authority) and notHosts', { to: [{ operation: { hosts: ['Echo.apps', '*.example.com', 'api.*'], notHosts: ['*'] } }] }, {
      permissions: [and([
        { or_rules: { rules: [
          { header: { name: ':authority', string_match: { exact: 'Echo.apps', ignore_case: true } } },
          { header: { name: ':authority', string_match: { suffix: '.example.com', ignore_case: true } } },
          { header: { name: ':authority', string_match: { prefix: 'api.', ignore_case: true } } },
        ] } },
        { not_rule: { header: { name: ':authority', present_match: true } } },
      ])],
      principals: [ANY_PRINCIPAL],
    }],
    ['methods and notMethods', { to: [{ operation: { methods: ['GET', 'HEAD'], notMethods: ['DELETE'] } }] }, {
      permissions: [and([
        { or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }, { header: { name: ':method', string_match: { exact: 'HEAD' } } }] } },
        { not_rule: { header: { name: ':method', string_match: { exact: 'DELETE' } } } },
      ])],
      principals: [ANY_PRINCIPAL],
    }],
    ['paths: exact, prefix*, *suffix, and notPaths', { to: [{ operation: { paths: ['/exact', '/public*', '*.png'], notPaths: ['/public/secret*'] } }] }, {
      permissions: [and([
        { or_rules: { rules: [{ url_path: { path: { exact: '/exact' } } }, { url_path: { path: { prefix: '/public' } } }, { url_path: { path: { suffix: '.png' } } }] } },
        { not_rule: { url_path: { path: { prefix: '/public/secret' } } } },
      ])],
      principals: [ANY_PRINCIPAL],
    }],
    ['ports and notPorts', { to: [{ operation: { ports: ['8080'], notPorts: ['9090', '9091'] } }] }, {
      permissions: [and([{ destination_port: 8080 }, { not_rule: { or_rules: { rules: [{ destination_port: 9090 }, { destination_port: 9091 }] } } }])],
      principals: [ANY_PRINCIPAL],
    }],
    ['when: request header, destination.port, connection.sni, destination.ip go to the permissions', {
      to: [{ operation: { methods: ['GET'] } }],
      when: [
        { key: 'request.headers[X-User]', values: ['alice', 'bob*'], notValues: ['*bad'] },
        { key: 'destination.port', values: ['8080'] },
        { key: 'connection.sni', values: ['*.svc.cluster.local'] },
        { key: 'destination.ip', values: ['10.0.0.0/8'] },
      ],
    }, {
      permissions: [and([
        { header: { name: ':method', string_match: { exact: 'GET' } } },
        { or_rules: { rules: [{ header: { name: 'x-user', string_match: { exact: 'alice' } } }, { header: { name: 'x-user', string_match: { prefix: 'bob' } } }] } },
        { not_rule: { header: { name: 'x-user', string_match: { suffix: 'bad' } } } },
        { destination_port: 8080 },
        { requested_server_name: { suffix: '.svc.cluster.local' } },
        { destination_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } },
      ])],
      principals: [ANY_PRINCIPAL],
    }],
    ['when: source.principal, source.namespace, source.ip, remote.ip go to the principals', {
      when: [
        { key: 'source.principal', values: ['cluster.local/ns/a/sa/allowed'] },
        { key: 'source.namespace', notValues: ['b'] },
        { key: 'source.ip', values: ['10.0.0.1'] },
        { key: 'remote.ip', values: ['203.0.113.0/24'] },
      ],
    }, {
      permissions: [ANY_PERMISSION],
      principals: [ids([
        { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/allowed' } } },
        { not_id: { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/b/.*' } } } } },
        { direct_remote_ip: { address_prefix: '10.0.0.1' } },
        { remote_ip: { address_prefix: '203.0.113.0', prefix_len: 24 } },
      ])],
    }],
    ['requestPrincipals never match (no JWT); notRequestPrincipals always do', { from: [{ source: { requestPrincipals: ['*'] } }, { source: { notRequestPrincipals: ['*'] } }] }, {
      permissions: [ANY_PERMISSION],
      principals: [ids([{ not_id: { any: true } }]), ids([{ not_id: { not_id: { any: true } } }])],
    }],
  ];
  for (const [name, rule, want] of cases) {
    it(name, () => expect(rulePolicy(rule, opts())).toEqual(want));
  }

  it('a mesh trust domain other than cluster.local: cluster.local principals also name it (trust domain alias)', () => {
    const policy = rulePolicy({ from: [{ source: { principals: ['cluster.local/ns/a/sa/x'] } }] }, { ...opts(), trustDomain: 'mesh-a.example' });
    expect(policy?.principals).toEqual([ids([{ or_ids: { ids: [
      { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/x' } } },
      { authenticated: { principal_name: { exact: 'spiffe://mesh-a.example/ns/a/sa/x' } } },
    ] } }])]);
  });
});

describe('HTTP-only fields on TCP (Istio)', () => {
  const rule: AuthorizationRule = { from: [{ source: { principals: ['cluster.local/ns/a/sa/x'] } }], to: [{ operation: { ports: ['5432'], methods: ['GET'], paths: ['/admin*'] } }], when: [{ key: 'request.headers[x]', values: ['y'] }] };
  it('ALLOW: a rule that needs HTTP matches nothing (skipped)', () => {
    expect(rulePolicy(rule, opts(true, 'ALLOW'))).toBeUndefined();
    expect(rulePolicy({ from: [{ source: { requestPrincipals: ['*'] } }] }, opts(true, 'ALLOW'))).toBeUndefined();
  });
  it('DENY: the HTTP-only fields are dropped, the rest stays (denies more)', () => {
    expect(rulePolicy(rule, opts(true, 'DENY'))).toEqual({
      permissions: [and([{ destination_port: 5432 }])],
      principals: [ids([{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/a/sa/x' } } }])],
    });
    expect(rulePolicy({ to: [{ operation: { methods: ['GET'] } }] }, opts(true, 'DENY'))).toEqual({ permissions: [ANY_PERMISSION], principals: [ANY_PRINCIPAL] });
  });
  it('a rule with only TCP fields is the same on TCP and HTTP', () => {
    const tcpRule: AuthorizationRule = { from: [{ source: { namespaces: ['a'], ipBlocks: ['10.0.0.0/8'] } }], to: [{ operation: { ports: ['5432'] } }], when: [{ key: 'connection.sni', values: ['db'] }] };
    expect(rulePolicy(tcpRule, opts(true))).toEqual(rulePolicy(tcpRule, opts(false)));
  });
});

describe('scoping and actions', () => {
  const policies = [
    ap('mesh-wide', 'istio-system', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/debug*'] } }] }] }),
    ap('mesh-selector', 'istio-system', { selector: { matchLabels: { app: 'echo' } }, action: 'AUDIT', rules: [{}] }),
    ap('ns-wide', 'apps', { rules: [{ from: [{ source: { namespaces: ['a'] } }] }] }),
    ap('workload', 'apps', { selector: { matchLabels: { app: 'echo' } }, action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] }),
    ap('other-workload', 'apps', { selector: { matchLabels: { app: 'other' } }, rules: [{}] }),
    ap('other-ns', 'b', { rules: [{}] }),
  ];
  it('applies root-namespace policies mesh-wide, namespace policies to the namespace, selectors by labels', () => {
    expect(authorizationPoliciesFor(policies, proxy, 'istio-system').map((p) => p.metadata.name)).toEqual(['ns-wide', 'workload', 'mesh-selector', 'mesh-wide']);
  });
  it('one filter per action in Istio order: AUDIT (LOG), DENY, ALLOW; policies named ns[..]-policy[..]-rule[..]', () => {
    const built = buildAuthorization({ policies, proxy, rootNamespace: 'istio-system', trustDomain: 'cluster.local', warn: () => undefined });
    const rules = built.http.map((f) => f.typed_config?.rules as { action: string; policies: Record<string, unknown> });
    expect(rules.map((r) => [r.action, Object.keys(r.policies)])).toEqual([
      ['LOG', ['ns[istio-system]-policy[mesh-selector]-rule[0]']],
      ['DENY', ['ns[apps]-policy[workload]-rule[0]', 'ns[istio-system]-policy[mesh-wide]-rule[0]']],
      ['ALLOW', ['ns[apps]-policy[ns-wide]-rule[0]']],
    ]);
    expect(built.http.map((f) => [f.name, f.typed_config?.['@type']])).toEqual(Array(3).fill(['envoy.filters.http.rbac', TYPE_URL.httpRbac]));
    expect(built.network.map((f) => [f.name, f.typed_config?.stat_prefix])).toEqual(Array(3).fill(['envoy.filters.network.rbac', 'tcp.']));
    // On TCP the path-only DENY rules drop their paths and deny every connection (Istio: more restrictive).
    const tcpDeny = built.network[1]?.typed_config?.rules as { policies: Record<string, RbacPolicy> };
    expect(tcpDeny.policies['ns[apps]-policy[workload]-rule[0]']).toEqual({ permissions: [ANY_PERMISSION], principals: [ANY_PRINCIPAL] });
  });
  it('an empty spec is allow-nothing: an ALLOW filter without policies; no policy at all: no filter', () => {
    const built = buildAuthorization({ policies: [ap('allow-nothing', 'apps', {})], proxy, rootNamespace: 'istio-system', trustDomain: 'cluster.local', warn: () => undefined });
    expect(built.http.map((f) => f.typed_config?.rules)).toEqual([{ action: 'ALLOW', policies: {} }]);
    expect(built.network.map((f) => f.typed_config?.rules)).toEqual([{ action: 'ALLOW', policies: {} }]);
    expect(buildAuthorization({ policies: [], proxy, rootNamespace: 'istio-system', trustDomain: 'cluster.local', warn: () => undefined })).toEqual({ http: [], network: [] });
  });
  it('CUSTOM is enforced as DENY (no external authorizer), with a warning', () => {
    const warnings: string[] = [];
    const built = buildAuthorization({ policies: [ap('ext', 'apps', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { paths: ['/x'] } }] }] })], proxy, rootNamespace: 'istio-system', trustDomain: 'cluster.local', warn: (_r, m) => warnings.push(m) });
    expect((built.http[0]?.typed_config?.rules as { action: string }).action).toBe('DENY');
    expect(warnings[0]).toContain('opa');
  });
});

describe('wiring into listeners', () => {
  const services: MeshService[] = [{
    hostname: 'echo.apps.svc.cluster.local', namespace: 'apps', selector: { app: 'echo' },
    ports: [{ name: 'http', number: 80, protocol: 'HTTP', targetPort: 8080 }, { name: 'tcp-db', number: 5432, protocol: 'TCP' }],
  }];
  const snapshot: ConfigSnapshot = {
    authorizationPolicies: [
      ap('deny-admin', 'apps', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] }),
      ap('allow-a', 'apps', { selector: { matchLabels: { app: 'echo' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/a/sa/allowed'] } }], to: [{ operation: { methods: ['GET'], paths: ['/public*'] } }] }] }),
    ],
    peerAuthentications: [{ metadata: { name: 'default', namespace: 'istio-system' }, spec: { mtls: { mode: 'PERMISSIVE' } } }],
  };
  const out = translate(snapshot, proxy, { meshServices: services, healthListeners: false });
  const listener = (name: string): Listener => {
    const l = out.listeners.find((x) => x.name === name);
    if (!l) throw new Error(`no ${name}`);
    return l;
  };
  const names = (filters: TypedExtension[] | undefined) => (filters ?? []).map((f) => f.name);
  const httpFilters = (c: FilterChain | undefined) => (c?.filters?.[0]?.typed_config as unknown as { http_filters: TypedExtension[] }).http_filters;

  it('sidecar HTTP port: DENY then ALLOW before the router, on the mTLS and plaintext chains', () => {
    const l = listener('inbound|8080||');
    expect(l.filter_chains).toHaveLength(2);
    for (const chain of l.filter_chains ?? []) {
      expect(names(httpFilters(chain))).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.rbac', 'envoy.filters.http.router']);
      expect(httpFilters(chain).slice(0, 2).map((f) => (f.typed_config?.rules as { action: string }).action)).toEqual(['DENY', 'ALLOW']);
    }
  });

  it('sidecar TCP port: network RBAC before tcp_proxy; the HTTP-only ALLOW rule matches nothing there', () => {
    const chain = listener('inbound|5432||').filter_chains?.[0];
    expect(names(chain?.filters)).toEqual(['envoy.filters.network.rbac', 'envoy.filters.network.rbac', 'envoy.filters.network.tcp_proxy']);
    expect(chain?.filters?.[1]?.typed_config?.rules).toEqual({ action: 'ALLOW', policies: {} });
    expect(chain?.filters?.[0]?.typed_config?.rules).toEqual({ action: 'DENY', policies: { 'ns[apps]-policy[deny-admin]-rule[0]': { permissions: [ANY_PERMISSION], principals: [ANY_PRINCIPAL] } } });
  });

  it('outbound listeners get no RBAC', () => {
    const outbound = out.listeners.filter((l) => l.traffic_direction !== 'INBOUND');
    expect(JSON.stringify(outbound)).not.toContain('rbac');
  });

  it('the output passes the proxy schema and encodes as Envoy protos (round trip)', () => {
    const roundTrip = (name: string) => {
      const l = listener(name);
      const checked = validateMessage(l, 'Listener');
      expect(checked.valid ? [] : checked.errors).toEqual([]);
      return JSON.stringify(decodeAny(encodeAny(TYPE_URL.listener, l as unknown as Record<string, unknown>)));
    };
    const http = roundTrip('inbound|8080||');
    expect(http).toContain('{"authenticated":{"principal_name":{"exact":"spiffe://cluster.local/ns/a/sa/allowed"}}}');
    expect(http).toContain('{"url_path":{"path":{"prefix":"/public"}}}');
    // ALLOW with no policies is all defaults in proto3: "rules": {} still says allow-nothing.
    expect(roundTrip('inbound|5432||')).toContain('"rules":{},"stat_prefix":"tcp."');
  });

  it('gateway: a policy selecting the gateway labels goes into its HTTP connection managers', () => {
    const gwProxy: ProxyNode = { id: 'router~10.0.0.9~ingress-1.istio-ingress~istio-ingress.svc.cluster.local', type: 'router', namespace: 'istio-ingress', labels: { istio: 'ingressgateway' } };
    const gwSnapshot: ConfigSnapshot = {
      gateways: [{ metadata: { name: 'gw', namespace: 'istio-ingress' }, spec: { selector: { istio: 'ingressgateway' }, servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] } }],
      authorizationPolicies: [
        ap('gw-allow', 'istio-ingress', { selector: { matchLabels: { istio: 'ingressgateway' } }, rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8'] } }] }] }),
        ap('not-gw', 'istio-ingress', { selector: { matchLabels: { istio: 'egressgateway' } }, action: 'DENY', rules: [{}] }),
      ],
    };
    const gw = translate(gwSnapshot, gwProxy, { healthListeners: false });
    const l = gw.listeners.find((x) => x.name === '0.0.0.0_8080');
    const filters = httpFilters(l?.filter_chains?.[0]);
    expect(names(filters)).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.router']);
    expect(filters[0]?.typed_config?.rules).toEqual({ action: 'ALLOW', policies: { 'ns[istio-ingress]-policy[gw-allow]-rule[0]': { permissions: [ANY_PERMISSION], principals: [ids([{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }])] } } });
  });
});
