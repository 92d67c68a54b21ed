/**
 * envoy.filters.http.grpc_json_transcoder: validates the GrpcJsonTranscoder config and loads the
 * descriptor set once; every stream gets its own GrpcJsonTranscoderFilter over that shared config.
 */
import type { FactoryResult, FilterFactoryContext, HttpFilterFactory } from '../../filter.js';
import { parseTranscoderOptions } from './config.js';
import { GrpcJsonTranscoderFilter } from './filter.js';
import { loadTranscoderConfig } from './transcoder-config.js';

export const GRPC_JSON_TRANSCODER_FILTER_NAME = 'envoy.filters.http.grpc_json_transcoder';

export const grpcJsonTranscoderFactory: HttpFilterFactory = {
  name: GRPC_JSON_TRANSCODER_FILTER_NAME,
  typeUrls: [
    'type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder',
    'type.googleapis.com/envoy.config.filter.http.transcoder.v2.GrpcJsonTranscoder',
  ],
  async create(config: Record<string, unknown>, context: FilterFactoryContext): Promise<FactoryResult> {
    const parsed = parseTranscoderOptions(config);
    if (!parsed.valid) return parsed;
    const loaded = await loadTranscoderConfig(parsed.options, context.baseDir);
    if (!loaded.valid) return loaded;
    const shared = loaded.config;
    return { valid: true, createFilter: () => new GrpcJsonTranscoderFilter(shared) };
  },
};
