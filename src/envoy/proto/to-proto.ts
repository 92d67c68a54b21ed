import protobuf from 'protobufjs';
import { ProtoError } from './errors.js';
import type { ProtoRegistry } from './registry.js';
import { isDefaultScalar, scalarFromJson } from './scalars.js';
import { WELL_KNOWN } from './well-known.js';

/** google.protobuf.Any in protobufjs' in-memory form: the packed message's type URL and bytes. */
export interface EncodedAny {
  type_url: string;
  value: Buffer;
}

type Json = Record<string, unknown>;

/** proto3's JSON name: "alpn_protocols" -> "alpnProtocols". */
export function jsonName(fieldName: string): string {
  return fieldName.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

const fieldsByKey = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** A message's fields by both spellings proto3 JSON allows: the field name and its JSON name. */
function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  let index = fieldsByKey.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.name, field);
      index.set(jsonName(field.name), field);
      const custom = field.options?.json_name;
      if (typeof custom === 'string') index.set(custom, field);
    }
    fieldsByKey.set(type, index);
  }
  return index;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/**
 * proto3 JSON (our snake_case form, or the camelCase JSON names) -> protobuf binary, strictly:
 * an unknown key, a wrong value type or two members of one oneof is an error naming the field's path,
 * never dropped, because a field Envoy would honour must not silently disappear on the wire.
 */
export class JsonToProto {
  constructor(private readonly registry: ProtoRegistry) {}

  encode(type: protobuf.Type, json: unknown, path = ''): Buffer {
    const message = this.message(type, json, path);
    return toBuffer(type.encode(message).finish());
  }

  /** Packs JSON as an Any of `typeUrl`; a well-known type's JSON is the value itself. */
  encodeAny(typeUrl: string, json: unknown, path = ''): EncodedAny {
    const type = this.registry.typeForUrl(typeUrl, join(path, '@type'));
    return { type_url: typeUrl, value: this.encode(type, json, path) };
  }

  message(type: protobuf.Type, json: unknown, path: string): Json {
    const wellKnown = WELL_KNOWN[type.fullName];
    if (wellKnown) return wellKnown.fromJson(json, path, type);
    if (type.fullName === '.google.protobuf.Any') return this.any(json, path) as unknown as Json;
    if (!isPlainObject(json)) {
      throw new ProtoError('ERR_PROTO_INVALID_VALUE', path, `must be an object (${type.fullName.slice(1)})`);
    }
    const index = fieldIndex(type);
    const out: Json = {};
    const oneofSet = new Map<string, string>();
    for (const [key, value] of Object.entries(json)) {
      const fieldPath = join(path, key);
      const field = index.get(key);
      if (!field) {
        const hint = key === '@type' ? 'only a google.protobuf.Any field (typed_config) takes "@type"' : `see the fields of ${type.fullName.slice(1)} in Envoy's API reference`;
        throw new ProtoError('ERR_PROTO_UNKNOWN_FIELD', fieldPath, `unknown field "${key}" in ${type.fullName.slice(1)}`, { hint });
      }
      field.resolve();
      // proto3 JSON: null means "not set", except for google.protobuf.Value, where it is a value.
      if (value === undefined || (value === null && field.resolvedType?.fullName !== '.google.protobuf.Value')) continue;
      if (field.name in out) throw new ProtoError('ERR_PROTO_INVALID_VALUE', fieldPath, `"${field.name}" is given twice (as "${field.name}" and "${jsonName(field.name)}")`);
      const oneof = field.partOf;
      if (oneof && !oneof.name.startsWith('_')) {
        const other = oneofSet.get(oneof.name);
        if (other) throw new ProtoError('ERR_PROTO_INVALID_VALUE', fieldPath, `"${field.name}" and "${other}" are both set, but only one of ${oneof.oneof.join(', ')} may be`);
        oneofSet.set(oneof.name, field.name);
      }
      const converted = this.field(field, value, fieldPath);
      if (converted !== undefined) out[field.name] = converted;
    }
    return out;
  }

  private field(field: protobuf.Field, value: unknown, path: string): unknown {
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(value)) throw new ProtoError('ERR_PROTO_INVALID_VALUE', path, 'must be a map (an object)');
      const out: Json = {};
      for (const [key, item] of Object.entries(value)) {
        const itemPath = `${path}["${key}"]`;
        if (field.keyType !== 'string') scalarFromJson(field.keyType, key, itemPath);
        out[key] = this.single(field, item, itemPath);
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) throw new ProtoError('ERR_PROTO_INVALID_VALUE', path, 'must be a list');
      return value.length > 0 ? value.map((item, i) => this.single(field, item, `${path}[${i}]`)) : undefined;
    }
    const single = this.single(field, value, path);
    // Canonical proto3 leaves a plain scalar at its default out; oneof members and proto3 `optional`
    // fields keep it, since there "set to the default" differs from "not set".
    if (!field.partOf && !(field.resolvedType instanceof protobuf.Type) && isDefaultScalar(field.type, single)) return undefined;
    return single;
  }

  private single(field: protobuf.Field, value: unknown, path: string): unknown {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value, path);
    if (resolved instanceof protobuf.Enum) return enumFromJson(resolved, value, path);
    if (value === null) throw new ProtoError('ERR_PROTO_INVALID_VALUE', path, 'must not be null');
    return scalarFromJson(field.type, value, path);
  }

  private any(json: unknown, path: string): EncodedAny {
    if (!isPlainObject(json)) throw new ProtoError('ERR_PROTO_INVALID_VALUE', path, 'must be an object with "@type"');
    const { '@type': typeUrl, ...rest } = json;
    if (typeof typeUrl !== 'string') {
      throw new ProtoError('ERR_PROTO_INVALID_VALUE', join(path, '@type'), 'a google.protobuf.Any needs an "@type"', {
        hint: 'add "@type": type.googleapis.com/<the message this config is>',
      });
    }
    const type = this.registry.typeForUrl(typeUrl, join(path, '@type'));
    // A well-known type inside an Any is written {"@type": ..., "value": <its JSON form>}.
    const body = WELL_KNOWN[type.fullName] || type.fullName === '.google.protobuf.Any' ? wellKnownBody(rest, path) : rest;
    return { type_url: typeUrl, value: this.encode(type, body, path) };
  }
}

function wellKnownBody(rest: Json, path: string): unknown {
  const extra = Object.keys(rest).filter((k) => k !== 'value');
  if (extra.length > 0) throw new ProtoError('ERR_PROTO_UNKNOWN_FIELD', join(path, extra[0] as string), `unknown field "${extra[0]}": a well-known type in an Any is written {"@type", "value"}`);
  return rest.value;
}

function enumFromJson(type: protobuf.Enum, value: unknown, path: string): number {
  if (typeof value === 'string') {
    const number = type.values[value];
    if (number !== undefined) return number;
  } else if (typeof value === 'number' && Number.isInteger(value)) {
    return value; // proto3 enums are open: a number the .proto does not name is kept as is
  }
  throw new ProtoError('ERR_PROTO_INVALID_VALUE', path, `${JSON.stringify(value)} is not one of ${Object.keys(type.values).join(', ')}`);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
