/** Istio's Gateway validation (ValidateGateway / validateServer / validateTLSOptions). */
import { issue, warning } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import type { GatewayResource, Server, ServerTLSSettings } from '../types.js';
import {
  isDns1123Label,
  isHttpProtocol,
  isIpAddress,
  isTlsProtocol,
  parseProtocol,
  portIssues,
  protocolIssues,
  selectorIssues,
  wildcardDomainProblem,
  HOST_FIX,
} from './common.js';

/** A server host: "host" or "namespace/host", where namespace is ".", "*" or a name and host is FQDN-ish. */
function serverHostIssues(path: FieldPath, host: string): Issue[] {
  const slash = host.indexOf('/');
  const [ns, name] = slash < 0 ? [undefined, host] : [host.slice(0, slash), host.slice(slash + 1)];
  const issues: Issue[] = [];
  if (ns !== undefined) {
    if (ns === '' || name === '') return [issue(path, 'config namespace and dnsName in host entry cannot be empty', 'write "namespace/host"')];
    if (ns !== '*' && ns !== '.' && !isDns1123Label(ns)) issues.push(issue(path, `invalid namespace value "${ns}" in gateway`, 'use ".", "*" or a namespace name'));
  }
  if (name !== '*' && !name.includes('.') && !isIpAddress(name)) {
    issues.push(issue(path, `short names (non FQDN) are not allowed: "${name}"`, 'use a fully qualified name, e.g. app.example.com, or "*"'));
  }
  const problem = wildcardDomainProblem(name);
  if (problem && !isIpAddress(name)) issues.push(issue(path, problem, HOST_FIX));
  return issues;
}

function hasCertFiles(tls: ServerTLSSettings): boolean {
  return Boolean(tls.serverCertificate || tls.privateKey || tls.caCertificates);
}

const PROTOCOL_ORDER = ['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3'];

function tlsOptionIssues(path: FieldPath, tls: ServerTLSSettings): Issue[] {
  const mode = tls.mode ?? 'PASSTHROUGH';
  const issues: Issue[] = [];
  if (mode === 'ISTIO_MUTUAL') {
    // ISTIO_MUTUAL uses the workload's own mesh certificate; anything else would be ignored.
    for (const field of ['serverCertificate', 'privateKey', 'caCertificates', 'credentialName'] as const) {
      if (tls[field]) issues.push(issue([...path, field], `ISTIO_MUTUAL TLS cannot have associated ${field}`, `remove ${field}, or use mode MUTUAL`));
    }
    return issues;
  }
  if (mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL') {
    if (tls.credentialName) {
      if (hasCertFiles(tls)) {
        issues.push(warning([...path, 'credentialName'], 'credentialName is set, so serverCertificate/privateKey/caCertificates are ignored', 'remove the file fields'));
      }
    } else {
      const fix = 'set credentialName to a Secret with key/cert (and cacert for MUTUAL), or serverCertificate and privateKey file paths';
      if (!tls.serverCertificate) issues.push(issue([...path, 'serverCertificate'], `${mode} TLS requires a server certificate`, fix));
      if (!tls.privateKey) issues.push(issue([...path, 'privateKey'], `${mode} TLS requires a private key`, fix));
      if (mode !== 'SIMPLE' && !tls.caCertificates) {
        issues.push(issue([...path, 'caCertificates'], `${mode} TLS requires a client CA bundle`, 'set caCertificates, or use credentialName with a Secret that has cacert'));
      }
    }
  }
  const min = PROTOCOL_ORDER.indexOf(tls.minProtocolVersion ?? 'TLS_AUTO');
  const max = PROTOCOL_ORDER.indexOf(tls.maxProtocolVersion ?? 'TLS_AUTO');
  if (min > 0 && max > 0 && min > max) {
    issues.push(issue([...path, 'minProtocolVersion'], 'minProtocolVersion is higher than maxProtocolVersion', 'swap them, or remove one'));
  }
  return issues;
}

function serverIssues(path: FieldPath, server: Server): Issue[] {
  const issues: Issue[] = [];
  if (!server.hosts || server.hosts.length === 0) {
    issues.push(issue([...path, 'hosts'], 'server config must contain at least one host', 'list the hosts this server accepts, or "*"'));
  } else {
    server.hosts.forEach((h, i) => issues.push(...serverHostIssues([...path, 'hosts', i], h)));
  }

  const port = server.port;
  if (!port) {
    issues.push(issue([...path, 'port'], 'port is required', 'add port: {number, name, protocol}'));
  } else {
    issues.push(...portIssues([...path, 'port', 'number'], port.number));
    issues.push(...protocolIssues([...path, 'port', 'protocol'], port.protocol, true));
    if (!port.name) issues.push(issue([...path, 'port', 'name'], 'port name must be set', 'name the port, e.g. http, https or tls'));
    if (port.targetPort !== undefined) issues.push(...portIssues([...path, 'port', 'targetPort'], port.targetPort));
  }

  const tls = server.tls;
  if (tls) issues.push(...tlsOptionIssues([...path, 'tls'], tls));

  const protocol = port ? parseProtocol(port.protocol) : undefined;
  if (protocol) {
    if (isTlsProtocol(protocol) && !tls) {
      issues.push(issue([...path, 'tls'], 'server must have TLS settings for HTTPS/TLS protocols', 'add tls: {mode: SIMPLE, credentialName: ...}'));
    } else if (!isTlsProtocol(protocol) && tls) {
      if (isHttpProtocol(protocol)) {
        // A plain-text HTTP server may carry tls only to redirect to HTTPS.
        if ((tls.mode && tls.mode !== 'PASSTHROUGH') || hasCertFiles(tls) || tls.credentialName) {
          issues.push(issue([...path, 'tls'], 'server cannot have TLS settings for plain text HTTP ports', 'use protocol HTTPS, or keep only tls.httpsRedirect'));
        }
      } else {
        issues.push(issue([...path, 'tls'], `server cannot have TLS settings for non HTTPS/TLS ports (protocol ${port?.protocol})`, 'use protocol TLS or HTTPS'));
      }
    }
    if (tls?.mode === 'AUTO_PASSTHROUGH' && protocol !== 'TLS') {
      issues.push(issue([...path, 'tls', 'mode'], `AUTO_PASSTHROUGH is only supported with protocol TLS, not ${port?.protocol}`, 'set port.protocol to TLS'));
    }
    if (tls?.httpsRedirect && !isHttpProtocol(protocol)) {
      issues.push(warning([...path, 'tls', 'httpsRedirect'], 'tls.httpsRedirect should only be used with http servers', 'remove httpsRedirect'));
    }
  }
  return issues;
}

export function validateGateway(gw: GatewayResource): Issue[] {
  const issues: Issue[] = [];
  // Gateway names end up in route names and gateway references; Istio requires a DNS label (no dots).
  if (!isDns1123Label(gw.metadata.name)) {
    issues.push(issue(['metadata', 'name'], `invalid gateway name: "${gw.metadata.name}"`, 'use lower-case letters, digits and "-" only'));
  }
  const servers = gw.spec.servers ?? [];
  if (servers.length === 0) {
    issues.push(issue(['spec', 'servers'], 'gateway must have at least one server', 'add a server with port, hosts (and tls)'));
  }
  servers.forEach((s, i) => issues.push(...serverIssues(['spec', 'servers', i], s)));

  const portNames = new Map<string, number>();
  servers.forEach((s, i) => {
    const name = s.port?.name;
    if (!name) return;
    if (portNames.has(name)) {
      issues.push(issue(['spec', 'servers', i, 'port', 'name'], `port names in servers must be unique: duplicate name ${name} (also used by servers[${portNames.get(name)}])`, 'give each server port its own name'));
    } else portNames.set(name, i);
  });
  issues.push(...selectorIssues(['spec', 'selector'], gw.spec.selector));
  return issues;
}
