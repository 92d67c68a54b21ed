import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatOperatorIssue, readIstioOperator } from '../../src/api/index.js';
import type { Issue } from '../../src/api/index.js';

const SEEDS = join(import.meta.dirname, '..', 'fixtures', 'seeds');
const seed = (name: string) => readFileSync(join(SEEDS, name), 'utf8');
const errors = (issues: readonly Issue[]) => issues.filter((i) => !i.warning).map(formatOperatorIssue);
const warnings = (issues: readonly Issue[]) => issues.filter((i) => i.warning).map(formatOperatorIssue);
const doc = (spec: string, name = 'x') => `apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

describe('IstioOperator reader: the seeds, verbatim', () => {
  it('000-2 (control plane, minimal, -r 1-17): pilot env -> flags, proxyMetadata without ISTIO_META_, no gateways, no issues', () => {
    const op = readIstioOperator(seed('000-2-mesh-a-istiooperator-control-plane.yaml'), { revision: '1-17' });
    expect(op.issues).toEqual([]);
    expect(op).toMatchObject({ name: 'control-plane', revision: '1-17', profile: 'minimal', gateways: [] });
    expect(op.controlPlane).toEqual({
      namespace: 'istio-system', trustDomain: 'cluster.local',
      pilot: { filterGatewayClusterConfig: true, verifyCertificateAtClient: true, skipValidateTrustDomain: false },
      meshConfig: undefined,
      proxyMetadata: { DNS_CAPTURE: 'true', DNS_AUTO_ALLOCATE: 'true' },
    });
  });

  it('000-1 (ingress gateway, empty profile): one gateway in istio-ingress with the revision label and Istio\'s default ports', () => {
    const op = readIstioOperator(seed('000-1-mesh-b-istiooperator-ingress-gateway.yaml'), { revision: '1-17' });
    expect(op.issues).toEqual([]);
    expect(op.controlPlane).toBeUndefined();
    expect(op.gateways).toEqual([{
      kind: 'ingressgateway', name: 'istio-ingressgateway', namespace: 'istio-ingress',
      labels: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'istio.io/rev': '1-17' }, metadata: {},
      service: { type: 'LoadBalancer', ports: [
        { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
        { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
      ] },
    }]);
  });

  it('000-4 (egress gateway): istio=egressgateway in istio-egress', () => {
    const op = readIstioOperator(seed('000-4-mesh-a-istiooperator-egress-gateway.yaml'), { revision: '1-17' });
    expect(op.issues).toEqual([]);
    expect(op.gateways.map((g) => [g.kind, g.name, g.namespace, g.labels['istio']])).toEqual([['egressgateway', 'istio-egressgateway', 'istio-egress', 'egressgateway']]);
  });

  it('003-1 (east-west): control plane with skip-validate-trust-domain, accessLogFile -> MeshConfig, label and ports as written, ROUTER_MODE', () => {
    const op = readIstioOperator(seed('003-1-istiooperator-eastwest-gateway.yaml'));
    expect(op.issues).toEqual([]);
    expect(op.revision).toBe('');
    expect(op.controlPlane?.pilot).toEqual({ filterGatewayClusterConfig: false, verifyCertificateAtClient: false, skipValidateTrustDomain: true });
    expect(op.controlPlane?.meshConfig).toEqual({ accessLogFile: '/dev/stdout' });
    expect(op.gateways).toHaveLength(1);
    const gw = op.gateways[0];
    expect(gw?.labels).toEqual({ app: 'istio-eastwestgateway', istio: 'eastwestgateway', 'istio.io/rev': 'default' });
    expect(gw?.metadata).toEqual({ ROUTER_MODE: 'sni-dnat' });
    expect(gw?.service.ports).toEqual([
      { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
      { name: 'tls', port: 15443, targetPort: 15443, protocol: 'TCP' },
    ]);
  });
});

describe('IstioOperator reader: profiles, warnings and errors with paths', () => {
  it('profiles: default = control plane + istio-ingressgateway in istio-system; minimal = control plane; empty = nothing; demo adds egress', () => {
    const names = (profile: string) => {
      const op = readIstioOperator(doc(`  profile: ${profile}\n`));
      return [op.controlPlane ? 'istiod' : '-', ...op.gateways.map((g) => `${g.namespace}/${g.name}`)];
    };
    expect(names('default')).toEqual(['istiod', 'istio-system/istio-ingressgateway']);
    expect(names('minimal')).toEqual(['istiod']);
    expect(names('empty')).toEqual(['-']);
    expect(names('demo')).toEqual(['istiod', 'istio-system/istio-ingressgateway', 'istio-system/istio-egressgateway']);
    expect(readIstioOperator('apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n').controlPlane).toBeDefined(); // no profile: default
    expect(errors(readIstioOperator(doc('  profile: ambient\n')).issues)).toEqual([expect.stringContaining('spec.profile: profile "ambient" cannot be installed')]);
  });

  it('hub and tag are accepted silently; Kubernetes-only fields warn with their path', () => {
    const op = readIstioOperator(doc(`  profile: minimal\n  hub: gcr.io/istio-release\n  tag: 1.12.0\n  components:\n    ingressGateways:\n    - name: gw\n      enabled: true\n      k8s:\n        resources:\n          requests: {cpu: 10m}\n        env:\n        - name: FOO\n          value: bar\n`));
    expect(errors(op.issues)).toEqual([]);
    expect(warnings(op.issues)).toEqual([
      expect.stringMatching(/^warning: spec\.components\.ingressGateways\[0\]\.k8s\.resources: has no effect/),
      expect.stringMatching(/^warning: spec\.components\.ingressGateways\[0\]\.k8s\.env\[0\]: env FOO/),
    ]);
  });

  it('errors where ignoring would change routing or security: unknown pilot env, meshID, CNI, trustDomainAliases, outboundTrafficPolicy', () => {
    const op = readIstioOperator(doc([
      '  profile: minimal',
      '  values:',
      '    global:',
      '      meshID: mesh1',
      '  meshConfig:',
      '    trustDomainAliases: [old.local]',
      '    outboundTrafficPolicy:',
      '      mode: REGISTRY_ONLY',
      '  components:',
      '    cni:',
      '      enabled: true',
      '    pilot:',
      '      k8s:',
      '        env:',
      '        - name: PILOT_ENABLE_PROTOCOL_SNIFFING_FOR_OUTBOUND',
      '          value: "false"',
      '        - name: VERIFY_CERTIFICATE_AT_CLIENT',
      '          value: "maybe"',
      '',
    ].join('\n')));
    const paths = op.issues.filter((i) => !i.warning).map((i) => formatOperatorIssue(i).split(': ')[1]);
    expect(paths.sort()).toEqual([
      'spec.components.cni.enabled',
      'spec.components.pilot.k8s.env[0]',
      'spec.components.pilot.k8s.env[1].value',
      'spec.meshConfig.outboundTrafficPolicy.mode',
      'spec.meshConfig.trustDomainAliases',
      'spec.values.global.meshID',
    ]);
  });

  it('meshConfig.pathNormalization is carried to the mesh config; an unknown mode is an error', () => {
    const ok = readIstioOperator(doc('  profile: minimal\n  meshConfig:\n    pathNormalization:\n      normalization: DECODE_AND_MERGE_SLASHES\n'));
    expect(errors(ok.issues)).toEqual([]);
    expect(ok.controlPlane?.meshConfig).toEqual({ pathNormalization: { normalization: 'DECODE_AND_MERGE_SLASHES' } });
    const bad = readIstioOperator(doc('  profile: minimal\n  meshConfig:\n    pathNormalization:\n      normalization: FULL\n'));
    expect(errors(bad.issues)).toEqual([expect.stringContaining('spec.meshConfig.pathNormalization.normalization: unknown path normalization "FULL"')]);
  });

  it('-r must agree with spec.revision; a gateway without enabled: true is not installed (warning)', () => {
    expect(errors(readIstioOperator(doc('  revision: 1-16\n'), { revision: '1-17' }).issues)).toEqual([expect.stringContaining('spec.revision: spec.revision 1-16 differs from -r 1-17')]);
    const op = readIstioOperator(doc('  profile: empty\n  components:\n    egressGateways:\n    - name: eg\n'));
    expect(op.gateways).toEqual([]);
    expect(warnings(op.issues)).toEqual([expect.stringContaining('spec.components.egressGateways[0].enabled: gateway eg is not enabled')]);
  });

  it('other kinds and bad YAML are refused', () => {
    expect(errors(readIstioOperator('apiVersion: v1\nkind: Service\nmetadata: {name: x}\n').issues)).toEqual([expect.stringContaining('expected install.istio.io/v1alpha1 IstioOperator')]);
    expect(errors(readIstioOperator('a: [').issues)).toEqual([expect.stringContaining('not YAML')]);
  });
});
