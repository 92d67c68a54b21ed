// Request side: HTTP/JSON in, gRPC request out, through decodeHeaders/decodeBody.
import { readFile } from 'node:fs/promises';
import { createFileRegistry, fromBinary, toJson } from '@bufbuild/protobuf';
import type { FileRegistry, JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpFilter } from '../../../src/proxy/http/filter.js';
import { tempDir } from '../../helpers/index.js';
import { FORTUNE_SERVICE, compileFortuneDescriptor, createTranscoder, decodeRequest, grpcMessages } from './fortune.js';
import type { RequestOutcome } from './fortune.js';

let cleanup: () => Promise<void>;
let descriptor: string;
let registry: FileRegistry;
let newFilter: () => HttpFilter;

beforeAll(async () => {
  const temp = await tempDir('transcoder-request-');
  cleanup = temp.cleanup;
  descriptor = await compileFortuneDescriptor(temp.dir);
  registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, await readFile(descriptor)));
  newFilter = await createTranscoder({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE] });
});
afterAll(async () => cleanup());

/** The single gRPC message sent upstream, as proto3 JSON of `typeName`. */
function upstreamMessage(outcome: RequestOutcome, typeName: string): JsonValue {
  expect(outcome.localReply).toBeUndefined();
  const messages = grpcMessages(outcome.body as Buffer);
  expect(messages).toHaveLength(1);
  const desc = registry.getMessage(`build.stack.fortune.${typeName}`);
  if (!desc) throw new Error(`no ${typeName}`);
  return toJson(desc, fromBinary(desc, messages[0] as Buffer));
}

describe('transcoding a request', () => {
  it('turns GET /v1/fortune/{user_id} with query parameters into a Predict call', async () => {
    const outcome = await decodeRequest(newFilter(), {
      method: 'GET',
      path: '/v1/fortune/alice?lucky_number=7&filter.mood=HAPPY&filter.min_length=10&tags=a&tags=b%20c&verbose=true',
      headers: { accept: 'application/json', 'content-length': '0' },
    });
    expect(outcome.head.method).toBe('POST');
    expect(outcome.head.path).toBe('/build.stack.fortune.FortuneTeller/Predict');
    expect(outcome.head.headers).toEqual({
      accept: 'application/json',
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-envoy-original-path': '/v1/fortune/alice?lucky_number=7&filter.mood=HAPPY&filter.min_length=10&tags=a&tags=b%20c&verbose=true',
      'x-envoy-original-method': 'GET',
    });
    expect(outcome.stream.bufferRequestBody).toBe(true);
    expect(outcome.stream.routeCacheClears).toBe(1);
    expect(upstreamMessage(outcome, 'PredictionRequest')).toEqual({
      userId: 'alice',
      luckyNumber: 7,
      filter: { mood: 'HAPPY', minLength: '10' },
      tags: ['a', 'b c'],
      verbose: true,
    });
  });

  it('keeps the route when match_incoming_request_route is set', async () => {
    const filter = (await createTranscoder({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE], match_incoming_request_route: true }))();
    const outcome = await decodeRequest(filter, { method: 'GET', path: '/v1/fortune/alice' });
    expect(outcome.head.path).toBe('/build.stack.fortune.FortuneTeller/Predict');
    expect(outcome.stream.routeCacheClears).toBe(0);
  });

  it.each([
    ['a path no rule matches', { method: 'GET', path: '/v1/horoscope/alice' }],
    ['the wrong HTTP method', { method: 'DELETE', path: '/v1/fortune/alice' }],
    ['a service not listed in services', { method: 'GET', path: '/v1/oracle' }],
    ['a method without a rule (no auto_mapping)', { method: 'POST', path: '/build.stack.fortune.FortuneTeller/Ping', headers: { 'content-type': 'application/json' } }],
    ['a request that already is gRPC', { method: 'GET', path: '/v1/fortune/alice', headers: { 'content-type': 'application/grpc+proto' } }],
  ])('passes through %s untouched', async (_name, request) => {
    const before = { method: request.method, path: request.path, headers: { ...(request as { headers?: object }).headers } };
    const outcome = await decodeRequest(newFilter(), { ...request, body: 'payload' });
    expect({ method: outcome.head.method, path: outcome.head.path, headers: outcome.head.headers }).toEqual(before);
    expect(outcome.stream.bufferRequestBody).toBe(false);
    expect(outcome.stream.routeCacheClears).toBe(0);
    expect(outcome.body?.toString()).toBe('payload');
  });

  it('maps a JSON body onto the whole message for body "*"', async () => {
    const outcome = await decodeRequest(newFilter(), {
      method: 'POST',
      path: '/v1/fortunes',
      headers: { 'content-type': 'application/json', 'content-length': '97' },
      body: JSON.stringify({ user_id: 'bob', fortune: { text: 'You will write tests', mood: 'GLOOMY', stars: 4, toldAt: '2024-01-02T03:04:05Z' }, notify: true }),
    });
    expect(outcome.head.headers['content-length']).toBeUndefined();
    expect(outcome.head.headers['content-type']).toBe('application/grpc');
    expect(upstreamMessage(outcome, 'CreateFortuneRequest')).toEqual({
      userId: 'bob',
      fortune: { text: 'You will write tests', mood: 'GLOOMY', stars: 4, toldAt: '2024-01-02T03:04:05Z' },
      notify: true,
    });
  });

  it('maps the body onto one field for body "fortune", with path variables winning (additional_bindings)', async () => {
    const outcome = await decodeRequest(newFilter(), {
      method: 'PUT',
      path: '/v1/users/bob/fortunes/f9',
      headers: { 'content-type': 'application/json' },
      body: '{"id": "from-body", "text": "Patience"}',
    });
    expect(outcome.head.path).toBe('/build.stack.fortune.FortuneTeller/CreateFortune');
    expect(upstreamMessage(outcome, 'CreateFortuneRequest')).toEqual({ userId: 'bob', fortune: { id: 'f9', text: 'Patience' } });
  });

  it('sends an empty message for an empty body', async () => {
    const outcome = await decodeRequest(newFilter(), { method: 'POST', path: '/v1/fortunes' });
    expect(grpcMessages(outcome.body as Buffer)).toEqual([Buffer.alloc(0)]);
  });

  it('binds multi-segment variables and splits a verb', async () => {
    const archive = await decodeRequest(newFilter(), { method: 'POST', path: '/v1/users/bob/fortunes/f7:archive' });
    expect(archive.head.path).toBe('/build.stack.fortune.FortuneTeller/ArchiveFortune');
    expect(upstreamMessage(archive, 'GetFortuneRequest')).toEqual({ name: 'users/bob/fortunes/f7' });

    const get = await decodeRequest(newFilter(), { method: 'GET', path: '/v1/users/bob/fortunes/f7' });
    expect(get.head.path).toBe('/build.stack.fortune.FortuneTeller/GetFortune');

    const scroll = await decodeRequest(newFilter(), { method: 'GET', path: '/v1/scrolls/ancient/a%20b.txt' });
    expect(scroll.head.path).toBe('/build.stack.fortune.FortuneTeller/ReadScroll');
    expect(upstreamMessage(scroll, 'ReadScrollRequest')).toEqual({ path: 'ancient/a b.txt' });
  });

  it('answers 400 for a body that is not JSON, naming the problem', async () => {
    const outcome = await decodeRequest(newFilter(), { method: 'POST', path: '/v1/fortunes', body: '{"user_id": ' });
    expect(outcome.localReply?.status).toBe(400);
    expect(outcome.localReply?.grpcStatus).toBeUndefined();
    expect(String(outcome.localReply?.body)).toContain('the request body is not valid JSON');
  });

  it('answers 400 for JSON that does not fit the request message', async () => {
    const unknown = await decodeRequest(newFilter(), { method: 'POST', path: '/v1/fortunes', body: '{"colour": "red"}' });
    expect(unknown.localReply?.status).toBe(400);
    expect(String(unknown.localReply?.body)).toMatch(/build\.stack\.fortune\.CreateFortuneRequest.*colour/);

    const badEnum = await decodeRequest(newFilter(), { method: 'POST', path: '/v1/fortunes', body: '{"fortune": {"mood": "ECSTATIC"}}' });
    expect(badEnum.localReply?.status).toBe(400);
    expect(String(badEnum.localReply?.body)).toContain('ECSTATIC');
  });

  it('answers 400 for a query value of the wrong type, before touching the request', async () => {
    const outcome = await decodeRequest(newFilter(), { method: 'GET', path: '/v1/fortune/alice?lucky_number=seven' });
    expect(outcome.localReply?.status).toBe(400);
    expect(String(outcome.localReply?.body)).toContain("invalid value 'seven' for field 'lucky_number'");
    expect(outcome.head.path).toBe('/v1/fortune/alice?lucky_number=seven');

    const bool = await decodeRequest(newFilter(), { method: 'GET', path: '/v1/fortune/alice?verbose=yes' });
    expect(String(bool.localReply?.body)).toContain("invalid value 'yes' for field 'verbose'");
  });

  it('leaves a request with an unknown query parameter alone, unless told to ignore it', async () => {
    const untouched = await decodeRequest(newFilter(), { method: 'GET', path: '/v1/fortune/alice?api_key=k1' });
    expect(untouched.head.path).toBe('/v1/fortune/alice?api_key=k1');
    expect(untouched.stream.bufferRequestBody).toBe(false);

    const ignored = (await createTranscoder({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE], ignored_query_parameters: ['api_key'] }))();
    const listed = await decodeRequest(ignored, { method: 'GET', path: '/v1/fortune/alice?api_key=k1&lucky_number=3' });
    expect(upstreamMessage(listed, 'PredictionRequest')).toEqual({ userId: 'alice', luckyNumber: 3 });

    const lenient = (await createTranscoder({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE], ignore_unknown_query_parameters: true }))();
    const any = await decodeRequest(lenient, { method: 'GET', path: '/v1/fortune/alice?utm_source=x&lucky_number=4' });
    expect(upstreamMessage(any, 'PredictionRequest')).toEqual({ userId: 'alice', luckyNumber: 4 });
  });

  it("decodes '+' in query values as a space only with query_param_unescape_plus", async () => {
    const plain = await decodeRequest(newFilter(), { method: 'GET', path: '/v1/fortune/alice?tags=a+b' });
    expect(upstreamMessage(plain, 'PredictionRequest')).toEqual({ userId: 'alice', tags: ['a+b'] });

    const plus = (await createTranscoder({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE], query_param_unescape_plus: true }))();
    const spaced = await decodeRequest(plus, { method: 'GET', path: '/v1/fortune/alice?tags=a+b' });
    expect(upstreamMessage(spaced, 'PredictionRequest')).toEqual({ userId: 'alice', tags: ['a b'] });
  });

  it('maps POST /package.Service/Method with a JSON body when auto_mapping is on', async () => {
    const filter = (await createTranscoder({ proto_descriptor: descriptor, services: [FORTUNE_SERVICE], auto_mapping: true }))();
    const outcome = await decodeRequest(filter, {
      method: 'POST',
      path: '/build.stack.fortune.FortuneTeller/Ping',
      headers: { 'content-type': 'application/json' },
      body: '{"text": "hello"}',
    });
    expect(outcome.head.path).toBe('/build.stack.fortune.FortuneTeller/Ping');
    expect(outcome.head.headers['content-type']).toBe('application/grpc');
    expect(upstreamMessage(outcome, 'PingRequest')).toEqual({ text: 'hello' });
  });
});
