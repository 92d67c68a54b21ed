import protobuf from 'protobufjs';
import { ProtoError } from './errors.js';

/**
 * Scalar values between proto3 JSON and protobufjs' in-memory form.
 * 64-bit integers are Long objects in memory; in JSON they come back as numbers while they fit in a
 * double exactly, and as decimal strings beyond that (proto3 JSON parsers accept both).
 */
type Long = protobuf.Long;

const INT32: readonly [number, number] = [-(2 ** 31), 2 ** 31 - 1];
const UINT32: readonly [number, number] = [0, 2 ** 32 - 1];
const INT64: readonly [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const UINT64: readonly [bigint, bigint] = [0n, 2n ** 64n - 1n];
const FLOAT_MAX = 3.4028234663852886e38;

const RANGES_32: Readonly<Record<string, readonly [number, number]>> = {
  int32: INT32, sint32: INT32, sfixed32: INT32, uint32: UINT32, fixed32: UINT32,
};
const RANGES_64: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int64: INT64, sint64: INT64, sfixed64: INT64, uint64: UINT64, fixed64: UINT64,
};

function invalid(path: string, message: string): ProtoError {
  return new ProtoError('ERR_PROTO_INVALID_VALUE', path, message);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value) ?? String(value);
}

interface LongStatics {
  fromString(text: string, unsigned?: boolean): Long;
}

function longClass(): LongStatics {
  const Long = protobuf.util.Long as unknown as LongStatics | undefined;
  if (!Long) throw new ProtoError('ERR_PROTO_LOAD', '', 'protobufjs runs without the "long" package; 64-bit integers cannot be encoded');
  return Long;
}

/** A JSON integer (number or decimal string) as a BigInt, or undefined if it is not one. */
function integerOf(value: unknown): bigint | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : undefined;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'string' && value.trim() === value && value !== '') {
    const n = Number(value); // "1e3" is a valid proto3 JSON integer
    return Number.isInteger(n) ? BigInt(n) : undefined;
  }
  return undefined;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (typeof value === 'string' && value.trim() === value && value !== '') {
    const n = Number(value);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Converts a proto3 JSON scalar to what protobufjs' encoder expects for a field of `type`. */
export function scalarFromJson(type: string, value: unknown, path: string): unknown {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw invalid(path, `must be a string, got ${describe(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(path, `must be true or false, got ${describe(value)}`);
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !BASE64.test(value)) throw invalid(path, 'must be base64-encoded bytes');
      return Buffer.from(value.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
    case 'double':
    case 'float': {
      const n = numberOf(value);
      if (n === undefined) throw invalid(path, `must be a number, got ${describe(value)}`);
      if (type === 'float' && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) throw invalid(path, `${n} is out of range for a float`);
      return n;
    }
  }
  const range32 = RANGES_32[type];
  if (range32) {
    const n = integerOf(value);
    if (n === undefined) throw invalid(path, `must be an integer, got ${describe(value)}`);
    if (n < BigInt(range32[0]) || n > BigInt(range32[1])) throw invalid(path, `${n} is out of range for ${type}`);
    return Number(n);
  }
  const range64 = RANGES_64[type];
  if (range64) {
    const n = integerOf(value);
    if (n === undefined) throw invalid(path, `must be an integer, got ${describe(value)}`);
    if (n < range64[0] || n > range64[1]) throw invalid(path, `${n} is out of range for ${type}`);
    return longClass().fromString(n.toString(), type === 'uint64' || type === 'fixed64');
  }
  throw invalid(path, `internal: unknown scalar type ${type}`);
}

/** The shortest decimal that reads back as the same 32-bit float (0.1f -> 0.1, not 0.10000000149011612). */
function shortestFloat(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(value.toPrecision(precision));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

function isLong(value: unknown): value is Long {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value;
}

/** Converts a decoded protobufjs scalar to proto3 JSON. */
export function scalarToJson(type: string, value: unknown): unknown {
  if (type in RANGES_64) {
    const text = isLong(value) ? value.toString() : String(value);
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : text;
  }
  if (type === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (type === 'double' || type === 'float') {
    const n = value as number;
    if (Number.isNaN(n)) return 'NaN';
    if (n === Infinity) return 'Infinity';
    if (n === -Infinity) return '-Infinity';
    return type === 'float' ? shortestFloat(n) : n;
  }
  return value;
}

/** Whether a scalar holds its proto3 default, which canonical encoding leaves out. */
export function isDefaultScalar(type: string, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (isLong(value)) return value.low === 0 && value.high === 0;
  if (type === 'bytes') return (value as Uint8Array).length === 0;
  return value === 0 || value === '' || value === false;
}
