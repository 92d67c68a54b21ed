/** Istio's VirtualService validation (ValidateVirtualService and the route validators it calls). */
import { hostSubsetOf, hostsMatch } from '../hosts.js';
import { issue } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import type {
  Destination,
  HTTPMatchRequest,
  HTTPRoute,
  HTTPRouteDestination,
  L4MatchAttributes,
  RouteDestination,
  StringMatch,
  TLSMatchAttributes,
  TLSRoute,
  VirtualServiceResource,
} from '../types.js';
import {
  durationIssues,
  exportToIssues,
  gatewayNameIssues,
  ipSubnetProblem,
  isDns1123Label,
  isIpAddress,
  labelIssues,
  percentIssues,
  portIssues,
  regexIssues,
  wildcardDomainProblem,
  HOST_FIX,
} from './common.js';

export function destinationIssues(path: FieldPath, d: Destination | undefined): Issue[] {
  if (!d) return [issue(path, 'destination is required', 'add destination: {host: ...}')];
  const issues: Issue[] = [];
  if (!d.host) issues.push(issue([...path, 'host'], 'destination host is required', 'name the service host, e.g. reviews or api.example.com'));
  else if (d.host === '*') issues.push(issue([...path, 'host'], 'invalid destination host *', 'name one service host'));
  else {
    const problem = wildcardDomainProblem(d.host);
    if (problem) issues.push(issue([...path, 'host'], problem, HOST_FIX));
  }
  if (d.subset !== undefined && !isDns1123Label(d.subset)) {
    issues.push(issue([...path, 'subset'], d.subset === '' ? 'subset name cannot be empty' : `subset name is invalid: ${d.subset}`, 'use the name of a DestinationRule subset (lower-case letters, digits, "-")'));
  }
  if (d.port) issues.push(...portIssues([...path, 'port', 'number'], d.port.number));
  return issues;
}

/** Destinations with weights: each 0..100; with more than one, Istio requires a total of 100. */
function weightedIssues(path: FieldPath, routes: readonly (RouteDestination | HTTPRouteDestination)[]): Issue[] {
  const issues: Issue[] = [];
  let total = 0;
  routes.forEach((r, i) => {
    issues.push(...destinationIssues([...path, i, 'destination'], r.destination));
    issues.push(...percentIssues([...path, i, 'weight'], r.weight));
    total += r.weight ?? 0;
  });
  if (routes.length > 1 && total !== 100) {
    issues.push(issue(path, `total destination weight ${total} != 100`, 'make the weights of the destinations add up to 100'));
  }
  return issues;
}

function stringMatchIssues(path: FieldPath, m: StringMatch | undefined): Issue[] {
  return m ? regexIssues([...path, 'regex'], m.regex) : [];
}

function httpMatchIssues(path: FieldPath, m: HTTPMatchRequest): Issue[] {
  const issues: Issue[] = [];
  for (const field of ['uri', 'scheme', 'method', 'authority'] as const) issues.push(...stringMatchIssues([...path, field], m[field]));
  for (const field of ['headers', 'queryParams', 'withoutHeaders'] as const) {
    for (const [name, value] of Object.entries(m[field] ?? {})) {
      if (field !== 'queryParams' && name === '') issues.push(issue([...path, field], 'header name cannot be empty', 'name the header'));
      issues.push(...stringMatchIssues([...path, field, name], value));
    }
  }
  if (m.port !== undefined) issues.push(...portIssues([...path, 'port'], m.port));
  issues.push(...labelIssues([...path, 'sourceLabels'], m.sourceLabels));
  issues.push(...gatewayNameIssues([...path, 'gateways'], m.gateways));
  return issues;
}

function httpRouteIssues(path: FieldPath, http: HTTPRoute): Issue[] {
  const issues: Issue[] = [];
  const routes = http.route ?? [];
  if (http.delegate) {
    issues.push(issue([...path, 'delegate'], 'delegate VirtualServices are not supported by Isthmus', 'merge the delegate\'s routes into this VirtualService'));
  }
  if (http.redirect) {
    if (routes.length > 0) issues.push(issue(path, 'HTTP route cannot contain both route and redirect', 'keep either route or redirect'));
    if (http.fault) issues.push(issue(path, 'HTTP route cannot contain both fault and redirect', 'remove fault or redirect'));
    if (http.rewrite) issues.push(issue(path, 'HTTP route rule cannot contain both rewrite and redirect', 'remove rewrite or redirect'));
    if (http.directResponse) issues.push(issue(path, 'HTTP route cannot contain both redirect and directResponse', 'keep either redirect or directResponse'));
    const r = http.redirect;
    if (!r.uri && !r.authority && !r.scheme && r.port === undefined && !r.derivePort) {
      issues.push(issue([...path, 'redirect'], 'redirect must specify URI, authority, scheme, or port', 'set redirect.uri or redirect.authority'));
    }
    if (r.redirectCode !== undefined && (r.redirectCode < 300 || r.redirectCode > 399)) {
      issues.push(issue([...path, 'redirect', 'redirectCode'], `${r.redirectCode} is not a valid redirect code, must be 3xx`, 'use 301, 302, 303, 307 or 308'));
    }
  } else if (http.directResponse) {
    if (routes.length > 0) issues.push(issue(path, 'HTTP route cannot contain both route and directResponse', 'keep either route or directResponse'));
    const status = http.directResponse.status;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      issues.push(issue([...path, 'directResponse', 'status'], `directResponse.status ${status} must be in the range 200..599`, 'use an HTTP status code such as 200, 404 or 503'));
    }
  } else if (routes.length === 0 && !http.delegate) {
    issues.push(issue(path, 'HTTP route, redirect or direct response is required', 'add route: [{destination: {host: ...}}]'));
  }

  http.match?.forEach((m, i) => issues.push(...httpMatchIssues([...path, 'match', i], m)));
  issues.push(...weightedIssues([...path, 'route'], routes));
  if (http.mirror) issues.push(...destinationIssues([...path, 'mirror'], http.mirror));
  issues.push(...percentIssues([...path, 'mirrorPercentage', 'value'], http.mirrorPercentage?.value));
  issues.push(...durationIssues([...path, 'timeout'], http.timeout));

  if (http.rewrite && !http.rewrite.uri && !http.rewrite.authority && !http.rewrite.uriRegexRewrite) {
    issues.push(issue([...path, 'rewrite'], 'rewrite must specify URI, authority, or uriRegexRewrite', 'set rewrite.uri or rewrite.authority, or remove rewrite'));
  }
  if (http.rewrite?.uriRegexRewrite) issues.push(...regexIssues([...path, 'rewrite', 'uriRegexRewrite', 'match'], http.rewrite.uriRegexRewrite.match));

  const retries = http.retries;
  if (retries) {
    if (retries.attempts !== undefined && retries.attempts < 0) issues.push(issue([...path, 'retries', 'attempts'], 'attempts cannot be negative', 'use 0 to disable retries'));
    if (retries.attempts === 0 && (retries.perTryTimeout || retries.retryOn)) {
      issues.push(issue([...path, 'retries'], 'http retry policy configured when attempts are set to 0 (disabled)', 'set attempts above 0, or remove perTryTimeout and retryOn'));
    }
    issues.push(...durationIssues([...path, 'retries', 'perTryTimeout'], retries.perTryTimeout));
  }

  const fault = http.fault;
  if (fault) {
    if (!fault.abort && !fault.delay) issues.push(issue([...path, 'fault'], 'HTTP fault injection must have an abort and/or a delay', 'add fault.abort or fault.delay, or remove fault'));
    issues.push(...percentIssues([...path, 'fault', 'abort', 'percentage', 'value'], fault.abort?.percentage?.value));
    issues.push(...percentIssues([...path, 'fault', 'delay', 'percentage', 'value'], fault.delay?.percentage?.value));
    issues.push(...durationIssues([...path, 'fault', 'delay', 'fixedDelay'], fault.delay?.fixedDelay));
    const status = fault.abort?.httpStatus;
    if (status !== undefined && (status < 200 || status > 599)) {
      issues.push(issue([...path, 'fault', 'abort', 'httpStatus'], `HTTP status ${status} is not in range 200-599`, 'use an HTTP status code such as 503'));
    }
  }
  issues.push(...durationIssues([...path, 'corsPolicy', 'maxAge'], http.corsPolicy?.maxAge));
  return issues;
}

function l4MatchIssues(path: FieldPath, m: L4MatchAttributes | TLSMatchAttributes): Issue[] {
  const issues: Issue[] = [];
  m.destinationSubnets?.forEach((s, i) => {
    const problem = ipSubnetProblem(s);
    if (problem) issues.push(issue([...path, 'destinationSubnets', i], problem, 'use an IP address or CIDR block such as 10.0.0.0/8'));
  });
  if (m.port !== undefined) issues.push(...portIssues([...path, 'port'], m.port));
  issues.push(...labelIssues([...path, 'sourceLabels'], m.sourceLabels));
  issues.push(...gatewayNameIssues([...path, 'gateways'], m.gateways));
  return issues;
}

function tlsRouteIssues(path: FieldPath, route: TLSRoute, hosts: readonly string[]): Issue[] {
  const issues: Issue[] = [];
  const matches = route.match ?? [];
  if (matches.length === 0) {
    issues.push(issue([...path, 'match'], 'TLS route must have at least one match condition', 'add match: [{sniHosts: [...]}]'));
  }
  matches.forEach((m, i) => {
    const at = [...path, 'match', i];
    if (!m.sniHosts || m.sniHosts.length === 0) {
      issues.push(issue([...at, 'sniHosts'], 'TLS match must have at least one SNI host', 'list the SNI names this route accepts'));
    }
    m.sniHosts?.forEach((sni, j) => {
      const problem = wildcardDomainProblem(sni);
      if (problem && !isIpAddress(sni)) issues.push(issue([...at, 'sniHosts', j], problem, HOST_FIX));
      else if (!hosts.some((h) => hostSubsetOf(sni, h))) {
        issues.push(issue([...at, 'sniHosts', j], `SNI host "${sni}" is not a compatible subset of any of the virtual service hosts: [${hosts.join(', ')}]`, 'add the host to spec.hosts or fix the SNI name'));
      }
    });
    issues.push(...l4MatchIssues(at, m));
  });
  const routes = route.route ?? [];
  if (routes.length === 0) issues.push(issue([...path, 'route'], 'TLS route is required', 'add route: [{destination: {host: ...}}]'));
  issues.push(...weightedIssues([...path, 'route'], routes));
  return issues;
}

export function validateVirtualService(vs: VirtualServiceResource): Issue[] {
  const spec = vs.spec;
  const issues: Issue[] = [];
  const hosts = spec.hosts ?? [];
  const gateways = spec.gateways ?? [];
  const appliesToMesh = gateways.length === 0 || gateways.includes('mesh');

  if (hosts.length === 0) {
    issues.push(issue(['spec', 'hosts'], 'virtual service must have at least one host', 'list the hosts this VirtualService routes (delegate VirtualServices are not supported)'));
  }
  issues.push(...gatewayNameIssues(['spec', 'gateways'], gateways));

  let allHostsValid = true;
  hosts.forEach((h, i) => {
    const problem = wildcardDomainProblem(h);
    if (problem && !isIpAddress(h)) {
      issues.push(issue(['spec', 'hosts', i], problem, HOST_FIX));
      allHostsValid = false;
    } else if (appliesToMesh && h === '*') {
      issues.push(issue(['spec', 'hosts', i], 'wildcard host * is not allowed for virtual services bound to the mesh gateway', 'bind it to a gateway with spec.gateways, or name the hosts'));
      allHostsValid = false;
    }
  });
  if (allHostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (hostsMatch(hosts[i] as string, hosts[j] as string)) {
          issues.push(issue(['spec', 'hosts', j], `duplicate hosts in virtual service: ${hosts[i]} & ${hosts[j]}`, 'keep one of the two hosts'));
        }
      }
    }
  }

  const http = spec.http ?? [];
  const tls = spec.tls ?? [];
  const tcp = spec.tcp ?? [];
  if (http.length === 0 && tls.length === 0 && tcp.length === 0) {
    issues.push(issue(['spec'], 'http, tcp or tls must be provided in virtual service', 'add an http, tls or tcp route'));
  }
  http.forEach((r, i) => issues.push(...httpRouteIssues(['spec', 'http', i], r)));
  tls.forEach((r, i) => issues.push(...tlsRouteIssues(['spec', 'tls', i], r, hosts)));
  tcp.forEach((r, i) => {
    r.match?.forEach((m, j) => issues.push(...l4MatchIssues(['spec', 'tcp', i, 'match', j], m)));
    const routes = r.route ?? [];
    if (routes.length === 0) issues.push(issue(['spec', 'tcp', i, 'route'], 'TCP route is required', 'add route: [{destination: {host: ...}}]'));
    issues.push(...weightedIssues(['spec', 'tcp', i, 'route'], routes));
  });
  issues.push(...exportToIssues(['spec', 'exportTo'], vs.metadata.namespace, spec.exportTo, false));
  return issues;
}
