import type protobuf from 'protobufjs';
import { ProtoError } from './errors.js';
import { scalarFromJson, scalarToJson } from './scalars.js';

/**
 * google.protobuf types whose proto3 JSON form is not an object of their fields: Duration ("1.5s"),
 * Timestamp (RFC 3339), wrappers (the bare value), Struct/Value/ListValue (plain JSON), FieldMask
 * ("a.b,c") and Empty ({}). Any is handled by the codecs since it recurses into other messages.
 */
export interface WellKnownCodec {
  fromJson(json: unknown, path: string, type: protobuf.Type): Record<string, unknown>;
  toJson(message: Record<string, unknown>, type: protobuf.Type): unknown;
}

const MAX_DURATION_SECONDS = 315_576_000_000n;
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

function invalid(path: string, message: string, hint?: string): ProtoError {
  return new ProtoError('ERR_PROTO_INVALID_VALUE', path, message, hint ? { hint } : {});
}

function own(message: Record<string, unknown> | null | undefined, field: string): boolean {
  return message !== null && message !== undefined && Object.prototype.hasOwnProperty.call(message, field);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** nanos as a fraction: 250000000 -> ".25"; trailing zeros dropped so "0.25s" reads back as written. */
function fraction(nanos: number): string {
  return nanos === 0 ? '' : `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
}

function secondsBigInt(value: unknown): bigint {
  return BigInt(scalarToJson('int64', value ?? 0) as number | string);
}

const duration: WellKnownCodec = {
  fromJson(json, path, type) {
    // The object form {seconds, nanos} is accepted too: Isthmus' own types allow it.
    if (isPlainObject(json)) return objectForm(json, path, type);
    const match = typeof json === 'string' ? DURATION.exec(json) : null;
    if (!match) throw invalid(path, `${JSON.stringify(json)} is not a duration`, 'write it in seconds with an "s", e.g. "0.25s", "5s" or "3600s"');
    const negative = match[1] === '-';
    const seconds = BigInt(match[2] as string);
    if (seconds > MAX_DURATION_SECONDS) throw invalid(path, `${json} is longer than 10000 years`);
    const nanos = Number((match[3] ?? '').padEnd(9, '0'));
    return {
      seconds: scalarFromJson('int64', (negative ? -seconds : seconds).toString(), path),
      nanos: negative ? -nanos : nanos,
    };
  },
  toJson(message) {
    const seconds = secondsBigInt(message.seconds);
    const nanos = Number(message.nanos ?? 0);
    const negative = seconds < 0n || nanos < 0;
    const abs = seconds < 0n ? -seconds : seconds;
    return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
  },
};

const timestamp: WellKnownCodec = {
  fromJson(json, path) {
    const match = typeof json === 'string' ? TIMESTAMP.exec(json) : null;
    const millis = match ? Date.parse(`${match[1]}${match[3]}`) : NaN;
    if (!match || Number.isNaN(millis)) throw invalid(path, `${JSON.stringify(json)} is not an RFC 3339 timestamp`, 'write it like "2024-01-31T12:00:00Z"');
    return { seconds: scalarFromJson('int64', String(Math.floor(millis / 1000)), path), nanos: Number((match[2] ?? '').padEnd(9, '0')) };
  },
  toJson(message) {
    const seconds = secondsBigInt(message.seconds);
    const nanos = Number(message.nanos ?? 0);
    const base = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
    // RFC 3339 output uses 0, 3, 6 or 9 fractional digits, as protobuf's own printers do.
    const digits = nanos === 0 ? '' : nanos % 1_000_000 === 0 ? String(nanos / 1_000_000).padStart(3, '0') : nanos % 1000 === 0 ? String(nanos / 1000).padStart(6, '0') : String(nanos).padStart(9, '0');
    return `${base}${digits ? `.${digits}` : ''}Z`;
  },
};

function wrapper(scalarType: string): WellKnownCodec {
  return {
    fromJson(json, path) {
      const value = scalarFromJson(scalarType, json, path);
      return { value };
    },
    toJson(message) {
      const value = own(message, 'value') ? message.value : defaultOf(scalarType);
      return scalarToJson(scalarType, value);
    },
  };
}

function defaultOf(scalarType: string): unknown {
  if (scalarType === 'string') return '';
  if (scalarType === 'bool') return false;
  if (scalarType === 'bytes') return new Uint8Array();
  return 0;
}

/**
 * Value's member names as the loaded struct.proto spells them: protobufjs bundles its own copy of the
 * google/protobuf files, where Value's fields are camelCase ("numberValue") even with keepCase.
 */
interface ValueKeys { null: string; number: string; string: string; bool: string; struct: string; list: string }
const valueKeysCache = new WeakMap<protobuf.Root, ValueKeys>();

function valueKeys(type: protobuf.Type): ValueKeys {
  const root = type.root as protobuf.Root;
  let keys = valueKeysCache.get(root);
  if (!keys) {
    const value = root.lookupType('.google.protobuf.Value');
    const key = (snake: string): string => (value.fields[snake] ? snake : snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()));
    keys = { null: key('null_value'), number: key('number_value'), string: key('string_value'), bool: key('bool_value'), struct: key('struct_value'), list: key('list_value') };
    valueKeysCache.set(root, keys);
  }
  return keys;
}

function valueFromJson(json: unknown, path: string, keys: ValueKeys): Record<string, unknown> {
  if (json === null) return { [keys.null]: 0 };
  if (typeof json === 'number') {
    if (!Number.isFinite(json)) throw invalid(path, 'a JSON value cannot be NaN or infinite');
    return { [keys.number]: json };
  }
  if (typeof json === 'string') return { [keys.string]: json };
  if (typeof json === 'boolean') return { [keys.bool]: json };
  if (Array.isArray(json)) return { [keys.list]: listFromJson(json, path, keys) };
  if (isPlainObject(json)) return { [keys.struct]: structFromJson(json, path, keys) };
  throw invalid(path, `${String(json)} is not a JSON value`);
}

function listFromJson(json: unknown, path: string, keys: ValueKeys): Record<string, unknown> {
  if (!Array.isArray(json)) throw invalid(path, 'must be a list');
  return { values: json.map((item, i) => valueFromJson(item, `${path}[${i}]`, keys)) };
}

function structFromJson(json: unknown, path: string, keys: ValueKeys): Record<string, unknown> {
  if (!isPlainObject(json)) throw invalid(path, 'must be an object');
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (value !== undefined) fields[key] = valueFromJson(value, `${path}.${key}`, keys);
  }
  return { fields };
}

function valueToJson(message: Record<string, unknown>, keys: ValueKeys): unknown {
  if (own(message, keys.struct)) return structToJson(message[keys.struct] as Record<string, unknown>, keys);
  if (own(message, keys.list)) return listToJson(message[keys.list] as Record<string, unknown>, keys);
  if (own(message, keys.string)) return message[keys.string];
  if (own(message, keys.number)) return message[keys.number];
  if (own(message, keys.bool)) return message[keys.bool];
  return null;
}

function listToJson(message: Record<string, unknown>, keys: ValueKeys): unknown[] {
  return ((message.values ?? []) as Array<Record<string, unknown>>).map((v) => valueToJson(v, keys));
}

function structToJson(message: Record<string, unknown>, keys: ValueKeys): Record<string, unknown> {
  const fields = (message.fields ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, valueToJson(value, keys)]));
}

const fieldMask: WellKnownCodec = {
  fromJson(json, path) {
    if (typeof json !== 'string') throw invalid(path, 'a field mask is a string of comma-separated paths');
    const paths = json === '' ? [] : json.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    return { paths };
  },
  toJson(message) {
    return ((message.paths ?? []) as string[]).map((p) => p.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join(',');
  },
};

const empty: WellKnownCodec = {
  fromJson(json, path) {
    if (!isPlainObject(json) || Object.keys(json).length > 0) throw invalid(path, 'google.protobuf.Empty is written as {}');
    return {};
  },
  toJson() {
    return {};
  },
};

/** {seconds, nanos} for Duration: the field names checked like any message's. */
function objectForm(json: Record<string, unknown>, path: string, type: protobuf.Type): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key];
    if (!field) throw new ProtoError('ERR_PROTO_UNKNOWN_FIELD', `${path}.${key}`, `unknown field "${key}" in ${type.fullName.slice(1)}`);
    out[key] = scalarFromJson(field.type, value, `${path}.${key}`);
  }
  return out;
}

export const WELL_KNOWN: Readonly<Record<string, WellKnownCodec>> = {
  '.google.protobuf.Duration': duration,
  '.google.protobuf.Timestamp': timestamp,
  '.google.protobuf.DoubleValue': wrapper('double'),
  '.google.protobuf.FloatValue': wrapper('float'),
  '.google.protobuf.Int64Value': wrapper('int64'),
  '.google.protobuf.UInt64Value': wrapper('uint64'),
  '.google.protobuf.Int32Value': wrapper('int32'),
  '.google.protobuf.UInt32Value': wrapper('uint32'),
  '.google.protobuf.BoolValue': wrapper('bool'),
  '.google.protobuf.StringValue': wrapper('string'),
  '.google.protobuf.BytesValue': wrapper('bytes'),
  '.google.protobuf.Struct': { fromJson: (json, path, type) => structFromJson(json, path, valueKeys(type)), toJson: (m, type) => structToJson(m, valueKeys(type)) },
  '.google.protobuf.Value': { fromJson: (json, path, type) => valueFromJson(json, path, valueKeys(type)), toJson: (m, type) => valueToJson(m, valueKeys(type)) },
  '.google.protobuf.ListValue': { fromJson: (json, path, type) => listFromJson(json, path, valueKeys(type)), toJson: (m, type) => listToJson(m, valueKeys(type)) },
  '.google.protobuf.FieldMask': fieldMask,
  '.google.protobuf.Empty': empty,
};
