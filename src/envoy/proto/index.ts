export { encodeAny, decodeAny, encodeMessage, decodeMessage, preloadEnvoyProtos } from './codec.js';
export { ProtoError } from './errors.js';
export type { ProtoErrorCode } from './errors.js';
export type { EncodedAny } from './to-proto.js';
export { jsonName } from './to-proto.js';
export { protoIncludeDirs, CORE_PROTO_FILES } from './files.js';
export { ADS_SERVICE_NAME, discoveryCodec } from './discovery.js';
export { packResources } from './packed-response.js';
export type {
  XdsNode, RpcStatus, DiscoveryRequest, DiscoveryResponse, DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaResource,
} from './discovery.js';
