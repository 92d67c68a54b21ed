/**
 * The immutable config shared by every stream of one filter instance (Envoy's JsonTranscoderConfig):
 * the descriptor registry, the path matcher of the configured services, and the options.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FileRegistry } from '@bufbuild/protobuf';
import type { FieldError } from '../../filter.js';
import type { TranscoderOptions } from './config.js';
import { DescriptorError, HTTP_RULE_EXTENSION, findHttpRuleExtension, parseDescriptorSet } from './descriptors.js';
import { buildMethodRoutes } from './method-routes.js';
import type { MethodRoute } from './method-routes.js';
import type { PathMatcher } from './path-matcher.js';
import { withRpcStatus } from './rpc-status.js';

export interface TranscoderConfig {
  readonly options: TranscoderOptions;
  /** The descriptor set's types plus google.rpc.Status, for JSON of Any and of error bodies. */
  readonly registry: FileRegistry;
  readonly matcher: PathMatcher<MethodRoute>;
}

export type LoadedConfig = { valid: true; config: TranscoderConfig } | { valid: false; errors: FieldError[] };

async function descriptorBytes(options: TranscoderOptions, baseDir: string): Promise<Uint8Array> {
  if (options.descriptor.kind === 'bytes') return options.descriptor.bytes;
  const file = resolve(baseDir, options.descriptor.path);
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new DescriptorError(`cannot read descriptor set file ${file} (${code})`);
  }
}

export async function loadTranscoderConfig(options: TranscoderOptions, baseDir: string): Promise<LoadedConfig> {
  const descriptorPath = options.descriptor.kind === 'file' ? 'proto_descriptor' : 'proto_descriptor_bin';
  let registry: FileRegistry;
  try {
    registry = parseDescriptorSet(await descriptorBytes(options, baseDir));
  } catch (err) {
    if (!(err instanceof DescriptorError)) throw err;
    return { valid: false, errors: [{ path: descriptorPath, message: err.message }] };
  }

  const httpRule = findHttpRuleExtension(registry);
  if (!httpRule && !options.autoMapping) {
    const message =
      `the descriptor set does not define the ${HTTP_RULE_EXTENSION} extension, so no method has an HTTP mapping; ` +
      'import google/api/annotations.proto in your .proto and compile with protoc --include_imports (or set auto_mapping)';
    return { valid: false, errors: [{ path: descriptorPath, message }] };
  }

  const routes = buildMethodRoutes(registry, options.services, httpRule, options.autoMapping);
  if (!routes.valid) return routes;
  return { valid: true, config: { options, registry: withRpcStatus(registry), matcher: routes.matcher } };
}
