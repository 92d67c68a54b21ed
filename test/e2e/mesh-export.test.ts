import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagementClient } from '../../src/controlplane/index.js';
import { isCertificateAuthority, parseCertificates } from '../../src/pki/index.js';
import { CLI, PROJECT_ROOT, run, startBackground } from '../helpers/index.js';
import type { Background, RunResult } from '../helpers/index.js';
import { seedPki } from './helpers/pki.js';
import { freePort } from './helpers/processes.js';

const LAMBDA_PAGE = readFileSync(join(PROJECT_ROOT, 'examples', 'multicloud', 'lambda', 'hello-world.html'), 'utf8');
const SE_FILE = join(import.meta.dirname, '..', 'fixtures', 'seeds', '000-6-mesh-b-serviceentry-destinationrule-alb.yaml');
const INGRESS_ID = 'router~127.0.0.1~istio-ingressgateway-57dc66d6ff-d2r75.istio-ingress~istio-ingress.svc.cluster.local';
const EGRESS_ID = 'router~127.0.0.1~istio-egressgateway-7c5f5dcfbb-vz5zh.istio-egress~istio-egress.svc.cluster.local';
const READY = /xDS 127\.0\.0\.1:(\d+), management (http:\/\/127\.0\.0\.1:\d+)/;

/**
 * Seed 000 steps 4-5 in one command between two control planes that share nothing: mesh B ("eks",
 * trust domain eks.local) has the ALB ServiceEntry and an ingress gateway, mesh A ("gke", gke.local) an
 * egress gateway. `isthmus mesh export` links them; a plain curl to mesh A's egress gateway reaches the ALB.
 */
describe('isthmus mesh export: seed 000 steps 4-5 between two meshes', { timeout: 120_000 }, () => {
  let dir: string;
  let alb: Server;
  const procs: Background[] = [];
  let eks: ManagementClient;
  let gke: ManagementClient;
  let ingressPort: number;
  let egressPort: number;
  let env: NodeJS.ProcessEnv;
  const isthmus = (args: string[], input?: string, timeoutMs = 90_000) => run(process.execPath, [CLI, ...args], { env, timeoutMs, ...(input === undefined ? {} : { input }) });
  const exportArgs = ['mesh', 'export', 'alb.jesus2.solo.io', '--from', 'eks', '--to', 'gke', '--host', 'lambda.external', '--timeout', '45s'];
  const curlLambda = () => run('curl', ['-is', '--max-time', '5', '-H', 'Host: lambda.external', `http://127.0.0.1:${egressPort}/hello-world`]);
  const secretOf = async (client: ManagementClient, namespace: string) => {
    const found = await client.resources({ kind: 'Secret', namespace, name: 'lambda-external-mtls' });
    const data = (found.items[0]?.resource as unknown as { data: Record<string, string> }).data;
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  };
  const explain = (res: RunResult) => `exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}\n${procs.map((p) => p.output().slice(-3000)).join('\n----\n')}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-mesh-export-'));
    env = { ...process.env, ISTHMUS_CONTEXTS: join(dir, 'contexts.yaml') };
    delete env['ISTHMUS_SERVER'];
    const pki = await seedPki(dir);
    const albCert = await pki.issue(pki.meshCa, 'alb', 'spiffe://cluster.local/ns/aws/sa/alb', ['alb.jesus2.solo.io']);
    alb = createServer({ cert: readFileSync(albCert.cert), key: readFileSync(albCert.key) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(LAMBDA_PAGE) });
      res.end(LAMBDA_PAGE);
    });
    await new Promise<void>((r) => alb.listen(0, '127.0.0.1', r));
    const albPort = (alb.address() as { port: number }).port;

    const [cpB, cpA] = await Promise.all([
      startBackground(process.execPath, [CLI, 'controlplane', '--state-dir', join(dir, 'eks'), '--trust-domain', 'eks.local', '--name', 'istiod-eks', '--xds-address', '127.0.0.1:0', '--management-address', '127.0.0.1:0', '-r', '1-17'], READY),
      startBackground(process.execPath, [CLI, 'controlplane', '--state-dir', join(dir, 'gke'), '--trust-domain', 'gke.local', '--name', 'istiod-gke', '--xds-address', '127.0.0.1:0', '--management-address', '127.0.0.1:0', '-r', '1-17'], READY),
    ]);
    procs.push(cpB, cpA);
    eks = new ManagementClient({ server: cpB.ready[2] as string });
    gke = new ManagementClient({ server: cpA.ready[2] as string });
    expect((await isthmus(['config', 'set-context', 'eks', '--server', eks.server])).code).toBe(0);
    expect((await isthmus(['config', 'set-context', 'gke', '--server', gke.server])).code).toBe(0);

    // Mesh B: the seed's ServiceEntry and DestinationRule for the ALB (SIMPLE TLS), endpoint = the local ALB.
    const se = readFileSync(SE_FILE, 'utf8').replace('  resolution: DNS', `  resolution: DNS\n  endpoints:\n  - address: 127.0.0.1\n    ports:\n      https: ${albPort}`);
    const applied = await isthmus(['--context', 'eks', 'apply', '-f', '-'], se);
    expect(applied.stdout, applied.stderr).toContain('serviceentry.networking.istio.io/se-alb-ext created');

    ingressPort = await freePort();
    egressPort = await freePort();
    // Health and metrics listeners (15021, 15090) of both gateways on ports of their own: they share this machine.
    const health = async () => `15021:${await freePort()},15090:${await freePort()}`;
    const [ingress, egress] = await Promise.all([
      startBackground(process.execPath, [CLI, 'proxy', '--xds', `127.0.0.1:${cpB.ready[1]}`, '--node-id', INGRESS_ID, '--proxy-type', 'router', '--namespace', 'istio-ingress',
        '--label', 'app=istio-ingressgateway', '--label', 'istio=ingressgateway', '--label', 'istio.io/rev=1-17', '--port-map', `443:${ingressPort},${await health()}`], /connected to the control plane/),
      startBackground(process.execPath, [CLI, 'proxy', '--xds', `127.0.0.1:${cpA.ready[1]}`, '--node-id', EGRESS_ID, '--proxy-type', 'router', '--namespace', 'istio-egress',
        '--label', 'app=istio-egressgateway', '--label', 'istio=egressgateway', '--label', 'istio.io/rev=1-17', '--port-map', `80:${egressPort},${await health()}`], /connected to the control plane/),
    ]);
    procs.push(ingress, egress);
  }, 90_000);

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    await new Promise((r) => alb?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('--dry-run -o yaml prints both sides, secrets redacted, and applies nothing', async () => {
    const before = await Promise.all([eks.status(), gke.status()]);
    const res = await isthmus(['-o', 'yaml', ...exportArgs, '--dry-run']);
    expect(res.code, explain(res)).toBe(0);
    expect(res.stdout).toMatch(/^# eks \(--from, exports alb\.jesus2\.solo\.io:443 as lambda\.external\)/);
    expect(res.stdout).toMatch(/\n# gke \(--to, calls http:\/\/lambda\.external\)/);
    for (const kind of ['Gateway', 'VirtualService', 'ServiceEntry', 'DestinationRule', 'Secret']) expect(res.stdout).toContain(`kind: ${kind}`);
    expect(res.stdout).toContain('spiffe://eks.local/ns/istio-ingress/sa/istio-ingressgateway-service-account');
    expect(res.stdout).toContain('spiffe://gke.local/ns/istio-egress/sa/istio-egressgateway-service-account');
    expect(res.stdout).toContain('key: REDACTED');
    expect(res.stdout).not.toMatch(/PRIVATE KEY|LS0tLS1CRUdJTiBQUklWQVRF/);
    expect(res.stdout).toContain('server dry run: gateway/export-lambda-external created');
    const after = await Promise.all([eks.status(), gke.status()]);
    expect(after.map((s) => s.revision)).toEqual(before.map((s) => s.revision));
    await expect(gke.resources({ kind: 'Secret', namespace: 'istio-egress', name: 'lambda-external-mtls' })).rejects.toThrow(/not found/);
  });

  it('exports alb.jesus2.solo.io from eks to gke as lambda.external, checked end to end', async () => {
    const res = await isthmus(exportArgs);
    expect(res.code, explain(res)).toBe(0);
    expect(res.stdout).toMatch(/wait for istio-ingressgateway-57dc66d6ff-d2r75\.istio-ingress \(eks\) to be SYNCED .*ok/);
    expect(res.stdout).toMatch(/wait for istio-egressgateway-7c5f5dcfbb-vz5zh\.istio-egress \(gke\) to be SYNCED .*ok/);
    expect(res.stdout).toMatch(/to\s+gke\s+serviceentry\/import-lambda-external\s+created/);
    expect(res.stdout).toMatch(/from\s+eks\s+secret\/lambda-external-mtls\s+created/);
    expect(res.stdout).toContain(`via 127.0.0.1:${ingressPort}`);
    expect(res.stdout).toMatch(/check: HTTP 200 via 127\.0\.0\.1:\d+/);

    // The seed's last step: plain HTTP to the egress gateway, through both gateways to the ALB.
    const curl = await curlLambda();
    expect(curl.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(curl.stdout.endsWith(LAMBDA_PAGE)).toBe(true);

    // Each side holds its own CA's certificate and the other mesh's bundle.
    const server = await secretOf(eks, 'istio-ingress');
    const client = await secretOf(gke, 'istio-egress');
    expect(server['cacert']).toBe((await gke.caRoots()).rootsPem);
    expect(client['cacert']).toBe((await eks.caRoots()).rootsPem);
    expect(parseCertificates(server['cacert'] as string).every(isCertificateAuthority)).toBe(true);
  });

  it("mesh B's gateway refuses a client certificate from neither mesh, and a gke certificate of another identity", async () => {
    const client = await secretOf(gke, 'istio-egress');
    writeFileSync(join(dir, 'egress.crt'), client['cert'] as string);
    writeFileSync(join(dir, 'egress.key'), client['key'] as string);
    const stranger = await seedPki(join(dir, 'stranger'));
    const strangerCert = await stranger.issue(stranger.meshCa, 'c', 'spiffe://cluster.local/ns/istio-egress/sa/istio-egressgateway-service-account');
    const sleep = await gke.issueCertificate({ spiffeId: 'spiffe://gke.local/ns/sleep/sa/sleep' });
    writeFileSync(join(dir, 'sleep.crt'), sleep.certificateChainPem);
    writeFileSync(join(dir, 'sleep.key'), sleep.privateKeyPem);
    const direct = (cert: string, key: string) => run('curl', ['-isk', '--max-time', '5', '--cert', cert, '--key', key, '--resolve', `lambda.external:${ingressPort}:127.0.0.1`, `https://lambda.external:${ingressPort}/hello-world`]);
    // The egress gateway's own credential is accepted (so the refusals below are about the certificates).
    expect((await direct(join(dir, 'egress.crt'), join(dir, 'egress.key'))).stdout).toMatch(/^HTTP\/2 200/);
    const strangerRes = await direct(strangerCert.cert, strangerCert.key);
    expect(strangerRes.stdout).not.toMatch(/^HTTP\/\S+ 200/);
    const sleepRes = await direct(join(dir, 'sleep.crt'), join(dir, 'sleep.key'));
    expect(sleepRes.stdout).not.toMatch(/^HTTP\/\S+ 200/);
    const none = await run('curl', ['-isk', '--max-time', '5', '--resolve', `lambda.external:${ingressPort}:127.0.0.1`, `https://lambda.external:${ingressPort}/hello-world`]);
    expect(none.stdout).not.toMatch(/^HTTP\/\S+ 200/);
  });

  it('running export again changes nothing', async () => {
    const before = await Promise.all([eks.status(), gke.status()]);
    const res = await isthmus(exportArgs);
    expect(res.code, explain(res)).toBe(0);
    const rows = res.stdout.split('\n').filter((l) => /^\s*(from|to)\s+(eks|gke)\s+(secret|gateway|virtualservice|serviceentry|destinationrule)\//.test(l));
    expect(rows).toHaveLength(9);
    for (const row of rows) expect(row).toMatch(/\sunchanged\s*$/);
    expect(res.stdout).toMatch(/; unchanged; check: HTTP 200/);
    const after = await Promise.all([eks.status(), gke.status()]);
    expect(after.map((s) => s.revision)).toEqual(before.map((s) => s.revision));
  });

  it('after a root rotation on eks traffic still flows, and export again refreshes the bundle on gke (old and new roots)', async () => {
    const rotated = await isthmus(['--context', 'eks', 'ca', 'rotate-root']);
    expect(rotated.code, explain(rotated)).toBe(0);
    expect(rotated.stdout).toMatch(/root rotated/);
    expect((await curlLambda()).stdout).toMatch(/^HTTP\/1\.1 200/);

    const res = await isthmus(exportArgs);
    expect(res.code, explain(res)).toBe(0);
    expect(res.stdout).toMatch(/to\s+gke\s+secret\/lambda-external-mtls\s+configured/);
    expect(res.stdout).toMatch(/from\s+eks\s+secret\/lambda-external-mtls\s+unchanged/);
    expect(res.stdout).toMatch(/update-bundle: the peer's trust bundle changed \(1 -> 2 roots\)/);
    const client = await secretOf(gke, 'istio-egress');
    const roots = parseCertificates(client['cacert'] as string);
    expect(roots).toHaveLength(2);
    expect(client['cacert']).toBe((await eks.caRoots()).rootsPem);
    const curl = await curlLambda();
    expect(curl.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(curl.stdout.endsWith(LAMBDA_PAGE)).toBe(true);

    // And with certificates from the new root on both sides (--renew), still 200.
    const renewed = await isthmus([...exportArgs, '--renew']);
    expect(renewed.code, explain(renewed)).toBe(0);
    expect(renewed.stdout).toMatch(/from\s+eks\s+secret\/lambda-external-mtls\s+configured/);
    expect((await curlLambda()).stdout).toMatch(/^HTTP\/1\.1 200/);
  });

  it('refuses an unknown service and names the registry', async () => {
    const res = await isthmus(['mesh', 'export', 'nope.example', '--from', 'eks', '--to', 'gke', '--no-verify']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/no service "nope\.example" in the registry of eks/);
    expect(res.stderr).toContain('alb.jesus2.solo.io');
  });
});
