import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, run } from '../helpers/index.js';
import { startProxy } from './helpers/proxy-process.js';
import type { RunningProxy } from './helpers/proxy-process.js';
import { seedPki } from './helpers/pki.js';

const FORTUNE_DIR = join(PROJECT_ROOT, 'examples', 'vm', 'fortune-teller');
const GOOGLEAPIS_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'googleapis');

type Unary = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => void;

/**
 * Seed 003's grpc_json_transcoder block, as written (the descriptor path changed), in the VM proxy in
 * front of a real @grpc/grpc-js FortuneTeller that requires mutual TLS.
 */
describe('seed 003: REST on the VM -> gRPC fortune-teller through the transcoder', () => {
  let dir: string;
  let server: grpc.Server;
  let vm: RunningProxy;
  const peers: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-transcoder-'));
    const descriptor = join(dir, 'fortune.pb');
    const protoc = await run('protoc', ['--include_imports', `-I${FORTUNE_DIR}`, `-I${GOOGLEAPIS_DIR}`, `--descriptor_set_out=${descriptor}`, 'fortune.proto']);
    expect(protoc.code).toBe(0);
    const pki = await seedPki(dir);
    const ft = await pki.issue(pki.meshCa, 'fortune-teller', 'spiffe://cluster.local/ns/fortune-teller/sa/fortune-teller');
    const vmCerts = await pki.issue(pki.vmCa, 'certs', 'spiffe://vm.local/vm/vm-1');

    const definition = protoLoader.loadSync('fortune.proto', { includeDirs: [FORTUNE_DIR, GOOGLEAPIS_DIR], keepCase: false, longs: String, enums: String, defaults: false });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { build: { stack: { fortune: { FortuneTeller: grpc.ServiceClientConstructor } } } };
    server = new grpc.Server();
    const predict: Unary = (call, cb) => {
      const auth = call.getAuthContext();
      peers.push(String(auth.sslPeerCertificate?.subjectaltname ?? ''));
      const user = String(call.request.userId ?? '');
      if (user === 'nobody') return cb({ code: grpc.status.NOT_FOUND, details: `no fortune for ${user}` });
      cb(null, { message: `${user}, a journey awaits`, mood: 'HAPPY', userId: user });
    };
    const unimplemented: Unary = (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not here' });
    server.addService(pkg.build.stack.fortune.FortuneTeller.service, {
      Predict: predict, CreateFortune: unimplemented, GetFortune: unimplemented, ArchiveFortune: unimplemented,
      ListFortunes: unimplemented, ReadScroll: unimplemented, Ping: unimplemented,
      StreamFortunes: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
    });
    const credentials = grpc.ServerCredentials.createSsl(readFileSync(ft.bundle), [{ cert_chain: readFileSync(ft.cert), private_key: readFileSync(ft.key) }], true);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));

    vm = await startProxy(dir, 'vm-transcoder', `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - address:
      socket_address:
        address: 127.0.0.1
        port_value: 0
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: vm
          route_config:
            name: local_route
            virtual_hosts:
            - name: routes
              domains:
              - "*"
              routes:
                # match on grpc or http requests matched in the proto (/v1/fortune/{user_id})
              - match:
                  prefix: "/build.stack.fortune.FortuneTeller"
                  grpc: {}  #grpc:{} means that requests are only forwarded if they are found in the grpc service definition, returning 404 for others
                route:
                  cluster: fortune-teller
          http_filters:
          # Enable grpc/json transcoding for the build.stack.fortune.FortuneTeller service
          - name: envoy.filters.http.grpc_json_transcoder
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder
              proto_descriptor: "${descriptor}"
              services: ["build.stack.fortune.FortuneTeller"]
              print_options:
                add_whitespace: true
                always_print_primitive_fields: true
                always_print_enums_as_ints: false
                preserve_proto_field_names: false
              convert_grpc_status: true
          - name: envoy.filters.http.router
  clusters:
  - name: fortune-teller
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {}
    load_assignment:
      cluster_name: fortune-teller
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } }
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: outbound_.50051_._.fortune-teller.fortune-teller.svc.cluster.local
        common_tls_context:
          alpn_protocols: [h2]
          tls_certificates:
          - certificate_chain: { filename: ${vmCerts.cert} }
            private_key: { filename: ${vmCerts.key} }
          validation_context:
            trusted_ca: { filename: ${vmCerts.bundle} }
`);
  }, 60_000);

  afterAll(async () => {
    await vm?.stop();
    await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the REST call returns JSON shaped by print_options', async () => {
    const res = await run('curl', ['-s', '-i', `http://127.0.0.1:${vm.listenerPort(0)}/v1/fortune/alice`]);
    expect(res.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(res.stdout).toMatch(/content-type: application\/json/i);
    const body = res.stdout.slice(res.stdout.indexOf('\r\n\r\n') + 4);
    // add_whitespace: pretty printed; always_print_primitive_fields: luckyNumber 0 and generation "0" appear.
    expect(body).toContain('\n');
    expect(JSON.parse(body)).toEqual({ message: 'alice, a journey awaits', mood: 'HAPPY', luckyNumber: 0, userId: 'alice', generation: '0' });
    expect(peers[peers.length - 1]).toBe('URI:spiffe://vm.local/vm/vm-1');
  });

  it('a gRPC error maps to an HTTP status with convert_grpc_status', async () => {
    const res = await run('curl', ['-s', '-i', `http://127.0.0.1:${vm.listenerPort(0)}/v1/fortune/nobody`]);
    expect(res.stdout).toMatch(/^HTTP\/1\.1 404/);
    const body = JSON.parse(res.stdout.slice(res.stdout.indexOf('\r\n\r\n') + 4)) as { code: number; message: string };
    expect(body.code).toBe(5);
    expect(body.message).toBe('no fortune for nobody');
  });

  it('a path outside the service gets 404 from the grpc: {} match', async () => {
    const res = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${vm.listenerPort(0)}/v2/horoscope/alice`]);
    expect(res.stdout).toBe('404');
  });

  it('native gRPC clients pass through the same listener over h2c, trailers included', async () => {
    const definition = protoLoader.loadSync('fortune.proto', { includeDirs: [FORTUNE_DIR, GOOGLEAPIS_DIR], longs: String, enums: String });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { build: { stack: { fortune: { FortuneTeller: grpc.ServiceClientConstructor } } } };
    const client = new pkg.build.stack.fortune.FortuneTeller(`127.0.0.1:${vm.listenerPort(0)}`, grpc.credentials.createInsecure()) as unknown as {
      Predict(req: object, cb: (err: grpc.ServiceError | null, res: { message: string }) => void): void;
      close(): void;
    };
    try {
      const ok = await new Promise<{ message: string }>((resolve, reject) => client.Predict({ userId: 'bob' }, (err, res) => (err ? reject(err) : resolve(res))));
      expect(ok.message).toBe('bob, a journey awaits');
      const err = await new Promise<grpc.ServiceError>((resolve) => client.Predict({ userId: 'nobody' }, (e) => resolve(e as grpc.ServiceError)));
      expect(err.code).toBe(grpc.status.NOT_FOUND);
      expect(err.details).toBe('no fortune for nobody');
    } finally {
      client.close();
    }
  });

  it('with the gRPC server gone, the REST client gets the proxy\'s 503 as a JSON status', async () => {
    server.forceShutdown();
    const res = await run('curl', ['-s', '-i', `http://127.0.0.1:${vm.listenerPort(0)}/v1/fortune/alice`]);
    expect(res.stdout).toMatch(/^HTTP\/1\.1 503/);
    const body = JSON.parse(res.stdout.slice(res.stdout.indexOf('\r\n\r\n') + 4)) as { code: number; message: string };
    expect(body.code).toBe(14);
    expect(body.message).toMatch(/upstream connect error/);
  });
});
