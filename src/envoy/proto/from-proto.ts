import protobuf from 'protobufjs';
import { ProtoError } from './errors.js';
import type { ProtoRegistry } from './registry.js';
import { isDefaultScalar, scalarToJson } from './scalars.js';
import { WELL_KNOWN } from './well-known.js';

type Json = Record<string, unknown>;

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function own(message: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

/**
 * protobuf binary -> our normalized JSON: snake_case field names, enums by name, Duration as "1.5s",
 * wrappers as bare values, Struct as plain JSON, bytes as base64, and every nested Any decoded into
 * {"@type": ..., ...fields}, so that the proxy's schema (src/envoy/schema.ts) reads it as it reads a
 * bootstrap file. Fields at their default are left out, as proto3 JSON printers do.
 */
/** Protobuf's own parsers refuse messages nested deeper than this (C++ and Go default recursion limit). */
export const MAX_NESTING = 100;

export class ProtoToJson {
  private depth = 0;

  constructor(private readonly registry: ProtoRegistry) {}

  decode(type: protobuf.Type, bytes: Uint8Array, path = ''): unknown {
    let message: protobuf.Message;
    try {
      message = type.decode(bytes);
    } catch (err) {
      throw new ProtoError('ERR_PROTO_DECODE', path, `the bytes are not a valid ${type.fullName.slice(1)}: ${(err as Error).message}`, { cause: err });
    }
    return this.message(type, message as unknown as Json, path);
  }

  /** An Any as {"@type", ...fields}, or {"@type", "value"} for a well-known type. */
  any(any: { type_url?: string; value?: Uint8Array }, path = ''): Json {
    const typeUrl = any.type_url ?? '';
    const type = this.registry.typeForUrl(typeUrl, join(path, '@type'));
    const body = this.decode(type, any.value ?? new Uint8Array(), path);
    const wellKnown = WELL_KNOWN[type.fullName] !== undefined || type.fullName === '.google.protobuf.Any';
    return wellKnown ? { '@type': typeUrl, value: body } : { '@type': typeUrl, ...(body as Json) };
  }

  message(type: protobuf.Type, message: Json, path: string): unknown {
    // Each Any level is a few bytes: without a limit a small message recurses past the stack.
    if (this.depth >= MAX_NESTING) throw new ProtoError('ERR_PROTO_DECODE', path, `nested more than ${MAX_NESTING} levels deep`);
    this.depth += 1;
    try {
      return this.messageBody(type, message, path);
    } catch (err) {
      if (err instanceof ProtoError) throw err;
      // A shape no valid encoding has (or a stack overflow in a well-known type): bad bytes, not a crash.
      throw new ProtoError('ERR_PROTO_DECODE', path, `cannot decode ${type.fullName.slice(1)}: ${(err as Error).message}`, { cause: err });
    } finally {
      this.depth -= 1;
    }
  }

  private messageBody(type: protobuf.Type, message: Json, path: string): unknown {
    const wellKnown = WELL_KNOWN[type.fullName];
    if (wellKnown) return wellKnown.toJson(message, type);
    if (type.fullName === '.google.protobuf.Any') return this.any(message as { type_url?: string; value?: Uint8Array }, path);
    const out: Json = {};
    for (const field of type.fieldsArray) {
      const value = message[field.name];
      const fieldPath = join(path, field.name);
      field.resolve();
      if (field instanceof protobuf.MapField) {
        const entries = Object.entries((value ?? {}) as Json);
        if (entries.length > 0) out[field.name] = Object.fromEntries(entries.map(([k, v]) => [k, this.single(field, v, `${fieldPath}["${k}"]`)]));
      } else if (field.repeated) {
        const items = (value ?? []) as unknown[];
        if (items.length > 0) out[field.name] = items.map((item, i) => this.single(field, item, `${fieldPath}[${i}]`));
      } else if (own(message, field.name) && value !== null && value !== undefined) {
        // A oneof member or proto3 `optional` field is present even at its default.
        if (!field.partOf && !(field.resolvedType instanceof protobuf.Type) && isDefaultScalar(field.type, value)) continue;
        out[field.name] = this.single(field, value, fieldPath);
      }
    }
    return out;
  }

  private single(field: protobuf.Field, value: unknown, path: string): unknown {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value as Json, path);
    if (resolved instanceof protobuf.Enum) return resolved.valuesById[value as number] ?? value;
    return scalarToJson(field.type, value);
  }
}
