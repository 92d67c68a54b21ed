/**
 * The JSON body for a failed call when convert_grpc_status is set: google.rpc.Status from
 * grpc-status-details-bin, or built from grpc-status and grpc-message. Like Envoy, the filter brings its
 * own google.rpc.Status descriptor when the configured descriptor set does not have one.
 */
import { create, createFileRegistry, fromBinary, fromJson, toJson } from '@bufbuild/protobuf';
import type { FileRegistry, JsonValue } from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_any,
} from '@bufbuild/protobuf/wkt';
import { jsonWriteOptions, printJson } from './json-print.js';
import type { PrintOptions } from './json-print.js';

export const RPC_STATUS_TYPE = 'google.rpc.Status';

function rpcStatusFile() {
  const { OPTIONAL: optional, REPEATED: repeated } = FieldDescriptorProto_Label;
  return create(FileDescriptorProtoSchema, {
    name: 'google/rpc/status.proto',
    package: 'google.rpc',
    dependency: ['google/protobuf/any.proto'],
    syntax: 'proto3',
    messageType: [
      {
        name: 'Status',
        field: [
          { name: 'code', number: 1, label: optional, type: FieldDescriptorProto_Type.INT32, jsonName: 'code' },
          { name: 'message', number: 2, label: optional, type: FieldDescriptorProto_Type.STRING, jsonName: 'message' },
          {
            name: 'details',
            number: 3,
            label: repeated,
            type: FieldDescriptorProto_Type.MESSAGE,
            typeName: '.google.protobuf.Any',
            jsonName: 'details',
          },
        ],
      },
    ],
  });
}

/** The registry, plus google.rpc.Status (and google.protobuf.Any) when it lacks them. */
export function withRpcStatus(registry: FileRegistry): FileRegistry {
  if (registry.getMessage(RPC_STATUS_TYPE)) return registry;
  const anyFile = file_google_protobuf_any;
  const statusRegistry = createFileRegistry(rpcStatusFile(), (name) => registry.getFile(name) ?? (name === anyFile.proto.name ? anyFile : undefined));
  return createFileRegistry(registry, statusRegistry);
}

export interface GrpcError {
  readonly code: number;
  /** grpc-message, already percent-decoded. */
  readonly message: string;
  /** grpc-status-details-bin: base64 of a serialized google.rpc.Status. */
  readonly detailsBin: string | undefined;
}

/**
 * The JSON text of the error. Envoy uses grpc-status-details-bin when present; when it cannot be decoded
 * (or names detail types missing from the descriptor set) we fall back to code and message rather than
 * dropping the body.
 */
export function rpcStatusJson(error: GrpcError, registry: FileRegistry, print: PrintOptions): string {
  const statusDesc = registry.getMessage(RPC_STATUS_TYPE);
  if (!statusDesc) throw new Error(`${RPC_STATUS_TYPE} is not in the registry: build it with withRpcStatus()`);
  const options = jsonWriteOptions(print, registry);
  if (error.detailsBin !== undefined) {
    try {
      const status = fromBinary(statusDesc, Buffer.from(error.detailsBin, 'base64'));
      return printJson(toJson(statusDesc, status, options) as JsonValue, print);
    } catch {
      // fall through to code + message
    }
  }
  const status = fromJson(statusDesc, { code: error.code, message: error.message });
  return printJson(toJson(statusDesc, status, options) as JsonValue, print);
}
