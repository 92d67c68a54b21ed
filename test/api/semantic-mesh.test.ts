// Secret, Namespace and Isthmus' MeshConfig: shape and values.
import { beforeAll, describe, expect, test } from 'vitest';
import { errorLines, expectOnlyError, load, opensslKeyPair } from './helpers.js';
import type { KeyPair } from './helpers.js';

const mesh = (spec: Record<string, unknown>) => ({ apiVersion: 'isthmus.io/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' }, spec });

describe('Secret validation', () => {
  test('generic and kubernetes.io/tls Secrets pass', () => {
    const result = load(
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'edge' }, data: { key: 'a2V5', cert: 'Y2VydA==' } },
      { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'b', namespace: 'edge' }, stringData: { 'tls.crt': 'x', 'tls.key': 'y' } },
    );
    expect(result.errors).toEqual([]);
    expect(result.resources.map((r) => `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`)).toEqual(['Secret edge/a', 'Secret edge/b']);
  });

  test('data must be base64 and kubernetes.io/tls needs tls.crt and tls.key', () => {
    const e = expectOnlyError(load({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, data: { key: 'not base64!' } }), 'data.key', 'value is not valid base64');
    expect(e.fix).toContain('stringData');
    expectOnlyError(load({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'a' }, data: { 'tls.crt': 'eA==' } }), 'data["tls.key"]', 'a kubernetes.io/tls Secret needs "tls.key"');
    expectOnlyError(load({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, stringData: { cert: 3 } }), 'stringData.cert', 'must be string, got integer');
  });
});

describe('MeshConfig validation', () => {
  let root: KeyPair;
  beforeAll(async () => {
    root = await opensslKeyPair('/CN=extra-root');
  });

  test('a full MeshConfig passes', () => {
    const result = load(
      mesh({
        trustDomain: 'mesh-b.example.com',
        network: 'eks',
        accessLogFile: '/dev/stdout',
        ca: { workloadCertTtl: '24h', maxWorkloadCertTtl: '90d' },
        skipValidateTrustDomain: true,
        verifyCertificateAtClient: true,
        extraTrustedRoots: [root.cert],
      }),
    );
    expect(result.errors).toEqual([]);
    expect(result.resources[0]?.metadata.namespace).toBe('');
  });

  test('values are checked: trust domain, durations, their order, PEM roots, unknown fields', () => {
    expectOnlyError(load(mesh({ trustDomain: 'spiffe://x' })), 'spec.trustDomain', 'invalid trust domain "spiffe://x"');
    expectOnlyError(load(mesh({ ca: { workloadCertTtl: 'one day' } })), 'spec.ca.workloadCertTtl', 'invalid spec.ca.workloadCertTtl "one day"');
    expectOnlyError(load(mesh({ ca: { workloadCertTtl: '100d', maxWorkloadCertTtl: '90d' } })), 'spec.ca.workloadCertTtl', 'workloadCertTtl 100d is longer than maxWorkloadCertTtl 90d');
    expectOnlyError(load(mesh({ extraTrustedRoots: ['/etc/ca.pem'] })), 'spec.extraTrustedRoots[0]', 'no PEM certificate found');
    const garbled = root.cert.replace(/^(-----BEGIN CERTIFICATE-----\n)(.{10})/, '$1AAAAAAAAAA');
    expectOnlyError(load(mesh({ extraTrustedRoots: [garbled] })), 'spec.extraTrustedRoots[0]', 'certificate does not parse');
    const unknown = expectOnlyError(load(mesh({ trustdomain: 'x' })), 'spec.trustdomain', 'unknown field "trustdomain"');
    expect(unknown.fix).toBe('did you mean "trustDomain"?');
    expect(errorLines(load(mesh({ verifyCertificateAtClient: 'yes' })))).toEqual(['spec.verifyCertificateAtClient: must be boolean, got string']);
  });

  test('only one MeshConfig per set', () => {
    const result = load(mesh({}), { ...mesh({}), metadata: { name: 'second' } });
    expect(result.resources).toHaveLength(1);
    expect(result.errors.map((e) => `${e.code}: ${e.message}`)).toEqual(['DUPLICATE: only one MeshConfig is allowed; mesh is defined at test.yaml:1 (document 1)']);
  });
});
