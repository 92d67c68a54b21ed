import { createServer as createHttpServer } from 'node:http';
import type { IncomingHttpHeaders, Server as HttpServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, issueBootstrapToken, writePluginCa, writeRootCa } from '../../src/pki/index.js';
import { CLI, run, startBackground, tempDir } from '../helpers/index.js';
import type { Background } from '../helpers/index.js';
import { seedPki } from './helpers/pki.js';
import type { Workload } from './helpers/pki.js';
import { eventually, freePort, healthPortMap } from './helpers/processes.js';

const APP_ID = 'spiffe://cluster.local/ns/apps/sa/echo';
const VM_ID = 'spiffe://vm.local/vm/vm-1';

interface Seen { url: string; headers: IncomingHttpHeaders; version: string }

/** A plain local HTTP app that says what it received. */
function echoApp(name: string, seen: Seen[]): HttpServer {
  return createHttpServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, version: req.httpVersion });
    const body = JSON.stringify({ app: name, url: req.url, host: req.headers.host });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

interface HttpsResult { status?: number; body?: string; alpn?: string | false; serverId?: string; error?: string }

/** One HTTPS request to the inbound listener with the given client certificate and ALPN offer, verifying the sidecar's SPIFFE id. */
function mtlsGet(port: number, rootPem: string, client: Workload | undefined, alpn: string[]): Promise<HttpsResult> {
  return new Promise((resolve) => {
    let serverId: string | undefined;
    let negotiated: string | false | undefined;
    // https passes ALPNProtocols on to tls.connect; its RequestOptions type does not list it.
    const options: RequestOptions & { ALPNProtocols: string[] } = {
      host: '127.0.0.1', port, path: '/inbound?x=1', method: 'GET', headers: { host: 'echo.apps.internal' },
      ca: rootPem, ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      ALPNProtocols: alpn, agent: false, timeout: 5_000,
      // The workload certificate has a SPIFFE id and no DNS name: check the id instead of a host name.
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        serverId = /URI:([^,\s]+)/.exec(cert.subjectaltname ?? '')?.[1];
        return serverId === APP_ID ? undefined : new Error(`unexpected server identity ${serverId}`);
      },
    };
    const req = httpsRequest(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: negotiated ?? false, ...(serverId ? { serverId } : {}) }));
    });
    req.on('socket', (s) => s.once('secureConnect', () => (negotiated = (s as TLSSocket).alpnProtocol ?? false)));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

const ECHO_METHOD = {
  path: '/isthmus.test.Echo/Say',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
} as const;

/**
 * A sidecar in front of a local app, fed by the control plane over ADS, with its workload certificate
 * from the control plane's CA (Istio CA API): the inbound mTLS listeners (STRICT), reached by a VM whose
 * identity is in another trust domain under the same root (--skip-validate-trust-domain), a gRPC call
 * over mTLS with ALPN "istio", and the sidecar's HTTP proxy listener (HTTP_PROXY_PORT) used by curl.
 */
describe('sidecar: inbound mTLS, gRPC with ALPN istio, HTTP proxy', { timeout: 90_000 }, () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  let cp: Background | undefined;
  let sidecar: Background | undefined;
  let server = '';
  let rootPem = '';
  let vm: Workload;
  let stranger: Workload;
  const apps: HttpServer[] = [];
  let grpcServer: grpc.Server | undefined;
  let forwarder: NetServer | undefined;
  const appSeen: Seen[] = [];
  const lambdaSeen: Seen[] = [];
  const ports = { httpInbound: 0, grpcInbound: 0, httpApp: 0, grpcApp: 0, lambda: 0, httpProxy: 0, httpService: 0, grpcService: 0 };
  let forwarderAlpn: Array<string | false> = [];
  let forwarderPort = 0;

  const isthmus = (args: string[], input?: string) => run('node', [CLI, '--server', server, ...args], input === undefined ? {} : { input });
  const listen = async (s: HttpServer): Promise<number> => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    apps.push(s);
    return (s.address() as { port: number }).port;
  };

  beforeAll(async () => {
    work = await tempDir('sidecar-inbound');
    const dir = work.dir;
    // The control plane's CA is the seed's mesh intermediate; the VM's certificate comes from the VM intermediate (trust domain vm.local).
    const pki = await seedPki(dir);
    await writeRootCa(join(dir, 'state', 'ca', 'root'), pki.root);
    await writePluginCa(join(dir, 'state', 'ca', 'mesh-ca'), pki.meshCa);
    rootPem = readFileSync(join(dir, 'state', 'ca', 'root', 'root-cert.pem'), 'utf8');
    vm = await pki.issue(pki.vmCa, 'vm', VM_ID);
    const otherRoot = await CertificateAuthority.createRoot({ trustDomain: 'cluster.local' });
    stranger = await pki.issue(otherRoot, 'stranger', 'spiffe://cluster.local/ns/apps/sa/stranger');

    ports.httpApp = await listen(echoApp('echo', appSeen));
    ports.lambda = await listen(echoApp('lambda', lambdaSeen));
    grpcServer = new grpc.Server();
    grpcServer.register(ECHO_METHOD.path, (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      callback(null, Buffer.from(`echo:${call.request.toString()}`));
    }, ECHO_METHOD.responseSerialize, ECHO_METHOD.requestDeserialize, 'unary');
    ports.grpcApp = await new Promise<number>((resolve, reject) => grpcServer?.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
    for (const key of ['httpInbound', 'grpcInbound', 'httpProxy', 'httpService', 'grpcService'] as const) ports[key] = await freePort();

    cp = await startBackground(process.execPath, [CLI, 'controlplane', '--state-dir', join(dir, 'state'), '--xds-address', '127.0.0.1:0', '--management-address', '127.0.0.1:0',
      '--ca-address', '127.0.0.1:0', '--skip-validate-trust-domain'], /xDS 127\.0\.0\.1:(\d+), management (http:\/\/127\.0\.0\.1:\d+), CA 127\.0\.0\.1:(\d+)/);
    server = cp.ready[2] as string;
    const xdsPort = Number(cp.ready[1]);
    const caPort = Number(cp.ready[3]);
    for (const ns of ['apps', 'istio-system']) expect((await isthmus(['create', 'namespace', ns])).code).toBe(0);
    const applied = await isthmus(['apply', '-f', '-'], `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: echo, namespace: apps }
spec:
  hosts: [echo.apps.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - { name: http, number: ${ports.httpService}, protocol: HTTP, targetPort: ${ports.httpInbound} }
  - { name: grpc, number: ${ports.grpcService}, protocol: GRPC, targetPort: ${ports.grpcInbound} }
  workloadSelector:
    labels: { app: echo }
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: lambda, namespace: apps }
spec:
  hosts: [lambda.external]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports:
  - { name: http, number: 80, protocol: HTTP }
  endpoints:
  - address: 127.0.0.1
    ports: { http: ${ports.lambda} }
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: STRICT }
`);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toContain('peerauthentication.security.istio.io/default created');

    const token = await issueBootstrapToken(pki.meshCa, APP_ID, 600_000);
    sidecar = await startBackground(process.execPath, [CLI, 'proxy', '--xds', `127.0.0.1:${xdsPort}`, '--proxy-type', 'sidecar', '--namespace', 'apps', '--label', 'app=echo',
      '--node-id', 'sidecar~127.0.0.1~echo-5d9c8b7f6-x2x4k.apps~apps.svc.cluster.local',
      '--port-map', `${ports.httpInbound}:${ports.httpApp},${ports.grpcInbound}:${ports.grpcApp},${await healthPortMap()}`, '--meta', `HTTP_PROXY_PORT=${ports.httpProxy}`,
      '--ca-address', `127.0.0.1:${caPort}`, '--ca-root', join(dir, 'state', 'ca', 'root', 'root-cert.pem'), '--spiffe', APP_ID, '--bootstrap-token', token,
      '--drain-time-s', '1'], /connected to the control plane/);

    // The VM's proxy role for gRPC: takes h2c from the grpc-js client, originates mTLS with ALPN "istio" (as Istio's upstream TLS does).
    forwarder = createNetServer((downstream) => {
      const upstream = tlsConnect({
        host: '127.0.0.1', port: ports.grpcInbound, ca: rootPem, cert: readFileSync(vm.cert), key: readFileSync(vm.key), ALPNProtocols: ['istio'],
        checkServerIdentity: (_h, cert) => (cert.subjectaltname?.includes(`URI:${APP_ID}`) ? undefined : new Error('unexpected server identity')),
      }, () => {
        forwarderAlpn.push(upstream.alpnProtocol ?? false);
        downstream.pipe(upstream).pipe(downstream);
      });
      upstream.on('error', () => downstream.destroy());
      downstream.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => forwarder?.listen(0, '127.0.0.1', r));
    forwarderPort = (forwarder.address() as { port: number }).port;
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    await cp?.stop();
    forwarder?.close();
    grpcServer?.forceShutdown();
    for (const a of apps) a.closeAllConnections();
    await Promise.all(apps.map((a) => new Promise((r) => a.close(r))));
    await work?.cleanup();
  });

  const ok = (r: HttpsResult) => r.status === 200;

  it('a VM identity from another trust domain under the same root reaches the app over mTLS (ALPN istio, h2, http/1.1)', async () => {
    const first = await eventually(() => mtlsGet(ports.httpInbound, rootPem, vm, ['istio-peer-exchange', 'istio']), ok);
    if (!ok(first)) console.log(first, sidecar?.output());
    expect(first.status).toBe(200);
    expect(first.serverId).toBe(APP_ID);
    expect(first.alpn).toBe('istio');
    expect(JSON.parse(first.body ?? '{}')).toEqual({ app: 'echo', url: '/inbound?x=1', host: 'echo.apps.internal' });
    const h1 = await mtlsGet(ports.httpInbound, rootPem, vm, ['http/1.1']);
    expect([h1.status, h1.alpn]).toEqual([200, 'http/1.1']);
    // curl offers h2 first: the connection manager speaks HTTP/2 on the negotiated ALPN.
    const curl = await run('curl', ['-sk', '--http2', '--max-time', '5', '--cert', vm.cert, '--key', vm.key, '-w', '\n%{http_version}', '-H', 'host: echo.apps.internal', `https://127.0.0.1:${ports.httpInbound}/curl`]);
    expect(curl.stdout).toMatch(/"app":"echo","url":"\/curl"[\s\S]*\n2$/);
    // Istio's inbound XFCC (APPEND_FORWARD + subject, dns, uri): the app learns its verified peer.
    const xfcc = appSeen.find((s) => s.url === '/curl')?.headers['x-forwarded-client-cert'];
    expect(xfcc).toMatch(new RegExp(`^By=${APP_ID};Hash=[0-9a-f]{64};Subject="[^"]*";URI=${VM_ID}$`));
  });

  it('STRICT: no client certificate, a certificate from another root, or plaintext are refused', async () => {
    await eventually(() => mtlsGet(ports.httpInbound, rootPem, vm, ['istio']), ok);
    const before = appSeen.length;
    const anonymous = await mtlsGet(ports.httpInbound, rootPem, undefined, ['istio']);
    expect(anonymous.status).toBeUndefined();
    expect(anonymous.error).toBeDefined();
    const foreign = await mtlsGet(ports.httpInbound, rootPem, stranger, ['istio']);
    expect(foreign.status).toBeUndefined();
    const plain = await run('curl', ['-s', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${ports.httpInbound}/plain`]);
    expect(plain.stdout).toBe('000');
    expect(appSeen.length).toBe(before);
  });

  it('a grpc-js call reaches the gRPC app through the inbound listener after mTLS with ALPN istio (HTTP/2 detected by its preface)', async () => {
    await eventually(() => mtlsGet(ports.httpInbound, rootPem, vm, ['istio']), ok);
    forwarderAlpn = [];
    const client = new grpc.Client(`127.0.0.1:${forwarderPort}`, grpc.credentials.createInsecure());
    try {
      const call = () => new Promise<string>((resolve, reject) => {
        client.makeUnaryRequest(ECHO_METHOD.path, ECHO_METHOD.requestSerialize, ECHO_METHOD.responseDeserialize, Buffer.from('hello'), new grpc.Metadata(), { deadline: Date.now() + 5_000 },
          (err, value) => (err ? reject(err) : resolve(value?.toString() ?? '')));
      });
      const reply = await eventually(call, (v) => v === 'echo:hello');
      expect(reply).toBe('echo:hello');
      expect(forwarderAlpn[0]).toBe('istio');
    } finally {
      client.close();
    }
  });

  it('http_proxy=http://127.0.0.1:<HTTP_PROXY_PORT> curl lambda.external/hello-world goes through the HTTP proxy listener, origin form upstream', async () => {
    const curl = () => run('curl', ['-is', '--max-time', '5', 'lambda.external/hello-world'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', http_proxy: `http://127.0.0.1:${ports.httpProxy}` } });
    const res = await eventually(curl, (r) => r.stdout.startsWith('HTTP/1.1 200'));
    if (!res.stdout.startsWith('HTTP/1.1 200')) console.log(res, sidecar?.output());
    expect(res.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(res.stdout).toContain('{"app":"lambda","url":"/hello-world","host":"lambda.external"}');
    expect(lambdaSeen.at(-1)?.url).toBe('/hello-world');
    // A host the mesh does not know gets Envoy's 404 (no route), not a connection to it.
    const unknown = await run('curl', ['-s', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', 'unknown.example/x'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', http_proxy: `http://127.0.0.1:${ports.httpProxy}` } });
    expect(unknown.stdout).toBe('404');
  });

  it('proxy-config listeners of the sidecar show the inbound listeners and 127.0.0.1_<port>', async () => {
    const res = await isthmus(['proxy-config', 'listeners', 'echo-5d9c8b7f6-x2x4k.apps', '-o', 'json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`inbound|${ports.httpInbound}||`);
    expect(res.stdout).toContain(`inbound|${ports.grpcInbound}||`);
    expect(res.stdout).toContain(`127.0.0.1_${ports.httpProxy}`);
  });
});
