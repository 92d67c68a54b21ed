export { grpcJsonTranscoderFactory, GRPC_JSON_TRANSCODER_FILTER_NAME } from './factory.js';
export { GrpcJsonTranscoderFilter } from './filter.js';
export { grpcToHttpStatus } from './grpc-status.js';
export { parsePathTemplate, PathTemplateError } from './path-template.js';
export type { PathTemplate, TemplateSegment, TemplateVariable } from './path-template.js';
export { PathMatcher } from './path-matcher.js';
export type { PathMatch, VariableBinding } from './path-matcher.js';
export { decodeGrpcFrames, encodeGrpcFrames } from './grpc-frame.js';
