/** Istio's DestinationRule validation (ValidateDestinationRule, validateTrafficPolicy, validateTLS). */
import { issue } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import type {
  ClientTLSSettings,
  ConnectionPoolSettings,
  DestinationRuleResource,
  LoadBalancerSettings,
  OutlierDetection,
  TrafficPolicy,
} from '../types.js';
import {
  durationIssues,
  exportToIssues,
  HOST_FIX,
  isDns1123Label,
  labelIssues,
  percentIssues,
  portIssues,
  selectorIssues,
  wildcardDomainProblem,
} from './common.js';

export function clientTlsIssues(path: FieldPath, tls: ClientTLSSettings | undefined): Issue[] {
  if (!tls) return [];
  const issues: Issue[] = [];
  const files = ['clientCertificate', 'privateKey', 'caCertificates'] as const;
  if (tls.mode === 'ISTIO_MUTUAL') {
    for (const field of [...files, 'credentialName'] as const) {
      if (tls[field]) issues.push(issue([...path, field], `ISTIO_MUTUAL TLS cannot have associated ${field}`, `remove ${field}, or use mode MUTUAL`));
    }
    return issues;
  }
  if ((tls.mode === 'SIMPLE' || tls.mode === 'MUTUAL') && tls.credentialName) {
    for (const field of files) {
      if (tls[field]) {
        issues.push(issue([...path, field], 'cannot specify client certificates or CA certificate if credentialName is set', `remove ${field}: the Secret named by credentialName provides it`));
      }
    }
    return issues;
  }
  if (tls.mode === 'MUTUAL') {
    const fix = 'set credentialName to a Secret with key/cert(/cacert), or clientCertificate and privateKey file paths';
    if (!tls.clientCertificate) issues.push(issue([...path, 'clientCertificate'], 'client certificate required for mutual tls', fix));
    if (!tls.privateKey) issues.push(issue([...path, 'privateKey'], 'private key required for mutual tls', fix));
  }
  return issues;
}

function loadBalancerIssues(path: FieldPath, lb: LoadBalancerSettings | undefined): Issue[] {
  const cookie = lb?.consistentHash?.httpCookie;
  if (!cookie) return [];
  const issues: Issue[] = [];
  const at = [...path, 'consistentHash', 'httpCookie'];
  if (!cookie.name) issues.push(issue([...at, 'name'], 'name required for HttpCookie', 'name the cookie to hash on'));
  if (!cookie.ttl) issues.push(issue([...at, 'ttl'], 'ttl required for HttpCookie', 'set ttl, e.g. 0s for a session cookie'));
  issues.push(...durationIssues([...at, 'ttl'], cookie.ttl === '0s' ? undefined : cookie.ttl));
  return issues;
}

function connectionPoolIssues(path: FieldPath, pool: ConnectionPoolSettings | undefined): Issue[] {
  if (!pool) return [];
  if (!pool.http && !pool.tcp) return [issue(path, 'connection pool must have at least one field', 'set tcp or http, or remove connectionPool')];
  const issues: Issue[] = [];
  const nonNegative = (p: FieldPath, v: number | undefined, what: string): void => {
    if (v !== undefined && v < 0) issues.push(issue(p, `${what} must be non-negative`, 'use 0 or a positive number'));
  };
  const http = pool.http;
  if (http) {
    nonNegative([...path, 'http', 'http1MaxPendingRequests'], http.http1MaxPendingRequests, 'http1 max pending requests');
    nonNegative([...path, 'http', 'http2MaxRequests'], http.http2MaxRequests, 'http2 max requests');
    nonNegative([...path, 'http', 'maxRequestsPerConnection'], http.maxRequestsPerConnection, 'max requests per connection');
    nonNegative([...path, 'http', 'maxRetries'], http.maxRetries, 'max retries');
    issues.push(...durationIssues([...path, 'http', 'idleTimeout'], http.idleTimeout));
  }
  const tcp = pool.tcp;
  if (tcp) {
    nonNegative([...path, 'tcp', 'maxConnections'], tcp.maxConnections, 'max connections');
    issues.push(...durationIssues([...path, 'tcp', 'connectTimeout'], tcp.connectTimeout));
    issues.push(...durationIssues([...path, 'tcp', 'maxConnectionDuration'], tcp.maxConnectionDuration));
  }
  return issues;
}

function outlierIssues(path: FieldPath, o: OutlierDetection | undefined): Issue[] {
  if (!o) return [];
  return [
    ...durationIssues([...path, 'interval'], o.interval),
    ...durationIssues([...path, 'baseEjectionTime'], o.baseEjectionTime),
    ...percentIssues([...path, 'maxEjectionPercent'], o.maxEjectionPercent),
    ...percentIssues([...path, 'minHealthPercent'], o.minHealthPercent),
  ];
}

function trafficPolicyIssues(path: FieldPath, policy: TrafficPolicy | undefined): Issue[] {
  if (!policy) return [];
  if (!policy.outlierDetection && !policy.connectionPool && !policy.loadBalancer && !policy.tls && !policy.portLevelSettings && !policy.tunnel) {
    return [issue(path, 'traffic policy must have at least one field', 'set tls, loadBalancer, connectionPool, outlierDetection or portLevelSettings, or remove trafficPolicy')];
  }
  const issues: Issue[] = [
    ...outlierIssues([...path, 'outlierDetection'], policy.outlierDetection),
    ...connectionPoolIssues([...path, 'connectionPool'], policy.connectionPool),
    ...loadBalancerIssues([...path, 'loadBalancer'], policy.loadBalancer),
    ...clientTlsIssues([...path, 'tls'], policy.tls),
  ];
  const seenPorts = new Map<number, number>();
  policy.portLevelSettings?.forEach((p, i) => {
    const at = [...path, 'portLevelSettings', i];
    if (!p.port || p.port.number === undefined) {
      issues.push(issue([...at, 'port', 'number'], 'portTrafficPolicy must have valid port', 'set port: {number: <1..65535>}'));
    } else {
      issues.push(...portIssues([...at, 'port', 'number'], p.port.number));
      const previous = seenPorts.get(p.port.number);
      if (previous !== undefined) {
        issues.push(issue([...at, 'port', 'number'], `port ${p.port.number} already has settings in portLevelSettings[${previous}]`, 'merge the two entries'));
      } else seenPorts.set(p.port.number, i);
    }
    if (!p.outlierDetection && !p.connectionPool && !p.loadBalancer && !p.tls) {
      issues.push(issue(at, 'port traffic policy must have at least one field', 'set tls, loadBalancer, connectionPool or outlierDetection'));
    } else {
      issues.push(...outlierIssues([...at, 'outlierDetection'], p.outlierDetection));
      issues.push(...connectionPoolIssues([...at, 'connectionPool'], p.connectionPool));
      issues.push(...loadBalancerIssues([...at, 'loadBalancer'], p.loadBalancer));
      issues.push(...clientTlsIssues([...at, 'tls'], p.tls));
    }
  });
  return issues;
}

export function validateDestinationRule(dr: DestinationRuleResource): Issue[] {
  const spec = dr.spec;
  const issues: Issue[] = [];
  if (!spec.host) {
    issues.push(issue(['spec', 'host'], 'host is required', 'set the service host this rule applies to, e.g. reviews.prod.svc.cluster.local'));
  } else {
    const problem = wildcardDomainProblem(spec.host);
    if (problem) issues.push(issue(['spec', 'host'], problem, HOST_FIX));
  }
  issues.push(...trafficPolicyIssues(['spec', 'trafficPolicy'], spec.trafficPolicy));

  const names = new Map<string, number>();
  spec.subsets?.forEach((subset, i) => {
    const at = ['spec', 'subsets', i];
    if (!subset.name) issues.push(issue([...at, 'name'], 'subset name cannot be empty', 'name the subset, e.g. v1'));
    else if (!isDns1123Label(subset.name)) issues.push(issue([...at, 'name'], `subset name is invalid: ${subset.name}`, 'use lower-case letters, digits and "-"'));
    else if (names.has(subset.name)) {
      issues.push(issue([...at, 'name'], `duplicate subset names: ${subset.name} (also subsets[${names.get(subset.name)}])`, 'give each subset a unique name'));
    } else names.set(subset.name, i);
    issues.push(...labelIssues([...at, 'labels'], subset.labels));
    issues.push(...trafficPolicyIssues([...at, 'trafficPolicy'], subset.trafficPolicy));
  });
  issues.push(...exportToIssues(['spec', 'exportTo'], dr.metadata.namespace, spec.exportTo, false));
  issues.push(...selectorIssues(['spec', 'workloadSelector', 'matchLabels'], spec.workloadSelector?.matchLabels));
  return issues;
}
