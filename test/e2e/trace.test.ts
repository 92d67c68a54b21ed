import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, run } from '../helpers/index.js';
import { seedPki } from './helpers/pki.js';
import { eventually, freePort, healthPortMap, startProcess, stop } from './helpers/processes.js';

const SEEDS = join(import.meta.dirname, '..', 'fixtures', 'seeds');
const INGRESS_ID = 'router~127.0.0.1~istio-ingressgateway-57dc66d6ff-d2r75.istio-ingress~istio-ingress.svc.cluster.local';
const EGRESS_ID = 'router~127.0.0.1~istio-egressgateway-7c5f5dcfbb-vz5zh.istio-egress~istio-egress.svc.cluster.local';
const MESH_B_ID = 'spiffe://mesh-b.local/ns/istio-ingress/sa/istio-ingressgateway';
const MESH_A_ID = 'spiffe://mesh-a.local/ns/istio-egress/sa/istio-egressgateway';

const b64 = (file: string) => readFileSync(file).toString('base64');
const secret = (ns: string, key: string, cert: string, cacert: string) => `apiVersion: v1
kind: Secret
metadata:
  name: mtls-credential
  namespace: ${ns}
type: Opaque
data:
  key: ${b64(key)}
  cert: ${b64(cert)}
  cacert: ${b64(cacert)}
`;

/**
 * Seed 000 across two control planes: mesh A's egress gateway originates mTLS (SNI lambda.external) to
 * mesh B's ingress gateway, which originates TLS to an https "ALB". `isthmus trace` sends one request from
 * the egress gateway and follows it through both meshes' proxies, found through both contexts.
 */
describe('isthmus trace across two meshes (seed 000)', { timeout: 120_000 }, () => {
  let dir: string;
  let alb: Server;
  let albPort: number;
  const procs: Array<ChildProcess | undefined> = [];
  let serverA: string;
  let serverB: string;
  let contexts: string;
  let startIngress: () => Promise<ChildProcess>;
  let ingressProc: ChildProcess | undefined;
  let ingressOut: () => string = () => '';
  const env = () => ({ ...process.env, ISTHMUS_CONTEXTS: contexts, ISTHMUS_SERVER: '' });
  const isthmus = (args: string[], input?: string) => run(process.execPath, [CLI, ...args], { env: env(), timeoutMs: 30_000, ...(input === undefined ? {} : { input }) });
  const trace = (extra: string[] = []) => isthmus(['trace', 'http://lambda.external/hello-world', '--from', 'meshA/istio-egressgateway', ...extra]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-trace-'));
    contexts = join(dir, 'contexts.yaml');
    // The seed's openssl certificates, with SANs so that each side has an identity to show.
    const certs: Array<[string, string, string]> = [
      ['server', 'Zamunda', `subjectAltName=DNS:lambda.external,URI:${MESH_B_ID}`],
      ['client', 'Wakanda', `subjectAltName=URI:${MESH_A_ID}`],
      ['rogue', 'Genovia', 'subjectAltName=DNS:rogue.example'],
    ];
    for (const [name, st, san] of certs) {
      const r = await run('openssl', ['req', '-x509', '-nodes', '-days', '365', '-newkey', 'rsa:2048', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
        '-subj', `/C=NT/ST=${st}/O=Solo.io/OU=Solo.io/CN=*`, '-addext', san]);
      expect(r.code).toBe(0);
    }
    const pki = await seedPki(dir);
    const albCert = await pki.issue(pki.meshCa, 'alb', 'spiffe://cluster.local/ns/aws/sa/alb', ['alb.jesus2.solo.io']);
    alb = createServer({ cert: readFileSync(albCert.cert), key: readFileSync(albCert.key) }, (_req, res) => res.end('hello from lambda'));
    await new Promise<void>((r) => alb.listen(0, '127.0.0.1', r));
    albPort = (alb.address() as { port: number }).port;

    const cp = async (name: string, extra: string[] = []) => {
      const started = await startProcess(['controlplane', '--state-dir', join(dir, name), '--xds-address', '127.0.0.1:0', '--management-address', '127.0.0.1:0', '-r', '1-17', '--name', `istiod-${name}`, ...extra],
        /xDS 127\.0\.0\.1:(\d+), management (http:\/\/127\.0\.0\.1:\d+)/);
      procs.push(started.child);
      return { xds: Number(started.match[1]), server: started.match[2] as string };
    };
    const b = await cp('mesh-b');
    const a = await cp('mesh-a', ['--filter-gateway-cluster-config', '--verify-certificate-at-client']);
    serverA = a.server;
    serverB = b.server;
    expect((await isthmus(['config', 'set-context', 'meshA', '--server', serverA])).code).toBe(0);
    expect((await isthmus(['config', 'set-context', 'meshB', '--server', serverB])).code).toBe(0);

    // Mesh B: the seed's ALB ServiceEntry (pointed at the local ALB), Gateway + VirtualService, the credential.
    const se = readFileSync(join(SEEDS, '000-6-mesh-b-serviceentry-destinationrule-alb.yaml'), 'utf8')
      .replace('  resolution: DNS', `  resolution: DNS\n  endpoints:\n  - address: 127.0.0.1\n    ports:\n      https: ${albPort}`);
    expect((await isthmus(['--context', 'meshB', 'apply', '-f', '-'], se)).code).toBe(0);
    expect((await isthmus(['--context', 'meshB', 'apply', '-f', '-'], readFileSync(join(SEEDS, '000-7-mesh-b-gateway-virtualservice-lambda.yaml'), 'utf8'))).code).toBe(0);
    expect((await isthmus(['--context', 'meshB', 'apply', '-f', '-'], secret('istio-ingress', join(dir, 'server.key'), join(dir, 'server.crt'), join(dir, 'client.crt')))).stderr).toBe('');
    const ingressPort = await freePort();
    startIngress = async () => {
      const started = await startProcess(['proxy', '--xds', `127.0.0.1:${b.xds}`, '--node-id', INGRESS_ID, '--proxy-type', 'router', '--namespace', 'istio-ingress',
      '--label', 'app=istio-ingressgateway', '--label', 'istio=ingressgateway', '--label', 'istio.io/rev=1-17', '--port-map', `443:${ingressPort},80:0,${await healthPortMap()}`, '-l', 'debug'], /connected to the control plane/);
      ingressOut = started.output;
      return started.child;
    };
    ingressProc = await startIngress();

    // Mesh A: the seed's ServiceEntry with its endpoint at mesh B's gateway, the egress Gateway + VirtualService.
    const seA = readFileSync(join(SEEDS, '000-8-mesh-a-serviceentry-destinationrule-lambda.yaml'), 'utf8')
      .replace('address: ingress.eks.example', 'address: 127.0.0.1').replace('http: 443', `http: ${ingressPort}`);
    expect((await isthmus(['--context', 'meshA', 'apply', '-f', '-'], seA)).code).toBe(0);
    expect((await isthmus(['--context', 'meshA', 'apply', '-f', '-'], readFileSync(join(SEEDS, '000-9-mesh-a-egress-gateway-virtualservice.yaml'), 'utf8'))).code).toBe(0);
    expect((await isthmus(['--context', 'meshA', 'apply', '-f', '-'], secret('istio-egress', join(dir, 'client.key'), join(dir, 'client.crt'), join(dir, 'server.crt')))).stderr).toBe('');
    const egressPort = await freePort();
    const egress = await startProcess(['proxy', '--xds', `127.0.0.1:${a.xds}`, '--node-id', EGRESS_ID, '--proxy-type', 'router', '--namespace', 'istio-egress',
      '--label', 'app=istio-egressgateway', '--label', 'istio=egressgateway', '--label', 'istio.io/rev=1-17', '--port-map', `80:${egressPort},443:0,${await healthPortMap()}`], /connected to the control plane/);
    procs.push(egress.child);
  }, 90_000);

  afterAll(async () => {
    await stop(ingressProc);
    for (const p of procs.reverse()) await stop(p);
    await new Promise((r) => alb?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('proxy-status -o json carries each proxy\'s admin address, IP and metadata', async () => {
    const res = await eventually(() => isthmus(['--context', 'meshA', 'proxy-status', '-o', 'json']), (r) => r.stdout.includes('adminAddress'));
    const rows = JSON.parse(res.stdout) as Array<{ name: string; adminAddress?: string; ip?: string; metadata: Record<string, unknown> }>;
    const egress = rows.find((r) => r.name.startsWith('istio-egressgateway'));
    expect(egress?.adminAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(egress?.ip).toBe('127.0.0.1');
    expect(egress?.metadata.PORT_MAP).toMatch(/^80:\d+/);
    expect(egress?.metadata.LABELS).toMatchObject({ app: 'istio-egressgateway' });
    const admin = await fetch(`http://${egress?.adminAddress}/isthmus/trace?request_id=none`);
    expect(admin.status).toBe(200);
    expect(await admin.json()).toMatchObject({ entries: [] });
  });

  // First, before any connection between the meshes is pooled: open mTLS connections keep the handshake they made.
  it('names mesh B\'s gateway when it refuses mesh A\'s client certificate (unrelated CA)', async () => {
    expect((await isthmus(['--context', 'meshB', 'apply', '-f', '-'], secret('istio-ingress', join(dir, 'server.key'), join(dir, 'server.crt'), join(dir, 'rogue.crt')))).code).toBe(0);
    const res = await eventually(() => trace(), (r) => /certificate refused/.test(r.stdout));
    if (!/@ meshB\): certificate refused/.test(res.stdout)) console.log('INGRESS', ingressOut().split('\n').slice(-25).join('\n'));
    expect(res.code).not.toBe(0);
    expect(res.stdout).toMatch(/^response: 503/m);
    expect(res.stdout).toMatch(/FAILED at hop \d+ \(istio-ingressgateway-57dc66d6ff-d2r75\.istio-ingress @ meshB\): certificate refused: downstream TLS handshake failed: /);
    // The egress hop shows the UF and the TLS error it got.
    const json = JSON.parse((await trace(['-o', 'json'])).stdout) as { failure: { reason: string }; hops: Array<{ kind: string; responseFlags: string[]; error?: string }> };
    expect(json.failure.reason).toBe('certificate refused');
    expect(json.hops.find((h) => h.kind === 'http')?.responseFlags).toContain('UF');
    expect(json.hops.find((h) => h.kind === 'listener')?.error).toMatch(/downstream TLS handshake failed/);
    // Restore the credential.
    expect((await isthmus(['--context', 'meshB', 'apply', '-f', '-'], secret('istio-ingress', join(dir, 'server.key'), join(dir, 'server.crt'), join(dir, 'client.crt')))).code).toBe(0);
    const back = await eventually(() => trace(), (r) => r.code === 0);
    expect(back.code).toBe(0);
  });

  it('follows a request through both meshes: egress (mTLS, SNI lambda.external, peer mesh B) -> ingress (client mesh A) -> ALB', async () => {
    const res = await eventually(() => trace(), (r) => r.code === 0 && /istio-ingressgateway/.test(r.stdout));
    if (res.code !== 0) console.log(res.stdout, res.stderr);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^HOP\s+PROXY\s+LISTENER\s+ROUTE\s+CLUSTER\s+SNI\s+PEER\s+RESULT\s+TIME/m);
    expect(res.stdout).toMatch(/^1\s+istio-egressgateway-7c5f5dcfbb-vz5zh\.istio-egress @ meshA\s+\S+.*outbound\|80\|\|lambda\.external\s+lambda\.external\s+spiffe:\/\/mesh-b\.local\/ns\/istio-ingress\/sa\/istio-ingressgateway\s+200 -/m);
    expect(res.stdout).toMatch(/^2\s+istio-ingressgateway-57dc66d6ff-d2r75\.istio-ingress @ meshB\s+.*outbound\|443\|\|alb\.jesus2\.solo\.io\s+.*spiffe:\/\/cluster\.local\/ns\/aws\/sa\/alb\s+200 -/m);
    expect(res.stdout).toMatch(/^response: 200/m);

    const json = await trace(['-o', 'json']);
    expect(json.code).toBe(0);
    const data = JSON.parse(json.stdout) as { requestId: string; status: number; hops: Array<Record<string, unknown> & { downstreamTls?: { peerSpiffeId?: string; peerChain?: unknown[] }; upstreamTls?: { sni?: string; peerChain?: Array<{ subject: string }> } }> };
    expect(data.status).toBe(200);
    expect(data.hops).toHaveLength(2);
    const [egressHop, ingressHop] = data.hops;
    expect(egressHop).toMatchObject({ requestId: data.requestId, kind: 'http', authority: 'lambda.external', path: '/hello-world', method: 'GET', responseCode: 200 });
    expect(egressHop?.upstreamTls?.sni).toBe('lambda.external');
    expect(egressHop?.upstreamTls?.peerChain?.[0]?.subject).toContain('ST=Zamunda');
    // The same request id arrived at mesh B: the router forwarded the x-request-id it was given.
    expect(ingressHop).toMatchObject({ requestId: data.requestId, downstreamSni: 'lambda.external', cluster: 'outbound|443||alb.jesus2.solo.io', responseCode: 200 });
    expect(ingressHop?.downstreamTls?.peerSpiffeId).toBe(MESH_A_ID);
  });

  it('names mesh B\'s gateway as the failing hop when the ALB is down', async () => {
    await new Promise((r) => alb.close(r));
    alb.closeAllConnections?.();
    const res = await eventually(() => trace(), (r) => /upstream down/.test(r.stdout));
    expect(res.code).not.toBe(0);
    // The egress gateway's retry policy (Istio's default: 2 retries on connect failure/503) shows as more hops at mesh B.
    expect(res.stdout).toMatch(/^2\s+istio-ingressgateway.*503 UF/m);
    expect(res.stdout).toMatch(/FAILED at hop \d \(istio-ingressgateway-57dc66d6ff-d2r75\.istio-ingress @ meshB\): upstream down: .*ECONNREFUSED/);
  });

  it('refuses an unknown workload with what to do', async () => {
    const res = await isthmus(['trace', 'http://lambda.external/', '--from', 'meshA/nope']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no proxy named "nope" in context meshA/);
  });
});
