/**
 * The control plane's gRPC ports (xDS and the CA) under malformed, oversized and unauthenticated
 * input: garbage bytes on the socket, undecodable and oversized messages, type URLs that are not type
 * URLs, huge node metadata, CSRs without or with bad credentials. Each gets a clear gRPC status (or a
 * closed connection, below gRPC) and the server keeps serving well-behaved clients, checked after every
 * case with real @grpc/grpc-js clients.
 */
import { connect as connectHttp2, constants as h2 } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL, discoveryCodec } from '../../src/envoy/index.js';
import { SnapshotCache, XdsServer } from '../../src/controlplane/xds/index.js';
import { CA_SERVER_NAME, CertificateAuthority, IstioCaServer, createCsr, exportPrivateKeyPem, generateKeyPair, issueBootstrapToken, toPem } from '../../src/pki/index.js';
import { istioCertificateService } from '../../src/pki/istio-ca/proto.js';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../../src/pki/istio-ca/proto.js';
import { SotwClient, meshSnapshot } from '../controlplane/xds/helpers.js';
import { params } from './fuzz-helpers.js';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** Writes bytes to a port and resolves when the server has closed the connection. */
function sendGarbage(port: number, bytes: Buffer, tls = false): Promise<void> {
  return new Promise((resolve) => {
    const socket = tls
      ? connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: CA_SERVER_NAME }, () => socket.write(bytes))
      : connectTcp(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

/** One gRPC call over a bare HTTP/2 client: the frame is written as given (length prefix included). */
function rawGrpc(port: number, frame: Buffer): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    let headers: Record<string, unknown> = {};
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (headers = { ...headers, ...t }));
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      session.close();
      resolve({ status: Number(headers['grpc-status']), message: decodeURIComponent(String(headers['grpc-message'] ?? '')) });
    });
    // A whole request: the server answers a bad message with a trailers-only response at once, but
    // the HTTP/2 stream closes only when both sides have ended it.
    stream.end(frame);
  });
}

function grpcFrame(message: Buffer, declaredLength = message.length, compressed = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed;
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, message]);
}

describe('xDS port: malformed, oversized and unexpected input', () => {
  let cache: SnapshotCache;
  let server: XdsServer;
  let port: number;
  const clients: SotwClient[] = [];

  beforeAll(async () => {
    cache = new SnapshotCache({ debounceMs: 0 });
    server = new XdsServer({ cache, onNodeConnected: (node) => cache.setSnapshot(node.id as string, meshSnapshot(1)) });
    port = await server.listen('127.0.0.1:0');
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await server.close();
    cache.close();
  });

  function client(nodeId: string, node: Record<string, unknown> = {}): SotwClient {
    const c = new SotwClient(`127.0.0.1:${port}`, { id: nodeId, ...node });
    clients.push(c);
    return c;
  }

  let healthy = 0;
  /** A well-behaved proxy still gets its clusters. */
  async function stillServes(): Promise<void> {
    const c = client(`healthy-${++healthy}`);
    c.request(TYPE_URL.cluster);
    expect((await c.next(TYPE_URL.cluster, 10_000)).version_info).toBe('v1');
    c.close();
  }

  it('garbage bytes, an HTTP/1 request and a broken HTTP/2 preface: the connection is closed, others are served', async () => {
    const inputs = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 4, 0xff, 0, 0, 0, 0, 1, 1, 2, 3, 4])]),
      ...fc.sample(fc.uint8Array({ minLength: 1, maxLength: 2048 }), { numRuns: 20, seed: 1 }).map((b) => Buffer.from(b)),
    ];
    await Promise.all(inputs.map((bytes) => sendGarbage(port, bytes)));
    await stillServes();
  });

  it('a gRPC message that is not a DiscoveryRequest: a non-OK status naming the problem', async () => {
    const answers = await Promise.all([
      rawGrpc(port, grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff]))),
      rawGrpc(port, grpcFrame(Buffer.from([0x0a, 0x80]))), // a length varint cut in the middle
    ]);
    for (const a of answers) {
      // grpc-js' own wording for a message its deserializer (our ProtoError) refused.
      expect(a.status, a.message).toBe(grpc.status.INTERNAL);
      expect(a.message).toMatch(/deserializing request/i);
    }
    await stillServes();
  });

  it('random request bytes inside valid gRPC framing: always a gRPC status, never a crash', async () => {
    const frames = fc.sample(fc.uint8Array({ maxLength: 256 }), { ...params(30), seed: 2 }).map((b) => grpcFrame(Buffer.from(b)));
    const answers = await Promise.all(frames.map((f) => rawGrpc(port, f)));
    for (const a of answers) expect(Number.isNaN(a.status)).toBe(false);
    await stillServes();
  });

  it('a message declared or sent over the 4 MiB limit: RESOURCE_EXHAUSTED', async () => {
    const declared = await rawGrpc(port, grpcFrame(Buffer.from([0x0a]), 0x7fffffff));
    expect(declared.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const big = client('big');
    big.request(TYPE_URL.cluster, Array.from({ length: 5 }, (_, i) => `${i}-${'x'.repeat(1024 * 1024)}`));
    const status = await big.inbox.waitForEnd(10_000);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await stillServes();
  });

  it('a type_url that is not a type URL: INVALID_ARGUMENT naming type_url; an unknown but well-formed type is ignored', async () => {
    for (const typeUrl of ['', 'not a type url', '\u0000', 'x'.repeat(5000)]) {
      const c = client(`bad-type-${typeUrl.length}`);
      c.request(typeUrl);
      const status = await c.inbox.waitForEnd(10_000);
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(status.details).toMatch(/type_url .* is not a type URL/);
    }
    // Envoy asks for types a control plane may not serve (e.g. ECDS); that is not an error.
    const c = client('unknown-type');
    c.request('type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig');
    c.request(TYPE_URL.cluster);
    expect((await c.next(TYPE_URL.cluster, 10_000)).version_info).toBe('v1');
    await stillServes();
  });

  it('huge node metadata (3 MiB, under the limit) is served; it does not stop others', async () => {
    const c = client('fat-node', { metadata: { blob: 'm'.repeat(3 * 1024 * 1024), many: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])) } });
    c.request(TYPE_URL.cluster);
    expect((await c.next(TYPE_URL.cluster, 20_000)).version_info).toBe('v1');
    await stillServes();
  });

  it('the first request without node.id: INVALID_ARGUMENT', async () => {
    const c = new SotwClient(`127.0.0.1:${port}`, {});
    clients.push(c);
    c.request(TYPE_URL.cluster);
    const status = await c.inbox.waitForEnd(10_000);
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/node\.id/);
    // The encoder round trip the raw tests rely on.
    expect(discoveryCodec.decodeRequest(discoveryCodec.encodeRequest({ type_url: TYPE_URL.cluster })).type_url).toBe(TYPE_URL.cluster);
  });
});

type CaClient = {
  CreateCertificate(request: IstioCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, response?: IstioCertificateResponse) => void): void;
};

describe('CA port: unauthenticated, malformed and oversized certificate requests', () => {
  let root: CertificateAuthority;
  let meshCa: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let server: IstioCaServer;
  let rootsPem: Buffer;
  const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';

  beforeAll(async () => {
    root = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    meshCa = await root.createIntermediate({ name: 'mesh-ca' });
    otherCa = await (await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' })).createIntermediate({ name: 'mesh-ca' });
    rootsPem = Buffer.from(toPem([root.certificate]));
    server = new IstioCaServer({ authority: meshCa, port: 0 });
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function call(request: { csr: string; validity?: string | number; authorization?: string; clientCert?: { certPem: string; keyPem: string } }): Promise<{ code: grpc.status; details: string }> {
    const Client = istioCertificateService();
    const credentials = grpc.credentials.createSsl(rootsPem, request.clientCert ? Buffer.from(request.clientCert.keyPem) : null, request.clientCert ? Buffer.from(request.clientCert.certPem) : null);
    const client = new Client(`127.0.0.1:${server.port}`, credentials, { 'grpc.ssl_target_name_override': CA_SERVER_NAME, 'grpc.use_local_subchannel_pool': 1 }) as unknown as CaClient & grpc.Client;
    const metadata = new grpc.Metadata();
    if (request.authorization !== undefined) metadata.set('authorization', request.authorization);
    try {
      return await new Promise((resolve) => {
        client.CreateCertificate({ csr: request.csr, validity_duration: request.validity ?? 0 }, metadata, { deadline: Date.now() + 15_000 }, (err) => {
          resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' });
        });
      });
    } finally {
      client.close();
    }
  }

  let csr: string;
  let token: string;
  beforeAll(async () => {
    csr = await createCsr(await generateKeyPair(), { spiffeId: SLEEP });
    token = await issueBootstrapToken(meshCa, SLEEP, 3_600_000);
  });

  async function stillIssues(): Promise<void> {
    const before = server.stats.issued;
    expect((await call({ csr, authorization: `Bearer ${token}` })).code).toBe(grpc.status.OK);
    expect(server.stats.issued).toBe(before + 1);
  }

  it('no credentials, garbage tokens and a certificate from another CA: UNAUTHENTICATED, nothing issued', async () => {
    const issued = server.stats.issued;
    expect((await call({ csr })).code).toBe(grpc.status.UNAUTHENTICATED);
    const tokens = fc.sample(fc.oneof(fc.string({ minLength: 1, maxLength: 80, unit: fc.constantFrom(...'abcXYZ012-_.') }), fc.constantFrom('a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', '.', '..')), { numRuns: 15, seed: 3 });
    for (const t of tokens) {
      const answer = await call({ csr, authorization: `Bearer ${t}` });
      expect(answer.code, t).toBe(grpc.status.UNAUTHENTICATED);
      expect(answer.details.length).toBeGreaterThan(0);
    }
    for (const header of ['Bearer', 'Basic abc', 'bearer  ', 'Bearer a b']) expect((await call({ csr, authorization: header })).code, header).toBe(grpc.status.UNAUTHENTICATED);
    const stranger = await otherCa.issueWithNewKey({ spiffeId: SLEEP });
    const clientCert = { certPem: toPem([stranger.certificate, ...stranger.chain.filter((c) => c.subject !== c.issuer)]), keyPem: await exportPrivateKeyPem(stranger.keys.privateKey) };
    const refused = await call({ csr, clientCert });
    // grpc-js may refuse the handshake itself (UNAVAILABLE) or hide the certificate (UNAUTHENTICATED).
    expect([grpc.status.UNAUTHENTICATED, grpc.status.UNAVAILABLE]).toContain(refused.code);
    expect(server.stats.issued).toBe(issued);
    await stillIssues();
  });

  it('malformed CSRs and validity durations with a good token: INVALID_ARGUMENT (or a capped certificate), never INTERNAL', async () => {
    const csrs = [
      '', 'garbage', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
      csr.replace(/[A-Za-z](?=[^\n]*\n-----END)/, (c) => (c === 'A' ? 'B' : 'A')), // one character of the signature changed
      ...fc.sample(fc.string({ maxLength: 200 }), { numRuns: 10, seed: 4 }),
    ];
    for (const bad of csrs) {
      const answer = await call({ csr: bad, authorization: `Bearer ${token}` });
      expect(answer.code, JSON.stringify(bad.slice(0, 40))).toBe(grpc.status.INVALID_ARGUMENT);
    }
    for (const validity of ['abc', '-5', '1e30', '9007199254740993', 'NaN']) {
      const answer = await call({ csr, validity, authorization: `Bearer ${token}` });
      expect([grpc.status.OK, grpc.status.INVALID_ARGUMENT], `${validity}: ${answer.details}`).toContain(answer.code);
    }
    await stillIssues();
  });

  it('an oversized CSR: RESOURCE_EXHAUSTED; garbage bytes on the TLS port: connection closed; then still serving', async () => {
    const huge = await call({ csr: 'A'.repeat(5 * 1024 * 1024), authorization: `Bearer ${token}` });
    expect(huge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await Promise.all([
      sendGarbage(server.port, Buffer.from('GET / HTTP/1.1\r\n\r\n')),
      sendGarbage(server.port, Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3])),
      sendGarbage(server.port, Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\ngarbage'), true),
    ]);
    await stillIssues();
  });
});
