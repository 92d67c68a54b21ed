// End to end against a real @grpc/grpc-js FortuneTeller server: the filter builds the gRPC request, node:http2
// carries it, the server (loading fortune.proto independently with @grpc/proto-loader) decodes it, and the
// filter converts the real response, trailers and trailers-only errors included.
import { connect } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders, IncomingHttpStatusHeader } from 'node:http2';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeaderMap, HttpFilter } from '../../../src/proxy/http/filter.js';
import { tempDir } from '../../helpers/index.js';
import { FORTUNE_DIR, FORTUNE_SERVICE, GOOGLEAPIS_DIR, RecordingStream, compileFortuneDescriptor, createTranscoder, decodeRequest, encodeResponse } from './fortune.js';
import type { ResponseOutcome } from './fortune.js';

interface PredictionRequest {
  user_id: string;
  lucky_number: number;
  filter: { mood: string; min_length: string } | null;
  tags: string[];
}

interface FortuneMessage {
  id: string;
  text: string;
  mood: string;
}

let cleanup: () => Promise<void>;
let server: grpc.Server;
let session: ClientHttp2Session;
let newFilter: () => HttpFilter;
let statusDetails: Buffer;

function startServer(): Promise<number> {
  const definition = protoLoader.loadSync(join(FORTUNE_DIR, 'fortune.proto'), {
    includeDirs: [FORTUNE_DIR, GOOGLEAPIS_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    build: { stack: { fortune: { FortuneTeller: grpc.ServiceClientConstructor } } };
  };
  const pkg = loaded.build.stack.fortune;
  statusDetails = encodeStatusDetails();

  server = new grpc.Server();
  server.addService(pkg.FortuneTeller.service, {
    Predict(call: grpc.ServerUnaryCall<PredictionRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const req = call.request;
      if (req.user_id === 'nobody') {
        callback({ code: grpc.status.NOT_FOUND, details: 'no fortune for nobody' });
        return;
      }
      if (req.user_id === 'cloudy') {
        const metadata = new grpc.Metadata();
        metadata.set('grpc-status-details-bin', statusDetails);
        callback({ code: grpc.status.UNAVAILABLE, details: 'the crystal ball is cloudy', metadata });
        return;
      }
      callback(null, {
        message: `tags=${req.tags.join(',')} mood=${req.filter?.mood ?? 'none'} min=${req.filter?.min_length ?? '-'}`,
        mood: 'HAPPY',
        lucky_number: req.lucky_number,
        user_id: req.user_id,
      });
    },
    CreateFortune(call: grpc.ServerUnaryCall<{ user_id: string; fortune: FortuneMessage | null }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const fortune = call.request.fortune;
      callback(null, { id: fortune?.id || `${call.request.user_id}-1`, text: fortune?.text.toUpperCase(), mood: fortune?.mood, stars: 3 });
    },
    StreamFortunes(call: grpc.ServerWritableStream<{ user_id: string; page_size: number }, unknown>) {
      for (let i = 1; i <= call.request.page_size; i++) call.write({ id: `${call.request.user_id}-${i}` });
      call.end();
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/** A google.rpc.Status with a FortuneError detail in an Any, encoded by hand (the server sends it as a trailer). */
function encodeStatusDetails(): Buffer {
  const field = (tag: number, bytes: Buffer) => Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
  const detail = Buffer.concat([field(0x0a, Buffer.from('cloudy')), Buffer.from([0x10, 30])]); // reason, retry_after_seconds
  const any = Buffer.concat([field(0x0a, Buffer.from('type.googleapis.com/build.stack.fortune.FortuneError')), field(0x12, detail)]);
  return Buffer.concat([Buffer.from([0x08, 14]), field(0x12, Buffer.from('try again tomorrow')), field(0x1a, any)]);
}

function toHeaderMap(headers: IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(':') && value !== undefined) out[name] = Array.isArray(value) ? value : String(value);
  }
  return out;
}

/** What a client of the proxy would get: decode hooks, a real HTTP/2 gRPC exchange, encode hooks. */
async function roundTrip(
  filter: HttpFilter,
  request: { method: string; path: string; headers?: HeaderMap; body?: string },
): Promise<ResponseOutcome & { upstreamTrailersOnly: boolean }> {
  const stream = new RecordingStream('HTTP/1.1');
  const decoded = await decodeRequest(filter, request, stream);
  if (decoded.localReply) throw new Error(`local reply: ${String(decoded.localReply.body)}`);
  const { head } = decoded;
  const upstream = session.request({ ':method': head.method, ':path': head.path, ':authority': head.authority, ':scheme': head.scheme, ...head.headers });
  upstream.end(decoded.body);

  const response = await new Promise<{ headers: IncomingHttpHeaders & IncomingHttpStatusHeader; body: Buffer; trailers?: IncomingHttpHeaders }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders & IncomingHttpStatusHeader = {};
    let trailers: IncomingHttpHeaders | undefined;
    upstream.on('response', (h) => (headers = h));
    upstream.on('trailers', (t) => (trailers = t));
    upstream.on('data', (chunk: Buffer) => chunks.push(chunk));
    upstream.on('end', () => resolve({ headers, body: Buffer.concat(chunks), ...(trailers ? { trailers } : {}) }));
    upstream.on('error', reject);
  });
  const out = await encodeResponse(filter, stream, {
    status: Number(response.headers[':status']),
    headers: toHeaderMap(response.headers),
    body: response.body,
    ...(response.trailers ? { trailers: toHeaderMap(response.trailers) } : {}),
  });
  return { ...out, upstreamTrailersOnly: response.trailers === undefined && response.headers['grpc-status'] !== undefined };
}

beforeAll(async () => {
  const temp = await tempDir('transcoder-grpc-');
  cleanup = temp.cleanup;
  const descriptor = await compileFortuneDescriptor(temp.dir);
  newFilter = await createTranscoder({
    proto_descriptor: descriptor,
    services: [FORTUNE_SERVICE],
    print_options: { always_print_primitive_fields: true },
    convert_grpc_status: true,
  });
  const port = await startServer();
  session = connect(`http://127.0.0.1:${port}`);
});

afterAll(async () => {
  session?.close();
  await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
  await cleanup();
});

describe('transcoding against a real gRPC server', () => {
  it('calls Predict with path and query bindings and returns its JSON', async () => {
    const out = await roundTrip(newFilter(), { method: 'GET', path: '/v1/fortune/alice?lucky_number=7&tags=x&tags=y&filter.mood=GLOOMY&filter.min_length=12' });
    expect(out.upstreamTrailersOnly).toBe(false);
    expect(out.head.status).toBe(200);
    expect(out.head.headers['content-type']).toBe('application/json');
    expect(JSON.parse(out.body.toString())).toEqual({
      message: 'tags=x,y mood=GLOOMY min=12',
      mood: 'HAPPY',
      luckyNumber: 7,
      userId: 'alice',
      generation: '0',
    });
  });

  it('calls CreateFortune with a JSON body', async () => {
    const out = await roundTrip(newFilter(), {
      method: 'PUT',
      path: '/v1/users/bob/fortunes/f42',
      headers: { 'content-type': 'application/json' },
      body: '{"text": "a quiet week", "mood": "GLOOMY"}',
    });
    expect(out.head.status).toBe(200);
    expect(JSON.parse(out.body.toString())).toEqual({ id: 'f42', text: 'A QUIET WEEK', mood: 'GLOOMY', stars: 3 });
  });

  it('collects a server stream into a JSON array', async () => {
    const out = await roundTrip(newFilter(), { method: 'GET', path: '/v1/users/carol/fortunes:stream?page_size=3' });
    expect(out.head.status).toBe(200);
    expect(JSON.parse(out.body.toString()).map((f: FortuneMessage) => f.id)).toEqual(['carol-1', 'carol-2', 'carol-3']);
  });

  it('turns a trailers-only NOT_FOUND into 404 with a JSON status', async () => {
    const out = await roundTrip(newFilter(), { method: 'GET', path: '/v1/fortune/nobody' });
    expect(out.upstreamTrailersOnly).toBe(true);
    expect(out.head.status).toBe(404);
    expect(out.head.headers['grpc-status']).toBeUndefined();
    expect(JSON.parse(out.body.toString())).toEqual({ code: 5, message: 'no fortune for nobody', details: [] });
  });

  it('decodes grpc-status-details-bin sent by the server', async () => {
    const out = await roundTrip(newFilter(), { method: 'GET', path: '/v1/fortune/cloudy' });
    expect(out.head.status).toBe(503);
    expect(JSON.parse(out.body.toString())).toEqual({
      code: 14,
      message: 'try again tomorrow',
      details: [{ '@type': 'type.googleapis.com/build.stack.fortune.FortuneError', reason: 'cloudy', retryAfterSeconds: 30 }],
    });
  });

  it('reaches UNIMPLEMENTED for a method the server does not serve', async () => {
    const out = await roundTrip(newFilter(), { method: 'GET', path: '/v1/users/dave/fortunes' });
    expect(out.head.status).toBe(501);
    expect(JSON.parse(out.body.toString())).toMatchObject({ code: 12 });
  });
});
