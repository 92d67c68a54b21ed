/**
 * The install plan: from every IstioOperator installed in a mesh to the processes the supervisor runs
 * (each with its exact `isthmus` arguments) and the resources applied to each control plane
 * (namespaces, the gateways' Services, the MeshConfig), as istioctl's charts would create them.
 * Pure: the same operators and addresses give the same plan, so two plans can be compared to see what
 * an install changes.
 */
import { stringify } from 'yaml';
import type { GatewayKind, OperatorInstall, OperatorServicePort } from '../api/index.js';
import { IsthmusError } from '../common/index.js';
import type { MeshFiles } from './layout.js';
import { controlPlaneKey, gatewayKey, hostAddress, podName } from './mesh.js';
import type { MeshRecord } from './mesh.js';

export const XDS_PORT = 15010;
export const CA_PORT = 15012;
export const MANAGEMENT_PORT = 15014;

export type ProcessKind = 'controlplane' | GatewayKind;

export interface ProcessSpec {
  /** Unique in the mesh: istiod, istiod-1-17, istio-ingressgateway.istio-ingress. */
  readonly name: string;
  readonly kind: ProcessKind;
  /** "" for the default revision. */
  readonly revision: string;
  readonly namespace: string;
  /** The pod name proxy-status shows (<pod>.<namespace>) or the ISTIOD column. */
  readonly pod: string;
  /** metadata.name of the IstioOperator that asked for it. */
  readonly operator: string;
  readonly address: string;
  /** For people: "15010,15012,15014" or "15021,80->8080,443->8443". */
  readonly ports: string;
  /** Arguments after `isthmus` (the CLI script). */
  readonly args: readonly string[];
  /** When the process is up: a TCP address that accepts, or a file holding the admin address. */
  readonly readiness: { readonly tcp: string } | { readonly adminAddressFile: string };
}

export interface ControlPlanePlan {
  readonly revision: string;
  readonly process: string;
  readonly managementUrl: string;
  readonly namespaces: readonly string[];
  /** Multi-document YAML applied through the control plane (Services, MeshConfig). */
  readonly manifests: string;
  /** kind/namespace/name of what `manifests` holds, to delete what a later plan drops. */
  readonly resources: readonly string[];
  /** Gateways (<pod>.<namespace>) that must be SYNCED in this control plane's proxy-status. */
  readonly gateways: readonly string[];
}

export interface MeshPlan {
  readonly context: string;
  readonly subnet: string;
  readonly processes: readonly ProcessSpec[];
  readonly controlPlanes: readonly ControlPlanePlan[];
}

export interface PlanInput {
  readonly context: string;
  readonly files: MeshFiles;
  /** With a host assigned to every key of `planKeys(operators)`. */
  readonly record: MeshRecord;
  readonly operators: readonly OperatorInstall[];
}

/** The address keys of every component the operators ask for (to assign hosts before planning). */
export function planKeys(operators: readonly OperatorInstall[]): string[] {
  return operators.flatMap((op) => [
    ...(op.controlPlane ? [controlPlaneKey(op.revision)] : []),
    ...op.gateways.map((g) => gatewayKey(g.namespace, g.name)),
  ]);
}

function portsText(ports: readonly OperatorServicePort[]): string {
  return ports.map((p) => (p.port === p.targetPort ? `${p.port}` : `${p.port}->${p.targetPort}`)).join(',');
}

/** Why operators cannot be installed together; thrown before anything changes. */
function conflict(message: string, hint: string): IsthmusError {
  return new IsthmusError('ERR_INSTALL_CONFLICT', message, { hint });
}

export function buildPlan(input: PlanInput): MeshPlan {
  const { context, files, record } = input;
  const processes: ProcessSpec[] = [];
  const controlPlanes = new Map<string, { op: OperatorInstall; spec: ProcessSpec }>();
  // Control planes first: gateways need their revision's.
  for (const op of input.operators) {
    if (!op.controlPlane) continue;
    const other = controlPlanes.get(op.revision);
    if (other) {
      throw conflict(`revision ${op.revision || 'default'} already has a control plane, from IstioOperator ${other.op.name}`,
        `uninstall it first (isthmus --context ${context} uninstall${op.revision ? ` -r ${op.revision}` : ''}), or use another revision (-r)`);
    }
    const cp = op.controlPlane;
    const key = controlPlaneKey(op.revision);
    const address = hostAddress(record, key);
    const name = op.revision ? `istiod-${op.revision}` : 'istiod';
    const pod = podName(context, name, key);
    const args = [
      'controlplane', '--state-dir', files.controlPlaneState(op.revision), '--trust-domain', cp.trustDomain, '--name', pod,
      ...(op.revision ? ['-r', op.revision] : []),
      '--xds-address', `${address}:${XDS_PORT}`, '--ca-address', `${address}:${CA_PORT}`, '--management-address', `${address}:${MANAGEMENT_PORT}`,
      ...(cp.pilot.filterGatewayClusterConfig ? ['--filter-gateway-cluster-config'] : []),
      ...(cp.pilot.verifyCertificateAtClient ? ['--verify-certificate-at-client'] : []),
      ...(cp.pilot.skipValidateTrustDomain ? ['--skip-validate-trust-domain'] : []),
    ];
    const spec: ProcessSpec = {
      name, kind: 'controlplane', revision: op.revision, namespace: cp.namespace, pod, operator: op.name, address,
      ports: `${XDS_PORT},${CA_PORT},${MANAGEMENT_PORT}`, args, readiness: { tcp: `${address}:${MANAGEMENT_PORT}` },
    };
    controlPlanes.set(op.revision, { op, spec });
    processes.push(spec);
  }
  const gatewaysByRevision = new Map<string, Array<{ op: OperatorInstall; spec: ProcessSpec; gw: OperatorInstall['gateways'][number] }>>();
  const seen = new Map<string, string>();
  for (const op of input.operators) {
    for (const gw of op.gateways) {
      const key = gatewayKey(gw.namespace, gw.name);
      const owner = seen.get(key);
      if (owner !== undefined) {
        throw conflict(`gateway ${gw.namespace}/${gw.name} is already installed by IstioOperator ${owner}`, 'install each gateway from one IstioOperator, or uninstall the other first');
      }
      seen.set(key, op.name);
      const cp = controlPlanes.get(op.revision);
      if (!cp) {
        throw conflict(`gateway ${gw.name} belongs to revision ${op.revision || 'default'}, which has no control plane in mesh ${context}`,
          `install the control plane first, e.g. isthmus --context ${context} install${op.revision ? ` -r ${op.revision}` : ''} -f control-plane.yaml (profile minimal)`);
      }
      const address = hostAddress(record, key);
      const name = `${gw.name}.${gw.namespace}`;
      const pod = podName(context, gw.name, key);
      const portMap = gw.service.ports.filter((p) => p.port !== p.targetPort).map((p) => `${p.port}:${p.targetPort}`);
      // Mesh-wide proxyMetadata first; the gateway's own ISTIO_META_* env wins, as in the pod spec.
      const metadata = { ...cp.op.controlPlane?.proxyMetadata, ...gw.metadata };
      const args = [
        'proxy', '--xds', `${cp.spec.address}:${XDS_PORT}`, '--ip', address, '--proxy-type', 'router',
        '--node-id', `router~${address}~${pod}.${gw.namespace}~${gw.namespace}.svc.cluster.local`, '--namespace', gw.namespace,
        ...Object.entries(gw.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
        ...(portMap.length ? ['--port-map', portMap.join(',')] : []),
        ...Object.entries(metadata).sort(([a], [b]) => a.localeCompare(b)).flatMap(([k, v]) => ['--meta', `${k}=${v}`]),
        '--admin-address-path', files.adminAddress(name),
      ];
      const spec: ProcessSpec = {
        name, kind: gw.kind, revision: op.revision, namespace: gw.namespace, pod, operator: op.name, address,
        ports: portsText(gw.service.ports), args, readiness: { adminAddressFile: files.adminAddress(name) },
      };
      processes.push(spec);
      const list = gatewaysByRevision.get(op.revision) ?? [];
      list.push({ op, spec, gw });
      gatewaysByRevision.set(op.revision, list);
    }
  }
  const cpPlans: ControlPlanePlan[] = [...controlPlanes.values()].map(({ op, spec }) => {
    const gws = gatewaysByRevision.get(op.revision) ?? [];
    const docs: unknown[] = [];
    const resources: string[] = [];
    if (op.controlPlane?.meshConfig) {
      docs.push({ apiVersion: 'isthmus.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' }, spec: op.controlPlane.meshConfig });
      resources.push('MeshConfig//mesh');
    }
    for (const { gw } of gws) {
      docs.push({
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: gw.name, namespace: gw.namespace, labels: gw.labels },
        spec: { type: gw.service.type, selector: gw.labels, ports: gw.service.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol })) },
      });
      resources.push(`Service/${gw.namespace}/${gw.name}`);
    }
    const namespaces = [...new Set([spec.namespace, ...gws.map((g) => g.gw.namespace)])].sort();
    return {
      revision: op.revision, process: spec.name, managementUrl: `http://${spec.address}:${MANAGEMENT_PORT}`, namespaces,
      manifests: docs.map((d) => stringify(d)).join('---\n'), resources, gateways: gws.map((g) => `${g.spec.pod}.${g.gw.namespace}`),
    };
  });
  return { context, subnet: `127.0.${record.subnet}.0/24`, processes, controlPlanes: cpPlans };
}

export interface PlanDiff {
  readonly added: readonly ProcessSpec[];
  readonly removed: readonly ProcessSpec[];
  /** Same name, different arguments: restarted. */
  readonly changed: readonly ProcessSpec[];
  readonly unchanged: readonly ProcessSpec[];
}

export function sameProcess(a: ProcessSpec, b: ProcessSpec): boolean {
  return JSON.stringify(a.args) === JSON.stringify(b.args);
}

/** What the supervisor does to go from `before` to `after`. */
export function diffProcesses(before: readonly ProcessSpec[], after: readonly ProcessSpec[]): PlanDiff {
  const old = new Map(before.map((p) => [p.name, p]));
  const next = new Set(after.map((p) => p.name));
  return {
    added: after.filter((p) => !old.has(p.name)),
    removed: before.filter((p) => !next.has(p.name)),
    changed: after.filter((p) => old.has(p.name) && !sameProcess(old.get(p.name) as ProcessSpec, p)),
    unchanged: after.filter((p) => old.has(p.name) && sameProcess(old.get(p.name) as ProcessSpec, p)),
  };
}

export function isEmptyDiff(diff: PlanDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}
