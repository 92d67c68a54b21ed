// Shared by the transcoder tests: compiles examples/vm/fortune-teller/fortune.proto with the real protoc, builds
// the filter through its factory, and drives its hooks in the order the HTTP connection manager does.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { grpcJsonTranscoderFactory } from '../../../src/proxy/http/filters/grpc-json-transcoder/index.js';
import type { HeaderMap, HttpFilter, LocalReply, RequestHead, ResponseHead, StreamInfo } from '../../../src/proxy/http/filter.js';
import { PROJECT_ROOT, run } from '../../helpers/index.js';

export const FORTUNE_DIR = join(PROJECT_ROOT, 'examples', 'vm', 'fortune-teller');
export const GOOGLEAPIS_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'googleapis');
export const FORTUNE_SERVICE = 'build.stack.fortune.FortuneTeller';

/** Runs protoc --include_imports into `dir`; returns the descriptor set's path. */
export async function compileFortuneDescriptor(dir: string, options: { includeImports?: boolean } = {}): Promise<string> {
  const out = join(dir, options.includeImports === false ? 'fortune-no-imports.pb' : 'fortune.pb');
  const args = [`-I${FORTUNE_DIR}`, `-I${GOOGLEAPIS_DIR}`, `--descriptor_set_out=${out}`, 'fortune.proto'];
  if (options.includeImports !== false) args.unshift('--include_imports');
  const result = await run('protoc', args);
  if (result.code !== 0) throw new Error(`protoc failed: ${result.stderr}`);
  return out;
}

export async function descriptorBase64(path: string): Promise<string> {
  return (await readFile(path)).toString('base64');
}

/** The stream side of the filter contract, recording what the filter asked for. */
export class RecordingStream implements StreamInfo {
  bufferRequestBody = false;
  bufferResponseBody = false;
  routeCacheClears = 0;
  readonly filterState = new Map<string, unknown>();
  readonly connection = { id: 1, remoteAddress: '127.0.0.1', remotePort: 40000, localAddress: '127.0.0.1', localPort: 8080, tls: false };
  readonly downstreamRemoteAddress = '127.0.0.1';
  constructor(readonly downstreamProtocol: StreamInfo['downstreamProtocol'] = 'HTTP/1.1') {}
  clearRouteCache(): void {
    this.routeCacheClears += 1;
  }
}

export async function createTranscoder(config: Record<string, unknown>, baseDir = PROJECT_ROOT): Promise<() => HttpFilter> {
  const result = await grpcJsonTranscoderFactory.create(config, { baseDir });
  if (!result.valid) throw new Error(`config rejected: ${JSON.stringify(result.errors)}`);
  return result.createFilter;
}

export interface RequestOutcome {
  head: RequestHead;
  stream: RecordingStream;
  /** The request body sent upstream, or the local reply that ended the stream. */
  body?: Buffer;
  localReply?: LocalReply;
}

function isLocalReply(value: unknown): value is LocalReply {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && 'status' in value;
}

/** decodeHeaders, then decodeBody once with the whole body when the filter buffers it (as the HCM does). */
export async function decodeRequest(
  filter: HttpFilter,
  request: { method: string; path: string; headers?: HeaderMap; body?: string | Buffer },
  stream = new RecordingStream(),
): Promise<RequestOutcome> {
  const head: RequestHead = { method: request.method, path: request.path, authority: 'fortune.local', scheme: 'http', headers: { ...request.headers } };
  const early = await filter.decodeHeaders?.(head, stream);
  if (early) return { head, stream, localReply: early };
  const raw = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body ?? Buffer.alloc(0));
  if (!stream.bufferRequestBody) return { head, stream, body: raw };
  const decoded = await filter.decodeBody?.(raw, head, stream);
  if (isLocalReply(decoded)) return { head, stream, localReply: decoded };
  return { head, stream, body: decoded ?? raw };
}

export interface ResponseOutcome {
  head: ResponseHead;
  body: Buffer;
  trailers: HeaderMap | undefined;
}

/** encodeHeaders, then encodeBody with the whole body and trailers when the filter buffers them. */
export async function encodeResponse(
  filter: HttpFilter,
  stream: RecordingStream,
  response: { status?: number; headers: HeaderMap; body?: Buffer; trailers?: HeaderMap },
): Promise<ResponseOutcome> {
  const head: ResponseHead = { status: response.status ?? 200, headers: { ...response.headers } };
  await filter.encodeHeaders?.(head, stream);
  const body = response.body ?? Buffer.alloc(0);
  if (!stream.bufferResponseBody || !filter.encodeBody) return { head, body, trailers: response.trailers };
  const out = await filter.encodeBody(body, response.trailers, head, stream);
  return { head, body: out.body, trailers: out.trailers };
}

/** Splits a gRPC body into its messages, checking each 5-byte prefix (independently of the code under test). */
export function grpcMessages(body: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    expect(body[offset], 'compressed flag').toBe(0);
    const length = body.readUInt32BE(offset + 1);
    messages.push(body.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  expect(offset).toBe(body.length);
  return messages;
}

export function grpcFrame(message: Uint8Array): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}
