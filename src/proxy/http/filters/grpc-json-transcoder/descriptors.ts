/**
 * Loads the configured FileDescriptorSet into a registry and reads the google.api.http option of methods.
 */
import { createFileRegistry, fromBinary, getOption, hasOption, toJson } from '@bufbuild/protobuf';
import type { DescExtension, DescMethod, FileRegistry, Message } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

export class DescriptorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DescriptorError';
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function parseDescriptorSet(bytes: Uint8Array): FileRegistry {
  let set;
  try {
    set = fromBinary(FileDescriptorSetSchema, bytes);
  } catch (err) {
    throw new DescriptorError(`not a serialized FileDescriptorSet (${reason(err)})`);
  }
  if (set.file.length === 0) throw new DescriptorError('the descriptor set has no files');
  try {
    return createFileRegistry(set);
  } catch (err) {
    throw new DescriptorError(`the descriptor set is incomplete: ${reason(err)}; run protoc with --include_imports`);
  }
}

export const HTTP_RULE_EXTENSION = 'google.api.http';

/** google.api.HttpRule in proto3 JSON with proto field names. */
export interface HttpRuleJson {
  readonly get?: string;
  readonly put?: string;
  readonly post?: string;
  readonly delete?: string;
  readonly patch?: string;
  readonly custom?: { readonly kind?: string; readonly path?: string };
  readonly body?: string;
  readonly response_body?: string;
  readonly additional_bindings?: readonly HttpRuleJson[];
}

/**
 * The (google.api.http) extension from the descriptor set itself: it is there only if the set includes
 * google/api/http.proto and annotations.proto, which --include_imports guarantees.
 */
export function findHttpRuleExtension(registry: FileRegistry): DescExtension | undefined {
  const extension = registry.getExtension(HTTP_RULE_EXTENSION);
  return extension?.fieldKind === 'message' ? extension : undefined;
}

export function httpRuleOf(method: DescMethod, extension: DescExtension | undefined): HttpRuleJson | undefined {
  if (!extension?.message || !hasOption(method, extension)) return undefined;
  const rule = getOption(method, extension) as Message;
  return toJson(extension.message, rule, { useProtoFieldName: true }) as HttpRuleJson;
}
