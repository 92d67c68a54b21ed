/** Properties of the whole output: Envoy's schema as the proxy knows it, determinism and versions per resource type. */
import { describe, expect, it } from 'vitest';
import type { ConfigSnapshot as ApiConfigSnapshot } from '../../../src/api/index.js';
import { validateMessage } from '../../../src/envoy/index.js';
import { EXTRA_ENVOY_FIELDS, translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, TranslateResult } from '../../../src/controlplane/translate/index.js';
import { eastWestGateway, loadFixture, meshAEgress, meshAServices, meshASleep, meshBIngress, productpage, seed003Services, shopServices } from './fixtures.js';

const outputs: Array<[string, TranslateResult]> = [
  ['seed 000 mesh B ingress', translate(loadFixture('seed000-mesh-b.yaml'), meshBIngress)],
  ['seed 000 mesh A egress', translate(loadFixture('seed000-mesh-a.yaml'), meshAEgress, { meshServices: meshAServices })],
  ['seed 000 mesh A sleep', translate(loadFixture('seed000-mesh-a.yaml'), meshASleep, { meshServices: meshAServices })],
  ['seed 003 east-west', translate(loadFixture('seed003-eastwest.yaml'), eastWestGateway, { meshServices: seed003Services })],
  ['features', translate(loadFixture('features.yaml'), productpage, { meshServices: shopServices, verifyCertificateAtClient: true })],
];

describe('output', () => {
  it.each(outputs)('%s validates against the proxy schema, except the documented extra fields', (_name, out) => {
    const unexpected: string[] = [];
    const kinds = [
      ['Listener', out.listeners],
      ['RouteConfiguration', out.routes],
      ['Cluster', out.clusters],
      ['ClusterLoadAssignment', out.endpoints],
    ] as const;
    for (const [message, resources] of kinds) {
      for (const resource of resources) {
        const result = validateMessage(resource, message);
        if (result.valid) continue;
        for (const e of result.errors) {
          const m = /unsupported field "([^"]+)" in (\w+)/.exec(e.message);
          if (!m || !EXTRA_ENVOY_FIELDS.some((x) => x.field === m[1] && x.message === m[2])) unexpected.push(`${message} ${e.path}: ${e.message}`);
        }
      }
    }
    expect(unexpected).toEqual([]);
  });

  it('is deterministic', () => {
    const a = translate(loadFixture('seed003-eastwest.yaml'), eastWestGateway, { meshServices: seed003Services });
    const b = translate(loadFixture('seed003-eastwest.yaml'), eastWestGateway, { meshServices: [...seed003Services].reverse() });
    expect(b).toEqual(a);
    expect(a.versions.listeners).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes only the versions of the resource types whose content changed', () => {
    const snapshot = loadFixture('seed000-mesh-b.yaml');
    const before = translate(snapshot, meshBIngress);
    const vs = snapshot.virtualServices?.[0];
    if (!vs) throw new Error('fixture');
    const changed: ConfigSnapshot = { ...snapshot, virtualServices: [{ ...vs, spec: { ...vs.spec, http: [{ ...vs.spec.http?.[0], timeout: '3s' }] } }] };
    const after = translate(changed, meshBIngress);
    expect(after.versions.routes).not.toBe(before.versions.routes);
    expect(after.versions.listeners).toBe(before.versions.listeners);
    expect(after.versions.clusters).toBe(before.versions.clusters);
    expect(after.versions.endpoints).toBe(before.versions.endpoints);
  });

  it('accepts the ConfigSnapshot of src/api', () => {
    // Compile-time check (tsc covers test/): the api's snapshot type is assignable to translate's input.
    const check: (s: ApiConfigSnapshot) => ConfigSnapshot = (s) => s;
    expect(typeof check).toBe('function');
  });
});
