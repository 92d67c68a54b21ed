import type { AccessLogEntry } from './entry.js';
import { AccessLogConfigError } from './errors.js';
import { evaluate, parseFormat, renderText } from './format.js';
import type { FormatPart } from './format.js';

/**
 * Format dictionaries (json_format): a Struct whose string leaves are format strings, one JSON object
 * per line. SubstitutionFormatString.json_format is typed: a value that is a single operator renders
 * as its type (numbers for %RESPONSE_CODE%, %DURATION%, ...) and null when unset. The legacy
 * FileAccessLog.json_format renders every value as a string, "-" when unset.
 */
export interface JsonFormatOptions {
  typed: boolean;
  omitEmptyValues?: boolean;
  /** json_format_options.sort_properties: sort keys; otherwise config order is kept. */
  sortProperties?: boolean;
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
type Node = (entry: AccessLogEntry) => JsonValue;

function compileString(format: string, options: JsonFormatOptions): Node {
  const parts: FormatPart[] = parseFormat(format);
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only !== undefined && typeof only !== 'string') {
    return (entry) => {
      const value = evaluate(only, entry);
      if (value === undefined) return options.typed || options.omitEmptyValues ? null : '-';
      return options.typed ? value : String(value);
    };
  }
  // Text around operators (or several operators) forces a string.
  const empty = options.omitEmptyValues ? '' : '-';
  return (entry) => renderText(parts, entry, empty);
}

function compileNode(value: unknown, options: JsonFormatOptions, path: string): Node {
  if (typeof value === 'string') return compileString(value, options);
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileNode(v, options, `${path}[${i}]`));
    return (entry) => {
      const out: JsonValue[] = [];
      for (const item of items) {
        const v = item(entry);
        if (v !== null || !options.omitEmptyValues) out.push(v);
      }
      return out;
    };
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (options.sortProperties) keys.sort();
    const fields = keys.map((key) => [key, compileNode((value as Record<string, unknown>)[key], options, path ? `${path}.${key}` : key)] as const);
    return (entry) => {
      const out: { [key: string]: JsonValue } = {};
      for (const [key, field] of fields) {
        const v = field(entry);
        if (v !== null || !options.omitEmptyValues) out[key] = v;
      }
      return out;
    };
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return () => value;
  throw new AccessLogConfigError(`json_format field "${path}" must be a format string, a nested object or a list`);
}

/** Compiles a json_format Struct into a function that renders one JSON line (with "\n"). */
export function compileJsonFormat(struct: Record<string, unknown>, options: JsonFormatOptions): (entry: AccessLogEntry) => string {
  const root = compileNode(struct, options, '');
  return (entry) => `${JSON.stringify(root(entry))}\n`;
}
