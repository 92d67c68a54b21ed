/**
 * meshConfig.pathNormalization -> normalize_path / merge_slashes / path_with_escaped_slashes_action on every
 * HCM built from the mesh's config. The 15021/15090 health listeners are left out: Istio serves them from the
 * bootstrap, without normalization.
 */
import { describe, expect, it } from 'vitest';
import { validateMessage } from '../../../src/envoy/index.js';
import type { Listener } from '../../../src/envoy/index.js';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { ConfigSnapshot, MeshService, ProxyNode, XdsHttpConnectionManager } from '../../../src/controlplane/translate/index.js';
import { validateMeshConfig } from '../../../src/api/semantic/meshconfig.js';
import type { PathNormalizationMode } from '../../../src/api/index.js';
import { loadFixture, meshAEgress, meshAServices } from './fixtures.js';

const HCM = 'envoy.filters.network.http_connection_manager';
const app: ProxyNode = { id: 'sidecar~10.0.0.7~reviews-v1.bookinfo~bookinfo.svc.cluster.local', type: 'sidecar', namespace: 'bookinfo', labels: { app: 'reviews' }, metadata: { HTTP_PROXY_PORT: '15080' } };
const services: MeshService[] = [
  { hostname: 'reviews.bookinfo.svc.cluster.local', namespace: 'bookinfo', selector: { app: 'reviews' }, ports: [{ name: 'http', number: 80, protocol: 'HTTP', targetPort: 9080 }] },
  { hostname: 'ratings.bookinfo.svc.cluster.local', namespace: 'bookinfo', selector: { app: 'ratings' }, ports: [{ name: 'http', number: 8080, protocol: 'HTTP' }] },
];

function hcms(listeners: Listener[]): Array<{ listener: string; hcm: XdsHttpConnectionManager }> {
  return listeners.flatMap((l) => (l.filter_chains ?? []).flatMap((c) => (c.filters ?? []).filter((f) => f.name === HCM).map((f) => ({ listener: l.name ?? '', hcm: f.typed_config as unknown as XdsHttpConnectionManager }))));
}

const withMode = (snapshot: ConfigSnapshot, mode?: PathNormalizationMode): ConfigSnapshot => (mode ? { ...snapshot, meshConfig: { pathNormalization: { normalization: mode } } } : snapshot);

const EXPECTED: Array<[PathNormalizationMode | undefined, Partial<XdsHttpConnectionManager>]> = [
  [undefined, { normalize_path: true }],
  ['DEFAULT', { normalize_path: true }],
  ['BASE', { normalize_path: true }],
  ['NONE', { normalize_path: false }],
  ['MERGE_SLASHES', { normalize_path: true, merge_slashes: true }],
  ['DECODE_AND_MERGE_SLASHES', { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' }],
];

describe('meshConfig.pathNormalization on every HTTP connection manager', () => {
  const gatewaySnapshot = loadFixture('seed000-mesh-a.yaml');
  it.each(EXPECTED)('%s', (mode, fields) => {
    const gateway = translate(withMode(gatewaySnapshot, mode), meshAEgress, { meshServices: meshAServices, healthListeners: false });
    const sidecar = translate(withMode({}, mode), app, { meshServices: services, healthListeners: false });
    const all = [...hcms(gateway.listeners), ...hcms(sidecar.listeners)];
    // gateway, sidecar outbound, sidecar inbound and the HTTP proxy listener are all there
    expect(all.some((h) => h.listener === '0.0.0.0_8080')).toBe(true);
    expect(sidecar.listeners.some((l) => l.traffic_direction === 'INBOUND' && hcms([l]).length > 0)).toBe(true);
    expect(all.some((h) => h.listener.includes('15080'))).toBe(true);
    for (const { listener, hcm } of all) {
      expect({ listener, normalize_path: hcm.normalize_path, merge_slashes: hcm.merge_slashes, path_with_escaped_slashes_action: hcm.path_with_escaped_slashes_action })
        .toEqual({ listener, normalize_path: undefined, merge_slashes: undefined, path_with_escaped_slashes_action: undefined, ...fields });
    }
    // the proxy's schema takes the fields as generated
    expect(validateMessage({ stat_prefix: 'x', ...fields }, 'HttpConnectionManager').valid).toBe(true);
  });

  it('rejects an unknown mode with the field path', () => {
    const issues = validateMeshConfig({ apiVersion: 'isthmus.dev/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh' }, spec: { pathNormalization: { normalization: 'BASIC' as PathNormalizationMode } } } as Parameters<typeof validateMeshConfig>[0]);
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([['spec.pathNormalization.normalization', 'unknown path normalization "BASIC"']]);
  });
});

describe('the proxy schema for path_with_escaped_slashes_action', () => {
  it('names the field of an unknown value', () => {
    const result = validateMessage({ stat_prefix: 'x', path_with_escaped_slashes_action: 'UNESCAPE' }, 'HttpConnectionManager');
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.errors.map((e) => e.path)).toEqual(['path_with_escaped_slashes_action']);
  });
});
