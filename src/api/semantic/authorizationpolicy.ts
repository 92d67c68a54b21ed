/** Istio's AuthorizationPolicy validation (ValidateAuthorizationPolicy, security.ValidateAttribute). */
import { issue } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import type { AuthorizationCondition, AuthorizationOperation, AuthorizationPolicyResource, AuthorizationSource } from '../types.js';
import { ipSubnetProblem, selectorIssues } from './common.js';

function emptyValueIssues(path: FieldPath, values: readonly string[] | undefined): Issue[] {
  const issues: Issue[] = [];
  values?.forEach((v, i) => {
    if (v === '') issues.push(issue([...path, i], 'empty value is not allowed', 'remove the empty entry'));
  });
  return issues;
}

function ipIssues(path: FieldPath, values: readonly string[] | undefined): Issue[] {
  const issues: Issue[] = [];
  values?.forEach((v, i) => {
    const problem = v === '' ? undefined : ipSubnetProblem(v);
    if (problem) issues.push(issue([...path, i], problem, 'use an IP address or CIDR block such as 10.0.0.0/8'));
  });
  return issues;
}

function portValueIssues(path: FieldPath, values: readonly string[] | undefined): Issue[] {
  const issues: Issue[] = [];
  values?.forEach((v, i) => {
    if (v !== '' && (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535)) {
      issues.push(issue([...path, i], `invalid port "${v}"`, 'use a port number in 1..65535, as a string'));
    }
  });
  return issues;
}

const SOURCE_FIELDS = [
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks',
] as const;
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

function sourceIssues(path: FieldPath, source: AuthorizationSource | undefined): Issue[] {
  if (!source) return [issue([...path, 'source'], '`from.source` must not be nil', 'add source: {principals: [...]} or remove this entry')];
  if (SOURCE_FIELDS.every((f) => (source[f] ?? []).length === 0)) {
    return [issue([...path, 'source'], '`from.source` must not be empty', 'set principals, namespaces or ipBlocks')];
  }
  const at = [...path, 'source'];
  return [
    ...SOURCE_FIELDS.flatMap((f) => emptyValueIssues([...at, f], source[f])),
    ...(['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const).flatMap((f) => ipIssues([...at, f], source[f])),
  ];
}

function operationIssues(path: FieldPath, op: AuthorizationOperation | undefined): Issue[] {
  if (!op) return [issue([...path, 'operation'], '`to.operation` must not be nil', 'add operation: {paths: [...]} or remove this entry')];
  if (OPERATION_FIELDS.every((f) => (op[f] ?? []).length === 0)) {
    return [issue([...path, 'operation'], '`to.operation` must not be empty', 'set hosts, ports, methods or paths')];
  }
  const at = [...path, 'operation'];
  return [
    ...OPERATION_FIELDS.flatMap((f) => emptyValueIssues([...at, f], op[f])),
    ...portValueIssues([...at, 'ports'], op.ports),
    ...portValueIssues([...at, 'notPorts'], op.notPorts),
  ];
}

/** The attributes Istio accepts in `when` conditions. */
function conditionKeyProblem(key: string): string | undefined {
  if (/^request\.headers\[[^\]]+\]$/.test(key)) return undefined;
  if (/^request\.auth\.claims(\[[^\]]+\])+$/.test(key)) return undefined;
  if (['request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'source.ip', 'remote.ip', 'source.namespace',
    'source.principal', 'destination.ip', 'destination.port', 'connection.sni'].includes(key)) return undefined;
  if (key.startsWith('experimental.envoy.filters.')) return undefined;
  return `unknown attribute "${key}"`;
}

function conditionIssues(path: FieldPath, c: AuthorizationCondition): Issue[] {
  if (!c.key) return [issue([...path, 'key'], '`key` must not be empty', 'name an attribute, e.g. source.ip or request.headers[x-user]')];
  const issues: Issue[] = [];
  const problem = conditionKeyProblem(c.key);
  if (problem) issues.push(issue([...path, 'key'], problem, 'use e.g. request.headers[x-user], source.ip, source.namespace, destination.port or request.auth.claims[iss]'));
  if ((c.values ?? []).length === 0 && (c.notValues ?? []).length === 0) {
    issues.push(issue(path, `at least one of \`values\` or \`notValues\` must be set for key ${c.key}`, 'add values (or notValues) to compare the attribute with'));
  }
  if (['source.ip', 'remote.ip', 'destination.ip'].includes(c.key)) {
    issues.push(...ipIssues([...path, 'values'], c.values), ...ipIssues([...path, 'notValues'], c.notValues));
  }
  if (c.key === 'destination.port') {
    issues.push(...portValueIssues([...path, 'values'], c.values), ...portValueIssues([...path, 'notValues'], c.notValues));
  }
  return issues;
}

export function validateAuthorizationPolicy(ap: AuthorizationPolicyResource): Issue[] {
  const spec = ap.spec;
  const issues: Issue[] = [...selectorIssues(['spec', 'selector', 'matchLabels'], spec.selector?.matchLabels)];
  const action = spec.action ?? 'ALLOW';
  if (action === 'DENY' && spec.rules === undefined) {
    issues.push(issue(['spec', 'rules'], 'a deny policy without `rules` is meaningless and has no effect', 'add rules that say what to deny'));
  }
  if (action === 'CUSTOM' && !spec.provider?.name) {
    issues.push(issue(['spec', 'provider', 'name'], 'an authorization policy with action CUSTOM must name a provider', 'set provider.name to an extension provider of the mesh'));
  }
  if (action !== 'CUSTOM' && spec.provider) {
    issues.push(issue(['spec', 'provider'], `provider can only be used with action CUSTOM, not ${action}`, 'remove provider or set action: CUSTOM'));
  }
  spec.rules?.forEach((rule, i) => {
    const at = ['spec', 'rules', i];
    if (rule.from && rule.from.length === 0) issues.push(issue([...at, 'from'], '`from` must not be empty', 'remove `from` to match any source'));
    rule.from?.forEach((f, j) => issues.push(...sourceIssues([...at, 'from', j], f.source)));
    if (rule.to && rule.to.length === 0) issues.push(issue([...at, 'to'], '`to` must not be empty', 'remove `to` to match any operation'));
    rule.to?.forEach((t, j) => issues.push(...operationIssues([...at, 'to', j], t.operation)));
    rule.when?.forEach((c, j) => issues.push(...conditionIssues([...at, 'when', j], c)));
  });
  return issues;
}
