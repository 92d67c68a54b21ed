import type { AccessLogEntry } from './entry.js';
import { AccessLogConfigError } from './errors.js';
import { compileOperator } from './operators.js';
import type { Operator, OperatorValue } from './operators.js';

/** Envoy's default access log format (SubstitutionFormatUtils::DEFAULT_FORMAT). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  '%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ' +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% ' +
  '"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/**
 * Istio's default text format (meshConfig.accessLogFormat unset): Envoy's default plus response code
 * details, the upstream cluster, upstream/downstream addresses, SNI and the route name.
 */
export const ISTIO_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ' +
  '"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" ' +
  '%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** A parsed format string: literal text and command operators. */
export type FormatPart = string | { readonly operator: Operator; readonly maxLength: number | undefined };

// Envoy's grammar: %COMMAND(SUBCOMMAND):LENGTH%, COMMAND of A-Z, 0-9 and _, SUBCOMMAND without ')'.
const COMMAND = /^%([A-Z0-9_]+)(?:\(([^)]*)\))?(?::([0-9]+))?%/;

/** Parses a format string; throws AccessLogConfigError on a malformed or unknown command. */
export function parseFormat(format: string): FormatPart[] {
  const parts: FormatPart[] = [];
  let literal = '';
  for (let pos = 0; pos < format.length; pos++) {
    if (format[pos] !== '%') {
      literal += format[pos];
      continue;
    }
    const match = COMMAND.exec(format.slice(pos));
    if (!match) {
      throw new AccessLogConfigError(
        `incorrect access log format ${JSON.stringify(format)}: couldn't find a valid command at position ${pos}`,
        'command operators are written %NAME%, %NAME(PARAM)% or %NAME(PARAM):MAX_LENGTH%',
      );
    }
    if (literal) parts.push(literal);
    literal = '';
    parts.push({ operator: compileOperator(match[1] as string, match[2]), maxLength: match[3] === undefined ? undefined : Number(match[3]) });
    pos += match[0].length - 1;
  }
  if (literal) parts.push(literal);
  return parts;
}

/** An operator's value with :LENGTH applied; numbers stay numbers (typed JSON keeps them). */
export function evaluate(part: Exclude<FormatPart, string>, entry: AccessLogEntry): OperatorValue {
  const value = part.operator(entry);
  return typeof value === 'string' && part.maxLength !== undefined ? value.slice(0, part.maxLength) : value;
}

// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const UNSAFE_TEXT = /[\x00-\x1f\x7f-\x9f"\\]/g;
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

/**
 * A peer-controlled value in a text log line: control characters (C0, DEL, C1), quotes and backslashes
 * are escaped, so a value cannot start a new line or close a quoted field and add its own.
 */
export function escapeText(value: string): string {
  return value.replace(UNSAFE_TEXT, (c) => SHORT_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Renders parts as text; an unset value prints `empty` ("-", or "" with omit_empty_values). Text logs
 * escape values; JSON values are left as they are (JSON.stringify escapes them).
 */
export function renderText(parts: readonly FormatPart[], entry: AccessLogEntry, empty: string, escape = false): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = evaluate(part, entry);
    out += value === undefined ? empty : escape && typeof value === 'string' ? escapeText(value) : String(value);
  }
  return out;
}

export interface TextFormatOptions {
  /** SubstitutionFormatString.omit_empty_values: unset values print "" instead of "-". */
  omitEmptyValues?: boolean;
}

/** Compiles a text format string (Envoy's text_format). */
export function compileTextFormat(format: string, options: TextFormatOptions = {}): (entry: AccessLogEntry) => string {
  const parts = parseFormat(format);
  const empty = options.omitEmptyValues ? '' : '-';
  return (entry) => renderText(parts, entry, empty, true);
}

/** Compiles a format string with Envoy's defaults: unset values print "-". */
export function compileFormat(format: string): (entry: AccessLogEntry) => string {
  return compileTextFormat(format);
}
