import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readIstioOperator } from '../../src/api/index.js';
import type { OperatorInstall } from '../../src/api/index.js';
import { assignHosts, buildPlan, diffProcesses, isEmptyDiff, meshFiles, planKeys } from '../../src/install/index.js';
import type { MeshRecord } from '../../src/install/index.js';

const SEEDS = join(import.meta.dirname, '..', 'fixtures', 'seeds');
const seed = (name: string, revision?: string) => readIstioOperator(readFileSync(join(SEEDS, name), 'utf8'), revision === undefined ? {} : { revision });
const files = meshFiles('/state/eks');

function plan(operators: OperatorInstall[], record: MeshRecord = { context: 'eks', subnet: 137, hosts: {} }) {
  const withHosts = assignHosts(record, planKeys(operators));
  return { plan: buildPlan({ context: 'eks', files, record: withHosts, operators }), record: withHosts };
}

describe('install plan', () => {
  it('seed 000 (eks): control plane on .1 with Istio\'s ports and the pilot flags; the gateway on its own address with the port map, labels and proxyMetadata', () => {
    const { plan: p } = plan([seed('000-2-mesh-a-istiooperator-control-plane.yaml', '1-17'), seed('000-1-mesh-b-istiooperator-ingress-gateway.yaml', '1-17')]);
    expect(p.subnet).toBe('127.0.137.0/24');
    const [cp, gw] = p.processes;
    expect(cp?.name).toBe('istiod-1-17');
    expect(cp?.pod).toMatch(/^istiod-1-17-[0-9a-f]{10}-[a-z0-9]{5}$/);
    expect(cp?.args).toEqual([
      'controlplane', '--state-dir', '/state/eks/controlplane/1-17', '--trust-domain', 'cluster.local', '--name', cp?.pod, '-r', '1-17',
      '--xds-address', '127.0.137.1:15010', '--ca-address', '127.0.137.1:15012', '--management-address', '127.0.137.1:15014',
      '--filter-gateway-cluster-config', '--verify-certificate-at-client',
    ]);
    expect(gw?.name).toBe('istio-ingressgateway.istio-ingress');
    expect(gw?.args).toEqual([
      'proxy', '--xds', '127.0.137.1:15010', '--ip', '127.0.137.10', '--proxy-type', 'router',
      '--node-id', `router~127.0.137.10~${gw?.pod}.istio-ingress~istio-ingress.svc.cluster.local`, '--namespace', 'istio-ingress',
      '--label', 'app=istio-ingressgateway', '--label', 'istio=ingressgateway', '--label', 'istio.io/rev=1-17',
      '--port-map', '80:8080,443:8443', '--meta', 'DNS_AUTO_ALLOCATE=true', '--meta', 'DNS_CAPTURE=true',
      '--admin-address-path', '/state/eks/run/istio-ingressgateway.istio-ingress.admin',
    ]);
    expect(gw?.ports).toBe('15021,80->8080,443->8443');
    const cpPlan = p.controlPlanes[0];
    expect(cpPlan?.managementUrl).toBe('http://127.0.137.1:15014');
    expect(cpPlan?.namespaces).toEqual(['istio-ingress', 'istio-system']);
    expect(cpPlan?.gateways).toEqual([`${gw?.pod}.istio-ingress`]);
    const service = parseAllDocuments(cpPlan?.manifests ?? '').map((d) => d.toJS() as Record<string, unknown>);
    expect(service).toEqual([{
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'istio-ingressgateway', namespace: 'istio-ingress', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' } },
      spec: { type: 'LoadBalancer', selector: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' }, ports: [
        { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' }, { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
      ] },
    }]);
  });

  it('seed 003: skip-validate-trust-domain, the MeshConfig with accessLogFile, ROUTER_MODE=sni-dnat and no port map (15021, 15443 as written)', () => {
    const { plan: p } = plan([seed('003-1-istiooperator-eastwest-gateway.yaml')]);
    expect(p.processes.map((x) => x.name)).toEqual(['istiod', 'istio-eastwestgateway.istio-system']);
    expect(p.processes[0]?.args).toContain('--skip-validate-trust-domain');
    expect(p.processes[0]?.args).not.toContain('-r');
    const gw = p.processes[1]?.args ?? [];
    expect(gw).not.toContain('--port-map');
    expect(gw.join(' ')).toContain('--label app=istio-eastwestgateway --label istio=eastwestgateway --label istio.io/rev=default');
    expect(gw.join(' ')).toContain('--meta ROUTER_MODE=sni-dnat');
    const docs = parseAllDocuments(p.controlPlanes[0]?.manifests ?? '').map((d) => d.toJS() as { kind: string; spec: Record<string, unknown> });
    expect(docs.map((d) => d.kind)).toEqual(['MeshConfig', 'Service']);
    expect(docs[0]?.spec).toEqual({ accessLogFile: '/dev/stdout' });
    expect(p.controlPlanes[0]?.resources).toEqual(['MeshConfig//mesh', 'Service/istio-system/istio-eastwestgateway']);
  });

  it('a gateway needs its revision\'s control plane; one control plane per revision; a second revision gets the next address', () => {
    expect(() => plan([seed('000-1-mesh-b-istiooperator-ingress-gateway.yaml', '1-17')])).toThrow(/revision 1-17, which has no control plane in mesh eks/);
    const cp = seed('000-2-mesh-a-istiooperator-control-plane.yaml', '1-17');
    expect(() => plan([cp, { ...cp, name: 'other' }])).toThrow(/revision 1-17 already has a control plane, from IstioOperator control-plane/);
    const { plan: p } = plan([cp, seed('000-2-mesh-a-istiooperator-control-plane.yaml', '1-18')]);
    expect(p.processes.map((x) => [x.name, x.address])).toEqual([['istiod-1-17', '127.0.137.1'], ['istiod-1-18', '127.0.137.2']]);
  });

  it('idempotence and convergence: the same operators give the same plan; a change restarts only what changed', () => {
    const ops = [seed('000-2-mesh-a-istiooperator-control-plane.yaml', '1-17'), seed('000-1-mesh-b-istiooperator-ingress-gateway.yaml', '1-17')];
    const first = plan(ops);
    const again = plan(ops, first.record);
    expect(again.plan).toEqual(first.plan);
    expect(isEmptyDiff(diffProcesses(first.plan.processes, again.plan.processes))).toBe(true);

    // Add the egress gateway: one process added, nothing restarted; addresses of the others kept.
    const withEgress = plan([...ops, seed('000-4-mesh-a-istiooperator-egress-gateway.yaml', '1-17')], first.record);
    let diff = diffProcesses(first.plan.processes, withEgress.plan.processes);
    expect(diff.added.map((x) => [x.name, x.address])).toEqual([['istio-egressgateway.istio-egress', '127.0.137.11']]);
    expect(diff.changed).toEqual([]);
    expect(diff.unchanged.map((x) => x.name)).toEqual(['istiod-1-17', 'istio-ingressgateway.istio-ingress']);

    // A pilot env change restarts the control plane only (gateways keep their arguments).
    const cp = ops[0] as OperatorInstall;
    const changedCp: OperatorInstall = { ...cp, controlPlane: { ...cp.controlPlane!, pilot: { ...cp.controlPlane!.pilot, filterGatewayClusterConfig: false } } };
    diff = diffProcesses(first.plan.processes, plan([changedCp, ops[1] as OperatorInstall], first.record).plan.processes);
    expect(diff.changed.map((x) => x.name)).toEqual(['istiod-1-17']);
    expect(diff.added).toEqual([]);

    // proxyMetadata is every proxy's: changing it restarts the gateway too.
    const changedMeta: OperatorInstall = { ...cp, controlPlane: { ...cp.controlPlane!, proxyMetadata: { DNS_CAPTURE: 'false' } } };
    diff = diffProcesses(first.plan.processes, plan([changedMeta, ops[1] as OperatorInstall], first.record).plan.processes);
    expect(diff.changed.map((x) => x.name)).toEqual(['istio-ingressgateway.istio-ingress']);

    // Removing the gateways' operator removes the gateway only.
    diff = diffProcesses(first.plan.processes, plan([cp], first.record).plan.processes);
    expect(diff.removed.map((x) => x.name)).toEqual(['istio-ingressgateway.istio-ingress']);
    expect(diff.unchanged.map((x) => x.name)).toEqual(['istiod-1-17']);
  });
});
