/**
 * Building blocks of Istio's semantic validation (istio/istio pkg/config/validation): DNS names, ports,
 * protocols, exportTo, label selectors. Each returns issues at the path it is given.
 */
import { isIP } from 'node:net';
import { safeRegexProblem } from '../../common/index.js';
import { issue, warning } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import type { Labels } from '../types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const WILDCARD_LABEL = /^\*[-a-z0-9]*$/;

/** Also false for a non-string (a YAML null or number where a name belongs). */
export function isDns1123Label(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 63 && DNS1123_LABEL.test(value);
}

/** Why a domain name is invalid, or undefined. Istio checks labels, length and an all-numeric TLD. */
function dnsLabelsProblem(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] as string;
  if (/^\d+$/.test(tld)) return `domain name "${domain}" invalid (top level domain "${tld}" cannot be all-numeric)`;
  for (const [i, label] of parts.entries()) {
    if (i === parts.length - 1 && label === '') return undefined; // "istio.io." is an unambiguous FQDN
    if (!isDns1123Label(label)) return `domain name "${domain}" invalid (label "${label}" invalid)`;
  }
  return undefined;
}

function lengthProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty domain name not allowed';
  if (name.length > 255) return `domain name "${name.slice(0, 20)}..." too long (max 255)`;
  return undefined;
}

export function fqdnProblem(name: string): string | undefined {
  return lengthProblem(name) ?? dnsLabelsProblem(name);
}

/** A domain name with an optional wildcard first label: "*", "*.example.com", "api.example.com". */
export function wildcardDomainProblem(name: string): string | undefined {
  const length = lengthProblem(name);
  if (length) return length;
  const dot = name.indexOf('.');
  const first = dot < 0 ? name : name.slice(0, dot);
  if (!isDns1123Label(first) && !WILDCARD_LABEL.test(first)) return `domain name "${name}" invalid (label "${first}" invalid)`;
  return dot < 0 ? undefined : dnsLabelsProblem(name.slice(dot + 1));
}

/** The fix for any bad host name. */
export const HOST_FIX = 'use a DNS name such as app.example.com; a wildcard only as the whole first label (*.example.com)';

export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/** "10.0.0.0/8", "2001:db8::/32" or a plain address, as Istio's ValidateIPSubnet. */
export function ipSubnetProblem(value: string): string | undefined {
  const parts = value.split('/');
  if (parts.length === 1) return isIpAddress(value) ? undefined : `${value} is not a valid IP`;
  const [ip, bits] = parts as [string, string];
  const family = isIP(ip);
  const max = family === 4 ? 32 : 128;
  if (parts.length !== 2 || family === 0 || !/^\d+$/.test(bits) || Number(bits) > max) return `${value} is not a valid CIDR block`;
  return undefined;
}

export function portIssues(path: FieldPath, port: number | undefined, required = true): Issue[] {
  if (port === undefined) return required ? [issue(path, 'port number is required', 'set a port number in 1..65535')] : [];
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return [issue(path, `port number ${port} must be in the range 1..65535`, 'use a port number in 1..65535')];
  }
  return [];
}

export type Protocol = 'HTTP' | 'HTTPS' | 'HTTP2' | 'GRPC' | 'GRPC-WEB' | 'HTTP_PROXY' | 'TCP' | 'TLS' | 'UDP' | 'MONGO' | 'REDIS' | 'MYSQL';

const PROTOCOLS: readonly Protocol[] = ['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY', 'TCP', 'TLS', 'UDP', 'MONGO', 'REDIS', 'MYSQL'];

/** Istio's protocol.Parse: case-insensitive, undefined when unsupported. */
export function parseProtocol(value: string | undefined): Protocol | undefined {
  const upper = (value ?? '').toUpperCase();
  return PROTOCOLS.find((p) => p === upper);
}

export function isHttpProtocol(p: Protocol | undefined): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB' || p === 'HTTP_PROXY';
}

export function isTlsProtocol(p: Protocol | undefined): boolean {
  return p === 'HTTPS' || p === 'TLS';
}

export function protocolIssues(path: FieldPath, value: string | undefined, required: boolean): Issue[] {
  if (value === undefined || value === '') {
    return required ? [issue(path, 'protocol is required', `set one of ${PROTOCOLS.join(', ')}`)] : [];
  }
  return parseProtocol(value) ? [] : [issue(path, `unsupported protocol "${value}"`, `use one of ${PROTOCOLS.join(', ')}`)];
}

export function portNameIssues(path: FieldPath, name: string | undefined): Issue[] {
  if (!name) return [issue(path, 'port name must be set', 'name the port, e.g. http, https, tls or tcp-db')];
  return isDns1123Label(name) ? [] : [issue(path, `invalid port name "${name}"`, 'use lower-case letters, digits and "-" (a DNS-1123 label)')];
}

/**
 * exportTo: "." (own namespace), "*" (everyone), "~" (nobody; ServiceEntry only) or namespace names,
 * without duplicates and without mixing "*" or "~" with anything else.
 */
export function exportToIssues(path: FieldPath, namespace: string, exportTo: readonly string[] | undefined, isServiceEntry: boolean): Issue[] {
  if (!exportTo || exportTo.length === 0) return [];
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of exportTo.entries()) {
    const key = entry === '.' ? namespace : entry;
    if (seen.has(key)) {
      issues.push(issue([...path, i], key !== entry ? `duplicate entries in exportTo: . and current namespace ${namespace}` : `duplicate entries in exportTo for entry ${entry}`, 'remove the duplicate entry'));
      continue;
    }
    seen.add(key);
    if (entry === '~' && !isServiceEntry) {
      issues.push(issue([...path, i], 'exportTo "~" is only allowed for ServiceEntry', 'use "." to keep it in this namespace'));
    } else if (entry !== '.' && entry !== '*' && entry !== '~' && !isDns1123Label(entry)) {
      issues.push(issue([...path, i], `invalid exportTo value "${entry}"`, 'use ".", "*" or a namespace name'));
    }
  }
  if (seen.has('*') && exportTo.length > 1) {
    issues.push(issue(path, 'cannot have both public (*) and non-public exportTo values for a resource', 'keep only "*"'));
  }
  if (seen.has('~') && exportTo.length > 1) {
    issues.push(issue(path, 'cannot export service entry to no one (~) and someone', 'keep only "~" or remove it'));
  }
  return issues;
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const [prefix, name] = slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (slash >= 0 && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return `invalid label key prefix "${prefix}"`;
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) return `invalid label key "${key}"`;
  return undefined;
}

/** Kubernetes label syntax, as Istio's labels.Instance.Validate. */
export function labelIssues(path: FieldPath, labels: Labels | undefined): Issue[] {
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) issues.push(issue([...path, key], keyProblem, 'label keys are [prefix/]name: letters, digits, "-", "_" and ".", name at most 63 characters'));
    if (value.length > 63 || !LABEL_VALUE.test(value)) issues.push(issue([...path, key], `invalid label value "${value}"`, 'label values: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit'));
  }
  return issues;
}

/** Workload selectors: no empty keys, no wildcards. */
export function selectorIssues(path: FieldPath, labels: Labels | undefined): Issue[] {
  const issues: Issue[] = [];
  const rest: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (key === '') issues.push(issue([...path, key], `empty key is not supported in selector: "=${value}"`, 'remove the entry or give it a label key'));
    else if (key.includes('*') || value.includes('*')) {
      issues.push(issue([...path, key], `wildcard is not supported in selector: "${key}=${value}"`, 'select with exact label values'));
    } else rest[key] = value;
  }
  return [...issues, ...labelIssues(path, rest)];
}

const DURATION = /^(\d+)(\.\d{1,9})?s$/;

/** proto3 JSON durations ("5s", "0.250s"); Istio needs at least 1ms and millisecond precision. */
export function durationIssues(path: FieldPath, value: string | undefined): Issue[] {
  if (value === undefined) return [];
  const m = DURATION.exec(value);
  if (!m) return [issue(path, `invalid duration "${value}"`, 'write seconds with an "s" suffix, e.g. 5s or 0.250s')];
  const ms = Number(m[1]) * 1000 + Number(`0${m[2] ?? ''}`) * 1000;
  if (ms < 1) return [issue(path, 'duration must be greater than 1ms', 'use at least 0.001s')];
  if (!Number.isInteger(Math.round(ms * 1e6) / 1e6)) return [issue(path, 'only durations to ms precision are supported', 'round to milliseconds, e.g. 0.250s')];
  return [];
}

export function percentIssues(path: FieldPath, value: number | undefined): Issue[] {
  if (value === undefined) return [];
  return value < 0 || value > 100 ? [issue(path, `percentage ${value} is not in range 0..100`, 'use a value from 0 to 100')] : [];
}

/**
 * A gateway reference in a VirtualService: "mesh", "name", "namespace/name", or the legacy FQDN form
 * "name.namespace.svc.cluster.local" (accepted with a warning, as Istio does).
 */
export function gatewayNameIssues(path: FieldPath, names: readonly string[] | undefined): Issue[] {
  const issues: Issue[] = [];
  for (const [i, name] of (names ?? []).entries()) {
    const at = [...path, i];
    const slash = name.indexOf('/');
    if (slash < 0) {
      const problem = fqdnProblem(name);
      if (problem) issues.push(issue(at, `invalid gateway name: ${problem}`, 'use "mesh", "<name>" or "<namespace>/<name>"'));
      else if (name.includes('.')) {
        const [gw, ns] = name.split('.');
        issues.push(warning(at, `using legacy gatewayName format "${name}"`, `prefer the <namespace>/<name> format: "${ns}/${gw}"`));
      }
      continue;
    }
    const [ns, gw] = [name.slice(0, slash), name.slice(slash + 1)];
    if (ns === '' || gw === '') {
      issues.push(issue(at, 'config namespace and gateway name cannot be empty', 'write "<namespace>/<name>"'));
      continue;
    }
    if (!isDns1123Label(ns)) issues.push(issue(at, `invalid value for namespace: "${ns}"`, 'namespaces are lower-case letters, digits and "-"'));
    if (!isDns1123Label(gw)) issues.push(issue(at, `invalid value for gateway name: "${gw}"`, 'gateway names are lower-case letters, digits and "-" (no dots)'));
  }
  return issues;
}

/** RE2 is not JavaScript's dialect, but a regex JavaScript rejects is almost always broken in RE2 too. */
export function regexIssues(path: FieldPath, pattern: string | undefined): Issue[] {
  if (pattern === undefined) return [];
  if (/\(\?[=!<]/.test(pattern)) return [issue(path, `regex "${pattern}" uses lookaround, which RE2 does not support`, 'rewrite it without (?=, (?! or (?<')];
  try {
    new RegExp(pattern);
  } catch (err) {
    return [issue(path, `invalid regex "${pattern}": ${(err as Error).message}`, 'Istio uses RE2 syntax (https://github.com/google/re2/wiki/Syntax)')];
  }
  // The proxy matches in linear time and refuses what it cannot (see src/common/safe-regex.ts): say so here first.
  const problem = safeRegexProblem(pattern);
  return problem ? [issue(path, `regex "${pattern}" ${problem.reason}`, problem.fix)] : [];
}
