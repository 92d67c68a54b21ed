import { describe, expect, it } from 'vitest';
import { TYPE_URL, discoveryCodec, encodeAny, packResources } from '../../../src/envoy/index.js';
import type { DiscoveryResponse } from '../../../src/envoy/index.js';
import { edsCluster } from './helpers.js';

const anys = () => [edsCluster('a'), edsCluster('b', { connect_timeout: '3s' }), edsCluster('ü-名')].map((c) => encodeAny(TYPE_URL.cluster, c));

function response(resources: DiscoveryResponse['resources'], controlPlane = true): DiscoveryResponse {
  return {
    version_info: 'v-7', resources, type_url: TYPE_URL.cluster, nonce: '42',
    ...(controlPlane ? { control_plane: { identifier: 'istiod-ü' } } : {}),
  };
}

describe('packed SotW responses', () => {
  it.each([true, false])('decode exactly as the generic encoding (control_plane: %s)', (controlPlane) => {
    const generic = discoveryCodec.encodeResponse(response(anys(), controlPlane));
    const packed = discoveryCodec.encodeResponse(response(packResources(anys()), controlPlane));
    expect(packed.length).toBe(generic.length);
    expect(discoveryCodec.decodeResponse(packed)).toEqual(discoveryCodec.decodeResponse(generic));
    expect(discoveryCodec.decodeResponse(packed).resources.map((r) => r.value)).toEqual(anys().map((a) => a.value));
  });

  it('an empty resource list and empty strings decode as the generic encoding', () => {
    const empty = { version_info: '', resources: [], type_url: TYPE_URL.cluster, nonce: '' };
    const packed = discoveryCodec.decodeResponse(discoveryCodec.encodeResponse({ ...empty, resources: packResources([]) }));
    expect(packed).toEqual(discoveryCodec.decodeResponse(discoveryCodec.encodeResponse(empty)));
    expect(packed).toEqual(empty);
  });

  it('a large resource (length varint over two bytes) survives', () => {
    const big = [encodeAny(TYPE_URL.cluster, edsCluster('x'.repeat(70_000)))];
    const decoded = discoveryCodec.decodeResponse(discoveryCodec.encodeResponse(response(packResources(big))));
    expect(decoded.resources[0]?.value.equals(big[0]?.value as Buffer)).toBe(true);
  });
});
