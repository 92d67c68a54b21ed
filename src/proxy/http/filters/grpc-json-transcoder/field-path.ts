/**
 * Field paths ("fortune.id") on request messages, and turning the string values of path variables and
 * query parameters into proto3 JSON so @bufbuild/protobuf can parse and validate them.
 */
import { ScalarType } from '@bufbuild/protobuf';
import type { DescField, DescMessage, JsonObject, JsonValue } from '@bufbuild/protobuf';
import { isWrapperDesc } from '@bufbuild/protobuf/wkt';

export class FieldPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldPathError';
  }
}

/** A field by its proto name or its JSON name, as the transcoder's TypeHelper accepts both. */
export function findField(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name) ?? message.fields.find((f) => f.jsonName === name);
}

/** Resolves a dotted path; every field but the last must be a singular message field. */
export function resolveFieldPath(message: DescMessage, path: readonly string[]): DescField[] {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [i, name] of path.entries()) {
    if (!current) {
      throw new FieldPathError(`'${path.slice(0, i).join('.')}' is not a message field, so '${path.join('.')}' cannot be resolved`);
    }
    const field = findField(current, name);
    if (!field) throw new FieldPathError(`'${name}' is not a field of ${current.typeName}`);
    fields.push(field);
    current = field.fieldKind === 'message' ? field.message : undefined;
  }
  return fields;
}

// Well-known message types whose JSON form is a string, so a path or query value can fill them.
const STRING_JSON_MESSAGES = new Set([
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
  'google.protobuf.FieldMask',
  'google.protobuf.Value',
]);

function scalarJson(scalar: ScalarType, value: string, fieldName: string): JsonValue {
  if (scalar === ScalarType.BOOL) {
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new FieldPathError(`invalid value '${value}' for bool field ${fieldName}: expected true or false`);
  }
  // Numbers, strings and base64 bytes all have a string form in proto3 JSON; the parser validates them.
  return value;
}

function singularJson(field: DescField, value: string): JsonValue {
  const enumDesc = field.fieldKind === 'list' ? (field.listKind === 'enum' ? field.enum : undefined) : field.enum;
  if (enumDesc) return /^-?\d+$/.test(value) ? Number(value) : value;
  if (field.scalar !== undefined) return scalarJson(field.scalar, value, field.name);
  const message = field.message;
  if (message && isWrapperDesc(message)) {
    const inner = message.fields[0];
    if (inner?.scalar !== undefined) return scalarJson(inner.scalar, value, field.name);
  }
  if (message && STRING_JSON_MESSAGES.has(message.typeName)) return value;
  throw new FieldPathError(`field ${field.name} has message type ${message?.typeName ?? 'map'}, which cannot be bound to a path or query value`);
}

/**
 * The JSON that sets `fields` (a resolved path) to `value`, e.g. {"fortune":{"id":"f1"}}; repeated
 * fields get a one-element array so that merging appends.
 */
export function bindingJson(fields: readonly DescField[], value: string): JsonObject {
  const leaf = fields[fields.length - 1];
  if (!leaf) throw new FieldPathError('empty field path');
  if (leaf.fieldKind === 'map') throw new FieldPathError(`map field ${leaf.name} cannot be bound to a path or query value`);
  const json = leaf.fieldKind === 'list' ? [singularJson(leaf, value)] : singularJson(leaf, value);
  return nestJson(fields, json) as JsonObject;
}

/** Wraps a JSON value into the objects of a body field path: body "fortune" + {...} -> {"fortune":{...}}. */
export function nestJson(fields: readonly DescField[], value: JsonValue): JsonValue {
  let json = value;
  for (let i = fields.length - 1; i >= 0; i--) json = { [(fields[i] as DescField).jsonName]: json };
  return json;
}
