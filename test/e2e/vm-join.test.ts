import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagementClient } from '../../src/controlplane/index.js';
import { decodeMessage, encodeMessage } from '../../src/envoy/index.js';
import { CLI, isthmus, run, startBackground, tempDir } from '../helpers/index.js';
import type { Background } from '../helpers/index.js';
import { healthPortMap } from './helpers/processes.js';

const FRONTEND_HOST = 'frontend.simple-app.svc.cluster.local';
const FRONTEND_SNI = `outbound_.80_._.${FRONTEND_HOST}`;
const EW_GATEWAY = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'seeds', '003-2-gateway-eastwest-auto-passthrough.yaml'), 'utf8');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createTcpServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const curl = (url: string, extra: string[] = []) => run('curl', ['-s', '-m', '5', ...extra, url]);

/**
 * `isthmus vm join` against a real control plane (VM trust domain vm.local), a control-plane-fed east-west
 * gateway with the seed's AUTO_PASSTHROUGH Gateway, and a frontend that requires a client certificate from
 * the mesh root: the VM proxy started from the generated file reaches the frontend with the seed's SNI and
 * the VM's own SPIFFE id; with --xds the same works with config and certificates from the control plane.
 */
describe('isthmus vm join', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let cp: Background;
  let gateway: Background;
  let client: ManagementClient;
  let server: string;
  let xdsPort: number;
  let frontend: Server;
  const seen: Array<{ sni: string | false | null; peer: string | undefined; serial: string; path: string; host: string | undefined }> = [];
  const children: Background[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('vm-join'));
    cp = await startBackground(process.execPath, [CLI, 'controlplane', '--state-dir', join(dir, 'state'), '--vm-trust-domain', 'vm.local',
      '--xds-address', '127.0.0.1:0', '--management-address', '127.0.0.1:0', '--ca-address', '127.0.0.1:0', '-l', 'warn'],
    /ready: xDS 127\.0\.0\.1:(\d+), management (http:\/\/[\d.:]+)/);
    xdsPort = Number(cp.ready[1]);
    server = cp.ready[2] as string;
    client = new ManagementClient({ server });

    // The frontend: a mesh workload certificate; client certificates must chain to the mesh root.
    const fe = await client.issueCertificate({ spiffeId: 'spiffe://cluster.local/ns/simple-app/sa/frontend', dnsNames: [FRONTEND_HOST] });
    frontend = createServer({
      cert: fe.certificateChainPem, key: fe.privateKeyPem, ca: fe.rootsPem, requestCert: true, rejectUnauthorized: true,
      ALPNProtocols: ['istio-peer-exchange', 'istio', 'http/1.1'],
    }, (req, res) => {
      const socket = req.socket as TLSSocket;
      const cert = socket.getPeerCertificate();
      const peer = cert.subjectaltname?.replace(/^URI:/, '');
      seen.push({ sni: socket.servername, peer, serial: cert.serialNumber, path: req.url ?? '', host: req.headers.host });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: 'frontend', path: req.url, peer }));
    });
    await new Promise<void>((r) => frontend.listen(0, '127.0.0.1', r));
    const frontendPort = (frontend.address() as { port: number }).port;

    await client.apply(`${EW_GATEWAY}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: frontend, namespace: simple-app }
spec:
  hosts: [${FRONTEND_HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${frontendPort} } }]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: fortune-teller, namespace: fortune-teller }
spec:
  hosts: [fortune-teller.fortune-teller.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: { name: httpbin-ext, namespace: default }
spec:
  hosts: [httpbin.org]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{ number: 80, name: http, protocol: HTTP }]
`, { source: 'vm-join-test' });

    // The seed's east-west gateway, fed by the control plane (AUTO_PASSTHROUGH on 15443, here another port).
    const ewPort = await freePort();
    gateway = await startBackground(process.execPath, [CLI, 'proxy', '--xds', `127.0.0.1:${xdsPort}`, '--proxy-type', 'router', '--namespace', 'istio-system',
      '--node-id', 'router~127.0.0.1~istio-eastwestgateway-1.istio-system~istio-system.svc.cluster.local',
      '--label', 'istio=eastwestgateway', '--label', 'app=istio-eastwestgateway', '--meta', 'ROUTER_MODE=sni-dnat', '--port-map', `15443:${ewPort},${await healthPortMap()}`],
    /"msg"/, { timeoutMs: 20_000 });
    await until('the gateway to accept on its 15443 port', async () => {
      const r = await run('curl', ['-s', '-k', '-m', '2', '--resolve', `${FRONTEND_SNI}:${ewPort}:127.0.0.1`, `https://${FRONTEND_SNI}:${ewPort}/`]);
      return r.code === 7 ? undefined : true; // 7: connection refused
    });
  }, 90_000);

  afterAll(async () => {
    for (const c of children) await c.stop();
    await gateway?.stop();
    await cp?.stop();
    await new Promise((r) => frontend?.close(r));
    await cleanup?.();
  });

  async function startVmProxy(command: string[], listenPort: number): Promise<Background> {
    const vm = await startBackground(process.execPath, [CLI, ...command], /"msg":"[^"]*"/, { timeoutMs: 20_000 });
    children.push(vm);
    await until('the VM listener', async () => ((await curl(`http://127.0.0.1:${listenPort}/`)).code === 0 ? true : undefined));
    return vm;
  }

  it('writes certificates and a bootstrap, finds the east-west gateway, prints what it routes and how to start', async () => {
    const out = join(dir, 'vm-1');
    const listenPort = await freePort();
    const adminPort = await freePort();
    const res = await isthmus(['--server', server, 'vm', 'join', 'vm-1', '--namespace', 'simple-app', '--service-account', 'vm-sa', '--out', out,
      '--listen', `127.0.0.1:${listenPort}`, '--admin-port', String(adminPort)]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('VM vm-1 joined as spiffe://vm.local/ns/simple-app/sa/vm-sa');
    expect(res.stdout).toMatch(new RegExp(`frontend\\.simple-app +80/HTTP +/frontend .*${FRONTEND_SNI.replace(/\./g, '\\.')}`));
    expect(res.stdout).toContain('outbound_.50051_._.fortune-teller.fortune-teller.svc.cluster.local');
    expect(res.stdout).toContain('skipped httpbin.org: outside the mesh');
    expect(res.stdout).toContain(`isthmus proxy -c ${join(out, 'envoy.yaml')}`);
    expect(res.stdout).toContain(`envoy -c ${join(out, 'envoy.yaml')}`);
    expect(statSync(join(out, 'certs', 'key.pem')).mode & 0o777).toBe(0o600);
    const certs = readFileSync(join(out, 'certs', 'cert.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? [];
    expect(certs).toHaveLength(2); // leaf + VM intermediate
    const inspect = await isthmus(['ca', 'inspect', join(out, 'certs', 'cert.pem'), '--bundle', join(out, 'certs', 'ca-cert.pem'), '-o', 'json']);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain('spiffe://vm.local/ns/simple-app/sa/vm-sa');

    // Envoy's own protos accept the file (strict: an unknown field would throw).
    const bootstrap = parse(readFileSync(join(out, 'envoy.yaml'), 'utf8')) as Record<string, unknown>;
    const decoded = decodeMessage('envoy.config.bootstrap.v3.Bootstrap', encodeMessage('envoy.config.bootstrap.v3.Bootstrap', bootstrap));
    expect(JSON.stringify(decoded)).toContain(FRONTEND_SNI);
    // The gateway was found from proxy-status: its IP and the port its 15443 is mapped to.
    const cluster = (bootstrap as { static_resources: { clusters: Array<{ name: string; type: string; load_assignment: unknown }> } }).static_resources.clusters.find((c) => c.name === 'frontend');
    expect(cluster?.type).toBe('STATIC');
    expect(JSON.stringify(cluster?.load_assignment)).toContain('"address":"127.0.0.1"');

    // Refuses to overwrite a join; --dry-run -o yaml prints without writing.
    const again = await isthmus(['--server', server, 'vm', 'join', 'vm-1', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--force');
    const dry = await isthmus(['--server', server, '-o', 'yaml', 'vm', 'join', 'vm-9', '--dry-run', '--east-west-gateway', 'eastwest.example.com:15443', '--service', 'frontend']);
    expect(dry.code).toBe(0);
    const dryBootstrap = parse(dry.stdout) as { static_resources: { clusters: Array<{ name: string; type: string }> } };
    expect(dryBootstrap.static_resources.clusters.map((c) => [c.name, c.type])).toEqual([['frontend', 'STRICT_DNS']]);
    expect(existsSync(join(dir, 'vm-9'))).toBe(false);
    const unknown = await isthmus(['--server', server, 'vm', 'join', 'vm-9', '--dry-run', '--service', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('--service nope: no such service in the mesh');

    // The printed command runs the VM proxy; curl VM/frontend crosses the gateway to the frontend.
    const vm = await startVmProxy(['proxy', '-c', join(out, 'envoy.yaml')], listenPort);
    const before = seen.length;
    const r = await curl(`http://127.0.0.1:${listenPort}/frontend/hello`, ['-i']);
    expect(r.stdout).toMatch(/^HTTP\/1\.1 200/);
    const body = JSON.parse(r.stdout.slice(r.stdout.indexOf('\r\n\r\n') + 4)) as { peer: string; path: string };
    expect(body).toMatchObject({ path: '/frontend/hello', peer: 'spiffe://vm.local/ns/simple-app/sa/vm-sa' });
    expect(seen.length).toBe(before + 1);
    expect(seen.at(-1)?.sni).toBe(FRONTEND_SNI);
    // Kubernetes names route too, on any path.
    const byHost = await curl(`http://127.0.0.1:${listenPort}/api`, ['-H', 'Host: frontend.simple-app', '-o', '/dev/null', '-w', '%{http_code}']);
    expect(byHost.stdout).toBe('200');
    expect(seen.at(-1)?.path).toBe('/api');
    const unrouted = await curl(`http://127.0.0.1:${listenPort}/nothing`, ['-o', '/dev/null', '-w', '%{http_code}']);
    expect(unrouted.stdout).toBe('404');
    // Per-hop access log on the VM's stdout; admin where --admin-port said.
    await until('the access log line', () => (/"GET \/frontend\/hello HTTP\/1\.1" 200/.test(vm.output()) ? true : undefined), 5_000);
    expect((await fetch(`http://127.0.0.1:${adminPort}/ready`)).status).toBe(200);
  }, 60_000);

  it('--xds: config from the control plane, the first certificate with a VM token, renewed without restart while traffic flows', async () => {
    const out = join(dir, 'vm-2');
    const listenPort = await freePort();
    const res = await isthmus(['--server', server, 'vm', 'join', 'vm-2', '--xds', '--namespace', 'simple-app', '--service-account', 'vm-xds', '--out', out,
      '--listen', `127.0.0.1:${listenPort}`, '--admin-port', '0', '--service', 'frontend', '--cert-ttl', '6s']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(statSync(join(out, 'bootstrap-token')).mode & 0o777).toBe(0o600);
    expect(existsSync(join(out, 'certs', 'key.pem'))).toBe(false);
    const bootstrap = parse(readFileSync(join(out, 'envoy.yaml'), 'utf8')) as { node: { metadata: Record<string, string> }; dynamic_resources: unknown };
    expect(bootstrap.dynamic_resources).toBeDefined();
    expect(bootstrap.node.metadata).toMatchObject({ NAMESPACE: 'simple-app', SERVICE_ACCOUNT: 'vm-xds', VM_SERVICES: 'frontend' });
    expect(bootstrap.node.metadata.VM_EAST_WEST_GATEWAY).toMatch(/^127\.0\.0\.1:\d+$/);
    encodeMessage('envoy.config.bootstrap.v3.Bootstrap', bootstrap);

    // Run exactly the printed command.
    const line = res.stdout.split('\n').find((l) => l.trim().startsWith('isthmus proxy -c'))?.trim() ?? '';
    expect(line).toContain('--bootstrap-token-file');
    expect(line).toContain('--spiffe spiffe://vm.local/ns/simple-app/sa/vm-xds');
    const args = line.split(/\s+/).slice(1);
    await startVmProxy(args, listenPort);
    const serials = new Set<string>();
    let failures = 0;
    const deadline = Date.now() + 12_000;
    while (Date.now() < deadline && serials.size < 3) {
      const r = await curl(`http://127.0.0.1:${listenPort}/frontend/x`, ['-o', '/dev/null', '-w', '%{http_code}']);
      if (r.stdout !== '200') failures += 1;
      const last = seen.at(-1);
      if (last?.path === '/frontend/x') {
        expect(last.peer).toBe('spiffe://vm.local/ns/simple-app/sa/vm-xds');
        expect(last.sni).toBe(FRONTEND_SNI);
        serials.add(last.serial);
      }
      await new Promise((r2) => setTimeout(r2, 200));
    }
    expect(failures).toBe(0);
    expect(serials.size).toBeGreaterThanOrEqual(2);

    // The control plane serves it the same generator's listener, with SDS; proxy-config shows it.
    const clusters = (await client.proxyConfig('vm-2.simple-app', 'clusters')) as { resources: Array<{ name: string }> };
    expect(clusters.resources.map((c) => c.name)).toEqual(['frontend']);
  }, 60_000);
});
