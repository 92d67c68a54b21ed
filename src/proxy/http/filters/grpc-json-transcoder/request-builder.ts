/**
 * Builds the gRPC request message(s) of a transcoded call from path variables, query parameters and the
 * HTTP body, as grpc-httpjson-transcoding's JsonRequestTranslator does.
 */
import { create, fromJson, mergeFromJson, toBinary } from '@bufbuild/protobuf';
import type { DescField, DescMessage, JsonObject, JsonValue, Registry } from '@bufbuild/protobuf';
import { FieldPathError, bindingJson, nestJson, resolveFieldPath } from './field-path.js';
import type { MethodRoute } from './method-routes.js';
import type { VariableBinding } from './path-matcher.js';

/** The request cannot be transcoded: the client gets a 400 with this message. */
export class RequestTranscodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestTranscodeError';
  }
}

export const HTTP_BODY_TYPE = 'google.api.HttpBody';

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type BoundVariables =
  | { readonly kind: 'bound'; readonly bindings: readonly JsonObject[] }
  /** A query parameter names no field: Envoy then leaves the request alone (it may not be for us). */
  | { readonly kind: 'unknownField'; readonly reason: string };

/**
 * Resolves bindings against the request type and checks their values now, so that a bad value is a 400
 * before anything is sent upstream. Returns one JSON object per binding, to merge in order.
 */
export function bindVariables(
  input: DescMessage,
  variables: readonly VariableBinding[],
  skipUnknownFields: boolean,
  registry: Registry,
): BoundVariables {
  const bindings: JsonObject[] = [];
  const scratch = create(input);
  for (const variable of variables) {
    const name = variable.fieldPath.join('.');
    let fields: DescField[];
    try {
      fields = resolveFieldPath(input, variable.fieldPath);
    } catch (err) {
      if (skipUnknownFields) continue;
      return { kind: 'unknownField', reason: reason(err) };
    }
    try {
      const json = bindingJson(fields, variable.value);
      mergeFromJson(input, scratch, json, { registry });
      bindings.push(json);
    } catch (err) {
      const detail = err instanceof FieldPathError ? err.message : reason(err);
      throw new RequestTranscodeError(`invalid value '${variable.value}' for field '${name}': ${detail}`);
    }
  }
  return { kind: 'bound', bindings };
}

function isStreamingRequest(route: MethodRoute): boolean {
  return route.method.methodKind === 'client_streaming' || route.method.methodKind === 'bidi_streaming';
}

function isHttpBody(route: MethodRoute): boolean {
  if (route.body === '*') return route.method.input.typeName === HTTP_BODY_TYPE;
  const leaf = route.body?.[route.body.length - 1];
  return leaf?.message?.typeName === HTTP_BODY_TYPE;
}

/** The JSON of each request message before bindings; undefined stands for an empty message. */
function bodyMessagesJson(route: MethodRoute, body: Buffer, contentType: string | undefined): (JsonValue | undefined)[] {
  const bodyFields = route.body;
  if (bodyFields === undefined) return [undefined];
  // google.api.HttpBody carries the raw bytes and their content type instead of JSON.
  if (isHttpBody(route)) {
    const httpBody: JsonObject = { contentType: contentType ?? '', data: body.toString('base64') };
    return [bodyFields === '*' ? httpBody : nestJson(bodyFields, httpBody)];
  }
  const text = body.toString('utf8');
  if (text.trim() === '') return [undefined];
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new RequestTranscodeError(`the request body is not valid JSON: ${reason(err)}`);
  }
  // A client-streaming call takes a JSON array, one element per message.
  const items = isStreamingRequest(route) && bodyFields === '*' && Array.isArray(parsed) ? parsed : [parsed];
  return items.map((item) => (bodyFields === '*' ? item : nestJson(bodyFields, item)));
}

/** Serialized request messages (unframed) for the route. Throws RequestTranscodeError. */
export function buildRequestMessages(
  route: MethodRoute,
  bindings: readonly JsonObject[],
  body: Buffer,
  contentType: string | undefined,
  registry: Registry,
): Uint8Array[] {
  const input = route.method.input;
  return bodyMessagesJson(route, body, contentType).map((json) => {
    let message;
    try {
      message = json === undefined ? create(input) : fromJson(input, json, { registry });
    } catch (err) {
      throw new RequestTranscodeError(`the request body does not fit ${input.typeName}: ${reason(err)}`);
    }
    // Bindings were validated in bindVariables; they override singular body fields and append to lists.
    for (const binding of bindings) mergeFromJson(input, message, binding, { registry });
    return toBinary(input, message);
  });
}
