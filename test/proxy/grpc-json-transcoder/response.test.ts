// Response side: gRPC frames and grpc-status in, HTTP/JSON out, through encodeHeaders/encodeBody.
import { readFile } from 'node:fs/promises';
import { createFileRegistry, fromBinary, fromJson, toBinary } from '@bufbuild/protobuf';
import type { FileRegistry, JsonValue } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeaderMap, HttpFilter } from '../../../src/proxy/http/filter.js';
import { tempDir } from '../../helpers/index.js';
import { FORTUNE_SERVICE, RecordingStream, compileFortuneDescriptor, createTranscoder, decodeRequest, encodeResponse, grpcFrame } from './fortune.js';

let cleanup: () => Promise<void>;
let descriptor: string;
let registry: FileRegistry;

beforeAll(async () => {
  const temp = await tempDir('transcoder-response-');
  cleanup = temp.cleanup;
  descriptor = await compileFortuneDescriptor(temp.dir);
  registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, await readFile(descriptor)));
});
afterAll(async () => cleanup());

function encode(typeName: string, json: JsonValue): Uint8Array {
  const desc = registry.getMessage(typeName.includes('.') ? typeName : `build.stack.fortune.${typeName}`);
  if (!desc) throw new Error(`no ${typeName}`);
  return toBinary(desc, fromJson(desc, json));
}

const GRPC_HEADERS: HeaderMap = { 'content-type': 'application/grpc' };
const OK: HeaderMap = { 'grpc-status': '0' };

/** A filter that has transcoded `request`, ready for the response. */
async function transcoded(
  request: { method: string; path: string; body?: string },
  config: Record<string, unknown> = {},
  protocol: RecordingStream['downstreamProtocol'] = 'HTTP/1.1',
): Promise<{ filter: HttpFilter; stream: RecordingStream }> {
  const filter = (await createTranscoder({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE], ...config }))();
  const stream = new RecordingStream(protocol);
  const outcome = await decodeRequest(filter, request, stream);
  expect(outcome.head.headers['content-type']).toBe('application/grpc');
  return { filter, stream };
}

const PREDICT = { method: 'GET', path: '/v1/fortune/alice' };
const PREDICTION = { message: 'A bug will find you', mood: 'HAPPY', userId: 'alice' };

describe('transcoding a response', () => {
  it('converts a unary response to compact JSON with the default print options', async () => {
    const { filter, stream } = await transcoded(PREDICT);
    const out = await encodeResponse(filter, stream, {
      headers: { ...GRPC_HEADERS, 'content-length': '40', trailer: 'grpc-status' },
      body: grpcFrame(encode('PredictionResponse', PREDICTION)),
      trailers: { ...OK, 'grpc-message': '' },
    });
    expect(stream.bufferResponseBody).toBe(true);
    expect(out.head.status).toBe(200);
    expect(out.body.toString()).toBe('{"message":"A bug will find you","mood":"HAPPY","userId":"alice"}');
    expect(out.head.headers).toEqual({
      'content-type': 'application/json',
      'content-length': String(out.body.length),
      'grpc-status': '0',
      'grpc-message': '',
    });
    expect(out.trailers).toBeUndefined(); // an HTTP/1.1 client cannot receive them
  });

  it('keeps the trailers for an HTTP/2 client', async () => {
    const { filter, stream } = await transcoded(PREDICT, {}, 'HTTP/2');
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, body: grpcFrame(encode('PredictionResponse', PREDICTION)), trailers: OK });
    expect(out.trailers).toEqual(OK);
  });

  it('prints the seed print_options: whitespace and zero-valued primitives', async () => {
    const { filter, stream } = await transcoded(PREDICT, {
      print_options: { add_whitespace: true, always_print_primitive_fields: true, always_print_enums_as_ints: false, preserve_proto_field_names: false },
    });
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, body: grpcFrame(encode('PredictionResponse', PREDICTION)), trailers: OK });
    expect(out.body.toString()).toBe(
      '{\n "message": "A bug will find you",\n "mood": "HAPPY",\n "luckyNumber": 0,\n "userId": "alice",\n "generation": "0"\n}\n',
    );
  });

  it('prints enums as numbers and proto field names when asked', async () => {
    const { filter, stream } = await transcoded(PREDICT, { print_options: { always_print_enums_as_ints: true, preserve_proto_field_names: true } });
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, body: grpcFrame(encode('PredictionResponse', PREDICTION)), trailers: OK });
    expect(out.body.toString()).toBe('{"message":"A bug will find you","mood":1,"user_id":"alice"}');
  });

  it('sends only the response_body field', async () => {
    const { filter, stream } = await transcoded({ method: 'GET', path: '/v1/users/bob/fortunes' });
    const response = encode('ListFortunesResponse', { fortunes: [{ id: 'f1', stars: 5 }, { id: 'f2' }], nextPageToken: 'p2' });
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, body: grpcFrame(response), trailers: OK });
    expect(JSON.parse(out.body.toString())).toEqual([{ id: 'f1', stars: 5 }, { id: 'f2' }]);

    const empty = await transcoded({ method: 'GET', path: '/v1/users/bob/fortunes' });
    const none = await encodeResponse(empty.filter, empty.stream, { headers: GRPC_HEADERS, body: grpcFrame(new Uint8Array()), trailers: OK });
    expect(none.body.toString()).toBe('[]');
  });

  it('sends a server stream as a JSON array', async () => {
    const { filter, stream } = await transcoded({ method: 'GET', path: '/v1/users/bob/fortunes:stream' });
    const body = Buffer.concat([grpcFrame(encode('Fortune', { id: 'f1' })), grpcFrame(encode('Fortune', { id: 'f2', mood: 'GLOOMY' }))]);
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, body, trailers: OK });
    expect(out.body.toString()).toBe('[{"id":"f1"},{"id":"f2","mood":"GLOOMY"}]');
    expect(out.head.headers['content-type']).toBe('application/json');
  });

  it('sends a google.api.HttpBody response as raw bytes with its content type', async () => {
    const { filter, stream } = await transcoded({ method: 'GET', path: '/v1/scrolls/a.txt' });
    const scroll = encode('google.api.HttpBody', { contentType: 'text/plain; charset=utf-8', data: Buffer.from('Fortune favours the bold\n').toString('base64') });
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, body: grpcFrame(scroll), trailers: OK });
    expect(out.body.toString()).toBe('Fortune favours the bold\n');
    expect(out.head.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(out.head.headers['content-length']).toBe('25');
  });

  it('converts a gRPC error in the trailers to a status and JSON body with convert_grpc_status', async () => {
    const { filter, stream } = await transcoded(PREDICT, { convert_grpc_status: true });
    const out = await encodeResponse(filter, stream, {
      headers: GRPC_HEADERS,
      trailers: { 'grpc-status': '5', 'grpc-message': 'no%20fortune%20for%20alice' },
    });
    expect(out.head.status).toBe(404);
    expect(out.head.headers['content-type']).toBe('application/json');
    expect(JSON.parse(out.body.toString())).toEqual({ code: 5, message: 'no fortune for alice' });
    expect(out.head.headers['content-length']).toBe(String(out.body.length));
  });

  it.each([
    [1, 499],
    [2, 500],
    [3, 400],
    [4, 504],
    [5, 404],
    [6, 409],
    [7, 403],
    [8, 429],
    [9, 400],
    [10, 409],
    [11, 400],
    [12, 501],
    [13, 500],
    [14, 503],
    [15, 500],
    [16, 401],
    [42, 500],
  ])('maps grpc-status %i to HTTP %i', async (grpcStatus, httpStatus) => {
    const { filter, stream } = await transcoded(PREDICT, { convert_grpc_status: true });
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, trailers: { 'grpc-status': String(grpcStatus) } });
    expect(out.head.status).toBe(httpStatus);
    expect(JSON.parse(out.body.toString())).toEqual({ code: grpcStatus });
  });

  it('converts a trailers-only response, dropping the grpc-* headers', async () => {
    const { filter, stream } = await transcoded(PREDICT, { convert_grpc_status: true });
    const out = await encodeResponse(filter, stream, {
      headers: { ...GRPC_HEADERS, 'grpc-status': '7', 'grpc-message': 'the stars are silent', 'x-upstream': 'kept' },
    });
    expect(out.head.status).toBe(403);
    expect(out.head.headers).toEqual({ 'content-type': 'application/json', 'x-upstream': 'kept', 'content-length': String(out.body.length) });
    expect(JSON.parse(out.body.toString())).toEqual({ code: 7, message: 'the stars are silent' });
  });

  it('uses google.rpc.Status from grpc-status-details-bin, resolving Any details from the descriptor', async () => {
    const detail = encode('FortuneError', { reason: 'cloudy', retryAfterSeconds: 30 });
    const any = new BinaryWriter().tag(1, WireType.LengthDelimited).string('type.googleapis.com/build.stack.fortune.FortuneError');
    any.tag(2, WireType.LengthDelimited).bytes(detail);
    const status = new BinaryWriter().tag(1, WireType.Varint).int32(14).tag(2, WireType.LengthDelimited).string('try later');
    status.tag(3, WireType.LengthDelimited).bytes(any.finish());
    const detailsBin = Buffer.from(status.finish()).toString('base64').replace(/=+$/, ''); // gRPC sends it unpadded

    const { filter, stream } = await transcoded(PREDICT, { convert_grpc_status: true });
    const out = await encodeResponse(filter, stream, {
      headers: GRPC_HEADERS,
      trailers: { 'grpc-status': '14', 'grpc-message': 'ignored when details are present', 'grpc-status-details-bin': detailsBin },
    });
    expect(out.head.status).toBe(503);
    expect(JSON.parse(out.body.toString())).toEqual({
      code: 14,
      message: 'try later',
      details: [{ '@type': 'type.googleapis.com/build.stack.fortune.FortuneError', reason: 'cloudy', retryAfterSeconds: 30 }],
    });
  });

  it('without convert_grpc_status maps the status but sends no body, as Envoy does', async () => {
    const { filter, stream } = await transcoded(PREDICT);
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, trailers: { 'grpc-status': '5', 'grpc-message': 'gone' } });
    expect(out.head.status).toBe(404);
    expect(out.body.length).toBe(0);
    expect(out.head.headers['grpc-status']).toBe('5');
    expect(out.head.headers['grpc-message']).toBe('gone');
  });

  it('answers 503 when the upstream ends without a grpc-status', async () => {
    const { filter, stream } = await transcoded(PREDICT);
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, body: grpcFrame(encode('PredictionResponse', PREDICTION)) });
    expect(out.head.status).toBe(503);
  });

  it('answers 502 for a truncated gRPC message', async () => {
    const { filter, stream } = await transcoded(PREDICT);
    const frame = grpcFrame(encode('PredictionResponse', PREDICTION));
    const out = await encodeResponse(filter, stream, { headers: GRPC_HEADERS, body: frame.subarray(0, frame.length - 3), trailers: OK });
    expect(out.head.status).toBe(502);
    expect(out.body.toString()).toContain('truncated gRPC message');
  });

  it('passes a response that is not gRPC through untouched', async () => {
    const { filter, stream } = await transcoded(PREDICT, { convert_grpc_status: true });
    const out = await encodeResponse(filter, stream, { status: 404, headers: { 'content-type': 'text/plain' }, body: Buffer.from('no route') });
    expect(stream.bufferResponseBody).toBe(false);
    expect(out.head).toEqual({ status: 404, headers: { 'content-type': 'text/plain' } });
    expect(out.body.toString()).toBe('no route');
  });

  it('leaves the response of a request it did not transcode alone', async () => {
    const filter = (await createTranscoder({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE], convert_grpc_status: true }))();
    const stream = new RecordingStream('HTTP/2');
    await decodeRequest(filter, { method: 'POST', path: '/build.stack.fortune.FortuneTeller/Predict', headers: GRPC_HEADERS }, stream);
    const out = await encodeResponse(filter, stream, { headers: { ...GRPC_HEADERS, 'grpc-status': '5' } });
    expect(stream.bufferResponseBody).toBe(false);
    expect(out.head).toEqual({ status: 200, headers: { ...GRPC_HEADERS, 'grpc-status': '5' } });
  });
});
