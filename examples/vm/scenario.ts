/**
 * Seed 003, "An easier way to add virtual machines to an Istio service mesh", on one machine.
 *
 * One mesh (127.0.30.0/24) whose root CA signs a mesh intermediate and a VM intermediate (trust domain
 * vm.local, accepted as the seed does with PILOT_SKIP_VALIDATE_TRUST_DOMAIN); an east-west gateway on
 * 15443 with the seed's AUTO_PASSTHROUGH Gateway; "frontend" (HTTP) and "fortune-teller" (gRPC), each
 * behind a sidecar that only accepts mutual TLS. The VM proxy runs the seed's static Envoy config with
 * addresses and paths filled in, and its certificate comes from the VM intermediate (`isthmus vm join`).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EXAMPLES, check, eventually } from '../lib/scenario.js';
import type { Scenario } from '../lib/scenario.js';
import { freePort, renderManifest } from '../lib/network.js';

const DIR = join(EXAMPLES, 'vm');
const manifest = (name: string) => join(DIR, 'manifests', name);
const DESCRIPTOR = join(DIR, 'fortune-teller', 'fortune.pb');

export const VM_STEPS = 9;

export const NET = { controlPlane: '127.0.30.1', eastWest: '127.0.30.2', frontend: '127.0.30.11', fortuneTeller: '127.0.30.12', vm: '127.0.30.100' } as const;
const EAST_WEST_POD = 'istio-eastwestgateway-868fc64fc4-fn6q4';

export interface VmResult {
  readonly tryCommands: readonly string[];
}

/** The frontend app: answers with what it saw, so the example can show who called. */
async function startFrontend(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const body = JSON.stringify({ service: 'frontend', method: req.method, path: req.url, forwardedClientCert: req.headers['x-forwarded-client-cert'] ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

/** The fortune-teller app: a gRPC server (plaintext: its sidecar terminates mTLS), from the seed's descriptor. */
async function startFortuneTeller(port: number): Promise<grpc.Server> {
  const definition = protoLoader.loadFileDescriptorSetFromBuffer(readFileSync(DESCRIPTOR), { keepCase: false, longs: String, enums: String, defaults: false });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { build: { stack: { fortune: { FortuneTeller: grpc.ServiceClientConstructor } } } };
  const server = new grpc.Server();
  type Unary = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => void;
  const unimplemented: Unary = (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in this example' });
  const predict: Unary = (call, cb) => {
    // Field names as the descriptor spells them (user_id); camelCase when a loader converts them.
    const user = String(call.request['user_id'] ?? call.request['userId'] ?? '');
    cb(null, { message: `${user}, a journey across the mesh awaits you`, mood: 'HAPPY', userId: user });
  };
  server.addService(pkg.build.stack.fortune.FortuneTeller.service, {
    Predict: predict, CreateFortune: unimplemented, GetFortune: unimplemented, ArchiveFortune: unimplemented,
    ListFortunes: unimplemented, ReadScroll: unimplemented, Ping: unimplemented,
    StreamFortunes: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return server;
}

export async function runVm(s: Scenario): Promise<VmResult> {
  const dir = s.workDir;
  const state = join(dir, 'mesh', 'state');
  const ctx = ['--context', 'vm-mesh'];
  let frontend: Server | undefined;
  let fortune: grpc.Server | undefined;
  s.onCleanup(() => new Promise<void>((resolve) => (frontend ? frontend.close(() => resolve()) : resolve())));
  s.onCleanup(() => new Promise<void>((resolve) => (fortune ? fortune.tryShutdown(() => resolve()) : resolve())));

  await s.step('start the mesh: control plane whose root signs a mesh and a VM intermediate, trust domain checks skipped (PILOT_SKIP_VALIDATE_TRUST_DOMAIN)', async () => {
    await s.startIsthmus('vm-mesh-istiod', [
      'controlplane', '--state-dir', state, '--trust-domain', 'cluster.local', '--vm-trust-domain', 'vm.local', '--skip-validate-trust-domain',
      '--xds-address', `${NET.controlPlane}:15010`, '--management-address', `${NET.controlPlane}:15014`, '--ca-address', `${NET.controlPlane}:15012`,
    ], /ready: xDS/);
    await s.isthmus(['config', 'set-context', 'vm-mesh', '--server', `http://${NET.controlPlane}:15014`]);
    const roots = await s.isthmus([...ctx, 'ca', 'roots']);
    s.show(roots.stdout);
  });

  await s.step('install the east-west gateway (ISTIO_META_ROUTER_MODE=sni-dnat) and the seed\'s AUTO_PASSTHROUGH Gateway on 15443', async () => {
    await s.isthmus([...ctx, 'create', 'namespace', 'istio-system']);
    await s.isthmus([...ctx, 'apply', '-f', manifest('install-eastwestgateway.yaml')]);
    await s.startIsthmus('eastwestgateway', [
      'proxy', '--xds', `${NET.controlPlane}:15010`, '--ip', NET.eastWest, '--proxy-type', 'router',
      '--node-id', `router~${NET.eastWest}~${EAST_WEST_POD}.istio-system~istio-system.svc.cluster.local`, '--namespace', 'istio-system',
      '--label', 'istio=eastwestgateway', '--label', 'app=istio-eastwestgateway', '--meta', 'ROUTER_MODE=sni-dnat',
    ], /connected to the control plane/);
    await s.isthmus([...ctx, 'apply', '-f', manifest('003-2-gateway-eastwest-auto-passthrough.yaml')]);
  });

  const sidecar = async (name: string, ns: string, ip: string, inboundPort: number, appPort: number) => {
    const spiffe = `spiffe://cluster.local/ns/${ns}/sa/${name}`;
    const token = (await s.isthmus(['ca', 'token', '--ca', join(state, 'ca', 'mesh-ca'), '--spiffe', spiffe, '--ttl', '10m'])).stdout.trim();
    await s.startIsthmus(`${name}-sidecar`, [
      'proxy', '--xds', `${NET.controlPlane}:15010`, '--ip', ip, '--node-id', `sidecar~${ip}~${name}-6d5b8c7f9-x2x4k.${ns}~${ns}.svc.cluster.local`,
      '--namespace', ns, '--label', `app=${name}`, '--port-map', `${inboundPort}:${appPort}`,
      '--ca-address', `${NET.controlPlane}:15012`, '--ca-root', join(state, 'ca', 'root', 'root-cert.pem'), '--spiffe', spiffe, '--bootstrap-token', token,
    ], /connected to the control plane/);
  };

  await s.step('deploy frontend (HTTP) and fortune-teller (gRPC), each behind a sidecar that requires mTLS', async () => {
    await s.isthmus([...ctx, 'apply', '-f', manifest('mesh-apps.yaml')]);
    const frontendPort = await freePort();
    frontend = await startFrontend(frontendPort);
    await sidecar('frontend', 'simple-app', NET.frontend, 8080, frontendPort);
    const fortunePort = await freePort();
    fortune = await startFortuneTeller(fortunePort);
    await sidecar('fortune-teller', 'fortune-teller', NET.fortuneTeller, 50051, fortunePort);
    const status = await eventually(() => s.isthmus([...ctx, 'proxy-status']), (r) => (r.stdout.match(/SYNCED/g) ?? []).length >= 9 && !/NACKED|STALE/.test(r.stdout));
    s.show(`$ isthmus proxy-status\n${status.stdout}`);
    check(!/NACKED|STALE/.test(status.stdout), 'a proxy did not accept its config');
  });

  await s.step('the east-west gateway lists one SNI per mesh service on 15443', async () => {
    const listeners = await eventually(() => s.isthmus([...ctx, 'proxy-config', 'listeners', `${EAST_WEST_POD}.istio-system`, '--port', '15443'], { allowFailure: true }),
      (r) => /outbound_\.80_\._\.frontend\.simple-app\.svc\.cluster\.local/.test(r.stdout) && /fortune-teller/.test(r.stdout));
    s.show(`$ isthmus proxy-config listeners ${EAST_WEST_POD}.istio-system --port 15443\n${listeners.stdout}`);
    check(/SNI: outbound_\.80_\._\.frontend\.simple-app\.svc\.cluster\.local/.test(listeners.stdout), 'no SNI match for frontend on 15443');
    check(/SNI: outbound_\.50051_\._\.fortune-teller\.fortune-teller\.svc\.cluster\.local/.test(listeners.stdout), 'no SNI match for fortune-teller on 15443');
  });

  const vmDir = join(dir, 'vm');
  await s.step('issue the VM\'s identity from the VM intermediate (isthmus vm join)', async () => {
    const joined = await s.isthmus([...ctx, 'vm', 'join', 'vm-1', '--namespace', 'vm', '--service-account', 'vm-1', '--out', vmDir, '--east-west-gateway', `${NET.eastWest}:15443`]);
    s.show(joined.stdout);
    const inspect = await s.isthmus(['ca', 'inspect', join(vmDir, 'certs', 'cert.pem')]);
    check(/spiffe:\/\/vm\.local\/ns\/vm\/sa\/vm-1/.test(inspect.stdout), `the VM certificate does not carry spiffe://vm.local/ns/vm/sa/vm-1:\n${inspect.stdout}`);
  });

  await s.step('start the VM proxy with the seed\'s static Envoy config (addresses and paths filled in)', async () => {
    const config = renderManifest(manifest('vm-envoy.yaml'), { VM_ADDRESS: NET.vm, EAST_WEST_ADDRESS: NET.eastWest, CERTS: join(vmDir, 'certs'), DESCRIPTOR });
    const path = join(vmDir, 'seed-envoy.yaml');
    writeFileSync(path, config);
    await s.startIsthmus('vm-proxy', ['proxy', '-c', path], /proxy started/);
  });

  await s.step('from the VM: curl VM:8080/frontend -> VM proxy -> mTLS (SNI outbound_.80_._.frontend...) -> east-west gateway -> frontend sidecar', async () => {
    const res = await eventually(() => s.run('curl', ['-is', '--max-time', '5', `http://${NET.vm}:8080/frontend`]), (r) => r.stdout.startsWith('HTTP/1.1 200'));
    s.show(`$ curl -is http://${NET.vm}:8080/frontend\n${res.stdout}`);
    check(res.stdout.startsWith('HTTP/1.1 200'), `expected HTTP/1.1 200, got: ${res.stdout.slice(0, 300) || res.stderr}`);
    check(/"service":"frontend"/.test(res.stdout), 'the answer is not the frontend\'s');
  });

  await s.step('from the VM: the REST call to the gRPC fortune teller (grpc_json_transcoder on the VM)', async () => {
    const res = await eventually(() => s.run('curl', ['-is', '--max-time', '5', `http://${NET.vm}:8080/v1/fortune/alice`]), (r) => r.stdout.startsWith('HTTP/1.1 200'));
    s.show(`$ curl -is http://${NET.vm}:8080/v1/fortune/alice\n${res.stdout}`);
    check(res.stdout.startsWith('HTTP/1.1 200'), `expected HTTP/1.1 200, got: ${res.stdout.slice(0, 300) || res.stderr}`);
    check(/a journey across the mesh awaits you/.test(res.stdout), 'the answer is not the fortune teller\'s');
  });

  await s.step('the access log of every hop shows the requests', async () => {
    const hops: Array<[string, string, RegExp]> = [
      ['vm-proxy', 'VM proxy', /\/frontend/],
      ['eastwestgateway', 'east-west gateway', /outbound_\.80_\._\.frontend\.simple-app\.svc\.cluster\.local/],
      ['frontend-sidecar', 'frontend sidecar', /\/frontend/],
      ['fortune-teller-sidecar', 'fortune-teller sidecar (gRPC after transcoding; the log shows the original path)', /"POST \/v1\/fortune\/alice HTTP\/2"/],
    ];
    for (const [file, label, pattern] of hops) {
      const lines = await eventually(async () => readFileSync(join(s.logsDir, `${file}.log`), 'utf8').split('\n').filter((l) => pattern.test(l) && !l.startsWith('{')), (l) => l.length > 0, 5_000);
      check(lines.length > 0, `the ${label}'s access log shows no request matching ${pattern}`);
      s.show(`${label}: ${lines.at(-1)}`);
    }
  });

  return {
    tryCommands: [
      `export ISTHMUS_CONTEXTS=${s.env['ISTHMUS_CONTEXTS']}`,
      `isthmus --context vm-mesh proxy-config listeners ${EAST_WEST_POD}.istio-system --port 15443`,
      `curl -is http://${NET.vm}:8080/frontend`,
      `curl -is http://${NET.vm}:8080/v1/fortune/alice`,
    ],
  };
}
