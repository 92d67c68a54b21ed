/**
 * Converts the gRPC response message(s) of a transcoded call into the HTTP body: JSON with the
 * configured print options (an array for server streaming), the response_body field only when set, or
 * the raw bytes of a google.api.HttpBody.
 */
import { create, fromBinary, toJson } from '@bufbuild/protobuf';
import type { DescField, DescMessage, JsonObject, JsonValue, Registry } from '@bufbuild/protobuf';
import { jsonWriteOptions, printJson } from './json-print.js';
import type { PrintOptions } from './json-print.js';
import type { MethodRoute } from './method-routes.js';
import { HTTP_BODY_TYPE } from './request-builder.js';

/** The upstream's response cannot be transcoded: the client gets a 502 (Envoy's behaviour). */
export class ResponseTranscodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResponseTranscodeError';
  }
}

export interface HttpResponseBody {
  readonly body: Buffer;
  readonly contentType: string;
}

export const JSON_CONTENT_TYPE = 'application/json';

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The default JSON of a field that the writer omitted (an unset message is null). */
function defaultFieldJson(parent: DescMessage, key: string, print: PrintOptions, registry: Registry): JsonValue {
  const json = toJson(parent, create(parent), { ...jsonWriteOptions(print, registry), alwaysEmitImplicit: true }) as JsonObject;
  return json[key] ?? null;
}

/** Picks the response_body field out of the message's JSON. */
function selectField(json: JsonValue, fields: readonly DescField[], print: PrintOptions, registry: Registry): JsonValue {
  const keyOf = (field: DescField) => (print.preserveProtoFieldNames ? field.name : field.jsonName);
  let current: JsonValue = json;
  for (const field of fields) {
    const next: JsonValue | undefined = isObject(current) ? current[keyOf(field)] : undefined;
    if (next === undefined) {
      // Omitted because it (or a message above it) is unset: print the field's default.
      const leaf = fields[fields.length - 1] as DescField;
      return defaultFieldJson(leaf.parent, keyOf(leaf), print, registry);
    }
    current = next;
  }
  return current;
}

function isServerStreaming(route: MethodRoute): boolean {
  return route.method.methodKind === 'server_streaming' || route.method.methodKind === 'bidi_streaming';
}

function decodeMessage(output: DescMessage, bytes: Buffer) {
  try {
    return fromBinary(output, bytes);
  } catch (err) {
    throw new ResponseTranscodeError(`the upstream response is not a valid ${output.typeName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function httpBodyResponse(route: MethodRoute, messages: readonly Buffer[], registry: Registry): HttpResponseBody {
  const output = route.method.output;
  const parts = messages.map((bytes) => {
    const json = toJson(output, decodeMessage(output, bytes), { registry }) as JsonValue;
    let httpBody: JsonValue | undefined = json;
    for (const field of route.responseBody ?? []) httpBody = isObject(httpBody) ? httpBody[field.jsonName] : undefined;
    const body = isObject(httpBody) ? httpBody : {};
    const data = typeof body['data'] === 'string' ? Buffer.from(body['data'], 'base64') : Buffer.alloc(0);
    return { data, contentType: typeof body['contentType'] === 'string' ? body['contentType'] : '' };
  });
  const chosen = isServerStreaming(route) ? parts : parts.slice(0, 1);
  return { body: Buffer.concat(chosen.map((p) => p.data)), contentType: chosen[0]?.contentType || JSON_CONTENT_TYPE };
}

export function responseBodyType(route: MethodRoute): DescMessage | undefined {
  const leaf = route.responseBody?.[route.responseBody.length - 1];
  return route.responseBody ? leaf?.message : route.method.output;
}

export function buildHttpResponse(route: MethodRoute, messages: readonly Buffer[], print: PrintOptions, registry: Registry): HttpResponseBody {
  if (responseBodyType(route)?.typeName === HTTP_BODY_TYPE) return httpBodyResponse(route, messages, registry);
  const output = route.method.output;
  const options = jsonWriteOptions(print, registry);
  const toHttpJson = (bytes: Buffer): JsonValue => {
    const message = decodeMessage(output, bytes);
    let json: JsonValue;
    try {
      json = toJson(output, message, options) as JsonValue;
    } catch (err) {
      throw new ResponseTranscodeError(`cannot print ${output.typeName} as JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    return route.responseBody ? selectField(json, route.responseBody, print, registry) : json;
  };
  if (isServerStreaming(route)) {
    const text = `[${messages.map((m) => printJson(toHttpJson(m), print)).join(',')}]`;
    return { body: Buffer.from(text), contentType: JSON_CONTENT_TYPE };
  }
  const first = messages[0];
  // A unary call that returned no message has an empty body, as in Envoy.
  const text = first ? printJson(toHttpJson(first), print) : '';
  return { body: Buffer.from(text), contentType: JSON_CONTENT_TYPE };
}
