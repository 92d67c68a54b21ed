import { decodeAny, discoveryCodec } from '../../envoy/index.js';
import type { XdsCodec } from './ads-client.js';

/** The ADS client's codec: Envoy's real protos (src/envoy/proto). */
export function envoyXdsCodec(): XdsCodec {
  return {
    encodeDiscoveryRequest: (request) => discoveryCodec.encodeRequest(request),
    decodeDiscoveryResponse: (bytes) => discoveryCodec.decodeResponse(bytes),
    decodeResource: (any) => decodeAny(any),
  };
}
