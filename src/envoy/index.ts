export { TYPE_URL, messageName } from './type-urls.js';
export { ENVOY_SCHEMA, TYPE_URL_BY_EXTENSION_NAME } from './schema.js';
export { SchemaValidator, durationMs, toSnakeCase } from './validate.js';
export type { Spec, MessageSpec, SchemaRegistry, ValidationError } from './validate.js';
export { loadBootstrapFile, parseBootstrapText, validateBootstrap, validateMessage, EnvoyConfigError } from './bootstrap.js';
export type { LoadedBootstrap } from './bootstrap.js';
export type * from './types.js';
export {
  encodeAny, decodeAny, encodeMessage, decodeMessage, preloadEnvoyProtos, ProtoError, jsonName, protoIncludeDirs, CORE_PROTO_FILES,
  ADS_SERVICE_NAME, discoveryCodec, packResources,
} from './proto/index.js';
export type {
  EncodedAny, ProtoErrorCode, XdsNode, RpcStatus, DiscoveryRequest, DiscoveryResponse, DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaResource,
} from './proto/index.js';
