/**
 * Validates the typed_config of envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
 * (proto3 JSON, snake_case keys) into options. Problems are returned with their field paths.
 */
import type { FieldError } from '../../filter.js';
import type { PrintOptions } from './json-print.js';

export type DescriptorSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'bytes'; readonly bytes: Buffer };

export interface TranscoderOptions {
  readonly descriptor: DescriptorSource;
  readonly services: readonly string[];
  readonly print: PrintOptions;
  readonly matchIncomingRequestRoute: boolean;
  readonly ignoredQueryParameters: ReadonlySet<string>;
  readonly ignoreUnknownQueryParameters: boolean;
  readonly autoMapping: boolean;
  readonly convertGrpcStatus: boolean;
  readonly queryParamUnescapePlus: boolean;
}

export type ParsedOptions = { valid: true; options: TranscoderOptions } | { valid: false; errors: FieldError[] };

const BOOL_FIELDS = [
  'match_incoming_request_route',
  'ignore_unknown_query_parameters',
  'auto_mapping',
  'convert_grpc_status',
  'query_param_unescape_plus',
] as const;
const PRINT_FIELDS = ['add_whitespace', 'always_print_primitive_fields', 'always_print_enums_as_ints', 'preserve_proto_field_names'] as const;
const KNOWN_FIELDS = new Set<string>(['proto_descriptor', 'proto_descriptor_bin', 'services', 'print_options', 'ignored_query_parameters', ...BOOL_FIELDS]);

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseTranscoderOptions(config: Record<string, unknown>): ParsedOptions {
  const errors: FieldError[] = [];
  for (const key of Object.keys(config)) {
    if (!KNOWN_FIELDS.has(key)) errors.push({ path: key, message: 'unsupported field' });
  }

  const bool = (path: string, value: unknown): boolean => {
    if (value === undefined) return false;
    if (typeof value !== 'boolean') errors.push({ path, message: 'must be a boolean' });
    return value === true;
  };
  const stringList = (path: string, value: unknown): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      errors.push({ path, message: 'must be a list of strings' });
      return [];
    }
    value.forEach((item, i) => {
      if (typeof item !== 'string' || item === '') errors.push({ path: `${path}[${i}]`, message: 'must be a non-empty string' });
    });
    return value.filter((item): item is string => typeof item === 'string');
  };

  const descriptor = parseDescriptorSource(config, errors);

  const services = stringList('services', config['services']);
  if (Array.isArray(config['services']) && config['services'].length === 0) {
    errors.push({ path: 'services', message: 'must list at least one service, e.g. "package.Service"' });
  } else if (config['services'] === undefined) {
    errors.push({ path: 'services', message: 'is required: the fully qualified gRPC services to transcode' });
  }

  const rawPrint = config['print_options'] ?? {};
  const print = { addWhitespace: false, alwaysPrintPrimitiveFields: false, alwaysPrintEnumsAsInts: false, preserveProtoFieldNames: false };
  if (!isObject(rawPrint)) {
    errors.push({ path: 'print_options', message: 'must be an object' });
  } else {
    for (const key of Object.keys(rawPrint)) {
      if (!(PRINT_FIELDS as readonly string[]).includes(key)) errors.push({ path: `print_options.${key}`, message: 'unsupported field' });
    }
    print.addWhitespace = bool('print_options.add_whitespace', rawPrint['add_whitespace']);
    print.alwaysPrintPrimitiveFields = bool('print_options.always_print_primitive_fields', rawPrint['always_print_primitive_fields']);
    print.alwaysPrintEnumsAsInts = bool('print_options.always_print_enums_as_ints', rawPrint['always_print_enums_as_ints']);
    print.preserveProtoFieldNames = bool('print_options.preserve_proto_field_names', rawPrint['preserve_proto_field_names']);
  }

  const options = {
    services,
    print,
    ignoredQueryParameters: new Set(stringList('ignored_query_parameters', config['ignored_query_parameters'])),
    matchIncomingRequestRoute: bool('match_incoming_request_route', config['match_incoming_request_route']),
    ignoreUnknownQueryParameters: bool('ignore_unknown_query_parameters', config['ignore_unknown_query_parameters']),
    autoMapping: bool('auto_mapping', config['auto_mapping']),
    convertGrpcStatus: bool('convert_grpc_status', config['convert_grpc_status']),
    queryParamUnescapePlus: bool('query_param_unescape_plus', config['query_param_unescape_plus']),
  };
  if (errors.length > 0 || !descriptor) return { valid: false, errors };
  return { valid: true, options: { ...options, descriptor } };
}

/** The descriptor_set oneof: exactly one of proto_descriptor (a file) or proto_descriptor_bin (base64). */
function parseDescriptorSource(config: Record<string, unknown>, errors: FieldError[]): DescriptorSource | undefined {
  const file = config['proto_descriptor'];
  const bin = config['proto_descriptor_bin'];
  if (file !== undefined && bin !== undefined) {
    errors.push({ path: 'proto_descriptor', message: 'set only one of proto_descriptor and proto_descriptor_bin' });
    return undefined;
  }
  if (file !== undefined) {
    if (typeof file === 'string' && file !== '') return { kind: 'file', path: file };
    errors.push({ path: 'proto_descriptor', message: 'must be the path of a descriptor set file (protoc --descriptor_set_out)' });
    return undefined;
  }
  if (bin !== undefined) {
    if (typeof bin === 'string' && bin !== '' && BASE64.test(bin)) return { kind: 'bytes', bytes: Buffer.from(bin, 'base64') };
    errors.push({ path: 'proto_descriptor_bin', message: 'must be the base64 of a serialized FileDescriptorSet' });
    return undefined;
  }
  errors.push({ path: 'proto_descriptor', message: 'one of proto_descriptor or proto_descriptor_bin is required' });
  return undefined;
}
