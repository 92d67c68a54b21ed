/**
 * A small schema checker for the part of Envoy's v3 API that Isthmus implements. It walks a config in
 * proto3-JSON form (camelCase or snake_case keys), returns a normalized copy with snake_case keys, and
 * reports every problem with its exact path, e.g.
 *   static_resources.listeners[0].filter_chains[0].filters[0].typed_config.foo: unsupported field
 * Nothing that changes routing or security is silently ignored: a field outside the schema is an error.
 */

export type Spec =
  | 'string'
  | 'uint'
  | 'int'
  | 'double'
  | 'bool'
  | 'duration'
  | 'bytes'
  /** Free-form JSON (google.protobuf.Struct, metadata): copied as it is. */
  | 'struct'
  /** google.protobuf.Any with "@type": checked against the typed schema its type URL names. */
  | 'any'
  | { msg: string }
  | { list: Spec }
  | { map: Spec }
  | { enum: readonly string[] }
  /** Accepted for compatibility but without effect on routing or security (why is documented). */
  | { ignored: string };

export interface MessageSpec {
  readonly fields: Readonly<Record<string, Spec>>;
  readonly required?: readonly string[];
  /** Groups of fields of which at most one may be set; `exactlyOne` requires one of them. */
  readonly oneOf?: ReadonlyArray<{ fields: readonly string[]; exactlyOne?: boolean }>;
  /** Checked by the extension's own factory: keys are only normalized to snake_case here. */
  readonly opaque?: boolean;
}

export interface ValidationError {
  readonly path: string;
  readonly message: string;
}

export interface SchemaRegistry {
  readonly messages: Readonly<Record<string, MessageSpec>>;
  /** "@type" URL -> message name in `messages`. */
  readonly typeUrls: Readonly<Record<string, string>>;
  /** Extension name -> "@type", for extensions configured by name alone (no typed_config). */
  readonly typeUrlByExtensionName?: Readonly<Record<string, string>>;
}

export function toSnakeCase(key: string): string {
  return key.startsWith('@') ? key : key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [toSnakeCase(k), snakeCaseKeys(v)]));
}

/**
 * Looks a name up in one of the schema's tables. Config keys are untrusted text: a plain `table[key]`
 * finds Object.prototype members ("constructor", "toString", "__proto__") and let them pass as fields.
 */
function own<T>(table: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A value for an error message; String() throws on objects without a prototype. */
function show(value: unknown): string {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const DURATION = /^-?\d+(\.\d+)?s$/;

/** Envoy duration (proto3 JSON "1.5s" or {seconds, nanos}) in milliseconds. */
export function durationMs(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && DURATION.test(value)) return Number(value.slice(0, -1)) * 1000;
  if (typeof value === 'object' && !Array.isArray(value)) {
    // {seconds, nanos}: seconds an integer (int64 may come as a string), nanos a number.
    const { seconds = 0, nanos = 0 } = value as { seconds?: unknown; nanos?: unknown };
    const s = typeof seconds === 'string' && /^-?\d+$/.test(seconds) ? Number(seconds) : seconds;
    if (typeof s !== 'number' || !Number.isFinite(s) || typeof nanos !== 'number' || !Number.isFinite(nanos)) return undefined;
    return s * 1000 + nanos / 1e6;
  }
  return undefined;
}

export class SchemaValidator {
  readonly errors: ValidationError[] = [];

  constructor(private readonly registry: SchemaRegistry) {}

  private fail(path: string, message: string): undefined {
    this.errors.push({ path, message });
    return undefined;
  }

  message(value: unknown, name: string, path: string): Record<string, unknown> | undefined {
    const spec = own(this.registry.messages, name);
    if (!spec) return this.fail(path, `internal: no schema for ${name}`);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return this.fail(path, `must be an object (${name})`);
    }
    if (spec.opaque) return snakeCaseKeys(value) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const entries = Object.entries(value as Record<string, unknown>);
    // An extension given by name only (`- name: envoy.filters.http.router`) gets its type from the name.
    const extensionName = (value as Record<string, unknown>).name;
    if (spec.fields.typed_config === 'any' && typeof extensionName === 'string' && !entries.some(([k, v]) => toSnakeCase(k) === 'typed_config' && v !== null && v !== undefined)) {
      const typeUrl = own(this.registry.typeUrlByExtensionName, extensionName);
      if (typeUrl) entries.push(['typed_config', { '@type': typeUrl }]);
      else if (name !== 'TransportSocket') this.fail(join(path, 'typed_config'), `extension "${extensionName}" has no typed_config and is not a known extension name`);
    }
    for (const [rawKey, fieldValue] of entries) {
      const key = toSnakeCase(rawKey);
      const fieldSpec = own(spec.fields, key);
      const fieldPath = join(path, key);
      if (!fieldSpec) {
        this.fail(fieldPath, `unsupported field "${rawKey}" in ${name}; Isthmus does not implement it, remove it or see the README for what is supported`);
        continue;
      }
      if (fieldValue === null || fieldValue === undefined) continue;
      const checked = this.value(fieldValue, fieldSpec, fieldPath);
      if (checked !== undefined) out[key] = checked;
    }
    for (const field of spec.required ?? []) {
      if (out[field] === undefined && !this.errors.some((e) => e.path.startsWith(join(path, field)))) {
        this.fail(join(path, field), `required field "${field}" is missing in ${name}`);
      }
    }
    for (const group of spec.oneOf ?? []) {
      const set = group.fields.filter((f) => out[f] !== undefined);
      if (set.length > 1) this.fail(path, `only one of ${group.fields.join(', ')} may be set, found ${set.join(' and ')}`);
      if (group.exactlyOne && set.length === 0) this.fail(path, `one of ${group.fields.join(', ')} is required in ${name}`);
    }
    return out;
  }

  value(value: unknown, spec: Spec, path: string): unknown {
    if (typeof spec === 'string') return this.scalar(value, spec, path);
    if ('msg' in spec) return this.message(value, spec.msg, path);
    if ('list' in spec) {
      if (!Array.isArray(value)) return this.fail(path, 'must be a list');
      return value.map((item, i) => this.value(item, spec.list, `${path}[${i}]`));
    }
    if ('map' in spec) {
      if (typeof value !== 'object' || Array.isArray(value)) return this.fail(path, 'must be a map');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        // defineProperty: a key "__proto__" is an entry of the map, not the object's prototype.
        Object.defineProperty(out, k, { value: this.value(v, spec.map, `${path}["${k}"]`), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    if ('enum' in spec) {
      if (typeof value === 'number' && spec.enum[value] !== undefined) return spec.enum[value];
      if (typeof value === 'string' && spec.enum.includes(value)) return value;
      return this.fail(path, `"${show(value)}" is not one of ${spec.enum.join(', ')}`);
    }
    return value; // ignored
  }

  private scalar(value: unknown, spec: Exclude<Spec, object>, path: string): unknown {
    switch (spec) {
      case 'string':
        return typeof value === 'string' ? value : this.fail(path, `must be a string, got ${JSON.stringify(value)}`);
      case 'bytes':
        return typeof value === 'string' ? value : this.fail(path, 'must be base64 bytes');
      case 'bool':
        return typeof value === 'boolean' ? value : this.fail(path, `must be true or false, got ${JSON.stringify(value)}`);
      case 'uint':
      case 'int':
      case 'double': {
        const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof n !== 'number' || Number.isNaN(n)) return this.fail(path, `must be a number, got ${JSON.stringify(value)}`);
        if (spec !== 'double' && !Number.isInteger(n)) return this.fail(path, `must be an integer, got ${n}`);
        if (spec === 'uint' && n < 0) return this.fail(path, `must not be negative, got ${n}`);
        return n;
      }
      case 'duration':
        if (durationMs(value) === undefined) return this.fail(path, `"${show(value)}" is not a duration; write it as seconds, e.g. "0.25s" or "5s"`);
        return value;
      case 'struct':
        return value;
      case 'any':
        return this.any(value, path);
    }
  }

  private any(value: unknown, path: string): unknown {
    if (typeof value !== 'object' || value === null) return this.fail(path, 'must be an object with "@type"');
    const typeUrl = (value as Record<string, unknown>)['@type'];
    if (typeof typeUrl !== 'string') return this.fail(join(path, '@type'), 'typed_config needs an "@type"');
    const name = own(this.registry.typeUrls, typeUrl);
    if (!name) return this.fail(join(path, '@type'), `unsupported type "${typeUrl}"`);
    const { '@type': _type, ...rest } = value as Record<string, unknown>;
    const body = this.message(rest, name, path);
    return body ? { '@type': typeUrl, ...body } : undefined;
  }
}
