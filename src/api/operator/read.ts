/**
 * Reads an IstioOperator as istioctl install does, and resolves it into what Isthmus runs: a control
 * plane (istiod) and gateways. Fields without an effect here (images, Kubernetes scheduling) give a
 * warning naming their path; fields whose absence would change routing or security (an unknown pilot
 * env var, multi-cluster values, components that cannot run here such as CNI) are errors.
 */
import { parseAllDocuments } from 'yaml';
import { errorMessage } from '../../common/index.js';
import { formatPath, issue, warning } from '../paths.js';
import type { FieldPath, Issue } from '../paths.js';
import { caCertificatesIssues, PATH_NORMALIZATIONS } from '../semantic/meshconfig.js';
import type { MeshCaCertificate, MeshConfigSpec, PathNormalizationMode } from '../types.js';
import type {
  GatewayKind, OperatorControlPlane, OperatorGateway, OperatorInstall, OperatorProfile, OperatorServicePort, PilotSettings, ReadOperatorOptions,
} from './types.js';

export const OPERATOR_API_VERSION = 'install.istio.io/v1alpha1';
const PROFILES: readonly OperatorProfile[] = ['default', 'minimal', 'empty', 'demo'];
const REVISION = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Pilot env vars that become control-plane flags. */
const PILOT_FLAGS: Readonly<Record<string, keyof PilotSettings>> = {
  PILOT_FILTER_GATEWAY_CLUSTER_CONFIG: 'filterGatewayClusterConfig',
  VERIFY_CERTIFICATE_AT_CLIENT: 'verifyCertificateAtClient',
  PILOT_SKIP_VALIDATE_TRUST_DOMAIN: 'skipValidateTrustDomain',
};
/** Pilot env vars that tune istiod itself (pushes, status, tracing): no effect on what proxies get. */
const PILOT_ENV_NO_EFFECT = new Set([
  'PILOT_TRACE_SAMPLING', 'PILOT_ENABLE_STATUS', 'PILOT_ENABLE_ANALYSIS', 'PILOT_PUSH_THROTTLE', 'PILOT_DEBOUNCE_AFTER', 'PILOT_DEBOUNCE_MAX',
  'PILOT_ENABLE_CONFIG_DISTRIBUTION_TRACKING', 'PILOT_XDS_CACHE_SIZE', 'PILOT_ENABLE_XDS_CACHE', 'GODEBUG', 'GOMAXPROCS',
]);
/** Istio's default Service ports of a gateway (manifests/charts/gateways). */
export const DEFAULT_GATEWAY_PORTS: readonly OperatorServicePort[] = [
  { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
  { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
  { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

class Reader {
  readonly issues: Issue[] = [];
  error(path: FieldPath, message: string, fix: string): void {
    this.issues.push(issue(path, message, fix));
  }
  warn(path: FieldPath, message: string, fix: string): void {
    this.issues.push(warning(path, message, fix));
  }
  /** Warns for every key of `obj` not in `known`. */
  unknownKeys(obj: Obj, path: FieldPath, known: readonly string[], what = 'has no effect in Isthmus (no Kubernetes here)', fix = 'remove it, or keep it for a real cluster: it is ignored'): void {
    for (const key of Object.keys(obj)) if (!known.includes(key)) this.warn([...path, key], `${what}`, fix);
  }
  object(value: unknown, path: FieldPath): Obj | undefined {
    if (value === undefined || value === null) return undefined;
    if (!isObj(value)) {
      this.error(path, 'must be a map', 'write it as key: value lines');
      return undefined;
    }
    return value;
  }
  bool(value: unknown, path: FieldPath): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    this.error(path, `must be true or false, not ${JSON.stringify(value)}`, 'write true or false');
    return undefined;
  }
  string(value: unknown, path: FieldPath): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    this.error(path, 'must be a string', 'write a quoted string');
    return undefined;
  }
  labels(value: unknown, path: FieldPath): Record<string, string> {
    const obj = this.object(value, path) ?? {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj)) {
      const s = this.string(v, [...path, k]);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
  /** k8s.env: [{name, value}] -> name -> value; valueFrom cannot be resolved here. */
  env(value: unknown, path: FieldPath): Array<{ name: string; value: string; path: FieldPath }> {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.error(path, 'must be a list of {name, value}', 'write - name: X\\n  value: "Y"');
      return [];
    }
    const out: Array<{ name: string; value: string; path: FieldPath }> = [];
    value.forEach((entry: unknown, i) => {
      const p = [...path, i];
      if (!isObj(entry) || typeof entry['name'] !== 'string') {
        this.error(p, 'an env entry needs a name', 'write - name: X\\n  value: "Y"');
        return;
      }
      if (entry['valueFrom'] !== undefined) {
        this.error([...p, 'valueFrom'], `${entry['name']}: valueFrom cannot be resolved outside Kubernetes`, 'give the value inline with value:');
        return;
      }
      out.push({ name: entry['name'], value: this.string(entry['value'], [...p, 'value']) ?? '', path: p });
    });
    return out;
  }
}

/** Istio's boolean env parsing (strconv.ParseBool). */
function envBool(r: Reader, value: string, path: FieldPath, name: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (['1', 't', 'true'].includes(v)) return true;
  if (['0', 'f', 'false', ''].includes(v)) return false;
  r.error([...path, 'value'], `${name} must be "true" or "false", not ${JSON.stringify(value)}`, `write value: "true"`);
  return undefined;
}

function readPilot(r: Reader, pilot: Obj | undefined, valuesPilotEnv: Obj | undefined): PilotSettings {
  const settings: { -readonly [K in keyof PilotSettings]: boolean } = { filterGatewayClusterConfig: false, verifyCertificateAtClient: false, skipValidateTrustDomain: false };
  const base: FieldPath = ['spec', 'components', 'pilot'];
  const k8s = pilot ? r.object(pilot['k8s'], [...base, 'k8s']) : undefined;
  if (pilot) r.unknownKeys(pilot, base, ['enabled', 'k8s', 'hub', 'tag', 'namespace']);
  if (k8s) r.unknownKeys(k8s, [...base, 'k8s'], ['env']);
  const entries = r.env(k8s?.['env'], [...base, 'k8s', 'env']);
  for (const [name, value] of Object.entries(valuesPilotEnv ?? {})) entries.push({ name, value: String(value), path: ['spec', 'values', 'pilot', 'env', name] });
  for (const entry of entries) {
    const flag = PILOT_FLAGS[entry.name];
    if (flag) {
      const b = envBool(r, entry.value, entry.path, entry.name);
      if (b !== undefined) settings[flag] = b;
    } else if (PILOT_ENV_NO_EFFECT.has(entry.name)) {
      r.warn(entry.path, `${entry.name} tunes istiod itself and has no effect in Isthmus`, 'remove it, or keep it: it is ignored');
    } else {
      r.error(entry.path, `pilot env ${entry.name} is not supported; ignoring it could change what proxies are sent (routing or security)`,
        `remove it; Isthmus honours ${Object.keys(PILOT_FLAGS).join(', ')}`);
    }
  }
  return settings;
}

const MESH_CONFIG_KNOWN = ['accessLogFile', 'accessLogEncoding', 'accessLogFormat', 'defaultConfig', 'enablePrometheusMerge', 'trustDomain', 'outboundTrafficPolicy', 'enableTracing', 'enableAutoMtls', 'trustDomainAliases', 'pathNormalization', 'caCertificates'];

function readMeshConfig(r: Reader, mesh: Obj | undefined): { meshConfig: MeshConfigSpec | undefined; trustDomain: string; proxyMetadata: Record<string, string> } {
  const base: FieldPath = ['spec', 'meshConfig'];
  const out: { -readonly [K in keyof MeshConfigSpec]: MeshConfigSpec[K] } = {};
  const proxyMetadata: Record<string, string> = {};
  let trustDomain = 'cluster.local';
  if (!mesh) return { meshConfig: undefined, trustDomain, proxyMetadata };
  for (const key of Object.keys(mesh)) {
    if (!MESH_CONFIG_KNOWN.includes(key)) {
      r.error([...base, key], `meshConfig.${key} is not supported; ignoring it could change routing or security`, 'remove it (Isthmus supports accessLogFile, caCertificates, defaultConfig.proxyMetadata, enablePrometheusMerge, pathNormalization, trustDomain)');
    }
  }
  const accessLogFile = r.string(mesh['accessLogFile'], [...base, 'accessLogFile']);
  if (accessLogFile !== undefined) out.accessLogFile = accessLogFile;
  if (mesh['accessLogEncoding'] !== undefined && mesh['accessLogEncoding'] !== 'TEXT') {
    r.warn([...base, 'accessLogEncoding'], 'access logs are written in Envoy\'s default text format', 'remove it, or set TEXT');
  }
  if (mesh['accessLogFormat'] !== undefined) r.warn([...base, 'accessLogFormat'], 'custom access log formats are not supported; Envoy\'s default format is used', 'remove it');
  if (mesh['enableTracing'] === true) r.warn([...base, 'enableTracing'], 'tracing is not supported (isthmus trace follows requests instead)', 'remove it');
  const td = r.string(mesh['trustDomain'], [...base, 'trustDomain']);
  if (td !== undefined) {
    trustDomain = td;
    out.trustDomain = td;
  }
  if (mesh['trustDomainAliases'] !== undefined) {
    r.error([...base, 'trustDomainAliases'], 'trust domain aliases are not supported; ignoring them would refuse peers the mesh should accept', 'remove it; use PILOT_SKIP_VALIDATE_TRUST_DOMAIN or MeshConfig extraTrustedRoots');
  }
  if (mesh['enableAutoMtls'] !== undefined && r.bool(mesh['enableAutoMtls'], [...base, 'enableAutoMtls']) === false) {
    r.error([...base, 'enableAutoMtls'], 'turning auto mTLS off is not supported', 'remove it');
  }
  const otp = r.object(mesh['outboundTrafficPolicy'], [...base, 'outboundTrafficPolicy']);
  if (otp && otp['mode'] !== undefined && otp['mode'] !== 'ALLOW_ANY') {
    r.error([...base, 'outboundTrafficPolicy', 'mode'], `outboundTrafficPolicy ${String(otp['mode'])} is not supported (Isthmus behaves as ALLOW_ANY)`, 'remove it');
  }
  const pn = r.object(mesh['pathNormalization'], [...base, 'pathNormalization']);
  if (pn) {
    r.unknownKeys(pn, [...base, 'pathNormalization'], ['normalization'], 'unknown pathNormalization field', 'remove it');
    const mode = r.string(pn['normalization'], [...base, 'pathNormalization', 'normalization']);
    if (mode !== undefined && !PATH_NORMALIZATIONS.includes(mode as PathNormalizationMode)) {
      r.error([...base, 'pathNormalization', 'normalization'], `unknown path normalization "${mode}"`, `use one of ${PATH_NORMALIZATIONS.join(', ')}`);
    } else if (mode !== undefined) out.pathNormalization = { normalization: mode as PathNormalizationMode };
  }
  const ca = readCaCertificates(r, mesh['caCertificates'], [...base, 'caCertificates']);
  if (ca) {
    out.caCertificates = ca;
    for (const i of caCertificatesIssues({ ...out, caCertificates: ca }, [...base, 'caCertificates'])) r.issues.push(i);
  }
  // Prometheus merging joins an app's metrics with the sidecar's on 15020; gateways already serve
  // /stats/prometheus on 15090, so there is nothing to change.
  r.bool(mesh['enablePrometheusMerge'], [...base, 'enablePrometheusMerge']);
  const defaults = r.object(mesh['defaultConfig'], [...base, 'defaultConfig']);
  if (defaults) {
    r.unknownKeys(defaults, [...base, 'defaultConfig'], ['proxyMetadata'], 'this proxy setting is not supported by Isthmus', 'remove it: it is ignored');
    const md = r.labels(defaults['proxyMetadata'], [...base, 'defaultConfig', 'proxyMetadata']);
    for (const [k, v] of Object.entries(md)) proxyMetadata[k.startsWith('ISTIO_META_') ? k.slice('ISTIO_META_'.length) : k] = v;
  }
  return { meshConfig: Object.keys(out).length > 0 ? out : undefined, trustDomain, proxyMetadata };
}

/** meshConfig.caCertificates: [{pem, trustDomains}]; the semantic check (caCertificatesIssues) follows. */
function readCaCertificates(r: Reader, value: unknown, path: FieldPath): MeshCaCertificate[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    r.error(path, 'must be a list of {pem, trustDomains}', 'write - pem: |\n    -----BEGIN CERTIFICATE-----...\n  trustDomains: [mesh-a.local]');
    return undefined;
  }
  return value.flatMap((entry: unknown, i): MeshCaCertificate[] => {
    const at = [...path, i];
    const obj = r.object(entry, at);
    if (!obj) return [];
    r.unknownKeys(obj, at, ['pem', 'trustDomains', 'spiffeBundleUrl', 'certSigners'], 'unknown caCertificates field', 'remove it');
    const out: { -readonly [K in keyof MeshCaCertificate]: MeshCaCertificate[K] } = {};
    const pem = r.string(obj['pem'], [...at, 'pem']);
    if (pem !== undefined) out.pem = pem;
    const url = r.string(obj['spiffeBundleUrl'], [...at, 'spiffeBundleUrl']);
    if (url !== undefined) out.spiffeBundleUrl = url;
    for (const key of ['trustDomains', 'certSigners'] as const) {
      const list = obj[key];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) r.error([...at, key], 'must be a list of strings', `write ${key}: [name]`);
      else out[key] = list.flatMap((v: unknown, j) => r.string(v, [...at, key, j]) ?? []);
    }
    return [out];
  });
}

function readServicePorts(r: Reader, ports: unknown, path: FieldPath): OperatorServicePort[] | undefined {
  if (ports === undefined || ports === null) return undefined;
  if (!Array.isArray(ports)) {
    r.error(path, 'must be a list of ports', 'write - name: https\\n  port: 443\\n  targetPort: 8443');
    return undefined;
  }
  const out: OperatorServicePort[] = [];
  ports.forEach((p: unknown, i) => {
    const pp = [...path, i];
    if (!isObj(p) || typeof p['port'] !== 'number' || !Number.isInteger(p['port']) || p['port'] < 1 || p['port'] > 65535) {
      r.error([...pp, 'port'], 'a service port needs a port number (1-65535)', 'write port: 443');
      return;
    }
    r.unknownKeys(p, pp, ['name', 'port', 'targetPort', 'protocol', 'nodePort', 'appProtocol']);
    let targetPort = p['port'];
    if (p['targetPort'] !== undefined) {
      if (typeof p['targetPort'] === 'number' && Number.isInteger(p['targetPort']) && p['targetPort'] >= 1 && p['targetPort'] <= 65535) targetPort = p['targetPort'];
      else r.error([...pp, 'targetPort'], 'targetPort must be a port number here (named container ports do not exist without a pod spec)', `write targetPort: ${p['port']}`);
    }
    const protocol = p['protocol'] ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
      r.error([...pp, 'protocol'], `unknown protocol ${JSON.stringify(protocol)}`, 'write TCP');
      return;
    }
    if (protocol !== 'TCP') r.warn([...pp, 'protocol'], `${protocol} ports are not served by the gateway`, 'remove the port');
    out.push({ name: typeof p['name'] === 'string' ? p['name'] : `port-${p['port']}`, port: p['port'], targetPort, protocol });
  });
  const seen = new Set<number>();
  for (const p of out) {
    if (seen.has(p.targetPort)) r.error(path, `two ports use targetPort ${p.targetPort}`, 'give each port its own targetPort');
    seen.add(p.targetPort);
  }
  return out;
}

function readGateways(r: Reader, list: unknown, kind: GatewayKind, revision: string, path: FieldPath): OperatorGateway[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    r.error(path, 'must be a list of gateways', 'write - name: istio-ingressgateway\\n  enabled: true');
    return [];
  }
  const out: OperatorGateway[] = [];
  list.forEach((g: unknown, i) => {
    const p = [...path, i];
    if (!isObj(g)) {
      r.error(p, 'a gateway must be a map', 'write - name: istio-ingressgateway\\n  enabled: true');
      return;
    }
    r.unknownKeys(g, p, ['name', 'namespace', 'enabled', 'label', 'k8s', 'hub', 'tag']);
    const name = r.string(g['name'], [...p, 'name']);
    if (!name || !DNS_LABEL.test(name)) {
      r.error([...p, 'name'], name ? `"${name}" is not a valid name` : 'a gateway needs a name', 'use lower-case letters, digits and "-", e.g. istio-ingressgateway');
      return;
    }
    // As istioctl: a gateway listed without enabled: true is not installed.
    if (r.bool(g['enabled'], [...p, 'enabled']) !== true) {
      r.warn([...p, 'enabled'], `gateway ${name} is not enabled, so it is not installed`, 'set enabled: true to install it');
      return;
    }
    const namespace = r.string(g['namespace'], [...p, 'namespace']) ?? 'istio-system';
    if (!DNS_LABEL.test(namespace)) r.error([...p, 'namespace'], `"${namespace}" is not a valid namespace`, 'use lower-case letters, digits and "-"');
    const labels: Record<string, string> = { app: name, istio: kind, 'istio.io/rev': revision || 'default', ...r.labels(g['label'], [...p, 'label']) };
    const k8s = r.object(g['k8s'], [...p, 'k8s']) ?? {};
    r.unknownKeys(k8s, [...p, 'k8s'], ['env', 'service', 'replicaCount'],
      'has no effect in Isthmus (no Kubernetes here)');
    if (typeof k8s['replicaCount'] === 'number' && k8s['replicaCount'] > 1) r.warn([...p, 'k8s', 'replicaCount'], 'Isthmus runs one process per gateway', 'remove it');
    const metadata: Record<string, string> = {};
    for (const e of r.env(k8s['env'], [...p, 'k8s', 'env'])) {
      if (e.name.startsWith('ISTIO_META_')) {
        const key = e.name.slice('ISTIO_META_'.length);
        if (key === 'ROUTER_MODE' && !['sni-dnat', 'standard'].includes(e.value)) {
          r.error([...e.path, 'value'], `ISTIO_META_ROUTER_MODE must be sni-dnat or standard, not ${JSON.stringify(e.value)}`, 'write value: "sni-dnat"');
          continue;
        }
        metadata[key] = e.value;
      } else {
        r.warn(e.path, `env ${e.name} of the gateway's pod has no effect in Isthmus (only ISTIO_META_* node metadata is passed on)`, 'remove it: it is ignored');
      }
    }
    const service = r.object(k8s['service'], [...p, 'k8s', 'service']) ?? {};
    r.unknownKeys(service, [...p, 'k8s', 'service'], ['type', 'ports', 'externalTrafficPolicy', 'loadBalancerIP', 'loadBalancerSourceRanges']);
    const type = r.string(service['type'], [...p, 'k8s', 'service', 'type']) ?? 'LoadBalancer';
    const ports = readServicePorts(r, service['ports'], [...p, 'k8s', 'service', 'ports']) ?? DEFAULT_GATEWAY_PORTS;
    out.push({ kind, name, namespace, labels, metadata, service: { type, ports } });
  });
  return out;
}

/** Reads the one IstioOperator object of a document (already parsed). */
export function resolveOperator(doc: unknown, options: ReadOperatorOptions = {}): OperatorInstall {
  const r = new Reader();
  const empty = (name = 'installed-state'): OperatorInstall => ({ name, revision: options.revision ?? '', profile: 'empty', controlPlane: undefined, gateways: [], issues: r.issues });
  if (!isObj(doc)) {
    r.error([], 'the document is not an IstioOperator', `write apiVersion: ${OPERATOR_API_VERSION}, kind: IstioOperator`);
    return empty();
  }
  if (doc['apiVersion'] !== OPERATOR_API_VERSION || doc['kind'] !== 'IstioOperator') {
    r.error(['kind'], `expected ${OPERATOR_API_VERSION} IstioOperator, got ${String(doc['apiVersion'])} ${String(doc['kind'])}`, 'install takes an IstioOperator; apply other resources with isthmus apply -f');
    return empty();
  }
  r.unknownKeys(doc, [], ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const metadata = r.object(doc['metadata'], ['metadata']) ?? {};
  const name = r.string(metadata['name'], ['metadata', 'name']) || 'installed-state';
  if (!DNS_LABEL.test(name)) r.error(['metadata', 'name'], `"${name}" is not a valid name`, 'use lower-case letters, digits and "-"');
  const spec = r.object(doc['spec'], ['spec']) ?? {};
  r.unknownKeys(spec, ['spec'], ['profile', 'revision', 'hub', 'tag', 'namespace', 'meshConfig', 'components', 'values'], 'is not supported by Isthmus', 'remove it: it is ignored');

  const specRevision = r.string(spec['revision'], ['spec', 'revision']);
  if (options.revision !== undefined && specRevision !== undefined && specRevision !== options.revision) {
    r.error(['spec', 'revision'], `spec.revision ${specRevision} differs from -r ${options.revision}`, 'give the revision once, or the same in both places');
  }
  const revision = options.revision ?? specRevision ?? '';
  if (revision !== '' && !REVISION.test(revision)) r.error(['spec', 'revision'], `revision "${revision}" is not valid`, 'use lower-case letters, digits and "-", e.g. 1-17');
  if (revision === 'default') r.error(['spec', 'revision'], '"default" is the name of the revision without -r', 'leave -r out, or pick another name');

  const profileText = r.string(spec['profile'], ['spec', 'profile']) ?? 'default';
  let profile: OperatorProfile = 'empty';
  if ((PROFILES as readonly string[]).includes(profileText)) profile = profileText as OperatorProfile;
  else r.error(['spec', 'profile'], `profile "${profileText}" cannot be installed by Isthmus`, `use one of ${PROFILES.join(', ')}`);

  const values = r.object(spec['values'], ['spec', 'values']);
  let valuesPilotEnv: Obj | undefined;
  if (values) {
    const global = r.object(values['global'], ['spec', 'values', 'global']);
    for (const key of Object.keys(global ?? {})) {
      const p = ['spec', 'values', 'global', key];
      if (['meshID', 'network', 'multiCluster', 'remotePilotAddress', 'externalIstiod', 'caAddress', 'pilotCertProvider', 'istioNamespace'].includes(key)) {
        r.error(p, `values.global.${key} sets up multi-cluster or external control planes, which Isthmus does not do through install; ignoring it would change routing or security`,
          'remove it: each context is one mesh with its own CA; link meshes with isthmus mesh export');
      } else if (['hub', 'tag', 'imagePullPolicy', 'imagePullSecrets', 'logging', 'proxy', 'proxy_init', 'defaultResources', 'priorityClassName', 'defaultNodeSelector'].includes(key)) {
        r.warn(p, 'has no effect in Isthmus (no images or pods here)', 'remove it: it is ignored');
      } else {
        r.error(p, `values.global.${key} is not supported`, 'remove it');
      }
    }
    for (const key of Object.keys(values)) {
      if (key === 'global') continue;
      if (key === 'pilot') {
        const pilot = r.object(values['pilot'], ['spec', 'values', 'pilot']) ?? {};
        r.unknownKeys(pilot, ['spec', 'values', 'pilot'], ['env']);
        valuesPilotEnv = r.object(pilot['env'], ['spec', 'values', 'pilot', 'env']);
      } else if (key === 'cni' || key === 'istio_cni') {
        r.error(['spec', 'values', key], 'CNI cannot run here (it rewrites a node\'s iptables)', 'remove it');
      } else {
        r.warn(['spec', 'values', key], 'Helm values other than pilot.env have no effect in Isthmus', 'remove it: it is ignored');
      }
    }
  }

  const components = r.object(spec['components'], ['spec', 'components']) ?? {};
  for (const key of Object.keys(components)) {
    const p = ['spec', 'components', key];
    const c = components[key];
    if (['pilot', 'ingressGateways', 'egressGateways', 'base'].includes(key)) continue;
    const enabled = isObj(c) ? r.bool(c['enabled'], [...p, 'enabled']) : undefined;
    if (['cni', 'istiodRemote', 'ztunnel'].includes(key)) {
      if (enabled === true) r.error([...p, 'enabled'], `${key} cannot run here (${key === 'cni' ? 'it rewrites a node\'s iptables' : key === 'ztunnel' ? 'ambient mode is not supported' : 'remote control planes are not supported'})`, `remove it or set enabled: false`);
    } else r.warn(p, `component ${key} is not supported by Isthmus`, 'remove it');
  }
  const pilotComponent = r.object(components['pilot'], ['spec', 'components', 'pilot']);
  const pilotEnabled = r.bool(pilotComponent?.['enabled'], ['spec', 'components', 'pilot', 'enabled']) ?? (profile !== 'empty');
  const pilot = readPilot(r, pilotComponent, valuesPilotEnv);
  const mesh = readMeshConfig(r, r.object(spec['meshConfig'], ['spec', 'meshConfig']));
  const namespace = r.string(spec['namespace'], ['spec', 'namespace']) ?? r.string(metadata['namespace'], ['metadata', 'namespace']) ?? 'istio-system';
  if (!pilotEnabled && (pilotComponent?.['k8s'] !== undefined || spec['meshConfig'] !== undefined)) {
    r.warn(['spec', 'components', 'pilot'], 'pilot settings and meshConfig only take effect with the control plane, which this document does not install', 'install them with the document that installs the control plane');
  }
  const controlPlane: OperatorControlPlane | undefined = pilotEnabled
    ? { namespace, trustDomain: mesh.trustDomain, pilot, meshConfig: mesh.meshConfig, proxyMetadata: mesh.proxyMetadata }
    : undefined;

  const gateways = [
    ...readGateways(r, components['ingressGateways'], 'ingressgateway', revision, ['spec', 'components', 'ingressGateways']),
    ...readGateways(r, components['egressGateways'], 'egressgateway', revision, ['spec', 'components', 'egressGateways']),
  ];
  // Profiles add Istio's own gateways unless the document lists one of the same name.
  const defaults: Array<[GatewayKind, string]> = profile === 'default' ? [['ingressgateway', 'istio-ingressgateway']] : profile === 'demo' ? [['ingressgateway', 'istio-ingressgateway'], ['egressgateway', 'istio-egressgateway']] : [];
  const profileGateways: OperatorGateway[] = [];
  for (const [kind, gwName] of defaults) {
    const listKey = kind === 'ingressgateway' ? 'ingressGateways' : 'egressGateways';
    const listed = Array.isArray(components[listKey]) && (components[listKey] as unknown[]).some((g) => isObj(g) && g['name'] === gwName);
    if (!listed) profileGateways.push({ kind, name: gwName, namespace, labels: { app: gwName, istio: kind, 'istio.io/rev': revision || 'default' }, metadata: {}, service: { type: 'LoadBalancer', ports: DEFAULT_GATEWAY_PORTS } });
  }
  gateways.unshift(...profileGateways);
  const seen = new Set<string>();
  for (const g of gateways) {
    const key = `${g.namespace}/${g.name}`;
    if (seen.has(key)) r.error(['spec', 'components'], `gateway ${key} is listed twice`, 'keep one entry per gateway');
    seen.add(key);
  }
  return { name, revision, profile, controlPlane, gateways, issues: r.issues };
}

export interface ReadOperatorResult extends OperatorInstall {
  /** The document as written (kept as the installed state). */
  readonly document: unknown;
}

/** Reads YAML text that holds one IstioOperator (empty documents are skipped). */
export function readIstioOperator(text: string, options: ReadOperatorOptions = {}): ReadOperatorResult {
  let docs: unknown[];
  try {
    const parsed = parseAllDocuments(text);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const bad = list.find((d) => d.errors.length > 0);
    if (bad) throw new Error(bad.errors[0]?.message ?? 'invalid YAML');
    docs = list.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    const resolved = resolveOperator(undefined, options);
    return { ...resolved, issues: [issue([], `not YAML: ${errorMessage(err)}`, 'fix the YAML')], document: undefined };
  }
  if (docs.length !== 1) {
    const resolved = resolveOperator(docs[0], options);
    return { ...resolved, issues: [issue([], `expected one IstioOperator, found ${docs.length} documents`, 'install one IstioOperator at a time'), ...resolved.issues], document: docs[0] };
  }
  return { ...resolveOperator(docs[0], options), document: docs[0] };
}

/** "error: spec.components.cni.enabled: cni cannot run here (fix: ...)" */
export function formatOperatorIssue(i: Issue): string {
  const path = i.path.length ? `${formatPath(i.path)}: ` : '';
  return `${i.warning ? 'warning' : 'error'}: ${path}${i.message} (fix: ${i.fix})`;
}
