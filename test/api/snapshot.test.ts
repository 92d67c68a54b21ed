// Snapshots: typed collections, sorted; mesh defaults; a version that follows content only.
import { describe, expect, test } from 'vitest';
import { buildSnapshot, loadResourceFiles, loadResources } from '../../src/api/index.js';
import { MESH_A_FILES, MESH_B_FILES, load } from './helpers.js';

describe('buildSnapshot', () => {
  test('sorts resources into typed collections by namespace and name', async () => {
    const { resources } = await loadResourceFiles([...MESH_A_FILES, ...MESH_B_FILES]);
    const snapshot = buildSnapshot(resources);
    expect(snapshot.gateways.map((g) => `${g.metadata.namespace}/${g.metadata.name}`)).toEqual(['istio-egress/istio-egressgateway', 'istio-ingress/eastwestgateway']);
    expect(snapshot.destinationRules.map((d) => d.metadata.name)).toEqual(['dr-lambda-ext', 'egressgateway-for-lambda', 'dr-alb-ext']);
    expect(snapshot.serviceEntries.map((s) => s.spec.hosts[0])).toEqual(['lambda.external', 'alb.jesus2.solo.io']);
    expect(snapshot.virtualServices).toHaveLength(2);
    expect(snapshot.secrets).toEqual([]);
    expect(snapshot.namespaceNames).toEqual(['istio-egress', 'istio-ingress']);
    expect(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.gateways)).toBe(true);
  });

  test('mesh config defaults: trust domain cluster.local, network "", Istio certificate lifetimes', () => {
    const mesh = buildSnapshot([]).meshConfig;
    expect(mesh).toEqual({
      trustDomain: 'cluster.local',
      network: '',
      accessLogFile: '',
      ca: { workloadCertTtl: '24h', workloadCertTtlMs: 86_400_000, maxWorkloadCertTtl: '2160h', maxWorkloadCertTtlMs: 90 * 86_400_000 },
      skipValidateTrustDomain: false,
      verifyCertificateAtClient: false,
      extraTrustedRoots: [],
    });
  });

  test('a MeshConfig overrides the defaults it sets and keeps the others', () => {
    const { resources } = load({ apiVersion: 'isthmus.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' }, spec: { trustDomain: 'mesh-a.example', accessLogFile: '/dev/stdout', ca: { workloadCertTtl: '1h' } } });
    const mesh = buildSnapshot(resources).meshConfig;
    expect(mesh).toMatchObject({ trustDomain: 'mesh-a.example', network: '', accessLogFile: '/dev/stdout', ca: { workloadCertTtl: '1h', workloadCertTtlMs: 3_600_000, maxWorkloadCertTtl: '2160h' } });
    expect(mesh.source?.metadata.name).toBe('mesh');
  });

  test('the version changes with content, not with file order, key order or location', () => {
    const a = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: "1", y: "2"}}\n';
    const b = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n';
    const v1 = buildSnapshot(loadResources(`${a}---\n${b}`, 'one.yaml').resources).version;
    const v2 = buildSnapshot(loadResources(`${b}---\n${a.replace('x: "1", y: "2"', 'y: "2", x: "1"')}`, 'two.yaml').resources).version;
    const v3 = buildSnapshot(loadResources(`${a.replace('"2"', '"3"')}---\n${b}`, 'one.yaml').resources).version;
    expect(v1).toMatch(/^[0-9a-f]{16}$/);
    expect(v2).toBe(v1);
    expect(v3).not.toBe(v1);
  });
});
